"""Check the index, and repair it: what `rag check [--repair]` runs, and every writer too.

The store's commit records already keep a write cut short from showing half an article
(rag/store.py). What they cannot tell apart is a commit record that is real from one that
Chroma brought back, or a removal cut short before Chroma deleted the record; and
Chroma's HNSW index can leave a stored passage unreachable (chroma-core/chroma#7758), so
that dense search through it never returns it. This module finds these, and the rest of
what a crash can leave:

1. **The commit records against the ledger** (rag/ledger.py, on-disk stores): an article
   removed but back, an article showing another version than the last one committed, a
   committed article whose record is gone. Each is set right from what the store still
   holds: the version the ledger has as pending if Chroma shows it whole (a write cut short
   between the two commits), else the ledger's committed version if whole, else the one
   Chroma shows if whole; an article with none is removed and reported ("ingest it again").
2. **Whole articles**: every visible article has all the chunks and sentences its record
   counts.
3. **Leftovers**: rows of versions never committed (a write cut short) are deleted.
4. **Dense search** (the slow step through HNSW: one nearest-neighbour query per chunk):
   every visible chunk is found by dense search for its own vector. A lost one is written
   again from its stored vector, text and metadata, and looked for again. Up to
   Settings.exact_search_limit chunks the search is exact, and this only checks that every
   visible chunk has its vector.

Steps 1-3 read only metadata and run at the start of every write. Step 4 runs on demand
(`rag check`) and when a writer finds that the previous one died holding the write lock.
The caller holds the write lock.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rag.config import Settings
from rag.ledger import Entry, Ledger
from rag.store import DocumentInfo, Store


@dataclass(frozen=True)
class Finding:
    """One thing found wrong, in plain words, and whether it is set right."""

    what: str
    repaired: bool


@dataclass
class Health:
    """What a check found in the index."""

    articles: int = 0
    chunks: int = 0
    vectors_checked: bool = False
    """True when step 4 ran: every visible chunk was looked for by its own vector."""
    discarded: int = 0
    """Chunks of writes cut short (never visible) deleted by step 3."""
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing is wrong any more (nothing found, or all of it repaired)."""
        return all(f.repaired for f in self.findings)

    def summary(self) -> str:
        """What was found and done, in plain words, for `rag check` and the ingest log."""
        size = f"{self.articles} articles, {self.chunks} passages"
        if not self.findings:
            vectors = "; every passage is found by its own vector" if self.vectors_checked else ""
            return f"index ok: {size}{vectors}"
        lines = [f"{size}; found:"]
        lines += [
            f"  - {f.what}" + ("" if f.repaired else " [NOT REPAIRED]") for f in self.findings
        ]
        return "\n".join(lines)


def check_index(settings: Settings, repair: bool) -> Health:
    """`rag check [--repair]`: take the write lock, open the configured index as it was
    built (no model is loaded) and check it, the vector index too.

    Raises IndexBusy at once if another process is writing to it, FileNotFoundError if
    there is no index.
    """
    from rag.lock import index_lock
    from rag.models import store_location

    s = settings
    with index_lock(s):
        store = Store.built(store_location(settings), settings.collection, s.exact_search_limit)
        return check(store, repair)


def check(store: Store, repair: bool, vectors: bool = True) -> Health:
    """Check the index (with `vectors`, the vector index too: the slow step) and, with
    `repair`, set right what is wrong; see the module docstring."""
    run = _Check(store, repair)
    if store.ledger is not None:
        run.against_ledger(store.ledger)
    run.whole_articles()
    run.leftovers()
    docs = store.documents()
    run.health.articles = len(docs)
    run.health.chunks = sum(d.chunks for d in docs.values())
    if vectors:
        run.vector_index()
    return run.health


class _Check:
    """One run of `check`: the store's row counts, read once, and what was found."""

    def __init__(self, store: Store, repair: bool) -> None:
        self.store = store
        self.repair = repair
        self.health = Health()
        self.counts = store.row_counts()

    def note(self, what: str, repaired: bool, done: str = "") -> None:
        self.health.findings.append(Finding(what + (f"; {done}" if self.repair and done else ""),
                                            repaired))  # fmt: skip

    def whole(self, source: str, content_hash: str, chunks: int, sentences: int) -> bool:
        """True if every chunk and sentence of this version is in the store."""
        have = self.counts.get((source, content_hash), (0, 0))
        return have[0] == chunks and (sentences < 0 or have[1] == sentences)

    def drop(self, source: str, why: str) -> None:
        """An article that cannot be set right from what the store holds: it goes (with
        `repair`), and the finding stays unrepaired: the user must ingest it again."""
        then = "removed it: ingest it again" if self.repair else "ingest it again after a repair"
        self.note(f"{source}: {why}; {then}", repaired=False)
        if self.repair:
            self.store.remove(source)

    def against_ledger(self, ledger: Ledger) -> None:
        """Step 1: Chroma's commit records against the ledger."""
        entries = ledger.entries()
        committed = self.store.documents()
        for source, doc in committed.items():
            entry = entries.get(source)
            if entry and not entry.removed and entry.content_hash == doc.content_hash:
                continue
            if entry and entry.removed and entry.content_hash == doc.content_hash:
                self.note(f"{source} was removed, but the index showed it again", self.repair,
                          "removed it again")  # fmt: skip
                if self.repair:
                    self.store.remove(source)
            elif (
                entry
                and entry.pending == doc.content_hash
                and self.whole(source, doc.content_hash, doc.chunks, doc.sentences)
            ):
                # Chroma's commit landed and the ledger's did not: a write cut short between
                # the two. The version is whole: it stays, and the ledger learns it.
                if self.repair:
                    ledger.committed(source, doc.content_hash, doc.chunks, doc.sentences)
            elif entry and not entry.removed and self.whole_entry(entry):
                self.note(f"{source} showed another version than the last one committed",
                          self.repair, "restored the last one")  # fmt: skip
                if self.repair:
                    self.store.recommit(entry)
            elif self.whole(source, doc.content_hash, doc.chunks, doc.sentences):
                # Nothing better to show, and it is whole: it stays.
                if self.repair:
                    ledger.committed(source, doc.content_hash, doc.chunks, doc.sentences)
            else:
                self.drop(source, "part of its passages are missing")
        for source, entry in entries.items():
            if entry.removed or source in committed:
                continue
            if self.whole_entry(entry):
                self.note(f"{source} is committed but was not shown", self.repair, "restored it")
                if self.repair:
                    self.store.recommit(entry)
            else:
                self.note(f"{source} is lost from the index: ingest it again", repaired=False)
                if self.repair:
                    ledger.removed(source, entry.content_hash)

    def whole_entry(self, entry: Entry) -> bool:
        return self.whole(entry.source, entry.content_hash, entry.chunks, entry.sentences)

    def whole_articles(self) -> None:
        """Step 2: every visible article has all the rows its commit record counts."""
        for doc in self.store.documents().values():
            if not self.whole(doc.source, doc.content_hash, doc.chunks, doc.sentences):
                have = self.counts.get((doc.source, doc.content_hash), (0, 0))[0]
                self.drop(doc.source, f"{have} of its {doc.chunks} passages are in the index")

    def leftovers(self) -> None:
        """Step 3: rows of versions never committed."""
        docs = self.store.documents()
        hidden = sum(
            chunks
            for (source, content_hash), (chunks, _) in self.counts.items()
            if docs.get(source, _NONE).content_hash != content_hash
        )
        if hidden:
            self.note(f"{hidden} passages of writes cut short (never shown)", self.repair,
                      "deleted them")  # fmt: skip
            if self.repair:
                self.health.discarded = self.store.discard_incomplete()

    def vector_index(self) -> None:
        """Step 4: every visible chunk is found by a query for its own vector."""
        self.health.vectors_checked = True
        lost = self.store.unfindable()
        if not lost:
            return
        still = lost
        if self.repair:
            self.store.reindex(lost)
            still = self.store.unfindable()
        written = f"wrote {len(lost) - len(still)} of them again from their stored vectors"
        self.note(
            f"{len(lost)} passages were not found by their own vector (the vector index lost "
            "them, and dense search never returned them)",
            repaired=not still,
            done=written,
        )


_NONE = DocumentInfo("", "", "", "", 0)
