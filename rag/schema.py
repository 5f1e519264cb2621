"""The result types at the library's boundary.

Everything the UI, the CLI and the eval see is one of these frozen dataclasses; llama-index
and Chroma types stay inside `rag/`. The evidence travels with the answer: an `Answer`
holds the passages it was written from and, for every citation, the sentence quoted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Article:
    """One cleaned article, ready to be chunked."""

    source: str
    """File name of the article (the id users see)."""
    path: str
    """Where it was read from."""
    title: str
    language: str
    """ISO 639-1 code detected from the cleaned text."""
    text: str
    """The cleaned text; chunk offsets point into it."""
    content_hash: str
    """SHA-256 of the cleaned text: unchanged files are not ingested twice."""


@dataclass(frozen=True)
class Chunk:
    """A slice of an article with a stable id."""

    id: str
    source: str
    text: str
    start: int
    """Character offset of the chunk in the cleaned article text."""
    end: int


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk, as shown to the model and to the user."""

    chunk_id: str
    source: str
    title: str
    language: str
    text: str
    start: int
    end: int
    score: float
    """Fused retrieval score (reciprocal rank fusion); higher is better."""
    similarity: float
    """Cosine similarity between the question and the passage embeddings."""


@dataclass(frozen=True)
class Citation:
    """One `[n]` of an answer, resolved to the exact sentence of the passage it points to."""

    n: int
    """The number shown in the answer: the passage's position in `Answer.passages`, from 1."""
    source: str
    title: str
    chunk_id: str
    quote: str
    """The passage sentence that supports the cited answer sentence (original language)."""
    quote_start: int
    """Character offsets of the quote in the cleaned article text."""
    quote_end: int
    support: float
    """How strongly the quote supports the sentence (cosine similarity)."""


@dataclass(frozen=True)
class Sentence:
    """One sentence of the answer, with the citations it carries after verification."""

    text: str
    citations: tuple[int, ...]
    supported: bool
    """False when no retrieved passage could be shown to support the sentence."""
    quoted: bool = False
    """True for an evidence sentence quoted as it stands (in the article's language), in
    place of an answer the model could not get right."""


@dataclass(frozen=True)
class Answer:
    """What the pipeline returns for one question."""

    question: str
    language: str
    """Language of the question, which is also the language of the answer."""
    text: str
    """The answer as shown, with `[n]` markers."""
    refused: bool
    """True when the answer is 'the articles don't say' (no citations then)."""
    sentences: tuple[Sentence, ...]
    citations: tuple[Citation, ...]
    passages: tuple[Passage, ...]
    timings: dict[str, float] = field(default_factory=dict)
    notices: tuple[str, ...] = ()
    """Things the user should know: a trimmed question, dropped citations."""
    raw_text: str = ""
    """What the model wrote, before the citation check."""
    checks: tuple[str, ...] = ()
    """What the citation check did to `raw_text`, in words ("removed sentence 2: not in the
    evidence (1955)"), so a refusal or a dropped sentence can be traced to its rule."""
    asked: str = ""
    """The question as the user typed it, when it was a follow-up rewritten into `question`."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Translation:
    """A quoted sentence put into the asker's language on demand (rag/translate.py)."""

    original: str
    """The text as given (a citation's quote, in the article's language)."""
    text: str
    """The translation ("" if the model gave none: see `warnings`)."""
    source_language: str
    """ISO 639-1 code of the original (the article's, or detected)."""
    language: str
    """ISO 639-1 code the text was translated into."""
    warnings: tuple[str, ...] = ()
    """A name, number or date of the original the translation lost or changed, in words."""
    cached: bool = False
    """True when it came from the cache: no model ran for it."""
    label: str = "Machine translation"
    """What the reader is told it is, shown with it."""
    model: str = ""
    """The model that made it (part of the cache key)."""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    """How long the model took when it was made (not when it was read from the cache)."""


# ---------------------------------------------------------------- the eval contract
# An answer as the JSON row other tools read: the API, `rag ask --json` and the eval
# runner all write it.

TIMING_KEYS = ("retrieve_s", "ttft_s", "total_s")


def result_row(qid: Any, answer: Answer) -> dict[str, Any]:
    """One row of the eval contract for an answer.

    `{"id", "question", "answer", "refused", "citations": [{"n", "source", "quote"}],
    "retrieved": [{"source", "score"}], "timings": {"retrieve_s", "ttft_s", "total_s"}}`,
    where `source` is the article's file name. Other tools read this: keep it stable.
    """
    return {
        "id": qid,
        "question": answer.question,
        "answer": answer.text,
        "refused": answer.refused,
        "citations": [{"n": c.n, "source": c.source, "quote": c.quote} for c in answer.citations],
        "retrieved": retrieved_rows(answer.passages),
        "timings": {k: round(float(answer.timings.get(k, 0.0)), 4) for k in TIMING_KEYS},
    }


def passage_rows(passages: Sequence[Passage]) -> list[dict[str, Any]]:
    """The retrieved passages with their texts and offsets (the API, the eval trace)."""
    return [
        {
            "chunk_id": p.chunk_id,
            "source": p.source,
            "title": p.title,
            "language": p.language,
            "score": round(p.score, 6),
            "text": p.text,
            "start": p.start,
            "end": p.end,
            "similarity": round(p.similarity, 4),
        }
        for p in passages
    ]


def retrieved_rows(passages: Sequence[Passage]) -> list[dict[str, Any]]:
    """The retrieved passages as the contract records them."""
    return [{"source": p.source, "score": round(p.score, 6)} for p in passages]
