"""The store on a real Chroma server (`chroma run` on 127.0.0.1, a free port, a tmp path).

Switching `store_backend` to `http` changes only how the client is made: ingestion,
retrieval and answers must come out as they do from the embedded store.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from rag.answer import Assistant
from rag.config import Settings
from rag.store import ChromaServer, Store, StoreMismatch, drop_collection
from ragkit.servers import chroma_server, free_port

from .conftest import CORPUS, FakeGenerator
from .test_store import SMALL, copy_corpus

QUESTIONS = [
    "Why did Meta open-source Llama?",
    "¿Qué dijo Yann LeCun sobre el código abierto?",
    "Quel modèle a publié DeepSeek ?",
]


@pytest.fixture(scope="module")
def chroma_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    with chroma_server(tmp_path_factory.mktemp("chroma-server")) as port:
        yield port


@pytest.fixture(scope="module")
def server_settings(
    chroma_port: int, base_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    return base_settings.with_(
        store_backend="http",
        chroma_host="127.0.0.1",
        chroma_port=chroma_port,
        index_dir=tmp_path_factory.mktemp("unused") / "index",
    )


@pytest.fixture(scope="module")
def server_assistant(server_settings: Settings, embedder) -> Assistant:  # type: ignore[no-untyped-def]
    """The bundled corpus, ingested into the Chroma server."""
    assistant = Assistant(server_settings, embedder=embedder, generator=FakeGenerator())
    assert len(assistant.ingest([CORPUS]).added) == 5
    return assistant


def test_ingest_goes_to_the_server_not_the_disk(
    server_assistant: Assistant, corpus_assistant: Assistant
) -> None:
    assert server_assistant.documents() == corpus_assistant.documents()
    assert server_assistant.store.path is None
    assert not server_assistant.settings.path(server_assistant.settings.index_dir).exists()
    again = server_assistant.ingest([CORPUS])
    assert len(again.unchanged) == 5


@pytest.mark.parametrize("question", QUESTIONS)
def test_retrieval_is_the_same_as_embedded(
    question: str, server_assistant: Assistant, corpus_assistant: Assistant
) -> None:
    remote = server_assistant.retriever.retrieve(question)
    local = corpus_assistant.retriever.retrieve(question)
    assert remote
    assert [p.chunk_id for p in remote] == [p.chunk_id for p in local]
    for r, lo in zip(remote, local, strict=True):
        assert r.similarity == pytest.approx(lo.similarity, abs=1e-4)


def test_answer_and_citation_check_are_the_same_as_embedded(
    server_assistant: Assistant, corpus_assistant: Assistant
) -> None:
    reply = "Meta shared Llama to speed up the development of its technology [1]."
    answers = []
    for assistant in (server_assistant, corpus_assistant):
        assistant._generator = FakeGenerator(reply)
        answers.append(assistant.ask(QUESTIONS[0]))
    remote, local = answers
    assert not remote.refused
    assert remote.citations
    assert (remote.text, remote.citations) == (local.text, local.citations)


def test_writes_are_seen_by_another_client_and_removed(
    server_settings: Settings,
    embedder,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    settings = server_settings.with_(collection="second-client")
    writer = Assistant(settings, embedder=embedder)
    writer.ingest([copy_corpus(tmp_path / "articles", SMALL)])
    reader = Assistant(settings, embedder=embedder)  # as another process would
    assert sorted(reader.documents()) == SMALL
    assert reader.remove(SMALL[0])
    assert sorted(writer.documents()) == SMALL[1:]
    server = ChromaServer("127.0.0.1", settings.chroma_port)
    assert drop_collection(server, "second-client")
    assert not drop_collection(server, "second-client")


def test_another_embedding_model_is_refused(server_assistant: Assistant, chroma_port: int) -> None:
    server = ChromaServer("127.0.0.1", chroma_port)
    with pytest.raises(StoreMismatch, match=f"index at http://127.0.0.1:{chroma_port}"):
        Store(server, server_assistant.settings.collection, "another-model", 384)


def test_unreachable_server_is_a_clear_error() -> None:
    server = ChromaServer("127.0.0.1", free_port(), headers={"Authorization": "Bearer hush"})
    with pytest.raises(ConnectionError, match="cannot reach the Chroma server") as caught:
        Store(server, "articles", "m", 3)
    assert "hush" not in str(caught.value)
    assert "hush" not in repr(server)
