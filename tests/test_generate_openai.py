"""Generation through a real OpenAI-compatible server: llama-cpp-python's own
(`python -m llama_cpp.server`) serving the tiny model on 127.0.0.1, with an API key.

The citation check and the refusal logic must not care which backend wrote the text.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from rag import prompts
from rag.answer import Assistant, Done, Sources, Token
from rag.config import Settings
from rag.generate import (
    BYTES_PER_TOKEN_FLOOR,
    GenerationStats,
    LlamaCppGenerator,
    ModelServerError,
    OpenAIGenerator,
)
from rag.ingest import load_article
from rag.models import make_generator
from rag.prompts import build_messages
from rag.schema import Passage
from ragkit.servers import free_port, llama_server

from .conftest import CORPUS, TINY_MODEL

KEY = "test-key-not-a-secret"
PASSAGE = Passage("c1", "a.txt", "Title", "en", "Meta released Llama openly.", 0, 27, 0.0, 0.9)


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with llama_server(TINY_MODEL, tmp_path_factory.mktemp("llama-server"), api_key=KEY) as url:
        yield url


@pytest.fixture(scope="module")
def remote(base_url: str) -> OpenAIGenerator:
    return OpenAIGenerator(base_url, "tiny", api_key=KEY, context=2048)


def test_streams_tokens_and_counts_them(remote: OpenAIGenerator) -> None:
    messages = build_messages("Why did Meta release Llama?", "en", [PASSAGE])
    stats = GenerationStats()
    pieces = list(remote.stream(messages, max_tokens=16, stats=stats))
    assert len(pieces) > 1, "the answer should arrive in pieces, not at once"
    assert "".join(pieces).strip()
    assert 0 < stats.completion_tokens <= 16
    assert stats.prompt_tokens > 50


def test_tokens_are_counted_by_the_servers_tokenizer(
    remote: OpenAIGenerator, tiny_generator: LlamaCppGenerator
) -> None:
    text = load_article(CORPUS / "003_7fbe2564b3846f7f.txt").text[:2000]
    local = tiny_generator.count_tokens(text)
    assert local <= remote.count_tokens(text) <= local + 1  # the server may count a BOS
    assert remote.token_counter == "extras/tokenize/count"


def test_a_wrong_key_is_a_clear_error(base_url: str) -> None:
    intruder = OpenAIGenerator(base_url, "tiny", api_key="wrong")
    with pytest.raises(ModelServerError, match="answered 401"):
        list(intruder.stream([{"role": "user", "content": "hi"}], max_tokens=4))


def test_unreachable_server_is_a_clear_error() -> None:
    gone = OpenAIGenerator(f"http://127.0.0.1:{free_port()}/v1", "tiny", timeout=5)
    with pytest.raises(ModelServerError, match="cannot reach the model server"):
        list(gone.stream([{"role": "user", "content": "hi"}], max_tokens=4))
    with pytest.raises(ModelServerError, match="cannot reach the model server"):
        gone.count_tokens("hi")


class _NoTokenizer(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - the http.server API
        self.send_error(404)

    def log_message(self, *args: object) -> None:
        pass


def test_without_a_tokenize_endpoint_tokens_are_over_estimated(
    tiny_generator: LlamaCppGenerator,
) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NoTokenizer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        plain = OpenAIGenerator(f"http://127.0.0.1:{server.server_address[1]}/v1", "m")
        text = "¿Qué dijo Yann LeCun sobre el código abierto?"
        assert plain.count_tokens(text) == -(-len(text.encode()) // BYTES_PER_TOKEN_FLOOR)
        assert plain.token_counter == "estimate"
    finally:
        server.shutdown()
        server.server_close()
    # Never fewer than the real count, on every article of the corpus, in every language.
    for path in sorted(CORPUS.iterdir()):
        text = load_article(path).text
        for piece in (text[i : i + 800] for i in range(0, len(text), 800)):
            assert plain.count_tokens(piece) >= tiny_generator.count_tokens(piece)


@pytest.fixture(scope="module")
def remote_assistant(
    base_url: str, base_settings: Settings, corpus_assistant: Assistant, embedder
) -> Assistant:  # type: ignore[no-untyped-def]
    """The indexed corpus, answered by the model server (configured as a user would)."""
    settings = base_settings.with_(
        llm_backend="openai",
        llm_base_url=base_url,
        llm_model_name="tiny",
        llm_api_key=KEY,
        llm_context=2048,
        max_answer_tokens=48,
    )
    generator = make_generator(settings)
    assert isinstance(generator, OpenAIGenerator)
    return Assistant(settings, embedder=embedder, generator=generator)


def test_an_answer_streams_and_is_checked_like_any_other(remote_assistant: Assistant) -> None:
    events = list(remote_assistant.stream("Why did Meta open-source Llama?"))
    sources, tokens, done = events[0], events[1:-1], events[-1]
    assert isinstance(sources, Sources)
    assert isinstance(done, Done)
    assert tokens
    assert all(isinstance(t, Token) for t in tokens)
    answer = done.answer
    assert answer.raw_text == "".join(t.text for t in tokens)  # type: ignore[union-attr]
    # The same verification, on the same text, gives the same verdict as for the local model.
    evidence = remote_assistant.recorded_evidence(answer.question, answer.passages)
    expected = remote_assistant.verify(answer.raw_text, answer.question, answer.language, evidence)
    assert (answer.text, answer.refused) == (expected.text, expected.refused)
    assert [c.quote for c in answer.citations] == [c.quote for c in expected.citations]
    assert answer.timings["completion_tokens"] > 0


def test_an_unrelated_question_is_refused_without_asking_the_server(
    remote_assistant: Assistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_request(*args: object, **kwargs: object) -> None:
        raise AssertionError("the model server was asked")

    monkeypatch.setattr(remote_assistant.generator, "stream", no_request)
    events = list(remote_assistant.stream("Who won the 2022 football World Cup?"))
    assert not any(isinstance(e, Token) for e in events)
    done = events[-1]
    assert isinstance(done, Done)
    assert done.answer.refused
    assert done.answer.text == prompts.refusal("en")
