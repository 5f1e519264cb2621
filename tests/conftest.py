"""Shared fixtures: real models where they are cheap, fakes only for slow generation.

The embedder (EmbeddingGemma) and the tiny GGUF model load once per session; an index of
the bundled corpus is built once into a temporary folder. The default 1.5B model is used
only by tests marked `slow`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from rag.config import PROJECT_ROOT, Settings  # noqa: E402
from rag.generate import GenerationStats  # noqa: E402
from ragkit.servers import ChatServer, free_port, serve_chat  # noqa: E402

CORPUS = PROJECT_ROOT / "corpus"
MODELS = PROJECT_ROOT / "models"
TINY_MODEL = MODELS / "smollm2-135m-instruct-q4_1.gguf"


def copy_corpus(dest: Path, names: list[str]) -> Path:
    """Copy some bundled articles (by file name) into `dest`, a folder to ingest."""
    import shutil

    dest.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(CORPUS / name, dest / name)
    return dest


class FakeGenerator:
    """Stands in for the LLM: replies with a scripted answer and records the prompts."""

    model_id = "fake"
    context_size = 4096

    def __init__(self, reply: str = "", *later: str) -> None:
        """`reply` answers the first call; `later` replies answer the next calls in order."""
        self.reply = reply
        self.later = list(later)
        self.calls: list[list[dict[str, str]]] = []

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def stream(
        self, messages: list[dict[str, str]], max_tokens: int, stats: GenerationStats | None = None
    ) -> Iterator[str]:
        replies = [self.reply, *self.later]
        text = replies[min(len(self.calls), len(replies) - 1)]
        self.calls.append(messages)
        words = text.split(" ")
        for i, w in enumerate(words):
            yield w if i == 0 else " " + w
        if stats is not None:
            stats.completion_tokens = len(words)


@pytest.fixture(scope="session")
def base_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings pointing at the real models and a session-wide temporary index."""
    return Settings(index_dir=tmp_path_factory.mktemp("index"))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings with an empty index of this test's own."""
    return Settings(index_dir=tmp_path / "index")


@pytest.fixture(scope="session")
def embedder(base_settings: Settings):  # type: ignore[no-untyped-def]
    from rag.models import make_embedder

    return make_embedder(base_settings)


@pytest.fixture(scope="session")
def corpus_assistant(base_settings: Settings, embedder):  # type: ignore[no-untyped-def]
    """An assistant over the bundled corpus, indexed once, with a fake generator."""
    from rag.answer import Assistant

    assistant = Assistant(base_settings, embedder=embedder, generator=FakeGenerator())
    report = assistant.ingest([CORPUS])
    assert len(report.added) == 5
    return assistant


@pytest.fixture(scope="session")
def tiny_generator():  # type: ignore[no-untyped-def]
    """The real llama.cpp runtime on the smallest model (plumbing only: its text is poor)."""
    from rag.generate import LlamaCppGenerator

    return LlamaCppGenerator(TINY_MODEL, context=2048)


@pytest.fixture(scope="session")
def chat_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real chat, as `./run.sh chat` starts it (default model); yields its URL."""
    with serve_chat(tmp_path_factory.mktemp("chat"), port=free_port()) as server:
        yield server.url


@pytest.fixture(scope="session")
def tiny_chat_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChatServer]:
    """The real chat with the tiny model: the real runtime where answer quality is not tested."""
    folder = tmp_path_factory.mktemp("tiny-chat")
    tiny = {"RAG_LLM_MODEL": str(TINY_MODEL), "RAG_MAX_ANSWER_TOKENS": "64"}
    with serve_chat(folder, port=free_port(), env=tiny) as server:
        yield server
