"""Who may talk to the servers: a bearer key on every API route but /health, no listening
beyond this machine without credentials, secrets from the environment only, and one size
limit for every way a file comes in."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rag.access import ExposureError, bearer_ok, check_exposure, is_loopback
from rag.answer import Assistant
from rag.config import Settings
from ragkit.pace import patience

from .conftest import CORPUS, FakeGenerator

RAG = str(Path(sys.executable).parent / "rag")
KEY = "k3y-for-the-tests"


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.1.1", True),
        ("localhost", True),
        ("::1", True),
        ("[::1]", True),
        ("0.0.0.0", False),
        ("", False),
        ("::", False),
        ("192.168.1.20", False),
        ("newsroom.example", False),
    ],
)
def test_loopback_is_only_this_machine(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_exposure_needs_credentials() -> None:
    check_exposure("127.0.0.1", False, "the API", "RAG_API_KEY")
    check_exposure("0.0.0.0", True, "the API", "RAG_API_KEY")
    with pytest.raises(ExposureError, match="0.0.0.0.*Set RAG_API_KEY"):
        check_exposure("0.0.0.0", False, "the API", "RAG_API_KEY")


def test_bearer_header() -> None:
    assert bearer_ok(f"Bearer {KEY}", KEY)
    assert bearer_ok(f"bearer {KEY}", KEY)
    for header in (None, "", KEY, f"Basic {KEY}", f"Bearer {KEY}x", "Bearer ", f"Bearer{KEY}"):
        assert not bearer_ok(header, KEY), header


def test_secrets_stay_out_of_the_toml_file_and_out_of_print(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    toml = tmp_path / "rag.toml"
    toml.write_text(f'api_key = "{KEY}"\n', encoding="utf-8")
    monkeypatch.setenv("RAG_CONFIG", str(toml))
    with pytest.raises(ValueError, match="api_key is a secret"):
        Settings()
    monkeypatch.setenv("RAG_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("RAG_API_KEY", KEY)
    monkeypatch.setenv("RAG_CHAT_USER", "reader")
    monkeypatch.setenv("RAG_CHAT_PASSWORD", "pw-for-the-tests")
    settings = Settings()
    assert settings.api_key is not None
    assert settings.api_key.get_secret_value() == KEY
    shown = f"{settings!r} {settings} {settings.model_dump()}"
    for secret in (KEY, "pw-for-the-tests", "reader"):
        assert secret not in shown
    monkeypatch.delenv("RAG_CHAT_PASSWORD")
    with pytest.raises(ValueError, match="needs both"):
        Settings()


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory, embedder: Any) -> Iterator[Any]:
    """The API in process, with a key and a small file limit, over a real index."""
    from fastapi.testclient import TestClient

    from rag.api import create_app

    base = tmp_path_factory.mktemp("keyed")
    settings = Settings(index_dir=base / "index", api_key=KEY, max_file_bytes=20_000)
    assistant = Assistant(settings, embedder=embedder, generator=FakeGenerator())
    app = create_app(assistant)
    with TestClient(app) as client:
        client.app_routes = [  # type: ignore[attr-defined]
            (method, route.path)
            for route in app.routes
            for method in sorted(getattr(route, "methods", None) or ["GET"])
            if method != "HEAD"
        ]
        yield client


def test_every_route_but_health_wants_the_key(keyed: Any) -> None:
    routes = keyed.app_routes
    assert {("POST", "/ask"), ("POST", "/articles"), ("GET", "/docs")} <= set(routes)
    for method, path in routes:
        url = path.replace("{source}", "x.txt")
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": KEY}):
            r = keyed.request(method, url, headers=headers)
            if path == "/health":
                assert r.status_code == 200
            else:
                assert r.status_code == 401, (method, path, headers)
                assert r.headers["www-authenticate"] == "Bearer"
                assert KEY not in r.text


def test_the_right_key_opens_the_api(keyed: Any) -> None:
    auth = {"Authorization": f"Bearer {KEY}"}
    assert keyed.get("/articles", headers=auth).status_code == 200
    assert keyed.get("/openapi.json", headers=auth).status_code == 200
    r = keyed.post("/ask", json={"question": "Why did Meta open-source Llama?"}, headers=auth)
    assert r.status_code == 200, r.text


def test_an_upload_over_the_file_limit_is_refused_before_it_is_kept(keyed: Any) -> None:
    auth = {"Authorization": f"Bearer {KEY}"}
    article = sorted(CORPUS.glob("*.txt"))[0]
    big = ("big.txt", b"Meta y la IA abierta. " * 2_000, "text/plain")
    files = [("files", big), ("files", (article.name, article.read_bytes(), "text/plain"))]
    r = keyed.post("/articles", files=files, headers=auth)
    assert r.status_code == 200, r.text
    body = r.json()
    assert [x["file"] for x in body["rejected"]] == ["big.txt"]
    assert "file too large" in body["rejected"][0]["reason"]
    assert "max_file_bytes" in body["rejected"][0]["reason"]
    assert body["added"] == [article.name]
    listed = keyed.get("/articles", headers=auth).json()
    assert [a["source"] for a in listed] == [article.name]


@pytest.mark.parametrize(
    ("command", "needs"),
    [("serve", "RAG_API_KEY"), ("chat", "RAG_CHAT_USER and RAG_CHAT_PASSWORD")],
)
def test_no_listening_beyond_this_machine_without_credentials(
    tmp_path: Path, command: str, needs: str
) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "RAG_INDEX_DIR": str(tmp_path / "index"),
        "RAG_CONFIG": str(tmp_path / "absent.toml"),
        "RAG_HOST": "0.0.0.0",
    }
    # the refusal comes before any model loads: no timeout to tune, the models are never read
    done = subprocess.run(
        [RAG, command], env=env, capture_output=True, text=True, timeout=patience(600)
    )
    assert done.returncode == 2, done.stderr
    assert "refusing to serve" in done.stderr
    assert needs in done.stderr
    assert not (tmp_path / "index").exists(), "nothing was opened"
