"""Split an `Article` into `Chunk`s with stable ids and character offsets.

llama-index's SentenceSplitter does the splitting (it keeps sentences whole and measures
length in tokens of the embedder's own tokenizer). Each chunk records where it sits in the
cleaned article text, so a citation can point to the exact characters, and gets an id
derived from the article's content hash and those offsets: the same text always yields
the same ids, which makes re-ingestion idempotent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
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
