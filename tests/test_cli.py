"""The `rag` console script, run as a user runs it (real models: embedder + tiny LLM)."""

from __future__ import annotations

import argparse
import ast
import json
import os
import subprocess
import sys
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from rag.cli import COMMANDS, build_parser
from rag.config import PROJECT_ROOT

from .conftest import CORPUS, TINY_MODEL

RAG = str(Path(sys.executable).parent / "rag")


def run(
    args: list[str], env: dict[str, str], timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    return subprocess.run([RAG, *args], env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment of a user whose index lives in a temporary folder, with the tiny model."""
    index = tmp_path_factory.mktemp("cli-index")
    return {**os.environ, "RAG_INDEX_DIR": str(index), "RAG_LLM_MODEL": str(TINY_MODEL)}


@pytest.fixture(scope="module")
def indexed(env: dict[str, str]) -> dict[str, str]:
    done = run(["ingest", str(CORPUS)], env)
    assert done.returncode == 0, done.stderr
    assert "5 added" in done.stdout
    again = run(["ingest", str(CORPUS)], env)
    assert "0 added, 0 updated, 5 unchanged" in again.stdout
    return env


def register_hello(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """A plugin's `register`: adds `rag hello --name NAME`."""
    p = sub.add_parser("hello", help="say hello")
    p.add_argument("--name", required=True)
    p.set_defaults(func=lambda args, settings: 0)


def test_installed_packages_add_subcommands_through_entry_points(
    capsys: pytest.CaptureFixture[str],
) -> None:
    hello = EntryPoint("hello", f"{__name__}:register_hello", COMMANDS)
    broken = EntryPoint("broken", "no_such_module:register", COMMANDS)
    args = build_parser([broken, hello]).parse_args(["hello", "--name", "Ada"])
    assert (args.command, args.name) == ("hello", "Ada")
    assert "'broken' (no_such_module:register) were not added" in capsys.readouterr().err
    assert build_parser([]).parse_args(["ask", "Why?"]).question == "Why?", "still works"
    with pytest.raises(SystemExit):
        build_parser([]).parse_args(["hello", "--name", "Ada"])


def test_the_product_imports_nothing_of_the_measuring_kit() -> None:
    kit_modules = {"ragkit", *(p.stem for p in (PROJECT_ROOT / "eval").glob("*.py"))}
    for path in sorted((PROJECT_ROOT / "rag").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            roots = {n.split(".")[0] for n in names}
            assert not roots & kit_modules, f"{path.name} imports {names}"


@pytest.fixture(scope="module")
def kit(indexed: dict[str, str]) -> dict[str, str]:
    """`indexed`, where `rag` has the measuring kit's commands (a development install)."""
    done = run(["eval", "--help"], indexed)
    if done.returncode != 0:
        pytest.fail(f"`rag eval` is missing: install the kit (pip install -e eval)\n{done.stderr}")
    return indexed


def test_eval_writes_the_contract(kit: dict[str, str], tmp_path: Path) -> None:
    questions = tmp_path / "q.jsonl"
    rows = [
        {"id": "q1", "question": "Why did Meta open-source Llama?", "lang": "en", "gold": ["x"]},
        {"id": 2, "question": "Who won the 2022 football World Cup?"},
        {"id": "q3", "question": "   "},
    ]
    questions.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    out = tmp_path / "out" / "results.jsonl"
    done = run(["eval", "--questions", str(questions), "--out", str(out)], kit)
    assert done.returncode == 0, done.stderr
    results = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in results] == ["q1", 2, "q3"]
    for r in results:
        assert set(r) == {
            "id",
            "question",
            "answer",
            "refused",
            "citations",
            "retrieved",
            "timings",
        }
        assert isinstance(r["refused"], bool)
        assert set(r["timings"]) == {"retrieve_s", "ttft_s", "total_s"}
        for c in r["citations"]:
            assert set(c) == {"n", "source", "quote"}
            assert c["source"] in {p["source"] for p in r["retrieved"]}
        for p in r["retrieved"]:
            assert set(p) == {"source", "score"}
            assert (CORPUS / p["source"]).exists()
    assert results[0]["retrieved"]
    assert results[1]["refused"]
    assert results[1]["citations"] == []
    assert results[2]["refused"]

    # The citation ablation replays the recorded raw answers: no new generation.
    replayed = tmp_path / "out" / "no-verify.jsonl"
    args = ["eval", "--questions", str(questions), "--out", str(replayed)]
    done = run([*args, "--replay", str(out), "--no-verify"], kit)
    assert done.returncode == 0, done.stderr
    again = [json.loads(line) for line in replayed.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in again] == ["q1", 2, "q3"]
    assert [r["retrieved"] for r in again] == [r["retrieved"] for r in results]
    assert again[1]["refused"]


def test_ask_json(indexed: dict[str, str]) -> None:
    done = run(["ask", "Who won the 2022 football World Cup?", "--json"], indexed)
    assert done.returncode == 0, done.stderr
    row = json.loads(done.stdout)
    assert row["refused"] is True
    assert row["answer"] == "The articles don't say."


def test_ask_text_and_empty_question(indexed: dict[str, str]) -> None:
    done = run(["ask", "¿Quién ganó el Mundial de fútbol de 2022?"], indexed)
    assert done.returncode == 0, done.stderr
    assert "Los artículos no lo dicen." in done.stdout
    empty = run(["ask", "  "], indexed)
    assert empty.returncode == 2
    assert "type a question" in empty.stderr
    assert "Traceback" not in empty.stderr


def test_index_built_with_another_model_is_refused_clearly(
    indexed: dict[str, str], tmp_path: Path
) -> None:
    env = {**indexed, "RAG_EMBED_MODEL": str(tmp_path / "missing-model")}
    done = run(["ask", "Why?"], env)
    assert done.returncode == 1
    assert "rag setup" in done.stderr
    assert "Traceback" not in done.stderr


def test_retrieval_only_run_and_comparison_report(kit: dict[str, str], tmp_path: Path) -> None:
    questions = tmp_path / "gold.jsonl"
    gold = {
        "id": "g1",
        "question": "Who co-leads Meta Superintelligence Labs?",
        "language": "en",
        "answerable": True,
        "cross_lingual": True,
        "gold_sources": ["000_58cfdf2857a910d3.txt", "001_fb4bc891a711a523.txt"],
        "gold_passages": ["Mark Zuckerberg contrató a Alexandr Wang"],
        "expected_facts": [["Wang"]],
    }
    questions.write_text(json.dumps(gold) + "\n", encoding="utf-8")
    runs = []
    for mode in ("dense", "bm25"):
        out = tmp_path / f"{mode}.jsonl"
        args = ["eval", "--questions", str(questions), "--out", str(out)]
        done = run([*args, "--retrieval", mode, "--retrieval-only"], kit)
        assert done.returncode == 0, done.stderr
        runs.append(str(out))
    report_dir = tmp_path / "report"
    args = ["report", "--questions", str(questions), "--runs", *runs, "--out", str(report_dir)]
    done = run([*args, "--names", "dense", "bm25"], kit)
    assert done.returncode == 0, done.stderr
    text = (report_dir / "report.md").read_text(encoding="utf-8")
    assert "| metric | dense | bm25 |" in text
    summary = json.loads((report_dir / "summary.json").read_text(encoding="utf-8"))
    assert summary["runs"]["dense"]["article_hit@1"] == 1.0
    assert summary["runs"]["dense"].get("fact_coverage") is None  # no answers in this run
