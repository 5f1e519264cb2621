"""`rag serve`, run as a user runs it (a real uvicorn process on a free port), called with
httpx: ask (whole and streamed), ingest, list and delete articles, health, errors.

The second part starts the scaled-out set-up of the README: the API on a Chroma server and
an OpenAI-compatible model server, chosen by environment variables only.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from ragkit.pace import patience
from ragkit.servers import chroma_server, free_port, llama_server, running

from .conftest import CORPUS, TINY_MODEL

RAG = Path(sys.executable).parent / "rag"
CONTRACT = {"question", "answer", "refused", "citations", "retrieved", "timings"}
ARTICLES = sorted(CORPUS.glob("*.txt"))
ANSWERABLE = "Why did Meta open-source Llama?"
UNRELATED = "Who won the 2022 football World Cup?"


def serve(tmp: Path, env: dict[str, str]) -> Any:
    """`rag serve` on a free port with `env` (the tiny model, an index in `tmp`)."""
    port = free_port()
    full = {
        "RAG_INDEX_DIR": str(tmp / "index"),
        "RAG_LLM_MODEL": str(TINY_MODEL),
        "RAG_LLM_CONTEXT": "2048",
        "RAG_MAX_ANSWER_TOKENS": "48",
        "RAG_CONFIG": str(tmp / "absent.toml"),
        **env,
    }
    args = [RAG, "serve", "--host", "127.0.0.1", "--port", str(port)]
    return port, running(args, f"http://127.0.0.1:{port}/health", tmp / "serve.log", full, 300)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    port, server = serve(tmp_path_factory.mktemp("api"), {})
    with server, httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=patience(120)) as client:
        yield client


def upload(client: httpx.Client, paths: list[Path], **extra: bytes) -> httpx.Response:
    files = [("files", (p.name, p.read_bytes(), "text/plain")) for p in paths]
    files += [("files", (name, data, "text/plain")) for name, data in extra.items()]
    return client.post("/articles", files=files)


@pytest.fixture(scope="module")
def ingested(api: httpx.Client) -> dict[str, Any]:
    response = upload(api, ARTICLES, **{"empty.txt": b""})
    assert response.status_code == 200, response.text
    report: dict[str, Any] = response.json()
    return report


def sse(response: httpx.Response) -> list[tuple[str, Any]]:
    """The (event, data) pairs of a Server-Sent Events response."""
    events, name, data = [], "message", []
    for line in response.iter_lines():
        if line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())
        elif not line and data:
            events.append((name, json.loads("\n".join(data))))
            name, data = "message", []
    return events


def check_answer(body: dict[str, Any]) -> None:
    """An answer carries the eval contract, and every citation points into its passages."""
    assert set(body) >= CONTRACT
    assert {"retrieve_s", "ttft_s", "total_s"} <= set(body["timings"])
    assert [p["n"] for p in body["passages"]] == list(range(1, len(body["passages"]) + 1))
    for c in body["citations"]:
        assert {"n", "source", "quote"} <= set(c)
        passage = body["passages"][c["n"] - 1]
        assert passage["source"] == c["source"]
        assert f"[{c['n']}]" in body["answer"]
        assert c["quote_start"] < c["quote_end"]
    if body["refused"]:
        assert body["citations"] == []


def test_health_and_schema(api: httpx.Client) -> None:
    health = api.get("/health").json()
    assert health["status"] == "ok"
    assert (health["store_backend"], health["llm_backend"]) == ("embedded", "llama_cpp")
    assert health["model"] == TINY_MODEL.name
    schema = api.get("/openapi.json").json()
    assert {"/ask", "/ask/stream", "/articles", "/articles/{source}", "/health"} <= set(
        schema["paths"]
    )
    assert "AnswerOut" in schema["components"]["schemas"]


def test_upload_ingests_and_reports_each_file(api: httpx.Client, ingested: dict[str, Any]) -> None:
    assert len(ingested["added"]) == 5
    assert ingested["rejected"] == [
        {"file": "empty.txt", "reason": ingested["rejected"][0]["reason"]}
    ]
    assert ingested["rejected"][0]["reason"]
    again = upload(api, ARTICLES[:1]).json()
    assert again["unchanged"] == [ARTICLES[0].name]
    listed = api.get("/articles").json()
    assert [a["source"] for a in listed] == [p.name for p in ARTICLES]
    assert all(a["chunks"] > 0 and a["language"] and a["title"] for a in listed)


def test_ask_returns_the_contract_with_structured_citations(
    api: httpx.Client, ingested: dict[str, Any]
) -> None:
    response = api.post("/ask", json={"question": ANSWERABLE})
    assert response.status_code == 200, response.text
    body = response.json()
    check_answer(body)
    assert body["question"] == ANSWERABLE
    assert body["language"] == "en"
    assert body["retrieved"]
    # The tiny model, greedy, cites this one; each citation resolves to a quoted sentence.
    assert not body["refused"]
    assert body["citations"]
    for c in body["citations"]:
        assert c["quote"]
        assert c["source"] in {p.name for p in ARTICLES}
    refused = api.post("/ask", json={"question": UNRELATED}).json()
    check_answer(refused)
    assert refused["refused"]


def test_ask_streams_sources_tokens_then_the_answer(
    api: httpx.Client, ingested: dict[str, Any]
) -> None:
    with api.stream("POST", "/ask/stream", json={"question": ANSWERABLE}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = sse(response)
    names = [name for name, _ in events]
    assert names[0] == "sources"
    assert names[-1] == "answer"
    assert set(names[1:-1]) == {"token"}
    assert events[0][1]["passages"]
    answer = events[-1][1]
    check_answer(answer)
    assert answer["passages"] == events[0][1]["passages"][: len(answer["passages"])]


@pytest.mark.parametrize("path", ["/ask", "/ask/stream"])
def test_bad_questions_are_4xx_with_a_message(api: httpx.Client, path: str) -> None:
    empty = api.post(path, json={"question": "   "})
    assert empty.status_code == 422
    assert empty.json() == {"detail": "Please type a question about the articles."}
    assert api.post(path, json={}).status_code == 422
    assert (
        api.post(
            path, content=b"not json", headers={"content-type": "application/json"}
        ).status_code
        == 422
    )


def test_two_questions_at_once_are_both_answered(
    api: httpx.Client, ingested: dict[str, Any]
) -> None:
    questions = [ANSWERABLE, "¿Qué dijo Yann LeCun sobre el código abierto?"]
    with ThreadPoolExecutor(2) as pool:
        responses = list(pool.map(lambda q: api.post("/ask", json={"question": q}), questions))
    assert [r.status_code for r in responses] == [200, 200]
    assert [r.json()["question"] for r in responses] == questions


def test_delete_an_article(api: httpx.Client, ingested: dict[str, Any]) -> None:
    name = ARTICLES[-1].name
    assert api.delete(f"/articles/{name}").json() == {"source": name, "deleted": True}
    assert name not in [a["source"] for a in api.get("/articles").json()]
    missing = api.delete(f"/articles/{name}")
    assert missing.status_code == 404
    assert name in missing.json()["detail"]


# ---------------------------------------------------------------- scaled out


def test_scaled_out_chroma_server_and_model_server(tmp_path: Path) -> None:
    """The same API, switched by environment variables to the two servers; either server
    going away is a clear 5xx, not a stack trace."""
    key = "key-that-must-not-be-logged"
    with ExitStack() as chroma, ExitStack() as llm:
        chroma_port = chroma.enter_context(chroma_server(tmp_path / "chroma"))
        base_url = llm.enter_context(llama_server(TINY_MODEL, tmp_path / "llm", api_key=key))
        port, server = serve(
            tmp_path,
            {
                "RAG_STORE_BACKEND": "http",
                "RAG_CHROMA_HOST": "127.0.0.1",
                "RAG_CHROMA_PORT": str(chroma_port),
                "RAG_LLM_BACKEND": "openai",
                "RAG_LLM_BASE_URL": base_url,
                "RAG_LLM_MODEL_NAME": "tiny",
                "RAG_LLM_API_KEY": key,
            },
        )
        with (
            server,
            httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=patience(120)) as api,
        ):
            health = api.get("/health").json()
            assert (health["store_backend"], health["llm_backend"]) == ("http", "openai")
            assert health["model"] == "tiny"
            report = upload(api, ARTICLES[:2]).json()
            assert len(report["added"]) == 2
            with api.stream("POST", "/ask/stream", json={"question": ANSWERABLE}) as response:
                events = sse(response)
            assert [n for n, _ in events][0] == "sources"
            assert "token" in [n for n, _ in events]
            check_answer(events[-1][1])

            llm.close()  # the model server goes away
            down = api.post("/ask", json={"question": ANSWERABLE})
            assert down.status_code == 502
            assert "cannot reach the model server" in down.json()["detail"]
            chroma.close()  # and the Chroma server
            gone = api.get("/articles")
            assert gone.status_code == 503
            assert "Chroma server" in gone.json()["detail"]
    assert not (tmp_path / "index").exists()  # nothing was written to the local disk
    assert (tmp_path / "chroma" / "data").exists()
    assert key not in (tmp_path / "serve.log").read_text(errors="replace")
