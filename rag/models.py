"""Factories for the heavy parts: each imports its library only when called.

`import rag` stays instant; torch, sentence-transformers, llama.cpp and Chroma load the
first time a factory runs. One function per external dependency, so swapping a backend
touches one place.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rag.config import Settings

if TYPE_CHECKING:
    from pathlib import Path

    from rag.embed import Embedder
    from rag.generate import Generator
    from rag.store import ChromaServer, Store


def make_embedder(settings: Settings) -> Embedder:
    """The multilingual sentence-transformers embedder, from local disk only."""
    from rag.embed import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(
        settings.path(settings.embed_model), settings.embed_dtype, settings.embed_batch_size
    )


def make_generator(settings: Settings) -> Generator:
    """The chat model: a local GGUF run in process by llama.cpp, or an OpenAI-compatible server."""
    if settings.llm_backend == "openai":
        from rag.generate import OpenAIGenerator

        key = settings.llm_api_key
        return OpenAIGenerator(
            settings.llm_base_url,
            settings.llm_model_name,
            api_key=key.get_secret_value() if key else None,
            context=settings.llm_context,
            temperature=settings.temperature,
            seed=settings.seed,
            timeout=settings.llm_timeout,
            parallel=settings.llm_parallel,
        )
    from rag.generate import LlamaCppGenerator

    return LlamaCppGenerator(
        settings.path(settings.llm_model),
        context=settings.llm_context,
        threads=settings.llm_threads,
        temperature=settings.temperature,
        seed=settings.seed,
        prompt_lookup=settings.llm_prompt_lookup,
    )


def store_location(settings: Settings) -> Path | ChromaServer:
    """Where the collection lives: the on-disk folder, or the Chroma server."""
    if settings.store_backend == "http":
        from rag.store import ChromaServer

        s = settings
        headers = {k: v.get_secret_value() for k, v in s.chroma_headers.items()}
        return ChromaServer(s.chroma_host, s.chroma_port, s.chroma_ssl, headers)
    return settings.path(settings.index_dir) / "chroma"


def open_store(settings: Settings, embedder: Embedder, reset: bool = False) -> Store:
    """The Chroma collection, checked against the embedder that will query it.

    `reset` deletes the collection first (a rebuild for another embedding model).
    """
    from rag.store import Store

    return Store(
        store_location(settings),
        settings.collection,
        embedder.model_id,
        embedder.dimension,
        reset=reset,
        exact_limit=settings.exact_search_limit,
    )
