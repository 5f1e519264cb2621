"""Turn text into unit vectors with the multilingual embedding model.

EmbeddingGemma was trained with task prompts: questions are embedded as
`task: search result | query: ...` and passages as `title: <title> | text: ...`. Using
them (with the article's real title) is what makes an English question land near a
Spanish passage. Vectors are L2-normalised, so a dot product is a cosine similarity.
"""

from __future__ import annotations

import os
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
