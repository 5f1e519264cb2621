"""Real servers for the tests: started as subprocesses on 127.0.0.1, always stopped.

Each server gets a free port, its own temporary folder and a log file; `ragkit.servers.running`
waits until it answers a readiness URL (or dies, or times out, showing the log's tail) and
stops it when the block ends, whatever happened inside.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ragkit.load import free_port, running

__all__ = ["chroma_server", "free_port", "llama_server", "running"]

BIN = Path(sys.executable).parent
CHROMA = BIN / "chroma"


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
