"""`rag eval`, `rag report` and `rag bench`: the kit's subcommands of the `rag` command line.

`register` adds them to `rag`'s subcommands. It is declared in the `rag.commands`
entry-point group (eval/pyproject.toml), which `rag.cli` reads at start-up: the product
finds the kit when it is installed and never imports it by name. Each command is called
as the built-in ones are, `func(args, settings) -> exit code`, and `rag.cli.main` turns
their errors into messages the same way.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

from rag.config import Settings

Subcommands = argparse._SubParsersAction  # what `ArgumentParser.add_subparsers` returns


def _err(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def register(sub: Subcommands[argparse.ArgumentParser]) -> None:
    """Add `eval`, `report` and `bench` to the subcommands of `rag`."""
    p = sub.add_parser("eval", help="answer every question of a JSONL file")
    gold = p.add_mutually_exclusive_group(required=True)
    gold.add_argument("--questions", help="JSONL with at least `id` and `question`")
    gold.add_argument(
        "--conversations",
        help="JSONL of conversations (`id`, `turns`: eval/conversations.jsonl), played turn by "
        "turn with the earlier turns as history; one result row per turn",
    )
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
    p.add_argument("--limit", type=int, help="only the first N questions (or conversations)")
    p.add_argument(
        "--replay",
        metavar="RESULTS",
        help="re-check the recorded raw answers of a run instead of generating (citation "
        "ablations and threshold tuning in seconds)",
    )
    p.add_argument(
        "--corpus",
        metavar="DIR",
        help="answer over these articles, indexed first into an index of their own "
        "(index/eval-<folder>-<hash of its path>/), not over the configured index",
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="change one setting for this run (ablations: --set check_names=false)",
    )
    p.add_argument("--report", metavar="DIR", help="also score the run and write a report here")
    p.add_argument("--name", help="name of the run in the report (default: file stem)")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("report", help="score eval runs against gold questions; compare runs")
    gold = p.add_mutually_exclusive_group(required=True)
    gold.add_argument("--questions", help="the gold JSONL (eval/questions.jsonl)")
    gold.add_argument(
        "--conversations", help="the gold conversations of the runs (eval/conversations.jsonl)"
    )
    p.add_argument("--runs", nargs="+", required=True, help="result files of `rag eval`")
    p.add_argument("--names", nargs="+", help="a name per run")
    p.add_argument("--out", required=True, help="folder for report.md, plots, summary.json")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("bench", help="speed benchmarks (ingest, retrieval, model, chat)")
    p.add_argument("--quick", action="store_true", help="fewer runs, collections up to 10k")
    p.add_argument("--out", default="eval/reports/bench", help="folder for bench.md/json")
    p.set_defaults(func=cmd_bench)


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
    for item in getattr(args, "set", None) or []:
        field, _, value = item.partition("=")
        changes[field.strip()] = value.strip()
    if getattr(args, "corpus", None):
        folder = Path(args.corpus).resolve()
        # one index per folder: corpus/ and eval/xquad/corpus/ share a name, not articles
        tag = hashlib.sha256(str(folder).encode()).hexdigest()[:8]
        changes["index_dir"] = settings.path(settings.index_dir) / f"eval-{folder.name}-{tag}"
    if args.llm:
        from rag.fetch import MODELS

        role = {"default": "llm", "small": "llm-small", "tiny": "llm-tiny"}.get(args.llm)
        changes["llm_model"] = settings.models_dir / MODELS[role].name if role else Path(args.llm)
    return settings.with_(**changes) if changes else settings


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    from rag.answer import Assistant
    from ragkit.evaluate import (
        conversation_turns,
        read_conversations,
        read_questions,
        replay,
        run,
        run_conversations,
    )

    settings = eval_settings(args, settings)
    conversations = read_conversations(Path(args.conversations)) if args.conversations else None
    if conversations is not None:
        if args.retrieval_only:
            _err("--retrieval-only does not apply to --conversations: follow-ups need the answers")
            return 2
        conversations = conversations[: args.limit] if args.limit else conversations
        questions = conversation_turns(conversations)  # one gold row per turn, for --replay
    else:
        questions = read_questions(Path(args.questions))
        if args.limit:
            questions = questions[: args.limit]
    out = Path(args.out)
    assistant = Assistant(settings)
    if args.corpus:  # a replay reads the articles too ("only 2 of the 5 articles ...")
        built = assistant.ingest([Path(args.corpus)])
        _err(f"index {settings.index_dir}: {built.summary()}")
    if args.replay:
        n = replay(assistant, questions, Path(args.replay), out, progress=_err)
    else:
        if conversations is not None:
            n = run_conversations(assistant, conversations, out, _err)
        else:
            n = run(assistant, questions, out, _err, retrieval_only=args.retrieval_only)
        if not args.retrieval_only:
            from ragkit.rates import raw_rates

            rates = raw_rates(assistant.generator)
            meta_path(out).write_text(json.dumps({"raw_llama_cpp": rates}, indent=2) + "\n")
            if rates:
                _err(
                    f"raw llama.cpp rates on this machine: prompt {rates['prompt_tok_s']} tok/s, "
                    f"decode {rates['decode_tok_s']} tok/s ({rates['model']})"
                )
    played = f" ({len(conversations)} conversations)" if conversations is not None else ""
    print(f"wrote {n} results{played} to {out}")
    if args.report:
        name = args.name or out.stem
        gold = Path(args.conversations or args.questions)
        report = write_report_for(
            gold, [out], [name], Path(args.report), conversations=conversations is not None
        )
        print(f"report: {report}")
    return 0


def meta_path(out: Path) -> Path:
    """Where a run's machine figures go: `x.jsonl` -> `x.meta.json`."""
    return out.with_name(out.stem + ".meta.json")


def write_report_for(
    questions: Path, runs: list[Path], names: list[str], out: Path, conversations: bool = False
) -> Path:
    """Score result files against the gold questions and write the (comparison) report.

    A question set with gold answer spans (eval/xquad) is scored by `ragkit.spans`; with
    `conversations`, `questions` is a conversations file and the runs are scored turn by
    turn (`compute_conversations`); the raw llama.cpp rates each run recorded are quoted
    beside its figures."""
    from rag import lang
    from ragkit import spans
    from ragkit.evaluate import (
        conversation_turns,
        read_conversations,
        read_questions,
        read_results,
        trace_path,
    )
    from ragkit.metrics import compute, compute_conversations
    from ragkit.report import write_report

    if conversations:
        golds = conversation_turns(read_conversations(questions))
    else:
        golds = read_questions(questions)
    span_set = not conversations and spans.is_span_set(golds)
    summaries = {}
    totals = {}
    notes = []
    for name, path in zip(names, runs, strict=True):
        results = read_results(path)
        trace = trace_path(path)
        traces = read_results(trace) if trace.exists() else None
        answers = not (traces and all(t.get("retrieval_only") for t in traces))
        if span_set:
            summaries[name] = spans.compute(golds, results, traces, lang.detect)
        elif conversations:
            summaries[name] = compute_conversations(golds, results, traces, lang.detect)
        else:
            summaries[name] = compute(golds, results, traces, lang.detect, answers=answers)
        totals[name] = [float(r["timings"]["total_s"]) for r in results]
        meta = meta_path(path)
        rates = json.loads(meta.read_text()).get("raw_llama_cpp") if meta.exists() else None
        if rates:
            notes.append(
                f"- {name}: raw llama.cpp rates of the machine, measured in the same run: "
                f"prompt {rates['prompt_tok_s']} tok/s, decode {rates['decode_tok_s']} tok/s"
            )
    command = "rag " + " ".join(sys.argv[1:]) if sys.argv and sys.argv[0].endswith("rag") else ""
    return write_report(summaries, totals, out, command=command, notes=notes, spans=span_set)


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    runs = [Path(r) for r in args.runs]
    names = args.names or [r.stem for r in runs]
    if len(names) != len(runs):
        _err("give one --names entry per run")
        return 2
    gold = Path(args.conversations or args.questions)
    report = write_report_for(gold, runs, names, Path(args.out), bool(args.conversations))
    print(f"report: {report}")
    return 0


def cmd_bench(args: argparse.Namespace, settings: Settings) -> int:
    from ragkit import bench
    from ui.app import build_demo

    command = "rag bench" + (" --quick" if args.quick else "")
    result = bench.run_all(settings, args.quick, _err, build_demo)
    page = bench.write(result, Path(args.out), command)
    print(page.read_text(encoding="utf-8"))
    return 0
