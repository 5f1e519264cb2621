"""Chunking: offsets point into the article text, ids are stable, sizes respect the limit."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from rag.chunk import chunk_article, chunk_id, make_splitter
from rag.ingest import content_hash, load_article
from rag.schema import Article, Chunk

CORPUS = Path(__file__).resolve().parent.parent / "corpus"

SIZES = [(40, 8), (180, 30)]
"""(chunk_size, chunk_overlap): small chunks that cut paragraphs, and the defaults."""


def words(text: str) -> list[int]:
    """A cheap stand-in for the embedder's tokenizer: one token per word."""
    return list(range(len(text.split())))


@pytest.fixture(scope="module")
def articles() -> list[Article]:
    return [load_article(f) for f in sorted(CORPUS.glob("*.txt"))]


@pytest.fixture(scope="module", params=SIZES, ids=[f"{s}-{o}" for s, o in SIZES])
def chunked(
    request: pytest.FixtureRequest, articles: list[Article]
) -> tuple[int, list[tuple[Article, list[Chunk]]]]:
    size, overlap = request.param
    splitter = make_splitter(size, overlap, words)
    return size, [(a, chunk_article(a, splitter)) for a in articles]


def test_chunk_text_is_the_article_slice(
    chunked: tuple[int, list[tuple[Article, list[Chunk]]]],
) -> None:
    _, results = chunked
    for article, chunks in results:
        assert chunks
        for c in chunks:
            assert c.source == article.source
            assert c.text == article.text[c.start : c.end]
            assert c.text == c.text.strip()


def test_chunks_cover_the_article_in_order(
    chunked: tuple[int, list[tuple[Article, list[Chunk]]]],
) -> None:
    _, results = chunked
    for article, chunks in results:
        covered = [False] * len(article.text)
        for c in chunks:
            covered[c.start : c.end] = [True] * (c.end - c.start)
        missing = [i for i, ch in enumerate(article.text) if not covered[i] and not ch.isspace()]
        assert not missing, f"{article.source}: uncovered at {missing[:5]}"
        starts = [c.start for c in chunks]
        assert starts == sorted(set(starts))


def test_chunks_respect_the_token_limit(
    chunked: tuple[int, list[tuple[Article, list[Chunk]]]],
) -> None:
    size, results = chunked
    for _, chunks in results:
        assert all(len(words(c.text)) <= size for c in chunks)


def test_ids_are_stable_across_runs(articles: list[Article]) -> None:
    runs = [[chunk_article(a, make_splitter(40, 8, words)) for a in articles] for _ in range(2)]
    assert all(len(chunks) > 3 for chunks in runs[0])  # small chunks really split the articles
    first, second = ([c.id for chunks in run for c in chunks] for run in runs)
    assert first == second
    assert len(set(first)) == len(first)
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in first)


def test_ids_change_when_the_text_changes(articles: list[Article]) -> None:
    splitter = make_splitter(40, 8, words)
    article = articles[0]
    text = article.text + "\nUna frase nueva al final."
    edited = dataclasses.replace(article, text=text, content_hash=content_hash(text))
    before = {c.id for c in chunk_article(article, splitter)}
    after = {c.id for c in chunk_article(edited, splitter)}
    assert not before & after


def test_repeated_paragraphs_get_their_own_offsets() -> None:
    """The same text twice in an article: each chunk points at its own occurrence."""
    paragraph = "Meta publicó su modelo. Los expertos lo analizaron con cuidado y detalle."
    text = "\n".join([paragraph, "Un párrafo distinto en medio del artículo.", paragraph])
    article = Article("a.txt", "a.txt", "t", "es", text, content_hash(text))
    chunks = chunk_article(article, make_splitter(14, 0, words))
    assert [c.text for c in chunks] == text.split("\n")
    assert [c.start for c in chunks] == [0, len(paragraph) + 1, text.rindex(paragraph)]
    assert len({c.id for c in chunks}) == 3


def test_chunk_id_is_deterministic() -> None:
    h = content_hash("some article text")
    assert chunk_id(h, 0, 100) == chunk_id(h, 0, 100)
    assert len(chunk_id(h, 0, 100)) == 32
    others = {chunk_id(h, 0, 101), chunk_id(h, 1, 100), chunk_id(content_hash("other"), 0, 100)}
    assert chunk_id(h, 0, 100) not in others
    assert len(others) == 3
