"""The browser chat: a thin client of `rag.answer.Assistant`.

A turn shows the passages as soon as retrieval is done, streams the model's answer, and
then replaces it with the verified one. Every `[n]` of the answer is a link to its source
card, where the quoted sentence is highlighted inside its passage and the whole article
can be opened. Follow-ups are rewritten into standalone questions and the rewrite is
shown. A second tab uploads articles and lists or removes the indexed ones. The HTML of answers
and cards is made in `ui.render`; this module wires it to Gradio.

Safe by default: the page binds 127.0.0.1, never makes a share link, limits upload size,
serves no folder of ours, and runs one answer at a time (others are told they wait).
"""

from __future__ import annotations

import html
import json
import logging
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag import lang, prompts
from rag.access import CHAT_CREDENTIALS, check_exposure, same_secret
from rag.answer import Assistant, Done, QuestionError, Retrying, Rewritten, Sources, Token
from rag.build import IngestReport
from rag.ingest import SUFFIXES, discover
from rag.lock import IndexBusy
from rag.rewrite import Turn
from rag.translate import TranslationError
from ui.render import (
    CITE_JS,
    CSS,
    TRANSLATE_PATCH_JS,
    TRANSLATE_REQUEST_JS,
    TurnRecord,
    current_sources,
    render_answer,
    render_passages,
    render_sources,
    render_translation,
    report_text,
    translate_button,
    with_translation,
)

if TYPE_CHECKING:
    import gradio as gr

    from rag.config import Settings

EXAMPLES = [
    "Why did Meta open-source Llama?",
    "¿Por qué Meta liberó el código de Llama?",
    "Who did Mark Zuckerberg hire to co-lead Meta Superintelligence Labs?",
    "Pourquoi Meta discute-t-elle avec Google et OpenAI ?",
]

QUEUE_SIZE = 16
"""Requests that may wait for the model; beyond this Gradio answers "queue full"."""

WAITING_TURNS = 4
"""Turns admitted at once: one is answered, the others are told they wait."""

BUSY_WAIT_S = 180.0
"""How long a waiting question waits for the model before the asker is told to retry."""

KEPT_TURNS = 8
"""Turns whose sources stay on the page (and in the session's memory); older ones fold away."""

THINKING = "…"

log = logging.getLogger(__name__)

History = list[dict[str, str]]
"""Chat messages as Gradio shows them: {"role": ..., "content": ...}."""


# ---------------------------------------------------------------- one chat turn


def respond(
    assistant: Assistant,
    message: str,
    history: History,
    turns: list[TurnRecord],
    answering: threading.Lock | None = None,
) -> Iterator[tuple[History, str, str, list[TurnRecord]]]:
    """One chat turn: yields (history, cleared textbox, sources panel, turns) as it grows."""
    lock = answering or threading.Lock()
    if not history:  # a new conversation: earlier turns are not its context
        turns = []
    history = [*history, {"role": "user", "content": message}, {"role": "assistant", "content": ""}]
    turn = turns[-1]["n"] + 1 if turns else 1
    earlier = [Turn(t["question"], t["answer"]) for t in turns]
    panel = render_sources(turns)  # re-rendered when the sources change, not per token

    def show(content: str) -> tuple[History, str, str, list[TurnRecord]]:
        history[-1] = {"role": "assistant", "content": content}
        return [*history], "", panel, turns

    if not lock.acquire(blocking=False):
        yield show(prompts.BUSY)
        if not lock.acquire(timeout=BUSY_WAIT_S):
            yield show(prompts.TOO_BUSY)
            return
    try:
        header, text = "", ""
        for event in assistant.stream(message, earlier):
            if isinstance(event, Rewritten):
                notice = prompts.REWRITE_NOTICE.format(question=event.question)
                header = f"_{html.escape(notice, quote=False)}_\n\n"
                yield show(header + THINKING)
            elif isinstance(event, Sources):
                panel = render_sources(
                    turns, current_sources(render_passages(event.passages, turn=turn))
                )
                yield show(header + THINKING)
            elif isinstance(event, Token):
                text += event.text
                yield show(header + html.escape(text, quote=False))
            elif isinstance(event, Retrying):
                text = ""
                yield show(header + f"_{html.escape(event.notice, quote=False)}_\n\n" + THINKING)
            elif isinstance(event, Done):
                answer = event.answer
                cards = render_passages(
                    answer.passages, answer, turn, assistant.article_text, assistant.story
                )
                record = {
                    "n": turn,
                    "asked": message,
                    "question": answer.question,
                    "answer": answer.text,
                    "sources": cards,
                }
                turns = [*turns, record][-KEPT_TURNS:]
                panel = render_sources(turns)
                yield show(render_answer(answer, turn))
    except QuestionError as e:
        yield show(str(e))
    except Exception as e:  # shown in the chat, not as a bare "Error" toast
        log.exception("answering %r failed", message)
        yield show(f"{prompts.FAILED}: {e}")
    finally:
        lock.release()


# ---------------------------------------------------------------- a card in the asker's language

_CARD_ID = re.compile(r"s\d+-\d+")


def translate_card(
    assistant: Assistant,
    request: str,
    turns: list[TurnRecord],
    answering: threading.Lock | None = None,
) -> Iterator[str]:
    """A card's "Show in English": yields the card's new HTML as JSON ({card, html}) for the
    page to put in place of its button: a busy note while the model answers someone else,
    then the translation under the original. A cached translation waits for nothing; a new
    one takes the model's turn like an answer (`answering`, BUSY / TOO_BUSY). The
    translation is kept in the turn's sources, so it stays when the panel is drawn again."""
    try:
        asked = json.loads(request or "{}")
        card, text, source, target = (
            str(asked.get(k) or "") for k in ("card", "text", "source", "language")
        )
    except (ValueError, AttributeError):
        return
    if not _CARD_ID.fullmatch(card):
        return

    def reply(piece: str) -> str:  # "at": a repeated reply is still a change for the page
        return json.dumps({"card": card, "html": piece, "at": time.time()})

    lock = answering or threading.Lock()
    try:
        made = assistant.translator.cached(text, target, source or None)
        if made is None:
            if not lock.acquire(blocking=False):
                yield reply(translate_button(card, text, source, target, prompts.BUSY, True))
                if not lock.acquire(timeout=BUSY_WAIT_S):
                    yield reply(translate_button(card, text, source, target, prompts.TOO_BUSY))
                    return
            try:
                made = assistant.translate(text, target, source or None)
            finally:
                lock.release()
    except TranslationError as e:
        yield reply(f"<small>{html.escape(str(e))}</small>")
        return
    except Exception as e:  # shown in the card, not as a bare "Error" toast
        log.exception("translating %r failed", text)
        failed = f"{prompts.FAILED}: {e}"
        yield reply(translate_button(card, text, source, target, failed))
        return
    block = render_translation(made, card)
    for record in turns or []:
        record["sources"] = with_translation(record["sources"], card, block)
    yield reply(block)


# ---------------------------------------------------------------- the articles tab


def article_rows(assistant: Assistant) -> list[list[Any]]:
    """The indexed articles as table rows: file, title, language, chunks, and the other
    articles of its story ("also: 001_....txt", or "")."""
    docs = assistant.documents()
    return [
        [d.source, d.title, lang.name(d.language), d.chunks, story_cell(d.story)]
        for d in sorted(docs.values(), key=lambda d: d.source)
    ]


def story_cell(others: Sequence[str]) -> str:
    """The Story column of the article list: the other articles of the same story."""
    return f"also: {', '.join(others)}" if others else ""


def add_articles(
    assistant: Assistant,
    files: Sequence[str | Path] | None,
    progress: Callable[[float, str], None] | None = None,
) -> IngestReport:
    """Copy uploaded files into the uploads folder and index them; returns the report.

    Files that ingestion would refuse anyway (other types, links, FIFOs) are reported as
    rejected without being copied.
    """
    accepted, rejected = discover(Path(f) for f in files or [])
    folder = assistant.settings.uploads()
    folder.mkdir(parents=True, exist_ok=True)
    keep: list[Path] = []
    for path in accepted:
        target = folder / path.name
        shutil.copyfile(path, target)
        keep.append(target)
    if not keep:
        return IngestReport(rejected=rejected)
    say = progress or (lambda _f, _m: None)
    done = 0
    say(0.0, f"indexing {len(keep)} file(s)…")

    def step(message: str) -> None:
        nonlocal done
        done += 1
        say(min(done / len(keep), 1.0), message)

    result = assistant.ingest(keep, step)
    result.rejected[:0] = rejected
    return result


# ---------------------------------------------------------------- the page


def build_demo(assistant: Assistant) -> gr.Blocks:
    """The chat page for one assistant."""
    import gradio as gr

    answering = threading.Lock()
    writing = threading.Lock()
    examples: list[Any] = [{"text": q} for q in EXAMPLES]

    with gr.Blocks(title="Ask the articles", analytics_enabled=False) as demo:
        gr.Markdown(
            "## Ask the articles\nAnswers come only from the indexed news articles, in the "
            "language you ask in. Click a `[n]` to see the sentence it stands on; sentences "
            "marked ⚠️ could not be checked against the articles."
        )
        turns = gr.State([])
        with gr.Tab("Chat"), gr.Row():
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(
                    label="Chat",
                    height=560,
                    examples=examples,
                    buttons=["copy", "copy_all"],
                    placeholder="Ask about the articles, in English, Spanish, French or "
                    "Portuguese, or pick an example.",
                )
                with gr.Row():
                    box = gr.Textbox(
                        placeholder="Ask a question about the articles…",
                        show_label=False,
                        scale=5,
                        autofocus=True,
                        elem_id="question",
                    )
                    send = gr.Button("Ask", variant="primary", scale=1, elem_id="ask")
                clear = gr.Button("Clear the conversation", size="sm")
            with gr.Column(scale=2):
                gr.Markdown("### Sources")
                sources = gr.HTML(render_sources([]), elem_id="sources", max_height=760)
                # What a card's "Show in English" asks, and what comes back (ui/render.py JS)
                wanted = gr.Textbox(visible="hidden", elem_id="translate-request")
                shown = gr.Textbox(visible="hidden", elem_id="translate-reply")
                run_translation = gr.Button(visible="hidden", elem_id="translate-run")
        with gr.Tab("Articles"):
            upload = gr.File(
                label="Add articles (.txt, .md, .html)",
                file_count="multiple",
                file_types=list(SUFFIXES),
                elem_id="upload",
            )
            folder = gr.UploadButton("Add a folder", file_count="directory", size="sm")
            status = gr.Markdown(elem_id="ingest-report")
            table = gr.Dataframe(
                value=None,
                headers=["File", "Title", "Language", "Chunks", "Story"],
                interactive=False,
                label="Indexed articles",
                elem_id="articles",
            )
            with gr.Row():
                chosen = gr.Dropdown(label="Article to remove", choices=[], scale=4)
                remove = gr.Button("Remove", variant="stop", scale=1)

        def turn(
            message: str, history: History, kept: list[TurnRecord]
        ) -> Iterator[tuple[Any, ...]]:
            yield from respond(assistant, message, history or [], kept or [], answering)

        def retry(history: History, kept: list[TurnRecord]) -> Iterator[tuple[Any, ...]]:
            history, kept = history or [], kept or []
            asked = next((m["content"] for m in reversed(history) if m["role"] == "user"), "")
            if not asked:
                return
            last = max(i for i, m in enumerate(history) if m["role"] == "user")
            if kept and kept[-1]["asked"] == asked:  # that turn is answered again
                kept = kept[:-1]
            yield from respond(assistant, asked, history[:last], kept, answering)

        def pick(event: gr.SelectData) -> str:
            value = event.value
            return str(value.get("text", "")) if isinstance(value, dict) else str(value)

        # Gradio finds the event argument by its annotation, which must be the class itself.
        pick.__annotations__["event"] = gr.SelectData

        outputs = [chatbot, box, sources, turns]
        send.click(turn, [box, chatbot, turns], outputs, concurrency_limit=WAITING_TURNS,
                   api_name="turn")  # fmt: skip
        box.submit(turn, [box, chatbot, turns], outputs, concurrency_limit=WAITING_TURNS,
                   api_visibility="private")  # fmt: skip
        private: Any = {"api_visibility": "private", "concurrency_limit": WAITING_TURNS}
        chatbot.example_select(pick, None, box, api_visibility="private").then(
            turn, [box, chatbot, turns], outputs, **private
        )
        chatbot.retry(retry, [chatbot, turns], outputs, **private)

        def translation(request: str, kept: list[TurnRecord]) -> Iterator[str]:
            yield from translate_card(assistant, request, kept or [], answering)

        run_translation.click(
            translation, [wanted, turns], shown, js=TRANSLATE_REQUEST_JS, show_progress="hidden",
            api_visibility="private", concurrency_limit=WAITING_TURNS,
        )  # fmt: skip
        shown.change(None, shown, None, js=TRANSLATE_PATCH_JS, api_visibility="private")

        def reset() -> tuple[Any, ...]:
            return [], "", render_sources([]), []

        clear.click(reset, None, outputs, api_name="clear")
        chatbot.clear(reset, None, outputs, api_visibility="private")

        def listing() -> tuple[Any, Any]:
            rows = article_rows(assistant)
            return rows, gr.update(choices=[r[0] for r in rows], value=None)

        def add(
            files: list[str] | str | None,
            progress: gr.Progress = gr.Progress(),  # noqa: B008 (how Gradio asks for a bar)
        ) -> tuple[Any, ...]:
            paths = [files] if isinstance(files, str) else files or []
            try:
                with writing:
                    report = add_articles(assistant, paths, lambda f, m: progress(f, desc=m))
            except IndexBusy as e:
                return (html.escape(str(e)), *listing())
            return (report_text(report), *listing())

        def drop(source: str | None) -> tuple[Any, ...]:
            if not source:
                return ("Pick an article to remove.", *listing())
            try:
                with writing:
                    gone = assistant.remove(source)
            except IndexBusy as e:
                return (html.escape(str(e)), *listing())
            said = f"Removed {source}." if gone else f"{source} was not indexed."
            return (html.escape(said), *listing())

        upload.upload(add, upload, [status, table, chosen], api_name="add")
        folder.upload(add, folder, [status, table, chosen], api_visibility="private")
        remove.click(drop, chosen, [status, table, chosen], api_name="remove")
        demo.load(listing, None, [table, chosen], api_visibility="private")
    demo.queue(default_concurrency_limit=1, max_size=QUEUE_SIZE)
    blocks: gr.Blocks = demo
    return blocks


def login(settings: Settings) -> Callable[[str, str], bool] | None:
    """The chat's login check (Gradio's `auth`), if a login is set: constant-time, and the
    credentials stay in this closure, never in the page or a log."""
    if settings.chat_user is None or settings.chat_password is None:
        return None
    user, password = (
        settings.chat_user.get_secret_value(),
        settings.chat_password.get_secret_value(),
    )

    def check(given_user: str, given_password: str) -> bool:
        # both compared, always: the time does not tell which one was wrong
        return same_secret(given_user, user) & same_secret(given_password, password)

    return check


def launch_options(assistant: Assistant) -> dict[str, Any]:
    """The keyword arguments `Blocks.launch` gets: local only unless a login is set, bounded,
    nothing of ours served."""
    s = assistant.settings
    return {
        "auth": login(s),
        "auth_message": "Log in to ask the articles." if s.chat_user is not None else None,
        "server_name": s.host,
        "server_port": s.port,
        "share": False,
        "max_file_size": s.max_file_bytes,  # the ingest limit: refused before it is stored
        "allowed_paths": [],
        "blocked_paths": [str(s.path(s.index_dir)), str(s.path(s.models_dir)), str(s.root)],
        "ssr_mode": False,
        "mcp_server": False,
        "enable_monitoring": False,
        "show_error": False,
        "js": CITE_JS,
        "css": CSS,
    }


def launch(assistant: Assistant, host: str | None = None, port: int | None = None) -> None:
    """Load the models, then serve the chat (blocking). Raises ExposureError, before loading
    anything, for an address beyond this machine without a login."""
    options = launch_options(assistant)
    if host:
        options["server_name"] = host
    if port:
        options["server_port"] = port
    s = assistant.settings
    check_exposure(options["server_name"], s.chat_user is not None, *CHAT_CREDENTIALS)
    # Load the models, the language detector and the index before the first visitor waits.
    lang.detect(EXAMPLES[0])
    assistant.retriever.retrieve(EXAMPLES[0])
    assert assistant.generator is not None
    build_demo(assistant).launch(**options)
