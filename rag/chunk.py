"""Split an `Article` into `Chunk`s with stable ids and character offsets, and into sentences.

llama-index's SentenceSplitter does the splitting (it keeps sentences whole and measures
length in tokens of the embedder's own tokenizer). Each chunk records where it sits in the
cleaned article text, so a citation can point to the exact characters, and gets an id
derived from the article's content hash and those offsets: the same text always yields
the same ids, which makes re-ingestion idempotent.

Sentences are split here too (`split_sentences`), once for every purpose: the store keeps
each article's sentences with their embeddings, the answer path packs the best of them
into the prompt, and the citation check splits the model's answer the same way.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rag.schema import Article, Chunk

if TYPE_CHECKING:
    from llama_index.core.node_parser import SentenceSplitter

Tokenize = Callable[[str], list[int]]


def make_splitter(chunk_size: int, chunk_overlap: int, tokenize: Tokenize) -> SentenceSplitter:
    """A sentence-aware splitter measuring length with `tokenize`."""
    from llama_index.core.node_parser import SentenceSplitter

    return SentenceSplitter(
        chunk_size=chunk_size,
        chunk_overlap=chunk_overlap,
        tokenizer=tokenize,
        paragraph_separator="\n",
        include_metadata=False,
        include_prev_next_rel=False,
    )


def chunk_id(content_hash: str, start: int, end: int) -> str:
    """Stable id of a chunk: same article text and offsets, same id."""
    return hashlib.sha256(f"{content_hash}:{start}:{end}".encode()).hexdigest()[:32]


def chunk_article(article: Article, splitter: SentenceSplitter) -> list[Chunk]:
    """Split one article; every chunk's text equals `article.text[start:end]`."""
    chunks: list[Chunk] = []
    cursor = 0
    for piece in splitter.split_text(article.text):
        piece = piece.strip()
        if not piece:
            continue
        # Overlapping chunks start before the previous one ends: search from a little
        # after the previous start, not from its end.
        start = article.text.find(piece, cursor)
        if start < 0:
            start = article.text.find(piece)
        if start < 0:
            raise ValueError(f"chunk not found verbatim in {article.source}: {piece[:60]!r}")
        end = start + len(piece)
        chunks.append(
            Chunk(chunk_id(article.content_hash, start, end), article.source, piece, start, end)
        )
        cursor = start + 1
    return chunks


_SENTENCE_END = re.compile(r"[.!?…][\"'”»)]*(\s+)(?=[\"'“«(¿¡]?[A-ZÀ-ÖØ-Þ0-9])")
ABBREVIATIONS = frozenset(
    [
        "sr",
        "sra",
        "srta",
        "dr",
        "dra",
        "mr",
        "mrs",
        "ms",
        "st",
        "uu",
        "ee",
        "vs",
        "etc",
        "p",
        "ej",
        "pp",
        "no",
        "núm",
        "art",
        "dept",
        "inc",
        "ltd",
        "co",
        "jr",
        "m",
        "mme",
        "mlle",
        "av",
        "prof",
    ]
)
"""Words that end in a full stop without ending the sentence ("EE. UU.", "Sr.", "Dr.")."""


@dataclass(frozen=True)
class Span:
    """A sentence of a passage, with its offsets in the passage text."""

    text: str
    start: int
    end: int


def split_sentences(text: str) -> list[Span]:
    """Sentences of a text with their offsets (line breaks always end a sentence)."""
    spans: list[Span] = []
    for line in re.finditer(r"[^\n]+", text):
        cuts = [
            m.span(1)
            for m in _SENTENCE_END.finditer(line.group())
            if not _abbreviation_before(line.group(), m.start())
        ]
        starts = [0] + [end for _, end in cuts]
        ends = [start for start, _ in cuts] + [len(line.group())]
        for a, b in zip(starts, ends, strict=True):
            piece = line.group()[a:b]
            stripped = piece.strip()
            if stripped:
                lead = len(piece) - len(piece.lstrip())
                start = line.start() + a + lead
                spans.append(Span(stripped, start, start + len(stripped)))
    return spans


def article_sentences(article: Article) -> list[Span]:
    """The sentences of an article, offsets in its cleaned text (stored at ingest)."""
    return [s for s in split_sentences(article.text) if any(ch.isalnum() for ch in s.text)]


def _abbreviation_before(text: str, stop: int) -> bool:
    """True if the full stop at `stop` ends an abbreviation or an initial, not a sentence."""
    if text[stop] != ".":
        return False
    word = re.search(r"(\w+)$", text[:stop])
    if word is None:
        return False
    w = word.group(1)
    return w.casefold() in ABBREVIATIONS or (len(w) == 1 and w.isupper())
