"""Words and names matched across languages by meaning, not by letters.

The literal comparisons of rag/terms.py cannot see that "population" is "población" or
"Inseln" is "islas": an English or German question shares almost no word with a Spanish
sentence. So where a decision rests on the question's key words (the quote fallback: does
this sentence clearly answer?) or on a sentence's names (the citation check: "Warsaw" is
"Varsovia"), a word that has no literal match may still match one of the other text's
words whose embedding is close enough.

Single words are embedded with the sentence-similarity prompt (EmbeddingGemma, measured
on the eval corpora: translations such as "percentage"/"porcentaje", "Gewinner"/"ganadores"
score 0.82 to 0.97; related but different words such as "Chinese"/"japoneses" or
"population"/"votantes" 0.53 to 0.75). Vectors are cached, so a word is embedded once per
process; this runs only when a literal match failed, never on the answer's fast path.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from rag import terms
from rag.embed import Embedder
from rag.evidence import held_terms


class Meanings:
    """Cached word embeddings and the matches they allow."""

    def __init__(self, embedder: Embedder, similarity: float, cache_size: int = 20000) -> None:
        self.embedder = embedder
        self.similarity = similarity
        """Two words (or names) this close in meaning are the same word in two languages."""
        self.cache_size = cache_size
        self._vectors: dict[str, np.ndarray] = {}

    def vectors(self, words: Iterable[str]) -> dict[str, np.ndarray]:
        """The embedding of each word, embedding only those not seen before."""
        wanted = list(dict.fromkeys(words))
        unknown = [w for w in wanted if w not in self._vectors]
        if unknown:
            if len(self._vectors) + len(unknown) > self.cache_size:
                self._vectors.clear()
            for word, vector in zip(unknown, self.embedder.embed_sentences(unknown), strict=True):
                self._vectors[word] = np.asarray(vector, dtype=np.float32)
        return {w: self._vectors[w] for w in wanted}

    def unmatched(
        self, words: Iterable[str], candidates: Iterable[str], similarity: float | None = None
    ) -> list[str]:
        """The `words` that no word of `candidates` matches in meaning (at `similarity`, by
        default the instance's)."""
        floor = self.similarity if similarity is None else similarity
        words = list(words)
        pool = sorted(set(candidates))
        if not words or not pool:
            return words
        vectors = self.vectors([*words, *pool])
        matrix = np.stack([vectors[c] for c in pool])
        return [w for w in words if float(np.max(matrix @ vectors[w])) < floor]

    def lexical(
        self, weights: Mapping[str, float], sentence: str, similarity: float | None = None
    ) -> float:
        """Share of the question's weighted key terms (`evidence.key_terms`) that `sentence`
        holds, literally (the same word or an inflection) or in meaning (a translation)."""
        total = sum(weights.values())
        if not total:
            return 0.0
        literal = held_terms(weights, sentence)
        rest = [t for t in weights if t not in literal and not t[0].isdigit()]
        unmatched = set(self.unmatched(rest, terms.content_words(sentence), similarity))
        found = sum(
            w for t, w in weights.items() if t in literal or (t in rest and t not in unmatched)
        )
        return found / total
