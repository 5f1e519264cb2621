"""Many chat sessions at once against a running chat, through `gradio_client`.

`run_load` drives a chat that `ragkit.servers.serve_chat` started as a user does
(`rag ingest`, then `rag chat`) in a folder of its own.

Each session is its own client (its own Gradio session) asking questions back to back for
a while. Every request ends one of three ways: answered (an answer or "the articles don't
say"), told busy (the page's busy message, or Gradio's "queue full"), or an error. The
server's memory is sampled from /proc while this runs, to show whether it grows once warm.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag import prompts

LOAD_QUESTIONS = (
    "Why did Meta open-source Llama?",
    "¿Por qué Meta liberó el código de Llama?",
    "Pourquoi Meta discute-t-elle avec Google et OpenAI ?",
    "Quem Zuckerberg contratou para liderar o laboratório de superinteligência?",
    "What is the capital of Australia?",
    "Who did Mark Zuckerberg hire to co-lead Meta Superintelligence Labs?",
)
"""Mixed languages, one off-topic question (refused without the model)."""

QUEUE_FULL = "queue is full"
"""Gradio's refusal when its bounded queue is full (a busy answer, not an error)."""


@dataclass
class LoadResult:
    """What happened to every request, and the server's memory over the run."""

    outcomes: list[tuple[str, float]] = field(default_factory=list)
    """(answered | busy | error, seconds) per request."""
    errors: list[str] = field(default_factory=list)
    rss_mb: list[tuple[float, float]] = field(default_factory=list)
    """(seconds since start, server RSS in MB) samples."""
    warm_rss_mb: float = 0.0
    """Server RSS once every session had its first answer."""
    seconds: float = 0.0

    def count(self, kind: str) -> int:
        return sum(1 for k, _ in self.outcomes if k == kind)

    def summary(self) -> dict[str, Any]:
        answered = sorted(s for k, s in self.outcomes if k == "answered")
        end = self.rss_mb[-1][1] if self.rss_mb else 0.0
        return {
            "requests": len(self.outcomes),
            "answered": self.count("answered"),
            "busy": self.count("busy"),
            "errors": self.count("error"),
            "seconds": round(self.seconds, 1),
            "answer_s_p50": round(statistics.median(answered), 2) if answered else None,
            "answer_s_max": round(answered[-1], 2) if answered else None,
            "rss_warm_mb": round(self.warm_rss_mb),
            "rss_end_mb": round(end),
            "rss_peak_mb": round(max((r for _, r in self.rss_mb), default=0.0)),
            "error_samples": self.errors[:5],
        }


def rss_mb(pid: int) -> float:
    """Resident memory of process `pid` in MB (0 if it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def classify(reply: str) -> str:
    """answered, busy or error, from the text of the assistant's last message."""
    if prompts.BUSY in reply or prompts.TOO_BUSY in reply:
        return "busy"
    if reply.startswith(prompts.FAILED) or not reply.strip():
        return "error"
    return "answered"


def message_text(message: dict[str, Any]) -> str:
    """A chat message's text, whatever shape the client gives its content."""
    content = message.get("content", "")
    if isinstance(content, str):
        return content
    return " ".join(p.get("text", "") for p in content if isinstance(p, dict))


def run_load(
    url: str,
    sessions: int = 10,
    seconds: float = 60.0,
    server_pid: int | None = None,
    questions: Sequence[str] = LOAD_QUESTIONS,
    say: Callable[[str], None] | None = None,
) -> LoadResult:
    """Run `sessions` concurrent chat sessions against `url` for about `seconds`."""
    from gradio_client import Client

    result = LoadResult()
    lock = threading.Lock()
    started = time.monotonic()
    stop = started + seconds
    first_done: set[int] = set()
    finished = threading.Event()

    def session(i: int) -> None:
        client = Client(url, verbose=False)
        k = 0
        while time.monotonic() < stop:
            question = questions[(i + k) % len(questions)]
            k += 1
            t0 = time.perf_counter()
            try:
                history, _, _ = client.predict(question, [], api_name="/turn")
                kind = classify(message_text(history[-1]))
                detail = message_text(history[-1])[:200]
            except Exception as e:  # any failure of the request counts, busy or not
                detail = f"{type(e).__name__}: {e}"
                kind = "busy" if QUEUE_FULL in str(e).lower() else "error"
            with lock:
                result.outcomes.append((kind, time.perf_counter() - t0))
                if kind == "error":
                    result.errors.append(f"{question!r}: {detail}")
                if i not in first_done:
                    first_done.add(i)
                    if len(first_done) == sessions and server_pid:
                        result.warm_rss_mb = rss_mb(server_pid)
            if say:
                say(f"  session {i + 1}: {kind} in {time.perf_counter() - t0:.1f} s")

    def sample() -> None:
        while not finished.wait(2.0):
            if server_pid:
                result.rss_mb.append((time.monotonic() - started, rss_mb(server_pid)))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    workers = [threading.Thread(target=session, args=(i,)) for i in range(sessions)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    finished.set()
    sampler.join()
    if server_pid:
        result.rss_mb.append((time.monotonic() - started, rss_mb(server_pid)))
    result.seconds = time.monotonic() - started
    return result
