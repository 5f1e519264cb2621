"""Select the sentences that answer a question, with the neighbours they need, and pack them.

Retrieval finds candidate passages (whole chunks). Reading them all is what makes a CPU
answer slow: the model would read four 180-token chunks to use one sentence. This stage
ranks the sentences of those passages instead and keeps only the best, to a token budget:

* score = similarity of the sentence to the question (the stored sentence embedding
  against the query embedding, so nothing is embedded here) + agreement on the question's
  names, numbers and key words (accent-folded, rag/terms.py) + a little of the passage's
  own similarity, so a sentence inside a relevant passage is preferred;
* a sentence that holds what the question asks for (a number for "how many", a year
  for "when", a name for "who") gets a small bonus;
* a sentence that opens with a pronoun or a connective ("He said...", "Sin embargo...")
  brings the sentence before it, which says who or what it is about;
* the same sentence in another language (one story told twice) is kept once;
* a heading is never ranked (`is_heading`), so it comes in only as the sentence before one
  that opens with a pronoun or connective; nor is a fragment of fewer than two words
  (`is_fragment`: "2)." cut off by an abbreviation);
* the kept sentences are grouped by article, in article order, and consecutive ones are
  joined: each group becomes one numbered `Passage` of the prompt, with its article offsets,
  so every `[n]` still points to exact characters of an article.

The packed evidence keeps each sentence's embedding, so the citation check compares the
answer with these very sentences without embedding them again.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Container, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from rag import terms
from rag.chunk import Span, split_sentences
from rag.schema import Passage

CONNECTIVES = frozenset(
    " ".join(
        (
            "he she it they his her its their this that these those there such but however"
            " also yet so thus then still instead meanwhile moreover furthermore besides"
            " nevertheless therefore",
            "el ella ellos ellas esto eso este esta estos estas ese esa su sus pero sin embargo"
            " ademas tambien asi entonces aun luego mientras",
            "il elle ils elles cela ce cette ces ceci son sa ses leur leurs mais cependant"
            " pourtant aussi ainsi alors toutefois",
            "ele ela eles elas isso isto esse essa este esta seu sua seus suas mas porem"
            " contudo tambem assim entao",
            "er sie es dies diese dieser dieses sein seine ihr ihre aber jedoch auch so dann"
            " dennoch trotzdem",
        )
    ).split()
)
"""Words (folded) that, opening a sentence, point back to the sentence before it."""


ANSWER_KINDS: dict[str, tuple[str, ...]] = {
    "number": (
        "how many",
        "how much",
        "what percentage",
        "cuantos",
        "cuantas",
        "cuanto",
        "cuanta",
        "que porcentaje",
        "combien",
        "quel pourcentage",
        "quantos",
        "quantas",
        "quanto",
        "que percentagem",
        "wie viele",
        "wie viel",
        "wieviel",
    ),
    "date": (
        "when",
        "what year",
        "which year",
        "cuando",
        "en que ano",
        "quand",
        "en quelle annee",
        "quando",
        "em que ano",
        "wann",
        "in welchem jahr",
    ),
    "name": ("who", "whom", "quien", "quienes", "qui", "quem", "wer", "wem", "wen"),
}
"""How a question asks for a number, a date or a name, in five languages (folded, at the
start of the question or of a clause): a sentence that holds one is a likelier answer."""


def answer_kind(question: str) -> str | None:
    """ "number", "date" or "name" when the question asks for one, else None."""
    text = " " + " ".join(terms.words(question)) + " "
    for kind, openers in ANSWER_KINDS.items():
        if any(f" {o} " in text for o in openers):
            return kind
    return None


def holds_kind(kind: str | None, sentence: str, question: str) -> bool:
    """True when `sentence` holds what a question of that kind asks for (a number, a year or
    month, a name) beyond what the question itself says."""
    if kind in ("number", "date"):
        found = terms.numbers_in(sentence) - terms.numbers_in(question)
        if kind == "number" and not found:  # "des milliards de dollars" is an amount
            found = (set(terms.words(sentence)) - set(terms.words(question))) & set(
                terms.MAGNITUDES
            )
        return bool(found or (kind == "date" and terms.dates_in(sentence)))
    if kind == "name":
        return bool(terms.missing_names(terms.names_in(sentence), question))
    return False


COLLECTION_WORDS = frozenset(str.split("articles articulos artigos artikeln"))
"""The plural of "article" (folded) in English/French, Spanish, Portuguese and German: a
question that names the articles as a whole asks about all of them."""

COLLECTION_PHRASES = (
    "each article",
    "every article",
    "cada articulo",
    "chaque article",
    "cada artigo",
    "die artikel",
    "welche artikel",
    "jeder artikel",
    "jedem artikel",
)
"""Phrases (folded) that point at the articles one by one, where the plural is ambiguous
(German "Artikel") or absent ("each article")."""


def is_broad(question: str) -> bool:
    """True when the question asks about the articles as a whole ("which articles mention
    X", "what do the articles say about Y", "do the articles agree on Z"), in five languages:
    such a question is answered article by article, not from the few best sentences."""
    tokens = terms.words(question)
    if COLLECTION_WORDS & set(tokens):
        return True
    text = " " + " ".join(tokens) + " "
    return any(f" {p} " in text for p in COLLECTION_PHRASES)


@dataclass(frozen=True)
class Candidate:
    """One sentence of a candidate passage, scored for the question."""

    source: str
    title: str
    language: str
    text: str
    start: int
    """Character offsets in the cleaned article text."""
    end: int
    ord: int
    """Position of the sentence in its article."""
    lead: str
    """The whitespace before the sentence in the article."""
    vector: np.ndarray
    similarity: float
    """Cosine similarity to the question."""
    lexical: float
    """Share of the question's weighted key terms that the sentence holds (0..1)."""
    score: float


@dataclass(frozen=True)
class Evidence:
    """The packed evidence: numbered passages, each with its sentences and their vectors."""

    passages: tuple[Passage, ...]
    sentences: tuple[tuple[Candidate, ...], ...]
    """The sentences of each passage, in article order (same order as `passages`)."""
    ranked: tuple[Candidate, ...]
    """Every candidate sentence, best first (for the quote fallback)."""
    relevance: float = 0.0
    """How well the best evidence answers the question, for the relevance gate: the best
    sentence's score (whole passages: the best passage's similarity)."""

    @property
    def best(self) -> Candidate | None:
        return self.ranked[0] if self.ranked else None


def whole_passages(passages: Sequence[Passage]) -> Evidence:
    """Whole passages as the evidence, unranked (evidence_mode `passages`)."""
    relevance = max((p.similarity for p in passages), default=0.0)
    return Evidence(tuple(passages), (), (), relevance)


def recorded(
    question: str,
    query_vector: np.ndarray,
    passages: Sequence[Passage],
    embed: Embed,
    lexical_weight: float,
    passage_weight: float,
    kind_weight: float = 0.0,
) -> Evidence:
    """The evidence of a recorded answer, rebuilt from its passages alone (no store): each
    passage split and embedded as at ingest, its sentences ranked as at question time.
    For re-checking recorded runs (`rag eval --replay`)."""
    groups: list[tuple[Candidate, ...]] = []
    ranked: list[Candidate] = []
    for p in passages:
        art = split_passage(p, embed)
        mine = rank(
            question,
            query_vector,
            [p],
            {p.source: art},
            lexical_weight,
            passage_weight,
            kind_weight,
        )
        groups.append(tuple(sorted(mine, key=lambda c: c.start)))
        ranked += mine
    ranked.sort(key=lambda c: -c.score)
    best = max((c.score for c in ranked), default=0.0)
    return Evidence(tuple(passages), tuple(groups), tuple(ranked), best)


def key_terms(question: str) -> dict[str, float]:
    """The question's folded key words, weighted: names and numbers 2, other content words 1."""
    weights = dict.fromkeys(terms.content_words(question), 1.0)
    for name in terms.names_in(question):
        for w in terms.words(name):
            if w in weights:
                weights[w] = 2.0
    for n in terms.words(question):
        if n[0].isdigit():
            weights[n] = 2.0
    for w in [w for w in weights if terms.is_generic(w)]:
        del weights[w]
    return weights


def held_terms(weights: Mapping[str, float], sentence: str) -> set[str]:
    """The key terms `sentence` holds: the same word or an inflection of it."""
    vocabulary = terms.vocabulary(sentence)
    return {t for t in weights if t in vocabulary or any(terms.same_word(t, v) for v in vocabulary)}


def lexical_agreement(weights: dict[str, float], sentence: str) -> float:
    """Share of the key terms' weight that `sentence` holds (same word or an inflection)."""
    total = sum(weights.values())
    if not total:
        return 0.0
    return sum(weights[t] for t in held_terms(weights, sentence)) / total


@dataclass(frozen=True)
class ArticleSentences:
    """The sentences of one article as the store (or a fallback split) gives them."""

    source: str
    title: str
    language: str
    texts: tuple[str, ...]
    starts: tuple[int, ...]
    ends: tuple[int, ...]
    leads: tuple[str, ...]
    vectors: np.ndarray


Embed = Callable[[list[str], str], np.ndarray]
"""(sentences, article title) -> their document embeddings, as at ingest."""


def split_passage(passage: Passage, embed: Embed) -> ArticleSentences:
    """The sentences of one passage, embedded now: for an article indexed before sentences
    were stored (and for a recorded run replayed without its store)."""
    kept = [s for s in split_sentences(passage.text) if any(ch.isalnum() for ch in s.text)]
    if not kept:
        kept = [Span(passage.text, 0, len(passage.text))]
    texts = [s.text for s in kept]
    leads = [""] + [passage.text[a.end : b.start] for a, b in zip(kept, kept[1:], strict=False)]
    return ArticleSentences(
        passage.source,
        passage.title,
        passage.language,
        tuple(texts),
        tuple(passage.start + s.start for s in kept),
        tuple(passage.start + s.end for s in kept),
        tuple(leads),
        embed(texts, passage.title),
    )


def rank(
    question: str,
    query_vector: np.ndarray,
    passages: Sequence[Passage],
    articles: dict[str, ArticleSentences],
    lexical_weight: float,
    passage_weight: float,
    kind_weight: float = 0.0,
) -> list[Candidate]:
    """Every sentence of the candidate passages, scored for the question, best first.

    `articles` holds the sentences of each passage's article (by source); a sentence
    belongs to a passage when its offsets overlap the passage's.
    """
    weights = key_terms(question)
    kind = answer_kind(question)
    best_passage: dict[tuple[str, int], float] = {}
    for p in passages:
        art = articles.get(p.source)
        if art is None:
            continue
        for k in range(len(art.texts)):
            if art.starts[k] < p.end and p.start < art.ends[k]:
                key = (p.source, k)
                best_passage[key] = max(best_passage.get(key, -1.0), p.similarity)
    out: list[Candidate] = []
    for (source, k), prior in best_passage.items():
        art = articles[source]
        if is_heading(art, k) or is_fragment(art.texts[k]):
            continue
        similarity = float(art.vectors[k] @ query_vector)
        lexical = lexical_agreement(weights, art.texts[k])
        out.append(
            Candidate(
                source=source,
                title=art.title,
                language=art.language,
                text=art.texts[k],
                start=art.starts[k],
                end=art.ends[k],
                ord=k,
                lead=art.leads[k],
                vector=art.vectors[k],
                similarity=similarity,
                lexical=lexical,
                score=similarity
                + lexical_weight * lexical
                + passage_weight * prior
                + kind_weight * holds_kind(kind, art.texts[k], question),
            )
        )
    out.sort(key=lambda c: -c.score)
    return out


HEADING_WORDS = 12
"""A line of at most this many words with no closing punctuation is a heading."""

_CLOSED = re.compile(r"[.!?…:;][\"'»”’)\]]*$")


def is_heading(art: ArticleSentences, k: int) -> bool:
    """True when sentence `k` is a heading: a short line of its own that does not end like a
    sentence ("La competencia moldea las decisiones de Meta"). It names a section; the
    sentences under it hold the facts, so it is never ranked (a model that reads it answers
    with it, and cites it, as if it were one). `_with_previous` may still bring it in as
    the sentence before one that opens with a pronoun or connective."""
    text = art.texts[k].strip()
    alone = (k == 0 or "\n" in art.leads[k]) and (
        k + 1 == len(art.texts) or "\n" in art.leads[k + 1]
    )
    return alone and len(text.split()) <= HEADING_WORDS and not _CLOSED.search(text)


FRAGMENT_WORDS = 2


def is_fragment(text: str) -> bool:
    """True for a piece of a sentence with fewer than `FRAGMENT_WORDS` words, such as
    "2)." or "1455-1536)." that an abbreviation the splitter does not know ("Vol.",
    "c.") cut off: it says nothing on its own, so it is never ranked."""
    return len(terms.letter_runs(text)) < FRAGMENT_WORDS


def needs_previous(text: str) -> bool:
    """True when a sentence opens with a pronoun or connective that points back."""
    first = terms.words(text[:40])
    return bool(first) and first[0] in CONNECTIVES


def pack(
    ranked: Sequence[Candidate],
    articles: dict[str, ArticleSentences],
    budget: int,
    count_tokens: Callable[[str], int],
    dedupe_similarity: float,
    max_sentences: int = 12,
) -> Evidence:
    """The best sentences (and the neighbours they need) that fit in `budget` tokens,
    grouped by article in article order, as numbered passages."""
    kept: dict[tuple[str, int], Candidate] = {}
    used = 0
    by_key = {(c.source, c.ord): c for c in ranked}
    for cand in ranked:
        if len(kept) >= max_sentences:
            break
        if (cand.source, cand.ord) in kept:
            continue
        if any(
            float(cand.vector @ other.vector) > dedupe_similarity
            for other in kept.values()
            if other.source != cand.source
        ):
            continue  # the same sentence in another article (one story, two languages)
        unit = _with_previous(cand, by_key, articles, kept)
        cost = sum(count_tokens(c.text) + 1 for c in unit)
        if kept and used + cost > budget:
            continue
        for c in unit:
            kept[(c.source, c.ord)] = c
        used += cost
    return _group(kept, ranked)


def per_article(
    ranked: Sequence[Candidate],
    articles: dict[str, ArticleSentences],
    min_score: float,
    budget: int,
    count_tokens: Callable[[str], int],
    dedupe_similarity: float,
    same_story: Callable[[str, str], bool] | None = None,
) -> Evidence:
    """For a broad question: the best sentence of each article that addresses it (scoring
    at least `min_score`), with the sentence before it when it needs it, as one passage per
    article, in article order (by file name), to `budget` tokens (best articles first).

    An article of the same story as a kept one (`same_story`: rag/stories.py), or whose
    best sentence is the same sentence as a kept one's in another language, is left out:
    each story is told once."""
    best: dict[str, Candidate] = {}
    for cand in ranked:
        if cand.score >= min_score and cand.source not in best:
            best[cand.source] = cand
    by_key = {(c.source, c.ord): c for c in ranked}
    units: dict[str, list[Candidate]] = {}
    used = 0
    for cand in sorted(best.values(), key=lambda c: -c.score):
        if any(
            float(cand.vector @ unit[-1].vector) > dedupe_similarity
            or (same_story is not None and same_story(cand.source, source))
            for source, unit in units.items()
        ):
            continue
        unit = _with_previous(cand, by_key, articles)
        cost = sum(count_tokens(c.text) + 1 for c in unit)
        if units and used + cost > budget:
            continue
        units[cand.source] = unit
        used += cost
    order = sorted(units)
    passages = tuple(_passage(units[source]) for source in order)
    groups = tuple(tuple(units[source]) for source in order)
    relevance = max((c.score for c in best.values()), default=0.0)
    return Evidence(passages, groups, tuple(ranked), relevance)


def _with_previous(
    cand: Candidate,
    by_key: dict[tuple[str, int], Candidate],
    articles: dict[str, ArticleSentences],
    kept: Container[tuple[str, int]] = (),
) -> list[Candidate]:
    """`cand`, after the sentence before it when it opens with a pronoun or connective
    and that sentence is not among `kept` already."""
    if needs_previous(cand.text) and cand.ord > 0 and (cand.source, cand.ord - 1) not in kept:
        return [by_key.get((cand.source, cand.ord - 1)) or _neighbour(articles, cand), cand]
    return [cand]


def _neighbour(articles: dict[str, ArticleSentences], cand: Candidate) -> Candidate:
    """The sentence before `cand` in its article, as a candidate with no score of its own."""
    art = articles[cand.source]
    k = cand.ord - 1
    return Candidate(
        source=cand.source,
        title=cand.title,
        language=cand.language,
        text=art.texts[k],
        start=art.starts[k],
        end=art.ends[k],
        ord=k,
        lead=art.leads[k],
        vector=art.vectors[k],
        similarity=0.0,
        lexical=0.0,
        score=cand.score,
    )


def _group(kept: dict[tuple[str, int], Candidate], ranked: Sequence[Candidate]) -> Evidence:
    """Kept sentences -> passages: articles by their best sentence, sentences in article
    order, consecutive sentences joined into one passage."""
    best_of: dict[str, float] = {}
    for c in kept.values():
        best_of[c.source] = max(best_of.get(c.source, -9.0), c.score)
    passages: list[Passage] = []
    groups: list[tuple[Candidate, ...]] = []
    for source in sorted(best_of, key=lambda s: -best_of[s]):
        rows = sorted((c for c in kept.values() if c.source == source), key=lambda c: c.ord)
        run: list[Candidate] = []
        for c in rows:
            if run and c.ord != run[-1].ord + 1:
                passages.append(_passage(run))
                groups.append(tuple(run))
                run = []
            run.append(c)
        if run:
            passages.append(_passage(run))
            groups.append(tuple(run))
    return Evidence(tuple(passages), tuple(groups), tuple(ranked))


def _passage(run: Sequence[Candidate]) -> Passage:
    """Consecutive sentences of one article as one passage, joined by their own whitespace."""
    text = run[0].text + "".join(c.lead + c.text for c in run[1:])
    first = run[0]
    digest = hashlib.sha256(f"{first.source}:{first.start}:{run[-1].end}".encode()).hexdigest()
    return Passage(
        chunk_id=digest[:32],
        source=first.source,
        title=first.title,
        language=first.language,
        text=text,
        start=first.start,
        end=run[-1].end,
        score=max(c.score for c in run),
        similarity=max(c.similarity for c in run),
    )
