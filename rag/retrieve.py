"""Find the passages that answer a question: dense + BM25, fused by reciprocal rank.

Dense retrieval with the multilingual embedder is what finds a Spanish passage for an
English question. BM25 adds exact matches on names and numbers ("Llama 3", "$10 mil
millones"), which embeddings blur. Reciprocal rank fusion combines the two rankings
without having to calibrate their scores against each other. Near-identical passages
(the same story published in two languages) are collapsed so the prompt's few slots go
to different evidence.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from rag import terms
from rag.config import Settings
from rag.embed import Embedder
from rag.evidence import (
    ArticleSentences,
    Candidate,
    Evidence,
    pack,
    per_article,
    rank,
    split_passage,
)
from rag.schema import Passage
from rag.stories import Stories, article_vectors, group
from rag.terms import STOPWORDS, fold

if TYPE_CHECKING:
    import bm25s

    from rag.store import Store, StoredChunk

_WORD = re.compile(r"\w+")


def tokenize(text: str) -> list[str]:
    """Lower-case, accent-folded word tokens without function words (for BM25)."""
    return [
        w for w in _WORD.findall(fold(text)) if w not in STOPWORDS and (len(w) > 1 or w.isdigit())
    ]


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[str]], k: int = 60, weights: Sequence[float] | None = None
) -> list[tuple[str, float]]:
    """Fuse rankings of ids: score(id) = sum over rankings of weight / (k + rank), rank from 1.

    Returns (id, score) pairs, best first; ties keep the order of first appearance.
    """
    weights = weights or [1.0] * len(rankings)
    scores: dict[str, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for position, item in enumerate(ranking, 1):
            scores[item] = scores.get(item, 0.0) + weight / (k + position)
    return sorted(scores.items(), key=lambda kv: -kv[1])


class BM25Index:
    """A BM25 index over every chunk of the store, rebuilt when the store changes."""

    def __init__(self, ids: list[str], texts: list[str]) -> None:
        import bm25s

        self.ids = ids
        self._retriever: bm25s.BM25 | None = None
        corpus = [tokenize(t) for t in texts]
        if any(corpus):
            self._retriever = bm25s.BM25()
            self._retriever.index(corpus, show_progress=False)

    def search(self, query: str, k: int) -> list[tuple[str, float]]:
        """Best `k` chunk ids for `query` with their BM25 scores (only scores > 0)."""
        tokens = tokenize(query)
        if self._retriever is None or not tokens or not self.ids:
            return []
        k = min(k, len(self.ids))
        docs, scores = self._retriever.retrieve([tokens], k=k, show_progress=False)
        return [
            (self.ids[int(d)], float(s)) for d, s in zip(docs[0], scores[0], strict=True) if s > 0
        ]


class Retriever:
    """Question -> the few best, distinct `Passage`s."""

    def __init__(self, store: Store, embedder: Embedder, settings: Settings) -> None:
        self.store = store
        self.embedder = embedder
        self.settings = settings
        self._bm25: BM25Index | None = None
        self._bm25_version: object = None
        self._stories: tuple[object, Stories] | None = None

    def bm25(self) -> BM25Index:
        """The BM25 index, rebuilt if the store changed since it was built."""
        version = self.store.version()
        if self._bm25 is None or version != self._bm25_version:
            ids, texts = self.store.all_texts()
            self._bm25 = BM25Index(ids, texts)
            self._bm25_version = version
        return self._bm25

    def stories(self) -> Stories:
        """Which indexed articles tell the same story (rag/stories.py), grouped again from
        the stored chunk vectors whenever the committed articles change (here or in
        another process: a removed or re-ingested article changes its group)."""
        docs = self.store.documents()
        key = (self.store.version(), sorted((d.source, d.content_hash) for d in docs.values()))
        if self._stories is None or self._stories[0] != key:
            vectors = article_vectors(self.store.chunk_vectors())
            self._stories = (key, group(vectors, self.settings.story_similarity))
        return self._stories[1]

    def retrieve(self, question: str, top_k: int | None = None) -> list[Passage]:
        """The `top_k` best distinct passages (whole chunks) for a question."""
        return self.candidates(question, self.embedder.embed_query(question), top_k)

    def evidence(
        self,
        question: str,
        count_tokens: Callable[[str], int],
        budget: int | None = None,
        language: str = "",
    ) -> Evidence:
        """The sentences that answer `question` (in `language`, when known), ranked among
        those of the best passages and of the passages that hold a rare name it gives
        (`named`), and packed to `budget` tokens (default: the `evidence_tokens` setting)."""
        s = self.settings
        query_vector = self.embedder.embed_query(question)
        passages = self.candidates(question, query_vector, s.evidence_passages)
        passages += self.named(question, query_vector, passages, language)
        articles = self.article_sentences(passages)
        ranked = self._rank(question, query_vector, passages, articles)
        budget = budget or s.evidence_tokens
        packed = pack(ranked, articles, budget, count_tokens, s.sentence_dedupe_similarity)
        best = packed.best
        return dataclasses.replace(packed, relevance=best.score if best else 0.0)

    def _rank(
        self,
        question: str,
        query_vector: np.ndarray,
        passages: Sequence[Passage],
        articles: dict[str, ArticleSentences],
    ) -> list[Candidate]:
        """The candidate sentences scored with the settings' weights, best first."""
        s = self.settings
        return rank(
            question,
            query_vector,
            passages,
            articles,
            s.lexical_weight,
            s.passage_weight,
            s.answer_kind_weight,
        )

    def article_sentences(self, passages: Sequence[Passage]) -> dict[str, ArticleSentences]:
        """The stored sentences of the passages' articles; an article indexed before
        sentences were stored is split and embedded now, from its best passage."""
        stored = self.store.sentences([p.source for p in passages])
        out: dict[str, ArticleSentences] = {}
        for p in passages:
            if p.source in out:
                continue
            rows = stored.get(p.source)
            if not rows:
                out[p.source] = split_passage(p, self.embed_evidence)
                continue
            out[p.source] = ArticleSentences(
                source=p.source,
                title=p.title,
                language=p.language,
                texts=tuple(r.text for r in rows),
                starts=tuple(r.start for r in rows),
                ends=tuple(r.end for r in rows),
                leads=tuple(r.lead for r in rows),
                vectors=np.stack([r.vector for r in rows]),
            )
        return out

    def embed_evidence(self, texts: list[str], title: str) -> np.ndarray:
        """Sentences of an article embedded as at ingest (document prompt, its title)."""
        return self.embedder.embed_documents(texts, title=title)

    def broad_evidence(
        self, question: str, count_tokens: Callable[[str], int], budget: int | None = None
    ) -> Evidence:
        """For a question about the articles as a whole: the best sentence of each article
        that addresses it, one passage per article in article order (`evidence.per_article`).

        The candidates come from dense and keyword search together, whatever the retrieval
        mode: "which articles mention Microsoft" is answered by the name as written, in
        every article that has it, as much as by meaning."""
        s = self.settings
        query_vector = self.embedder.embed_query(question)
        passages = self.candidates(question, query_vector, s.candidates, mode="hybrid")
        per_source: dict[str, int] = {}
        chosen: list[Passage] = []
        for p in passages:
            seen = per_source.get(p.source, 0)
            if seen >= s.broad_passages_per_article or (
                not seen and len(per_source) >= s.broad_articles
            ):
                continue
            per_source[p.source] = seen + 1
            chosen.append(p)
        articles = self.article_sentences(chosen)
        ranked = self._rank(question, query_vector, chosen, articles)
        return per_article(
            ranked,
            articles,
            s.min_relevance,
            budget or s.broad_evidence_tokens,
            count_tokens,
            s.sentence_dedupe_similarity,
            self.stories().together,
        )

    def candidates(
        self,
        question: str,
        query_vector: np.ndarray,
        top_k: int | None = None,
        mode: str | None = None,
    ) -> list[Passage]:
        """The `top_k` best distinct passages for a question already embedded (by the
        retrieval mode of the settings, or `mode`)."""
        s = self.settings
        top_k = top_k or s.top_k
        mode = mode or s.retrieval_mode
        rankings: list[list[str]] = []
        weights: list[float] = []
        if mode in ("hybrid", "dense"):
            rankings.append([cid for cid, _ in self.store.query(query_vector, s.candidates)])
            weights.append(1.0)
        if mode in ("hybrid", "bm25"):
            hits = self.bm25().search(question, s.candidates)
            floor = hits[0][1] * s.bm25_min_ratio if hits else 0.0
            rankings.append([cid for cid, score in hits if score >= floor])
            weights.append(s.bm25_weight if mode == "hybrid" else 1.0)
        fused = reciprocal_rank_fusion(rankings, s.rrf_k, weights)
        if not fused:
            return []
        chunks = self.store.get([cid for cid, _ in fused])
        return self._select(fused, chunks, query_vector, top_k)

    def named(
        self,
        question: str,
        query_vector: np.ndarray,
        have: Sequence[Passage] = (),
        language: str = "",
    ) -> list[Passage]:
        """For each name of the question that few chunks hold (at most `name_anchor_share`
        of them), the `name_anchors` chunks holding it that are closest to the question,
        beyond those in `have`. A rare name ("TechCrunch") is matched letter for letter,
        where the question's embedding blurs it among passages on the same subject; a name
        most chunks hold ("Meta" here) singles nothing out."""
        s = self.settings
        if s.name_anchors < 1:
            return []
        most = max(1, int(s.name_anchor_share * self.store.count()))
        written = {fold(w): w for w in _WORD.findall(question)}
        seen = {p.chunk_id for p in have}
        found: list[Passage] = []
        for name in terms.names_in(question, language):
            parts = terms.name_words(name)
            texts = self._holding([written.get(w, w) for w in parts], most) if parts else None
            if texts is None:
                continue
            holding = [cid for cid, text in texts.items() if set(parts) <= terms.vocabulary(text)]
            ids = [cid for cid in holding if cid not in seen]
            if not ids or len(holding) > most:
                continue
            chunks = self.store.get(ids)
            closest = sorted(chunks, key=lambda cid: -float(chunks[cid].vector @ query_vector))
            for cid in closest[: s.name_anchors]:
                seen.add(cid)
                found.append(_passage(cid, chunks[cid], 0.0, query_vector))
        return found

    def _holding(self, words: list[str], most: int) -> dict[str, str] | None:
        """The texts, by id, of the chunks holding all of `words` as written, in lower case,
        with a capital or in capitals ("ChatGPT", "chatgpt"), or None when that is more than
        `most` chunks."""
        forms = [[form(w) for w in words] for form in (str, str.lower, str.capitalize, str.upper)]
        texts: dict[str, str] = {}
        for found in self.store.containing(forms, most + 1):
            if len(found) > most:
                return None
            texts.update(found)
        return texts

    def _select(
        self,
        fused: list[tuple[str, float]],
        chunks: dict[str, StoredChunk],
        query_vector: np.ndarray,
        top_k: int,
    ) -> list[Passage]:
        """The best `top_k` passages, leaving out a passage that is the twin of one chosen
        before it: from another article of the same story (rag/stories.py) and closer to
        it than `dedupe_similarity` (the same paragraph in another language)."""
        stories = self.stories()
        chosen: list[Passage] = []
        chosen_vectors: list[np.ndarray] = []
        for cid, score in fused:
            chunk = chunks.get(cid)
            if chunk is None:
                continue
            vector = chunk.vector
            if any(
                stories.together(chunk.source, p.source)
                and float(vector @ v) > self.settings.dedupe_similarity
                for p, v in zip(chosen, chosen_vectors, strict=True)
            ):
                continue
            chosen.append(_passage(cid, chunk, score, query_vector))
            chosen_vectors.append(vector)
            if len(chosen) == top_k:
                break
        return chosen


def _passage(cid: str, chunk: StoredChunk, score: float, query_vector: np.ndarray) -> Passage:
    """A stored chunk as a `Passage`, with its retrieval score and similarity to the query."""
    return Passage(
        chunk_id=cid,
        source=chunk.source,
        title=chunk.title,
        language=chunk.language,
        text=chunk.text,
        start=chunk.start,
        end=chunk.end,
        score=score,
        similarity=float(chunk.vector @ query_vector),
    )
