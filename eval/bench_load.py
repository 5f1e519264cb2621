"""The long load run: ten chat sessions at once for several minutes, default model.

Starts the chat as a user does (`rag ingest`, `rag chat`) in a temporary folder, drives it
with `gradio_client` sessions asking back to back, and prints what happened to every
request and the server's memory. `tests/test_load.py` is the short CI variant.

    .venv/bin/python eval/bench_load.py [--sessions 10] [--minutes 5] [--out eval/reports/load]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

from ragkit.load import run_load
from ragkit.servers import free_port, serve_chat


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--model", help="GGUF file (default: the configured model)")
    parser.add_argument("--out", type=Path, default=Path("eval/reports/load"))
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    env = {"RAG_LLM_MODEL": args.model} if args.model else {}
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp, serve_chat(Path(tmp), port, env) as server:
        say(
            f"chat on {server.url} (pid {server.pid}); {args.sessions} sessions, {args.minutes} min"
        )
        result = run_load(server.url, args.sessions, args.minutes * 60, server.pid, say=say)
    figures = {"sessions": args.sessions, "minutes": args.minutes, **result.summary()}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "summary.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))
    return 0 if figures["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
