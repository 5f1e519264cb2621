"""Factories for the heavy parts: each imports its library only when called.

`import rag` stays instant; torch, sentence-transformers, llama.cpp and Chroma load the
first time a factory runs. One function per external dependency, so swapping a backend
touches one place.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rag.config import Settings

if TYPE_CHECKING:
    from rag.embed import Embedder
    from rag.generate import Generator
    from rag.store import Store


def make_embedder(settings: Settings) -> Embedder:
    """The multilingual sentence-transformers embedder, from local disk only."""
    from rag.embed import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(
        settings.path(settings.embed_model), settings.embed_dtype, settings.embed_batch_size
    )


def make_generator(settings: Settings) -> Generator:
    """The local GGUF chat model, run in process by llama.cpp."""
    from rag.generate import LlamaCppGenerator

    return LlamaCppGenerator(
        settings.path(settings.llm_model),
        context=settings.llm_context,
        threads=settings.llm_threads,
        temperature=settings.temperature,
        seed=settings.seed,
    )


def open_store(settings: Settings, embedder: Embedder, reset: bool = False) -> Store:
    """The persistent Chroma collection, checked against the embedder that will query it.

    `reset` deletes the collection first (a rebuild for another embedding model).
    """
    from rag.store import Store

    return Store(
        settings.path(settings.index_dir) / "chroma",
        settings.collection,
        embedder.model_id,
        embedder.dimension,
        reset=reset,
    )
