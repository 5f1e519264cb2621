"""`rag`: the command line. Parses arguments, calls the library, prints.

rag setup [--with ROLE ...]      fetch and verify the model files
rag ingest [PATH ...] [--rebuild]
rag ask "QUESTION" [--json]
rag chat
rag serve [--host HOST] [--port PORT]
rag eval --questions FILE.jsonl --out RESULTS.jsonl [--retrieval dense] [--report DIR]
rag report --questions FILE.jsonl --runs A.jsonl B.jsonl --out DIR
rag bench [--quick]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from rag.config import Settings

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")


def _err(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def cmd_setup(args: argparse.Namespace, settings: Settings) -> int:
    from rag.fetch import fetch_all

    roles = ["embedder", "llm", *args.with_]
    fetch_all(list(dict.fromkeys(roles)), settings.path(settings.models_dir))
    return 0


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from rag.lock import index_lock

    # The write lock first, before anything slow is imported: a second writer fails at once.
    with index_lock(settings):
        from rag.answer import Assistant

        paths = [Path(p) for p in args.paths] or [settings.path(settings.corpus_dir)]
        report = Assistant(settings).ingest(paths, progress=_err, rebuild=args.rebuild)
    print(report.summary())
    for r in report.rejected:
        print(f"  rejected {r.path}: {r.reason}")
    for dup, twin in report.duplicates:
        print(f"  duplicate {dup}: same text as {twin}")
    for source in report.removed:
        print(f"  removed {source}: not found again by the rebuild")
    nothing_usable = not (report.added or report.updated or report.unchanged or report.duplicates)
    return 1 if report.rejected and nothing_usable else 0


def format_answer(answer: object) -> str:
    """An answer as plain text: the answer, notices, then the numbered sources it cites."""
    from rag.schema import Answer

    assert isinstance(answer, Answer)
    lines = [f"note: {n}" for n in answer.notices]
    lines.append(answer.text)
    unverified = [s.text for s in answer.sentences if not s.supported]
    if unverified:
        lines.append("")
        lines.append("Not supported by the articles (shown without a citation):")
        lines += [f"  - {t}" for t in unverified]
    cited = sorted({c.n for c in answer.citations})
    if cited:
        lines.append("")
        lines.append("Sources:")
        for n in cited:
            p = answer.passages[n - 1]
            quotes = dict.fromkeys(c.quote for c in answer.citations if c.n == n)
            lines.append(f"  [{n}] {p.title} ({p.source}, {p.language}, chars {p.start}-{p.end})")
            lines += [f"      “{q}”" for q in quotes]
    return "\n".join(lines)


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    from rag.answer import Assistant, QuestionError

    try:
        answer = Assistant(settings).ask(args.question)
    except QuestionError as e:
        _err(str(e))
        return 2
    if args.json:
        from rag.schema import result_row

        print(json.dumps(result_row("", answer), ensure_ascii=False, indent=2))
    else:
        print(format_answer(answer))
    return 0


def cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    from rag.answer import Assistant

    assistant = Assistant(settings)
    if not assistant.documents():
        _err("the index is empty: indexing the bundled corpus first")
        report = assistant.ingest([settings.path(settings.corpus_dir)], progress=_err)
        _err(report.summary())
    from ui.app import launch

    _err("loading the models (about 20 s on two cores)…")
    launch(assistant, host=settings.host, port=args.port or settings.port)
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from rag.answer import Assistant
    from rag.api import create_app, warm_up

    assistant = Assistant(settings)
    _err("loading the models…")
    warm_up(assistant)
    host, port = args.host or settings.host, args.port or settings.api_port
    _err(f"API on http://{host}:{port} (schema: /openapi.json, docs: /docs)")
    uvicorn.run(create_app(assistant), host=host, port=port)
    return 0


def eval_settings(args: argparse.Namespace, settings: Settings) -> Settings:
    """Settings with the ablation flags of `rag eval` applied."""
    changes: dict[str, object] = {}
    if args.retrieval:
        changes["retrieval_mode"] = args.retrieval
    if args.top_k:
        changes["top_k"] = args.top_k
        changes["candidates"] = max(settings.candidates, args.top_k)
    if args.no_verify:
        changes["verify_citations"] = False
    if args.llm:
        from rag.fetch import MODELS

        role = {"default": "llm", "small": "llm-small", "tiny": "llm-tiny"}.get(args.llm)
        changes["llm_model"] = settings.models_dir / MODELS[role].name if role else Path(args.llm)
    return settings.with_(**changes) if changes else settings


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    from rag.answer import Assistant
    from ragkit.evaluate import read_questions, replay, run

    settings = eval_settings(args, settings)
    questions = read_questions(Path(args.questions))
    if args.limit:
        questions = questions[: args.limit]
    out = Path(args.out)
    if args.replay:
        n = replay(Assistant(settings), questions, Path(args.replay), out, progress=_err)
    else:
        n = run(Assistant(settings), questions, out, _err, retrieval_only=args.retrieval_only)
    print(f"wrote {n} results to {out}")
    if args.report:
        name = args.name or out.stem
        report = write_report_for(Path(args.questions), [out], [name], Path(args.report))
        print(f"report: {report}")
    return 0


def write_report_for(questions: Path, runs: list[Path], names: list[str], out: Path) -> Path:
    """Score result files against the gold questions and write the (comparison) report."""
    from rag import lang
    from ragkit.evaluate import read_questions, read_results, trace_path
    from ragkit.metrics import compute
    from ragkit.report import write_report

    golds = read_questions(questions)
    summaries = {}
    totals = {}
    for name, path in zip(names, runs, strict=True):
        results = read_results(path)
        trace = trace_path(path)
        traces = read_results(trace) if trace.exists() else None
        answers = not (traces and all(t.get("retrieval_only") for t in traces))
        summaries[name] = compute(golds, results, traces, lang.detect, answers=answers)
        totals[name] = [float(r["timings"]["total_s"]) for r in results]
    command = "rag " + " ".join(sys.argv[1:]) if sys.argv and sys.argv[0].endswith("rag") else ""
    return write_report(summaries, totals, out, command=command)


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    runs = [Path(r) for r in args.runs]
    names = args.names or [r.stem for r in runs]
    if len(names) != len(runs):
        _err("give one --names entry per run")
        return 2
    print(f"report: {write_report_for(Path(args.questions), runs, names, Path(args.out))}")
    return 0


def cmd_bench(args: argparse.Namespace, settings: Settings) -> int:
    from ragkit import bench
    from ui.app import build_demo

    command = "rag bench" + (" --quick" if args.quick else "")
    result = bench.run_all(settings, args.quick, _err, build_demo)
    page = bench.write(result, Path(args.out), command)
    print(page.read_text(encoding="utf-8"))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rag", description="Cited answers from news articles.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("setup", help="fetch and verify the model files")
    p.add_argument(
        "--with",
        dest="with_",
        action="append",
        default=[],
        metavar="ROLE",
        help="also fetch llm-small or llm-tiny",
    )
    p.set_defaults(func=cmd_setup)

    p = sub.add_parser("ingest", help="index articles (default: the bundled corpus)")
    p.add_argument("paths", nargs="*", help="files or folders of .txt/.md/.html articles")
    p.add_argument(
        "--rebuild",
        action="store_true",
        help="embed every article again and drop indexed articles not found (crash safe)",
    )
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("ask", help="answer one question")
    p.add_argument("question")
    p.add_argument("--json", action="store_true", help="print the eval contract row as JSON")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("chat", help="start the browser chat")
    p.add_argument("--port", type=int, default=None)
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("serve", help="start the HTTP API (ask, ingest, articles, health)")
    p.add_argument("--host", default=None, help="address to bind (default: settings host)")
    p.add_argument("--port", type=int, default=None, help="default: settings api_port")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("eval", help="answer every question of a JSONL file")
    p.add_argument("--questions", required=True, help="JSONL with at least `id` and `question`")
    p.add_argument("--out", required=True, help="where to write one JSON result per line")
    p.add_argument("--retrieval", choices=["hybrid", "dense", "bm25"], help="retriever ablation")
    p.add_argument("--top-k", type=int, help="passages put into the prompt")
    p.add_argument("--no-verify", action="store_true", help="skip the citation check")
    p.add_argument(
        "--retrieval-only",
        action="store_true",
        help="retrieve only (no model): retriever ablations",
    )
    p.add_argument("--llm", help="default, small, tiny, or a GGUF path")
    p.add_argument("--limit", type=int, help="only the first N questions")
    p.add_argument(
        "--replay",
        metavar="RESULTS",
        help="re-check the recorded raw answers of a run instead of generating (citation "
        "ablations and threshold tuning in seconds)",
    )
    p.add_argument("--report", metavar="DIR", help="also score the run and write a report here")
    p.add_argument("--name", help="name of the run in the report (default: file stem)")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("report", help="score eval runs against gold questions; compare runs")
    p.add_argument("--questions", required=True, help="the gold JSONL (eval/questions.jsonl)")
    p.add_argument("--runs", nargs="+", required=True, help="result files of `rag eval`")
    p.add_argument("--names", nargs="+", help="a name per run")
    p.add_argument("--out", required=True, help="folder for report.md, plots, summary.json")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("bench", help="speed benchmarks (ingest, retrieval, model, chat)")
    p.add_argument("--quick", action="store_true", help="fewer runs, collections up to 10k")
    p.add_argument("--out", default="eval/reports/bench", help="folder for bench.md/json")
    p.set_defaults(func=cmd_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from httpx import TransportError  # a Chroma server that went away (store_backend http)

    # File names that are not valid UTF-8 (and stray surrogates) print escaped, not as a crash.
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")
    args = build_parser().parse_args(argv)
    try:
        settings = Settings()
    except ValueError as e:
        _err(f"invalid settings: {e}")
        return 2
    try:
        result: int = args.func(args, settings)
    except KeyboardInterrupt:
        return 130
    except (ValueError, RuntimeError, OSError) as e:
        # Bad input, a missing model, a refused index (StoreMismatch), a failed download:
        # a message, no trace.
        _err(f"error: {e}")
        return 1
    except TransportError as e:
        _err(f"error: the Chroma server stopped answering: {e}")
        return 1
    return result


if __name__ == "__main__":
    sys.exit(main())
