"""The ledger: a second record, outside Chroma, of which article versions were committed.

Chroma, killed mid-write, can bring back records an earlier process had deleted, and its
commit records (see rag/store.py) come back with them: a removed article would be
searchable again, or an updated one would show its old version. Nothing inside Chroma can
tell such a record from a real one. So the store also writes every commit and every removal
into this small SQLite file beside the index (SQLite's own journal makes each write whole),
and `rag check` (rag/check.py) compares the two.

The order of writes makes every disagreement readable:
- a new version is noted here as pending before its commit record goes to Chroma, and as
  committed after: Chroma showing the pending version is a write cut short between the two
  (the version is whole, and is kept); Chroma showing any other version than the
  committed one is a record brought back (the committed one is restored);
- a removal goes here first ("removed", with the version removed), then to Chroma: a Chroma
  record of a version the ledger says was removed is a removal cut short or a record Chroma
  brought back, and either way it goes.

Only the on-disk store keeps a ledger: a Chroma server outlives the clients killed around it.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

LEDGER_NAME = "ledger.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS collections (name TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS versions (
    collection TEXT NOT NULL,
    source TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    chunks INTEGER NOT NULL,
    sentences INTEGER NOT NULL,
    removed INTEGER NOT NULL DEFAULT 0,
    pending TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (collection, source)
);
"""


@dataclass(frozen=True)
class Entry:
    """The last version of one article the ledger saw committed (or removed)."""

    source: str
    content_hash: str
    chunks: int
    sentences: int
    removed: bool
    pending: str = ""
    """The content hash of a version being written (its commit not yet confirmed here)."""


class Ledger:
    """The committed versions of one collection's articles, in `<folder>/ledger.sqlite3`."""

    def __init__(self, folder: Path, collection: str) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / LEDGER_NAME
        self.collection = collection
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def started(self) -> bool:
        """True once the ledger has recorded this collection (see `start`)."""
        row = self._db.execute("SELECT 1 FROM collections WHERE name = ?", (self.collection,))
        return row.fetchone() is not None

    def start(self, entries: list[Entry]) -> None:
        """Begin recording this collection with what it holds now (an index written before
        the ledger existed, or a new one), in one transaction."""
        with self._transaction():
            self._db.execute("DELETE FROM versions WHERE collection = ?", (self.collection,))
            for e in entries:
                self._put(e)
            self._db.execute("INSERT OR IGNORE INTO collections VALUES (?)", (self.collection,))

    def forget(self) -> None:
        """Drop this collection's records (the collection was deleted, e.g. by a rebuild)."""
        with self._transaction():
            self._db.execute("DELETE FROM versions WHERE collection = ?", (self.collection,))
            self._db.execute("DELETE FROM collections WHERE name = ?", (self.collection,))

    def pending(self, source: str, content_hash: str) -> None:
        """Record that this version of `source` is about to be committed in Chroma."""
        with self._transaction():
            self._db.execute(
                "INSERT INTO versions VALUES (?, ?, '', 0, 0, 1, ?) ON CONFLICT "
                "(collection, source) DO UPDATE SET pending = excluded.pending",
                (self.collection, source, content_hash),
            )

    def committed(self, source: str, content_hash: str, chunks: int, sentences: int) -> None:
        """Record that this version of `source` is committed (after Chroma's commit record)."""
        with self._transaction():
            self._put(Entry(source, content_hash, chunks, sentences, removed=False))

    def removed(self, source: str, content_hash: str) -> None:
        """Record that this version of `source` is being removed (before Chroma deletes it)."""
        with self._transaction():
            self._put(Entry(source, content_hash, 0, 0, removed=True))

    def entries(self) -> dict[str, Entry]:
        """Every article the ledger knows, removed ones included, by source."""
        rows = self._db.execute(
            "SELECT source, content_hash, chunks, sentences, removed, pending FROM versions "
            "WHERE collection = ?",
            (self.collection,),
        )
        return {r[0]: Entry(r[0], r[1], int(r[2]), int(r[3]), bool(r[4]), r[5]) for r in rows}

    def close(self) -> None:
        self._db.close()

    def _put(self, e: Entry) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO versions VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                self.collection,
                e.source,
                e.content_hash,
                e.chunks,
                e.sentences,
                int(e.removed),
                e.pending,
            ),
        )

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT (ROLLBACK on an exception)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, *_rest: object) -> None:
        self._db.execute("ROLLBACK" if kind else "COMMIT")
