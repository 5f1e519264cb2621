"""Ten chat sessions at once for 90 s: every request answered or told busy, no errors,
and the server's memory does not grow once warm. Real app and llama.cpp runtime, with the
tiny model so that the run holds many requests (`eval/bench_load.py` runs the default
model for longer)."""

from __future__ import annotations

import pytest

from rag import prompts
from ragkit.load import classify, run_load

from .conftest import ChatServer

pytestmark = pytest.mark.slow


def test_ten_sessions_at_once_get_answers_or_busy_and_no_errors(
    tiny_chat_server: ChatServer,
) -> None:
    result = run_load(
        tiny_chat_server.url, sessions=10, seconds=90, server_pid=tiny_chat_server.pid
    )
    figures = result.summary()
    print(figures)
    assert figures["errors"] == 0, result.errors
    assert figures["requests"] >= 10
    assert figures["answered"] + figures["busy"] == figures["requests"]
    assert figures["answered"] >= 10
    growth = figures["rss_end_mb"] - figures["rss_warm_mb"]
    assert growth < 0.1 * figures["rss_warm_mb"], f"memory grew by {growth} MB once warm"


def test_replies_are_classified() -> None:
    assert classify("The articles don't say.") == "answered"
    assert classify(prompts.BUSY) == "busy"
    assert classify(prompts.TOO_BUSY) == "busy"
    assert classify(f"{prompts.FAILED}: boom") == "error"
    assert classify("") == "error"
