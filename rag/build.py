"""Build the index: ingest -> chunk -> embed -> store, idempotently.

An article is known by its file name. One whose cleaned text is already stored (same
content hash under the same name) is skipped; a changed one replaces its old chunks; one
with the same text as another file already indexed is reported as a duplicate; a second
file with the same name in one run is rejected (it would silently replace the first).
Bad files are reported with the reason and skipped; they never stop the others.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from rag.chunk import chunk_article, make_splitter
from rag.embed import Embedder
from rag.ingest import Rejected, load_articles
from rag.schema import Article
from rag.store import Store

Progress = Callable[[str], None]


@dataclass
class IngestReport:
    """What one ingestion run did, file by file."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    duplicates: list[tuple[str, str]] = field(default_factory=list)
    """(file, the already-indexed file with the same text)."""
    rejected: list[Rejected] = field(default_factory=list)
    chunks: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        parts = [
            f"{len(self.added)} added",
            f"{len(self.updated)} updated",
            f"{len(self.unchanged)} unchanged",
            f"{len(self.duplicates)} duplicate(s)",
            f"{len(self.rejected)} rejected",
        ]
        return f"{', '.join(parts)}; {self.chunks} chunks embedded in {self.seconds:.1f} s"


def ingest(
    paths: Iterable[Path],
    store: Store,
    embedder: Embedder,
    chunk_size: int,
    chunk_overlap: int,
    progress: Progress | None = None,
) -> IngestReport:
    """Index every article under `paths` into `store`."""
    say = progress or (lambda _msg: None)
    started = time.perf_counter()
    report = IngestReport()
    splitter = make_splitter(chunk_size, chunk_overlap, embedder.tokenize)
    indexed = store.documents()
    by_hash = {d.content_hash: d.source for d in indexed.values()}
    seen: dict[str, str] = {}  # file name -> path, for this run
    for item in load_articles(paths):
        if isinstance(item, Article) and item.source in seen:
            item = Rejected(
                item.path, f"another file named {item.source} ({seen[item.source]}) came first"
            )
        if isinstance(item, Rejected):
            report.rejected.append(item)
            say(f"rejected {item.path}: {item.reason}")
            continue
        article = item
        seen[article.source] = article.path
        known = indexed.get(article.source)
        if known and known.content_hash == article.content_hash:
            report.unchanged.append(article.source)
            say(f"unchanged {article.source}")
            continue
        twin = by_hash.get(article.content_hash)
        if twin and twin != article.source:
            report.duplicates.append((article.source, twin))
            say(f"duplicate {article.source}: same text as {twin}")
            continue
        chunks = chunk_article(article, splitter)
        vectors = embedder.embed_documents([c.text for c in chunks], title=article.title)
        store.replace_article(article, chunks, vectors)
        (report.updated if known else report.added).append(article.source)
        if known and by_hash.get(known.content_hash) == article.source:
            del by_hash[known.content_hash]
        by_hash[article.content_hash] = article.source
        report.chunks += len(chunks)
        verb = "updated" if known else "added"
        say(f"{verb} {article.source} ({article.language}, {len(chunks)} chunks)")
    report.seconds = time.perf_counter() - started
    return report
