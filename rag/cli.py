"""`rag`: the command line. Parses arguments, calls the library, prints.

rag setup [--with ROLE ...]      fetch and verify the model files
rag ingest [PATH ...] [--rebuild]
rag check [--repair]             check the index (and set it right)
rag ask "QUESTION" [--json]
rag chat
rag serve [--host HOST] [--port PORT]

Other installed packages add subcommands through the `rag.commands` entry-point group; the
measuring kit (eval/ragkit, a development install) adds these:
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
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rag.config import Settings

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

COMMANDS = "rag.commands"
"""The entry-point group of subcommands that other packages add: each entry point names a
function `register(subparsers)` that adds its subcommands (as simonw/llm's plugins do)."""

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


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    from rag.check import check_index

    health = check_index(settings, repair=args.repair)
    print(health.summary())
    if not health.ok:
        _err("the index has problems" + ("" if args.repair else ": run `rag check --repair`"))
        return 1
    return 0


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
    from rag.access import CHAT_CREDENTIALS, check_exposure
    from rag.answer import Assistant

    # before the index is opened; ui.launch checks again where it binds
    check_exposure(settings.host, settings.chat_user is not None, *CHAT_CREDENTIALS)
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

    from rag.access import API_CREDENTIALS, check_exposure
    from rag.answer import Assistant
    from rag.api import create_app, warm_up

    host, port = args.host or settings.host, args.port or settings.api_port
    check_exposure(host, settings.api_key is not None, *API_CREDENTIALS)
    assistant = Assistant(settings)
    _err("loading the models…")
    warm_up(assistant)
    _err(f"API on http://{host}:{port} (schema: /openapi.json, docs: /docs)")
    uvicorn.run(create_app(assistant), host=host, port=port)
    return 0


def add_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    entry_points: Iterable[EntryPoint] | None = None,
) -> None:
    """Let each installed package of the `rag.commands` group add its subcommands.

    One that fails to load is left out with a warning: the product's own commands still work.
    """
    if entry_points is None:
        from importlib.metadata import entry_points as installed

        entry_points = installed(group=COMMANDS)
    for ep in sorted(entry_points, key=lambda e: e.name):
        try:
            ep.load()(sub)
        except Exception as e:  # a broken or half-installed plugin, whatever it raised
            _err(f"warning: the commands of {ep.name!r} ({ep.value}) were not added: {e}")


def build_parser(commands: Iterable[EntryPoint] | None = None) -> argparse.ArgumentParser:
    """The parser of `rag`: its own subcommands, then those of the `commands` entry points
    (default: the installed `rag.commands` group)."""
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

    p = sub.add_parser(
        "check", help="check the index (every passage findable, nothing half-written or back)"
    )
    p.add_argument("--repair", action="store_true", help="set right what is wrong")
    p.set_defaults(func=cmd_check)

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

    add_commands(sub, commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from httpx import TransportError  # a Chroma server that went away (store_backend http)

    from rag.access import ExposureError

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
    except ExposureError as e:  # a usage error, like bad settings: nothing was started
        _err(f"error: {e}")
        return 2
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
