"""Turn text into unit vectors with the multilingual embedding model.

EmbeddingGemma was trained with task prompts: questions are embedded as
`task: search result | query: ...` and passages as `title: <title> | text: ...`. Using
them (with the article's real title) is what makes an English question land near a
Spanish passage. Vectors are L2-normalised, so a dot product is a cosine similarity.
"""

from __future__ import annotations

import os
import re
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

Vectors = npt.NDArray[np.float32]

QUERY_PROMPT = "task: search result | query: "
DOCUMENT_PROMPT = "title: {title} | text: "
SENTENCE_PROMPT = "task: sentence similarity | query: "


class Embedder(Protocol):
    """What the pipeline needs from an embedding model."""

    model_id: str
    dimension: int

    def embed_query(self, text: str) -> Vectors: ...

    def embed_documents(self, texts: Sequence[str], title: str = "none") -> Vectors: ...

    def embed_sentences(self, texts: Sequence[str]) -> Vectors: ...

    def tokenize(self, text: str) -> list[int]: ...


class SentenceTransformerEmbedder:
    """EmbeddingGemma (or any sentence-transformers model) loaded from a local folder."""

    def __init__(self, path: Path, dtype: str = "bfloat16", batch_size: int = 16) -> None:
        if not (path / "modules.json").exists():
            raise FileNotFoundError(
                f"embedding model not found at {path}; run `rag setup` to fetch it"
            )
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(os.cpu_count() or 1)
        self._model: SentenceTransformer = SentenceTransformer(
            str(path),
            device="cpu",
            local_files_only=True,
            model_kwargs={"torch_dtype": getattr(torch, dtype)},
        )
        self.model_id = path.name
        self.dimension = int(self._model.get_embedding_dimension() or 0)
        self.batch_size = batch_size

    def _encode(self, texts: Sequence[str], prompt: str) -> Vectors:
        vectors = self._model.encode(
            list(texts),
            prompt=prompt,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def embed_query(self, text: str) -> Vectors:
        """One question -> one vector (shape: dimension)."""
        vector: Vectors = self._encode([text], QUERY_PROMPT)[0]
        return vector

    def embed_documents(self, texts: Sequence[str], title: str = "none") -> Vectors:
        """Passages of one article -> vectors (shape: n x dimension)."""
        title = " ".join(title.split()) or "none"
        return self._encode(texts, DOCUMENT_PROMPT.format(title=title))

    def embed_sentences(self, texts: Sequence[str]) -> Vectors:
        """Short sentences compared with each other (citation support checks)."""
        return self._encode(texts, SENTENCE_PROMPT)

    def tokenize(self, text: str) -> list[int]:
        """Token ids of the model's tokenizer (chunk lengths are measured with it)."""
        ids: list[int] = self._model.tokenizer(text, add_special_tokens=False)["input_ids"]
        return ids


class HashEmbedder:
    """A cheap, deterministic stand-in for the embedding model: no weights, no torch.

    Words are hashed into `dimension` buckets and the counts L2-normalised, so texts that
    share words are close. Only for drills that start many processes (the crash drill),
    where loading the real model in each one would take most of the time; never for answers.
    """

    def __init__(self, dimension: int = 64) -> None:
        self.model_id = f"word-hash-{dimension}"
        self.dimension = dimension

    def tokenize(self, text: str) -> list[int]:
        """Word and punctuation tokens, as stable integers."""
        return [zlib.crc32(t.encode("utf-8", "replace")) for t in _TOKEN.findall(text)]

    def _vectors(self, texts: Sequence[str]) -> Vectors:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for token in self.tokenize(text.casefold()):
                out[row, token % self.dimension] += 1.0
            out[row, 0] += 1e-3  # an empty text still gets a unit vector
        norms: Vectors = np.linalg.norm(out, axis=1, keepdims=True)
        return out / norms

    def embed_query(self, text: str) -> Vectors:
        vector: Vectors = self._vectors([text])[0]
        return vector

    def embed_documents(self, texts: Sequence[str], title: str = "none") -> Vectors:
        return self._vectors(texts)

    def embed_sentences(self, texts: Sequence[str]) -> Vectors:
        return self._vectors(texts)


_TOKEN = re.compile(r"\w+|[^\w\s]")
