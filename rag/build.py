"""Build the index: ingest -> chunk -> embed -> store, idempotently.

Each article is stored twice over: as chunks (what retrieval searches) and as sentences
with their own embeddings (what the answer path ranks, packs and checks against).

An article is known by its file name. One whose cleaned text is already stored (same
content hash under the same name) is skipped; a changed one replaces its old chunks; one
with the same text as another file already indexed is reported as a duplicate; a second
file with the same name in one run is rejected (it would silently replace the first).
Bad files are reported with the reason and skipped; they never stop the others.

A rebuild re-embeds every article in place (each one replaced whole, as in an update) and
then removes the articles it did not find, so a rebuild cut short leaves a usable index
and the next one finishes the job. Every run first checks the index and repairs it
(rag/check.py): leftovers of a run cut short are discarded, and damage Chroma itself took in
a crash is set right.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from rag.check import Health, check
from rag.chunk import article_sentences, chunk_article, make_splitter
from rag.embed import Embedder
from rag.ingest import Rejected, load_articles
from rag.schema import Article
from rag.store import Store

Progress = Callable[[str], None]

Outcome = Literal["added", "updated", "unchanged", "duplicate", "rejected", "removed"]


@dataclass(frozen=True)
class FileOutcome:
    """What happened to one file (or, for `removed`, one indexed article) in a run."""

    path: str
    outcome: Outcome
    detail: str = ""
    """The reason of a rejection, the twin of a duplicate, the language and chunk count."""


@dataclass
class IngestReport:
    """What one ingestion run did, file by file."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    duplicates: list[tuple[str, str]] = field(default_factory=list)
    """(file, the already-indexed file with the same text)."""
    rejected: list[Rejected] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    """Indexed articles a rebuild did not find again, now removed."""
    files: list[FileOutcome] = field(default_factory=list)
    """Every file in the order it was met, with its outcome (for a UI table)."""
    health: Health | None = None
    """What the check before the run found and repaired."""
    discarded: int = 0
    """Chunks of an earlier run cut short (never visible), deleted before this one."""
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
        if self.removed:
            parts.append(f"{len(self.removed)} removed")
        return f"{', '.join(parts)}; {self.chunks} chunks embedded in {self.seconds:.1f} s"


def ingest(
    paths: Iterable[Path],
    store: Store,
    embedder: Embedder,
    chunk_size: int,
    chunk_overlap: int,
    progress: Progress | None = None,
    max_file_bytes: int | None = None,
    rebuild: bool = False,
    check_vectors: bool = False,
) -> IngestReport:
    """Index every article under `paths` into `store`.

    The caller holds the index's write lock (`rag.lock.index_lock`). With `rebuild`,
    unchanged articles are embedded again and indexed articles not found are removed.
    First the index is checked and repaired (rag/check.py), the vector index too if
    `check_vectors` (after a writer died holding the lock).
    """
    say = progress or (lambda _msg: None)
    started = time.perf_counter()
    report = IngestReport()
    report.health = check(store, repair=True, vectors=check_vectors)
    report.discarded = report.health.discarded
    for finding in report.health.findings:
        say(f"index check: {finding.what}")
    splitter = make_splitter(chunk_size, chunk_overlap, embedder.tokenize)
    indexed = store.documents()
    by_hash = {d.content_hash: d.source for d in indexed.values()}
    seen: dict[str, str] = {}  # file name -> path, for this run

    def outcome(path: str, what: Outcome, detail: str = "") -> None:
        report.files.append(FileOutcome(path, what, detail))
        say(f"{what} {path}" + (f": {detail}" if detail else ""))

    for item in load_articles(paths, max_file_bytes):
        if isinstance(item, Article) and item.source in seen:
            item = Rejected(
                item.path, f"another file named {item.source} ({seen[item.source]}) came first"
            )
        if isinstance(item, Rejected):
            report.rejected.append(item)
            outcome(item.path, "rejected", item.reason)
            continue
        article = item
        seen[article.source] = article.path
        known = indexed.get(article.source)
        # An article indexed before sentences were stored is embedded again to get them.
        current = known and known.content_hash == article.content_hash and known.sentences >= 0
        if current and not rebuild:
            report.unchanged.append(article.source)
            outcome(article.path, "unchanged")
            continue
        twin = by_hash.get(article.content_hash)
        if twin and twin != article.source:
            report.duplicates.append((article.source, twin))
            outcome(article.path, "duplicate", f"same text as {twin}")
            continue
        try:
            chunks = chunk_article(article, splitter)
        except ValueError as e:
            report.rejected.append(Rejected(article.path, f"cannot be split into passages: {e}"))
            outcome(article.path, "rejected", report.rejected[-1].reason)
            continue
        vectors = embedder.embed_documents([c.text for c in chunks], title=article.title)
        sentences = article_sentences(article)
        sentence_vectors = embedder.embed_documents([s.text for s in sentences], article.title)
        store.replace_article(article, chunks, vectors, sentences, sentence_vectors)
        (report.updated if known else report.added).append(article.source)
        if known and by_hash.get(known.content_hash) == article.source:
            del by_hash[known.content_hash]
        by_hash[article.content_hash] = article.source
        report.chunks += len(chunks)
        detail = f"{article.language}, {len(chunks)} chunks"
        outcome(article.path, "updated" if known else "added", detail)
    if rebuild:
        for source in sorted(set(indexed) - set(seen)):
            store.remove(source)
            report.removed.append(source)
            outcome(source, "removed", "not found again by the rebuild")
    report.seconds = time.perf_counter() - started
    return report
