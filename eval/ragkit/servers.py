"""Real servers, started as subprocesses on 127.0.0.1 and always stopped.

Each server gets a free port, its own temporary folder and a log file; `running` waits
until it answers a readiness URL (or dies, or times out, showing the log's tail) and stops
it when the block ends, whatever happened inside. The tests start Chroma and
llama-cpp-python's server with it, and the load run and the tests the chat (`serve_chat`).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ragkit.pace import patience, slowdown

BIN = Path(sys.executable).parent
CHROMA = BIN / "chroma"


@dataclass
class ChatServer:
    """A `rag chat` process serving the bundled corpus."""

    url: str
    pid: int


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running(
    args: Sequence[str | Path],
    ready_url: str,
    log: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = 120.0,
) -> Iterator[subprocess.Popen[bytes]]:
    """Start a server process, wait until GET `ready_url` answers 200, yield it, stop it.

    The process gets its own process group, so stopping it stops its children too. The
    wait ends when it is ready or dies, or after `timeout` seconds scaled to this machine
    (`ragkit.pace.patience`: `timeout` fits the developers' machine); the error says how
    long it waited, at which slowdown, and shows the tail of its `log`.
    """
    import httpx

    bound = patience(timeout)
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(a) for a in args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
    try:
        started = time.monotonic()
        deadline = started + bound
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{args[0]} exited with {proc.returncode}:\n{_tail(log)}")
            try:
                if httpx.get(ready_url, timeout=2.0).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{args[0]} not ready after {time.monotonic() - started:.0f} s ({timeout:.0f} "
                    f"s on the developers' machine x slowdown {slowdown():.1f}); its log:\n"
                    + _tail(log)
                )
            time.sleep(0.2)
        yield proc
    finally:
        _stop(proc)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=15)


def _tail(log: Path, lines: int = 30) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


@contextmanager
def serve_chat(folder: Path, port: int, env: dict[str, str] | None = None) -> Iterator[ChatServer]:
    """Run `rag ingest` and `rag chat` as a user does, with an index in `folder`.

    `env` adds RAG_* settings (e.g. the model). The server is stopped on exit.
    """
    environ = {"RAG_INDEX_DIR": str(folder / "index"), **(env or {})}
    rag = str(Path(sys.executable).parent / "rag")
    done = subprocess.run(
        [rag, "ingest"],
        env={**os.environ, **environ},
        capture_output=True,
        text=True,
        timeout=patience(600),
    )
    if done.returncode != 0:
        raise RuntimeError(f"rag ingest failed:\n{done.stderr[-2000:]}")
    url = f"http://127.0.0.1:{port}"
    args = [rag, "chat", "--port", str(port)]
    with running(args, url, folder / "chat.log", environ, timeout=300) as server:
        yield ChatServer(url, server.pid)


@contextmanager
def chroma_server(tmp: Path) -> Iterator[int]:
    """`chroma run` from the installed chromadb, on a tmp folder; yields its port."""
    port = free_port()
    args: list[str | Path] = [
        CHROMA,
        "run",
        "--path",
        tmp / "data",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    with running(args, f"http://127.0.0.1:{port}/api/v2/heartbeat", tmp / "chroma.log"):
        yield port


@contextmanager
def llama_server(
    model: Path, tmp: Path, api_key: str | None = None, context: int = 2048
) -> Iterator[str]:
    """llama-cpp-python's OpenAI-compatible server on `model`, served as `tiny`; yields its
    /v1 base URL. With `api_key`, every request must carry it."""
    port = free_port()
    args: list[str | Path] = [
        sys.executable, "-m", "llama_cpp.server",
        "--model", model, "--model_alias", "tiny",
        "--host", "127.0.0.1", "--port", str(port),
        "--n_ctx", str(context), "--seed", "7", "--verbose", "False",
    ]  # fmt: skip
    if api_key:
        args += ["--api_key", api_key]
    ready = f"http://127.0.0.1:{port}/openapi.json"  # needs no key; the model is loaded by then
    with running(args, ready, tmp / "llama-server.log"):
        yield f"http://127.0.0.1:{port}/v1"
