"""The chat's web surface: file routes refuse path traversal, uploads are bounded.

The page is served for real (Gradio + uvicorn on 127.0.0.1) with the options `rag chat`
uses; the model is a fake because no probe reaches it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from rag.access import ExposureError
from rag.answer import Assistant
from rag.config import Settings
from ragkit.pace import patience
from ragkit.servers import free_port
from ui.app import build_demo, launch, launch_options

from .conftest import FakeGenerator

CANARY = "canary-7f3a9c-not-for-the-web"
PASSWD = "root:x:0:0"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, embedder: Any) -> Iterator[dict[str, Any]]:
    """A served page, plus secrets on disk that must never come back over HTTP."""
    base = tmp_path_factory.mktemp("web")
    settings = Settings(index_dir=base / "index")
    assistant = Assistant(settings, embedder=embedder, generator=FakeGenerator("x"))
    uploads = settings.uploads()
    uploads.mkdir(parents=True)
    secret = uploads / "secret.txt"
    secret.write_text(CANARY, encoding="utf-8")
    (settings.path(settings.index_dir) / "notes.txt").write_text(CANARY, encoding="utf-8")
    outside = base / "outside.txt"
    outside.write_text(CANARY, encoding="utf-8")

    options = {**launch_options(assistant), "server_port": free_port(), "quiet": True}
    demo = build_demo(assistant)
    demo.launch(prevent_thread_lock=True, **options)
    try:
        yield {
            "url": f"http://127.0.0.1:{options['server_port']}",
            "secrets": [secret, settings.path(settings.index_dir) / "notes.txt", outside],
            "project_file": Path(__file__).resolve().parent.parent / "rag" / "config.py",
        }
    finally:
        demo.close()


def probes(target: Path) -> list[str]:
    """Ways of asking for `target` through a file route: relative, absolute, encoded, cased."""
    absolute = str(target)
    up = "../" * 12 + absolute.lstrip("/")
    return [
        absolute,
        "/" + absolute,
        up,
        quote(absolute, safe=""),
        quote(up, safe=""),
        quote(quote(up, safe=""), safe=""),  # double-encoded
        up.replace("/", "%2f"),
        up.replace("/", "%2F").replace("..", "%2e%2e"),
        up.replace("/", "..\\"),
        up.replace("/", "%5c"),
        absolute.upper(),
        "file://" + absolute,
        "..%c0%af" * 12 + absolute.lstrip("/"),
    ]


ROUTES = [
    "/gradio_api/file={}",
    "/gradio_api/file/{}",
    "/file={}",
    "/static/{}",
    "/assets/{}",
    "/svelte/{}",
    "/gradio_api/proxy={}",
]


def test_file_routes_refuse_every_traversal_probe(served: dict[str, Any]) -> None:
    targets = [*served["secrets"], Path("/etc/passwd"), served["project_file"]]
    leaked, tried = [], 0
    with httpx.Client(base_url=served["url"], timeout=patience(10)) as http:
        for route in ROUTES:
            for target in targets:
                for probe in probes(target):
                    tried += 1
                    r = http.get(route.format(probe))
                    body = r.text
                    if r.status_code == 200 and (
                        CANARY in body or PASSWD in body or "class Settings" in body
                    ):
                        leaked.append(f"{route.format(probe)} -> {r.status_code}")
    assert tried >= 400
    assert leaked == []


def test_uploaded_files_are_served_so_the_probes_above_mean_something(
    served: dict[str, Any],
) -> None:
    with httpx.Client(base_url=served["url"], timeout=patience(30)) as http:
        r = http.post(
            "/gradio_api/upload", files={"files": ("hello.txt", b"hello " + CANARY.encode())}
        )
        assert r.status_code == 200, r.text
        path = r.json()[0]
        back = http.get(f"/gradio_api/file={path}")
    assert back.status_code == 200
    assert CANARY in back.text


def test_uploads_above_the_limit_are_refused(served: dict[str, Any]) -> None:
    limit = Settings().max_file_bytes  # the ingest limit, which the page shares
    with httpx.Client(base_url=served["url"], timeout=patience(60)) as http:
        r = http.post(
            "/gradio_api/upload", files={"files": ("big.txt", b"a" * (limit + 1024 * 1024))}
        )
    assert r.status_code == 413


@pytest.fixture(scope="module")
def with_login(tmp_path_factory: pytest.TempPathFactory, embedder: Any) -> Iterator[str]:
    """A served page with a login set (RAG_CHAT_USER, RAG_CHAT_PASSWORD); yields its URL."""
    base = tmp_path_factory.mktemp("login")
    settings = Settings(index_dir=base / "index", chat_user="reader", chat_password="s3cret pw")
    assistant = Assistant(settings, embedder=embedder, generator=FakeGenerator("x"))
    options = {**launch_options(assistant), "server_port": free_port(), "quiet": True}
    demo = build_demo(assistant)
    demo.launch(prevent_thread_lock=True, **options)
    try:
        yield f"http://127.0.0.1:{options['server_port']}"
    finally:
        demo.close()


def test_the_chat_asks_for_its_login(with_login: str) -> None:
    with httpx.Client(base_url=with_login, timeout=patience(60)) as http:
        assert http.get("/config").status_code == 401, "nothing before the login"
        wrong = http.post("/login", data={"username": "reader", "password": "guess"})
        assert wrong.status_code >= 400
        assert http.get("/config").status_code == 401
        right = http.post("/login", data={"username": "reader", "password": "s3cret pw"})
        assert right.status_code == 200, right.text
        assert http.get("/config").status_code == 200, "the login's cookie lets the page in"


def test_the_chat_will_not_listen_beyond_this_machine_without_a_login(
    tmp_path: Path, embedder: Any
) -> None:
    settings = Settings(index_dir=tmp_path / "index", host="0.0.0.0")
    assistant = Assistant(settings, embedder=embedder, generator=FakeGenerator("x"))
    with pytest.raises(ExposureError, match="RAG_CHAT_USER and RAG_CHAT_PASSWORD"):
        launch(assistant)
