"""The persistent store: a Chroma collection written through llama-index's Chroma store.

The collection records which embedding model (and dimension) built it; opening it with
another model is refused, because its vectors would be meaningless to the new model.
An article is replaced as a whole: all its new chunks are added, then the old ones
deleted, so a search never sees half of an article.

The collection lives either on disk in this process or on a Chroma server; `connect` is
the one place that tells them apart, and everything after it is the same code.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.schema import Article, Chunk

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection
    from llama_index.vector_stores.chroma import ChromaVectorStore

log = logging.getLogger(__name__)


class StoreMismatch(RuntimeError):
    """The index was built with another embedding model than the one configured."""


@dataclass(frozen=True)
class StoredChunk:
    """A chunk as read back from the store, with its vector."""

    id: str
    source: str
    title: str
    language: str
    text: str
    start: int
    end: int
    vector: np.ndarray


@dataclass(frozen=True)
class DocumentInfo:
    """One indexed article, as listed to the user."""

    source: str
    title: str
    language: str
    content_hash: str
    chunks: int


@dataclass(frozen=True)
class ChromaServer:
    """Where a Chroma server listens."""

    host: str
    port: int
    ssl: bool = False
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    """Sent with every request (e.g. the auth token); kept out of repr and messages."""

    def __str__(self) -> str:
        return f"{'https' if self.ssl else 'http'}://{self.host}:{self.port}"


def connect(location: Path | ChromaServer) -> ClientAPI:
    """A Chroma client: the database folder `location` in process, or a Chroma server."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    settings = ChromaSettings(anonymized_telemetry=False)
    if isinstance(location, Path):
        location.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(location), settings=settings)
    try:
        return chromadb.HttpClient(
            host=location.host,
            port=location.port,
            ssl=location.ssl,
            headers=dict(location.headers),
            settings=settings,
        )
    except Exception as e:  # chromadb raises a bare Exception/ValueError when unreachable
        raise ConnectionError(f"cannot reach the Chroma server at {location}: {e}") from e


def drop_collection(server: ChromaServer, collection: str) -> bool:
    """Delete a collection on a Chroma server (`rag ingest --rebuild`); False if absent."""
    from chromadb.errors import NotFoundError

    try:
        connect(server).delete_collection(collection)
    except NotFoundError:
        return False
    return True


class Store:
    """A Chroma collection of article chunks, embedded by one model."""

    def __init__(
        self, location: Path | ChromaServer, collection: str, model_id: str, dimension: int
    ) -> None:
        from llama_index.vector_stores.chroma import ChromaVectorStore

        self.path = location if isinstance(location, Path) else None
        self._client = connect(location)
        wanted = {"embed_model": model_id, "embed_dim": dimension, "hnsw:space": "cosine"}
        self._collection: Collection = self._client.get_or_create_collection(
            collection, metadata=wanted
        )
        have = self._collection.metadata or {}
        if (have.get("embed_model"), have.get("embed_dim")) != (model_id, dimension):
            raise StoreMismatch(
                f"the index at {location} (collection {collection!r}) was built with embedding "
                f"model {have.get('embed_model')!r} ({have.get('embed_dim')} dimensions), not "
                f"{model_id!r} ({dimension}). Rebuild it with `rag ingest --rebuild`, or "
                "configure the model it was built with."
            )
        self._vector_store: ChromaVectorStore = ChromaVectorStore(
            chroma_collection=self._collection
        )
        self.max_batch = int(self._client.get_max_batch_size())
        self._writes = 0

    # ------------------------------------------------------------ writing

    def replace_article(
        self, article: Article, chunks: Sequence[Chunk], vectors: np.ndarray
    ) -> None:
        """Put an article's chunks in place of whatever was stored under its source."""
        from llama_index.core.schema import BaseNode, TextNode

        if len(chunks) != len(vectors):
            raise ValueError("one vector per chunk")
        nodes: list[BaseNode] = [
            TextNode(
                id_=c.id,
                text=c.text,
                embedding=[float(x) for x in v],
                metadata={
                    "source": article.source,
                    "path": article.path,
                    "title": article.title,
                    "language": article.language,
                    "content_hash": article.content_hash,
                    "start": c.start,
                    "end": c.end,
                    # the whitespace before the chunk, to put the article back together
                    "lead": _whitespace_before(article.text, c.start),
                },
                excluded_embed_metadata_keys=["path", "content_hash", "start", "end", "lead"],
                excluded_llm_metadata_keys=["path", "content_hash", "start", "end", "lead"],
            )
            for c, v in zip(chunks, vectors, strict=True)
        ]
        old_ids = set(self._ids_of(article.source))
        # New chunks go in first, old ones out after: a crash in between leaves two whole
        # versions (repaired by the next ingest, see `documents`), never half of one.
        for i in range(0, len(nodes), self.max_batch):
            self._vector_store.add(nodes[i : i + self.max_batch])
        self._delete(sorted(old_ids - {c.id for c in chunks}))

    def remove(self, source: str) -> int:
        """Delete every chunk of one article; returns how many there were."""
        ids = self._ids_of(source)
        self._delete(ids)
        return len(ids)

    def _delete(self, ids: list[str]) -> None:
        """Delete chunks by id, in batches Chroma accepts."""
        for i in range(0, len(ids), self.max_batch):
            self._collection.delete(ids=ids[i : i + self.max_batch])
        self._writes += 1

    def _ids_of(self, source: str) -> list[str]:
        return list(self._collection.get(where={"source": source}, include=[])["ids"])

    # ------------------------------------------------------------ reading

    def version(self) -> object:
        """Changes whenever chunks are written, here or (by count) by another process."""
        return (self._writes, self._collection.count())

    def documents(self) -> dict[str, DocumentInfo]:
        """The indexed articles by source file name.

        An article whose chunks carry two content hashes (an update cut short) gets an
        empty hash, so the next ingestion replaces it whatever its text.
        """
        got = self._collection.get(include=["metadatas"])
        docs: dict[str, DocumentInfo] = {}
        for meta in got["metadatas"] or []:
            src = str(meta["source"])
            prev = docs.get(src)
            content_hash = str(meta.get("content_hash", ""))
            if prev and prev.content_hash != content_hash:
                content_hash = ""
            docs[src] = DocumentInfo(
                source=src,
                title=str(meta.get("title", "")),
                language=str(meta.get("language", "")),
                content_hash=content_hash,
                chunks=(prev.chunks if prev else 0) + 1,
            )
        return docs

    def all_texts(self) -> tuple[list[str], list[str]]:
        """Ids and texts of every chunk (to build the keyword index)."""
        got = self._collection.get(include=["documents"])
        return list(got["ids"]), [d or "" for d in got["documents"] or []]

    def query(self, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        """The `k` nearest chunks to a unit vector: (id, cosine similarity), best first."""
        from llama_index.core.vector_stores.types import VectorStoreQuery

        if self._collection.count() == 0:
            return []
        result = self._vector_store.query(
            VectorStoreQuery(query_embedding=[float(x) for x in vector], similarity_top_k=k)
        )
        ids = result.ids or []
        sims = result.similarities or [0.0] * len(ids)
        return list(zip(ids, (float(s) for s in sims), strict=True))

    def get(self, ids: Sequence[str]) -> dict[str, StoredChunk]:
        """Chunks by id, with their vectors; unknown ids are left out."""
        if not ids:
            return {}
        unique = list(dict.fromkeys(ids))
        got = self._collection.get(ids=unique, include=["documents", "metadatas", "embeddings"])
        out: dict[str, StoredChunk] = {}
        embeddings: Any = got["embeddings"]
        for cid, text, meta, vec in zip(
            got["ids"], got["documents"] or [], got["metadatas"] or [], embeddings, strict=True
        ):
            out[cid] = StoredChunk(
                id=cid,
                source=str(meta["source"]),
                title=str(meta.get("title", "")),
                language=str(meta.get("language", "")),
                text=text or "",
                start=int(meta.get("start", 0)),  # type: ignore[arg-type]
                end=int(meta.get("end", 0)),  # type: ignore[arg-type]
                vector=np.asarray(vec, dtype=np.float32),
            )
        return out

    def article_text(self, source: str) -> str:
        """The cleaned text of an article, put back together from its chunks' offsets."""
        got = self._collection.get(where={"source": source}, include=["documents", "metadatas"])
        pieces = sorted(
            (int(m["start"]), str(m.get("lead", "")), d or "")  # type: ignore[arg-type]
            for d, m in zip(got["documents"] or [], got["metadatas"] or [], strict=True)
        )
        text = ""
        for start, lead, piece in pieces:
            gap = start - len(text)
            if gap >= 0:
                text += lead[-gap:].rjust(gap) if gap else ""
                text += piece
            else:
                text = text[:start] + piece
        return text


def _whitespace_before(text: str, index: int) -> str:
    start = index
    while start > 0 and text[start - 1].isspace():
        start -= 1
    return text[start:index]
