"""The kit's subcommands of `rag`: registered through the entry point its pyproject declares."""

from __future__ import annotations

import tomllib
from importlib.metadata import EntryPoint
from pathlib import Path

from rag.cli import COMMANDS, build_parser
from ragkit import commands

PYPROJECT = Path(__file__).parents[1] / "pyproject.toml"


def declared() -> list[EntryPoint]:
    """The `rag.commands` entry points of eval/pyproject.toml, as pip installs them."""
    group = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["entry-points"]
    return [EntryPoint(name, value, COMMANDS) for name, value in group[COMMANDS].items()]


def test_the_declared_entry_point_is_the_register_function() -> None:
    assert [ep.load() for ep in declared()] == [commands.register]


def test_eval_report_and_bench_keep_their_flags() -> None:
    parser = build_parser(declared())
    args = parser.parse_args(
        ["eval", "--questions", "q.jsonl", "--out", "r.jsonl", "--retrieval", "dense",
         "--top-k", "3", "--no-verify", "--llm", "tiny", "--limit", "2", "--report", "out",
         "--name", "run"]
    )  # fmt: skip
    assert args.func is commands.cmd_eval
    assert (args.retrieval, args.top_k, args.no_verify, args.llm) == ("dense", 3, True, "tiny")
    assert (args.limit, args.report, args.name) == (2, "out", "run")
    args = parser.parse_args(["eval", "--questions", "q", "--out", "o", "--replay", "r.jsonl"])
    assert args.replay == "r.jsonl"
    assert parser.parse_args(["eval", "--questions", "q", "--out", "o", "--retrieval-only"])
    args = parser.parse_args(
        ["report", "--questions", "q", "--runs", "a", "b", "--names", "A", "B", "--out", "d"]
    )
    assert (args.func, args.runs, args.names) == (commands.cmd_report, ["a", "b"], ["A", "B"])
    args = parser.parse_args(["bench", "--quick"])
    assert (args.func, args.quick, args.out) == (commands.cmd_bench, True, "eval/reports/bench")


def test_ablation_flags_change_the_settings(tmp_path: Path) -> None:
    from rag.config import Settings

    settings = Settings(index_dir=tmp_path / "index")
    args = build_parser(declared()).parse_args(
        ["eval", "--questions", "q", "--out", "o", "--top-k", "12", "--no-verify", "--llm", "small"]
    )
    changed = commands.eval_settings(args, settings)
    assert changed.top_k == 12
    assert changed.candidates >= 12
    assert changed.verify_citations is False
    assert changed.llm_model.name != settings.llm_model.name
