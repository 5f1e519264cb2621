"""Bad files and bad questions: never a crash, always a reason or a notice.

The bad corpus (eval/ragkit/badcorpus.py: 230+ entries, a 200 MB file among them) goes through the
real `rag ingest`, as a user runs it; questions go through the public API and `rag ask`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from rag import prompts
from rag.answer import Assistant, QuestionError
from rag.config import Settings
from ragkit import badcorpus
from ragkit.pace import patience

from .conftest import TINY_MODEL

RAG = str(Path(sys.executable).parent / "rag")

READ_ONLY = """
import json, resource, sys
from pathlib import Path
from rag import lang
from rag.ingest import load_articles
for text in ("Meta publica un modelo", "Meta publie un modèle", "Meta publica um modelo",
             "Meta releases a model", "Meta veröffentlicht", "Meta pubblica", "Meta publiceert"):
    lang.detect(text)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
items = list(load_articles([Path(sys.argv[1])]))
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"items": len(items), "before_kb": before, "after_kb": after}))
"""


@pytest.fixture(scope="module")
def bad(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, badcorpus.Entry]]:
    folder = tmp_path_factory.mktemp("bad") / "inputs"
    return folder, badcorpus.make(folder)


def test_bad_corpus_is_ingested_without_a_crash(
    bad: tuple[Path, dict[str, badcorpus.Entry]], tmp_path: Path
) -> None:
    folder, entries = bad
    assert len(entries) >= 200
    run = badcorpus.ingest_cli(folder, entries, tmp_path / "index")
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    assert run.returncode == 0, run.stderr[-3000:]
    assert not run.strays, run.strays
    missing = sorted(set(entries) - set(run.outcomes))
    assert not missing, f"inputs without an outcome: {missing}"
    outcomes = run.outcomes
    counts: Counter[str] = Counter()
    for path, entry in entries.items():
        assert len(outcomes[path]) == 1, (path, outcomes[path])
        what, detail = outcomes[path][0]
        assert what in entry.allowed, (path, entry.kind, what, detail)
        counts[what] += 1
        if what == "rejected":
            assert detail, path
            assert f"  rejected {badcorpus.shown(path)}: {detail}" in run.stdout  # shows why
    peak_mb = run.peak_rss_mb
    print(f"bad inputs: {len(entries)} tried, {dict(counts)}; peak RSS of `rag ingest`: "
          f"{peak_mb:.0f} MB")  # fmt: skip
    summary = run.stdout.splitlines()[0]
    assert f"{counts['added']} added" in summary
    assert f"{counts['duplicate']} duplicate(s)" in summary
    assert f"{counts['rejected']} rejected" in summary


def test_reading_bad_files_keeps_memory_bounded(
    bad: tuple[Path, dict[str, badcorpus.Entry]],
) -> None:
    """The 200 MB file is refused by its size, unread: reading the folder costs little."""
    folder, _ = bad
    done = subprocess.run(
        [sys.executable, "-c", READ_ONLY, str(folder)],
        capture_output=True,
        text=True,
        timeout=patience(600),
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    grown_mb = (figures["after_kb"] - figures["before_kb"]) / 1024
    print(f"reading {figures['items']} bad inputs raised peak RSS by {grown_mb:.0f} MB "
          f"(to {figures['after_kb'] / 1024:.0f} MB)")  # fmt: skip
    assert grown_mb < 64


# ---------------------------------------------------------------- questions


LONG = ("¿Qué anunció Meta sobre Llama? What did Meta say about open models? \x07\x1b[2J ") * 1500


@pytest.mark.parametrize(
    "question", ["", "   \n\t ", "\x00\x01\x1b\x7f", "\u200b\u202e", "?!..."], ids=repr
)
def test_empty_questions_get_a_clear_message(corpus_assistant: Assistant, question: str) -> None:
    with pytest.raises(QuestionError, match="type a question"):
        corpus_assistant.ask(question)


@pytest.mark.parametrize(
    "question",
    [
        "¿Qué\x00 anunció\x1b[31m Meta\x07 sobre\x9b Llama?\r\n",
        "Qu'a annoncé Meta ? What did Meta announce? ¿Y por qué? O que disse a Meta?",
        "Meta\ud800 Llama \udcff?",
    ],
    ids=["control", "mixed-languages", "lone-surrogates"],
)
def test_odd_questions_are_cleaned_and_answered(corpus_assistant: Assistant, question: str) -> None:
    answer = corpus_assistant.ask(question)
    assert answer.question
    assert not any(ord(ch) < 32 or 0x7F <= ord(ch) < 0xA0 for ch in answer.question)
    answer.question.encode("utf-8")  # printable and storable
    assert answer.passages


def test_a_100k_character_question_is_trimmed_with_a_notice(corpus_assistant: Assistant) -> None:
    assert len(LONG) >= 100_000
    answer = corpus_assistant.ask(LONG)
    limit = corpus_assistant.settings.max_question_chars
    assert len(answer.question) <= limit
    assert any(n.startswith("Your question was") for n in answer.notices)
    assert "\x1b" not in answer.question


@pytest.fixture(scope="module")
def ask_env(corpus_assistant: Assistant) -> dict[str, str]:
    """`rag ask` against the session's indexed corpus, with the tiny model."""
    s: Settings = corpus_assistant.settings
    return {
        **os.environ,
        "RAG_INDEX_DIR": str(s.path(s.index_dir)),
        "RAG_LLM_MODEL": str(TINY_MODEL),
    }


def test_cli_ask_with_a_100k_character_mixed_question(ask_env: dict[str, str]) -> None:
    done = subprocess.run(
        [RAG, "ask", LONG], capture_output=True, text=True, env=ask_env, timeout=patience(600)
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert "note: Your question was" in done.stdout
    assert "only the first" in done.stdout


@pytest.mark.parametrize("question", ["", "   ", "\x01\x02\x1b", b"\xff\xfe"], ids=repr)
def test_cli_ask_with_nothing_to_ask(ask_env: dict[str, str], question: str | bytes) -> None:
    done = subprocess.run(
        [RAG, "ask", question], capture_output=True, env=ask_env, timeout=patience(120)
    )
    stderr = done.stderr.decode("utf-8", "replace")
    assert done.returncode == 2, stderr
    assert prompts.EMPTY_QUESTION in stderr
    assert "Traceback" not in stderr
