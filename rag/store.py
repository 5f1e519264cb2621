"""The persistent store: a Chroma collection written through llama-index's Chroma store.

The collection records which embedding model (and dimension) built it; opening it with
another model is refused, because its vectors would be meaningless to the new model.

Beside the chunks, a third collection (`<collection>.sentences`) holds every sentence of
every article with its embedding and its offsets in the article: the answer path ranks
sentences, not whole chunks, and the citation check compares the answer with them, so they
are split and embedded once, at ingest, never per question.

Never half an article, even if the process is killed mid-write: an article's chunks and
sentences are written first (in batches Chroma accepts), then one commit record in a second
collection (`<collection>.documents`) says "article X is version H with N chunks", then the
chunks and sentences of the version it replaces are deleted. Readers (`query`, `get`,
`sentences`, `all_texts`, `documents`, `article_text`) only see rows of committed versions,
so a write cut short anywhere leaves each article either whole (old or new version) or
absent. The next writer deletes the leftovers (`discard_incomplete`).

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

from rag.chunk import Span, chunk_id
from rag.ledger import Entry, Ledger
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
class StoredSentence:
    """One sentence of an indexed article, with its embedding and article offsets."""

    source: str
    text: str
    start: int
    """Character offsets of the sentence in the cleaned article text."""
    end: int
    ord: int
    """Position of the sentence in its article (0, 1, ...)."""
    lead: str
    """The whitespace before the sentence in the article (to join neighbours exactly)."""
    vector: np.ndarray


@dataclass(frozen=True)
class DocumentInfo:
    """One indexed article, as listed to the user."""

    source: str
    title: str
    language: str
    content_hash: str
    chunks: int
    sentences: int = -1
    """Sentences stored for it; -1 for an article indexed before sentences were stored
    (the next ingest adds them)."""
    story: tuple[str, ...] = ()
    """The other indexed articles that tell the same story (file names, sorted; see
    rag/stories.py). Filled in by `Assistant.documents()`; the store lists it empty."""


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
    """Delete a collection and its commit records on a Chroma server; False if absent."""
    client = connect(server)
    existing = {c.name for c in client.list_collections()}
    for name in (commits_name(collection), sentences_name(collection), collection):
        if name in existing:
            client.delete_collection(name)
    return collection in existing


class Store:
    """A Chroma collection of article chunks, embedded by one model, and its commit records."""

    def __init__(
        self,
        location: Path | ChromaServer,
        collection: str,
        model_id: str,
        dimension: int,
        reset: bool = False,
        exact_limit: int = 20_000,
    ) -> None:
        """Open (or create) the collection; `reset` first deletes it and its commit records
        (a rebuild for another embedding model: the old vectors are of no use to it).

        Up to `exact_limit` stored chunks, `query` compares with every stored vector instead
        of asking Chroma's HNSW index (see Settings.exact_search_limit)."""
        from llama_index.vector_stores.chroma import ChromaVectorStore

        self.path = location if isinstance(location, Path) else None
        self.collection = collection
        self.exact_limit = exact_limit
        self._matrix: tuple[object, list[str], np.ndarray] | None = None
        self._client = connect(location)
        self._ledger: Ledger | None = None
        if reset:
            existing = {c.name for c in self._client.list_collections()}
            for name in (commits_name(collection), sentences_name(collection), collection):
                if name in existing:
                    self._client.delete_collection(name)
            if self.path is not None:
                Ledger(self.path.parent, collection).forget()
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
        self._sentences: Collection = self._client.get_or_create_collection(
            sentences_name(collection), metadata=wanted
        )
        self._docs = self._open_commits(collection)

    @classmethod
    def built(cls, location: Path | ChromaServer, collection: str, exact_limit: int) -> Store:
        """Open an existing collection with the embedding model it records (to check it:
        nothing is embedded, so no model is loaded). FileNotFoundError if there is none."""
        client = connect(location)
        if collection not in {c.name for c in client.list_collections()}:
            raise FileNotFoundError(f"no index at {location} (collection {collection!r})")
        meta = client.get_collection(collection).metadata or {}
        model, dimension = str(meta.get("embed_model")), int(meta["embed_dim"])
        return cls(location, collection, model, dimension, exact_limit=exact_limit)

    def _open_commits(self, collection: str) -> Collection:
        """The commit records; an index written before they existed gets them now."""
        name = commits_name(collection)
        exists = name in {c.name for c in self._client.list_collections()}
        docs: Collection = self._client.get_or_create_collection(name, embedding_function=None)
        if not exists and self._collection.count():
            # Every article whose chunks all carry one content hash was written whole.
            hashes: dict[str, set[str]] = {}
            metas: dict[str, list[Mapping[str, Any]]] = {}
            for meta in self._collection.get(include=["metadatas"])["metadatas"] or []:
                src = str(meta["source"])
                hashes.setdefault(src, set()).add(str(meta.get("content_hash", "")))
                metas.setdefault(src, []).append(meta)
            stored: dict[tuple[str, str], int] = {}
            for meta in self._sentences.get(include=["metadatas"])["metadatas"] or []:
                key = (str(meta["source"]), str(meta.get("content_hash", "")))
                stored[key] = stored.get(key, 0) + 1
            for src, found in hashes.items():
                if len(found) == 1:
                    count = stored.get((src, next(iter(found))), -1)
                    self._commit(docs, metas[src][0], len(metas[src]), count)
        return docs

    @property
    def ledger(self) -> Ledger | None:
        """The on-disk store's ledger (rag/ledger.py), opened by the first writer or check;
        an index written before the ledger existed starts it with what it holds."""
        if self._ledger is None and self.path is not None:
            ledger = Ledger(self.path.parent, self.collection)
            if not ledger.started():
                ledger.start(
                    [
                        Entry(d.source, d.content_hash, d.chunks, d.sentences, removed=False)
                        for d in self._committed().values()
                    ]
                )
            self._ledger = ledger
        return self._ledger

    # ------------------------------------------------------------ writing

    def replace_article(
        self,
        article: Article,
        chunks: Sequence[Chunk],
        vectors: np.ndarray,
        sentences: Sequence[Span] = (),
        sentence_vectors: np.ndarray | None = None,
    ) -> None:
        """Put an article's chunks and sentences (offsets in the article text) in place of
        whatever was stored under its source."""
        from llama_index.core.schema import MetadataMode, TextNode
        from llama_index.core.vector_stores.utils import node_to_metadata_dict

        if len(chunks) != len(vectors):
            raise ValueError("one vector per chunk")
        if sentences and (sentence_vectors is None or len(sentence_vectors) != len(sentences)):
            raise ValueError("one vector per sentence")
        nodes = [
            TextNode(
                id_=c.id,
                text=c.text,
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
            for c in chunks
        ]
        old_ids = set(self._ids_of(article.source))
        old_sentences = set(self._sentence_ids_of(article.source))
        # New chunks first, then the commit record, then the old chunks out: a crash
        # anywhere leaves the old version (or nothing) visible, or the new one, never half.
        # Upsert, not add: a forced rebuild rewrites chunks whose ids already exist.
        for i in range(0, len(nodes), self.max_batch):
            batch = nodes[i : i + self.max_batch]
            metadatas: list[Any] = []
            for node in batch:
                meta = node_to_metadata_dict(node, remove_text=True, flat_metadata=True)
                metadatas.append({k: "" if v is None else v for k, v in meta.items()})
            self._collection.upsert(
                ids=[n.node_id for n in batch],
                embeddings=np.asarray(vectors[i : i + self.max_batch], dtype=np.float32),
                metadatas=metadatas,
                documents=[n.get_content(metadata_mode=MetadataMode.NONE) for n in batch],
            )
        new_sentences = [sentence_id(article.content_hash, s.start, s.end) for s in sentences]
        for i in range(0, len(sentences), self.max_batch):
            rows = sentences[i : i + self.max_batch]
            assert sentence_vectors is not None
            self._sentences.upsert(
                ids=new_sentences[i : i + self.max_batch],
                embeddings=np.asarray(sentence_vectors[i : i + self.max_batch], np.float32),
                metadatas=[
                    {
                        "source": article.source,
                        "content_hash": article.content_hash,
                        "start": s.start,
                        "end": s.end,
                        "ord": i + k,
                        "lead": article.text[_previous_end(sentences, i + k) : s.start],
                    }
                    for k, s in enumerate(rows)
                ],
                documents=[s.text for s in rows],
            )
        if self.ledger:
            self.ledger.pending(article.source, article.content_hash)
        record = {
            "source": article.source,
            "title": article.title,
            "language": article.language,
            "content_hash": article.content_hash,
        }
        self._commit(self._docs, record, len(nodes), len(sentences))
        if self.ledger:
            self.ledger.committed(article.source, article.content_hash, len(nodes), len(sentences))
        self._delete(sorted(old_ids - {c.id for c in chunks}))
        self._delete_sentences(sorted(old_sentences - set(new_sentences)))

    @staticmethod
    def _commit(
        docs: Collection, meta: Mapping[str, Any], chunks: int, sentences: int = -1
    ) -> None:
        """Write the record that makes one version of an article visible, as a whole."""
        record: dict[str, str | int] = {
            key: str(meta.get(key, "")) for key in ("source", "title", "language", "content_hash")
        }
        record["chunks"] = chunks
        record["sentences"] = sentences
        # Records are looked up by id, never by similarity: a constant 1-d vector.
        docs.upsert(
            ids=[str(record["source"])], embeddings=np.ones((1, 1), np.float32), metadatas=[record]
        )

    def remove(self, source: str) -> int:
        """Delete one article (its ledger entry and commit record first); returns how many
        chunks it had."""
        ids = self._ids_of(source)
        doc = self._committed().get(source)
        if self.ledger and doc:
            self.ledger.removed(source, doc.content_hash)
        self._docs.delete(ids=[source])
        self._delete(ids)
        self._delete_sentences(self._sentence_ids_of(source))
        return len(ids)

    def discard_incomplete(self) -> int:
        """Delete the chunks of versions never committed (writes cut short); returns how many.

        Only a writer (holding the index's write lock) may call this: a running write's
        chunks are uncommitted too.
        """
        committed = self._committed()
        got = self._collection.get(include=["metadatas"])
        stale = [
            cid
            for cid, meta in zip(got["ids"], got["metadatas"] or [], strict=True)
            if not _visible(meta, committed)
        ]
        if stale:
            self._delete(stale)
        got = self._sentences.get(include=["metadatas"])
        stale_sentences = [
            sid
            for sid, meta in zip(got["ids"], got["metadatas"] or [], strict=True)
            if not _visible(meta, committed)
        ]
        self._delete_sentences(stale_sentences)
        return len(stale)

    # ------------------------------------------------------------ checking (rag/check.py)

    def row_counts(self) -> dict[tuple[str, str], tuple[int, int]]:
        """(source, content hash) -> how many chunks and sentences of that version are
        stored, committed or not."""
        counts: dict[tuple[str, str], list[int]] = {}
        for k, collection in enumerate((self._collection, self._sentences)):
            for meta in collection.get(include=["metadatas"])["metadatas"] or []:
                key = (str(meta.get("source", "")), str(meta.get("content_hash", "")))
                counts.setdefault(key, [0, 0])[k] += 1
        return {key: (c, n) for key, (c, n) in counts.items()}

    def unfindable(self, batch: int = 256) -> list[str]:
        """Visible chunks that dense search (`query`) for their own vector does not return.

        Through Chroma's HNSW index (above `exact_limit`), a chunk can be lost to it after a
        crash, or left unreachable from the graph (chroma-core/chroma#7758). Exact search
        finds every chunk whose vector is stored.
        """
        ids, _ = self.all_texts()
        total = self._collection.count()
        if total <= self.exact_limit:
            have = set(self._vectors(self._committed(), total)[0])
            return [cid for cid in ids if cid not in have]
        lost: list[str] = []
        for i in range(0, len(ids), batch):
            part = ids[i : i + batch]
            vectors: Any = self._collection.get(ids=part, include=["embeddings"])
            by_id = dict(zip(vectors["ids"], vectors["embeddings"], strict=True))
            part = [cid for cid in part if cid in by_id]
            # A few neighbours first; identical chunks of other articles tie with a chunk, so
            # the ones not among them are asked again with every row as a candidate.
            for k in (min(total, 16), total):
                if not part:
                    break
                found = self._collection.query(
                    query_embeddings=np.asarray([by_id[c] for c in part], np.float32),
                    n_results=k,
                    include=[],
                )["ids"]
                part = [cid for cid, hits in zip(part, found, strict=True) if cid not in hits]
            lost += part
        return lost

    def reindex(self, ids: Sequence[str]) -> None:
        """Write chunks again with their own stored vector, text and metadata, which puts
        them back into the vector index."""
        for i in range(0, len(ids), self.max_batch):
            got: Any = self._collection.get(
                ids=list(ids[i : i + self.max_batch]),
                include=["embeddings", "metadatas", "documents"],
            )
            if got["ids"]:
                self._collection.upsert(
                    ids=got["ids"],
                    embeddings=np.asarray(got["embeddings"], np.float32),
                    metadatas=got["metadatas"],
                    documents=got["documents"],
                )
        self._writes += 1

    def recommit(self, entry: Entry) -> None:
        """Make `entry`'s version of its article the visible one again (its rows are whole
        in the store: see `row_counts`)."""
        got = self._collection.get(
            where={"$and": [{"source": entry.source}, {"content_hash": entry.content_hash}]},
            include=["metadatas"],
            limit=1,
        )
        meta = (got["metadatas"] or [{}])[0]
        self._commit(self._docs, meta, entry.chunks, entry.sentences)
        if self.ledger:
            self.ledger.committed(entry.source, entry.content_hash, entry.chunks, entry.sentences)
        self._writes += 1

    def _delete(self, ids: list[str]) -> None:
        """Delete chunks by id, in batches Chroma accepts."""
        for i in range(0, len(ids), self.max_batch):
            self._collection.delete(ids=ids[i : i + self.max_batch])
        self._writes += 1

    def _delete_sentences(self, ids: list[str]) -> None:
        for i in range(0, len(ids), self.max_batch):
            self._sentences.delete(ids=ids[i : i + self.max_batch])

    def _ids_of(self, source: str) -> list[str]:
        return list(self._collection.get(where={"source": source}, include=[])["ids"])

    def _sentence_ids_of(self, source: str) -> list[str]:
        return list(self._sentences.get(where={"source": source}, include=[])["ids"])

    # ------------------------------------------------------------ reading

    def _committed(self) -> dict[str, DocumentInfo]:
        got = self._docs.get(include=["metadatas"])
        docs: dict[str, DocumentInfo] = {}
        for meta in got["metadatas"] or []:
            src = str(meta["source"])
            docs[src] = DocumentInfo(
                source=src,
                title=str(meta.get("title", "")),
                language=str(meta.get("language", "")),
                content_hash=str(meta.get("content_hash", "")),
                chunks=int(meta.get("chunks", 0)),  # type: ignore[arg-type]
                sentences=int(meta.get("sentences", -1)),  # type: ignore[arg-type]
            )
        return docs

    def hidden(self) -> int:
        """How many stored chunks no reader sees (left by a write cut short, or being written)."""
        return self._collection.count() - len(self.all_texts()[0])

    def version(self) -> object:
        """Changes whenever articles are written, here or (by counts) by another process."""
        return (self._writes, self._collection.count(), self._docs.count())

    def documents(self) -> dict[str, DocumentInfo]:
        """The indexed (committed) articles by source file name."""
        return self._committed()

    def chunk_vectors(self) -> dict[str, np.ndarray]:
        """The unit vectors of every committed article's visible chunks, by source (one row
        per chunk, in article order): what rag/stories.py groups articles by."""
        committed = self._committed()
        got: Any = self._collection.get(include=["metadatas", "embeddings"])
        embeddings = got["embeddings"] if got["embeddings"] is not None else []
        rows: dict[str, list[tuple[int, np.ndarray]]] = {}
        for meta, vec in zip(got["metadatas"] or [], embeddings, strict=True):
            if _visible(meta, committed):
                start = int(meta.get("start", 0))
                rows.setdefault(str(meta["source"]), []).append((start, np.asarray(vec)))
        out: dict[str, np.ndarray] = {}
        for src, found in rows.items():
            found.sort(key=lambda r: r[0])
            matrix = np.asarray([v for _, v in found], np.float32)
            norms = np.linalg.norm(matrix, axis=1, keepdims=True)
            out[src] = matrix / np.maximum(norms, 1e-12)
        return out

    def all_texts(self) -> tuple[list[str], list[str]]:
        """Ids and texts of every visible chunk (to build the keyword index)."""
        committed = self._committed()
        got = self._collection.get(include=["documents", "metadatas"])
        ids: list[str] = []
        texts: list[str] = []
        for cid, text, meta in zip(
            got["ids"], got["documents"] or [], got["metadatas"] or [], strict=True
        ):
            if _visible(meta, committed):
                ids.append(cid)
                texts.append(text or "")
        return ids, texts

    def count(self) -> int:
        """How many chunks the committed articles have."""
        return sum(d.chunks for d in self._committed().values())

    def containing(self, forms: Sequence[Sequence[str]], limit: int) -> list[dict[str, str]]:
        """For each form (a list of words), the texts, by id, of up to `limit` visible
        chunks whose text holds every one of its words as written (case-sensitive
        substrings, by Chroma's document filter: no scan of the collection here)."""
        committed = self._committed()
        out: list[dict[str, str]] = []
        for words in forms:
            if not words:
                out.append({})
                continue
            clauses: list[Any] = [{"$contains": w} for w in words]
            where: Any = clauses[0] if len(clauses) == 1 else {"$and": clauses}
            got = self._collection.get(
                where_document=where, include=["documents", "metadatas"], limit=limit
            )
            out.append(
                {
                    cid: text or ""
                    for cid, text, meta in zip(
                        got["ids"], got["documents"] or [], got["metadatas"] or [], strict=True
                    )
                    if _visible(meta, committed)
                }
            )
        return out

    def query(self, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        """The `k` nearest visible chunks to a unit vector: (id, similarity), best first."""
        total = self._collection.count()
        if total == 0:
            return []
        committed = self._committed()
        if total <= self.exact_limit:
            ids, matrix = self._vectors(committed, total)
            sims = matrix @ np.asarray(vector, np.float32)
            order = np.argsort(-sims, kind="stable")
            return [(ids[i], float(sims[i])) for i in order[:k]]
        return self._hnsw_query(vector, k, total, committed)

    def _vectors(
        self, committed: Mapping[str, DocumentInfo], total: int
    ) -> tuple[list[str], np.ndarray]:
        """Ids and unit vectors of every visible chunk, read again after any write (here,
        or by another process: the committed versions or the row count change)."""
        version = (total, sorted((d.source, d.content_hash) for d in committed.values()))
        if self._matrix is None or self._matrix[0] != version:
            got: Any = self._collection.get(include=["metadatas", "embeddings"])
            keep = [i for i, m in enumerate(got["metadatas"] or []) if _visible(m, committed)]
            ids = [got["ids"][i] for i in keep]
            matrix = np.asarray([got["embeddings"][i] for i in keep], np.float32)
            matrix = matrix.reshape(len(keep), -1)
            norms = np.linalg.norm(matrix, axis=1, keepdims=True)
            self._matrix = (version, ids, matrix / np.maximum(norms, 1e-12))
        return self._matrix[1], self._matrix[2]

    def _hnsw_query(
        self, vector: np.ndarray, k: int, total: int, committed: Mapping[str, DocumentInfo]
    ) -> list[tuple[str, float]]:
        """`query` through Chroma's HNSW index (via llama-index's Chroma store)."""
        from llama_index.core.vector_stores.types import VectorStoreQuery

        # Ask for as many more as there are invisible chunks, so filtering leaves k.
        hidden = max(0, total - sum(d.chunks for d in committed.values()))
        result = self._vector_store.query(
            VectorStoreQuery(
                query_embedding=[float(x) for x in vector], similarity_top_k=k + hidden
            )
        )
        ids = result.ids or []
        sims = result.similarities or [0.0] * len(ids)
        nodes = result.nodes or []
        return [
            (cid, float(sim))
            for cid, sim, node in zip(ids, sims, nodes, strict=True)
            if _visible(node.metadata, committed)
        ][:k]

    def get(self, ids: Sequence[str]) -> dict[str, StoredChunk]:
        """Visible chunks by id, with their vectors; unknown or invisible ids are left out."""
        if not ids:
            return {}
        unique = list(dict.fromkeys(ids))
        committed = self._committed()
        got = self._collection.get(ids=unique, include=["documents", "metadatas", "embeddings"])
        out: dict[str, StoredChunk] = {}
        embeddings: Any = got["embeddings"]
        for cid, text, meta, vec in zip(
            got["ids"], got["documents"] or [], got["metadatas"] or [], embeddings, strict=True
        ):
            if not _visible(meta, committed):
                continue
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

    def sentences(self, sources: Sequence[str]) -> dict[str, list[StoredSentence]]:
        """The stored sentences of some articles, in article order, with their vectors.

        An article indexed before sentences were stored has none here (it gets them at the
        next ingest); callers fall back to splitting its chunks.
        """
        wanted = list(dict.fromkeys(sources))
        if not wanted:
            return {}
        committed = self._committed()
        where: Any = {"source": wanted[0]} if len(wanted) == 1 else {"source": {"$in": wanted}}
        got = self._sentences.get(where=where, include=["documents", "metadatas", "embeddings"])
        out: dict[str, list[StoredSentence]] = {}
        embeddings: Any = got["embeddings"]
        if embeddings is None:
            embeddings = [None] * len(got["ids"])
        for text, meta, vec in zip(
            got["documents"] or [], got["metadatas"] or [], embeddings, strict=True
        ):
            if not _visible(meta, committed):
                continue
            src = str(meta["source"])
            out.setdefault(src, []).append(
                StoredSentence(
                    source=src,
                    text=text or "",
                    start=int(meta["start"]),  # type: ignore[arg-type]
                    end=int(meta["end"]),  # type: ignore[arg-type]
                    ord=int(meta["ord"]),  # type: ignore[arg-type]
                    lead=str(meta.get("lead", "")),
                    vector=np.asarray(vec, dtype=np.float32),
                )
            )
        for rows in out.values():
            rows.sort(key=lambda r: r.ord)
        return out

    def article_text(self, source: str) -> str:
        """The cleaned text of an article, put back together from its chunks' offsets."""
        committed = self._committed()
        got = self._collection.get(where={"source": source}, include=["documents", "metadatas"])
        pieces = sorted(
            (int(m["start"]), str(m.get("lead", "")), d or "")  # type: ignore[arg-type]
            for d, m in zip(got["documents"] or [], got["metadatas"] or [], strict=True)
            if _visible(m, committed)
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


def sentence_id(content_hash: str, start: int, end: int) -> str:
    """Stable id of a stored sentence: same article text and offsets, same id."""
    return "s" + chunk_id(content_hash, start, end)[1:]


def sentences_name(collection: str) -> str:
    """Name of the collection holding the sentences of `collection`."""
    return f"{collection}.sentences"


def commits_name(collection: str) -> str:
    """Name of the collection holding the commit records of `collection`."""
    return f"{collection}.documents"


def _visible(meta: Mapping[str, Any], committed: Mapping[str, DocumentInfo]) -> bool:
    """True for a chunk of the committed version of its article."""
    doc = committed.get(str(meta.get("source", "")))
    return doc is not None and doc.content_hash == str(meta.get("content_hash", ""))


def _previous_end(sentences: Sequence[Span], k: int) -> int:
    """Where the text between sentence k-1 and sentence k starts (its whitespace, mostly)."""
    return sentences[k - 1].end if k else sentences[0].start


def _whitespace_before(text: str, index: int) -> str:
    start = index
    while start > 0 and text[start - 1].isspace():
        start -= 1
    return text[start:index]
