"""The browser chat: a thin client of `rag.answer.Assistant.stream()`.

The sources are shown as soon as retrieval is done, the answer streams token by token,
and when the citation check has run the answer is replaced by the verified one, with the
quoted sentences highlighted in their passages.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from rag import lang
from rag.answer import Assistant, Done, QuestionError, Sources, Token
from rag.cite import render
from rag.schema import Answer, Passage

if TYPE_CHECKING:
    import gradio as gr

EXAMPLES = [
    "Why did Meta open-source Llama?",
    "¿Qué dijo Yann LeCun sobre los modelos de código abierto?",
    "Who did Mark Zuckerberg hire to co-lead Meta Superintelligence Labs?",
    "Pourquoi Meta discute-t-elle avec Google et OpenAI ?",
]

MAX_FILE_SIZE = "20mb"

log = logging.getLogger(__name__)

History = list[dict[str, str]]


def render_passages(passages: Sequence[Passage], answer: Answer | None = None) -> str:
    """The passages as numbered source cards (HTML), quotes highlighted if an answer is given."""
    if not passages:
        return "<i>No passages found.</i>"
    spans: dict[int, set[tuple[int, int]]] = {}
    if answer is not None:
        for c in answer.citations:
            p = passages[c.n - 1]
            spans.setdefault(c.n, set()).add((c.quote_start - p.start, c.quote_end - p.start))
    cards = []
    for n, p in enumerate(passages, 1):
        body, cursor = "", 0
        for start, end in sorted(spans.get(n, set())):
            if start < cursor:
                continue
            body += html.escape(p.text[cursor:start])
            body += f"<mark>{html.escape(p.text[start:end])}</mark>"
            cursor = end
        body += html.escape(p.text[cursor:])
        cited = " · cited" if n in spans else ""
        cards.append(
            f'<div id="source-{n}"><b>[{n}] {html.escape(p.title)}</b><br>'
            f"<small>{html.escape(p.source)} · {p.language} · characters {p.start}-{p.end}"
            f" · relevance {p.similarity:.2f}{cited}</small>"
            f"<blockquote>{body}</blockquote></div>"
        )
    return "\n".join(cards)


def render_answer(answer: Answer) -> str:
    """The verified answer, with unsupported sentences marked and notices first."""
    parts = [f"_{html.escape(n)}_\n" for n in answer.notices]
    if answer.refused or not answer.sentences:
        parts.append(answer.text)
    else:
        shown = []
        for s in answer.sentences:
            if s.supported:
                shown.append(render([s]))
            else:
                shown.append(f"{s.text} ⚠️ _(not supported by the articles)_")
        parts.append(" ".join(shown))
    return "\n".join(parts)


def respond(
    assistant: Assistant, message: str, history: History
) -> Iterator[tuple[History, str, str]]:
    """One chat turn: yields (history, cleared textbox, sources panel) as the answer grows."""
    history = [*history, {"role": "user", "content": message}, {"role": "assistant", "content": ""}]
    sources = ""
    try:
        for event in assistant.stream(message):
            if isinstance(event, Sources):
                sources = render_passages(event.passages)
                history[-1]["content"] = "…"
            elif isinstance(event, Token):
                text = history[-1]["content"]
                history[-1]["content"] = ("" if text == "…" else text) + event.text
            elif isinstance(event, Done):
                history[-1]["content"] = render_answer(event.answer)
                sources = render_passages(event.answer.passages, event.answer)
            yield [*history[:-1], dict(history[-1])], "", sources
    except QuestionError as e:
        history[-1]["content"] = str(e)
        yield history, "", sources
    except Exception as e:  # shown in the chat, not as a bare "Error" toast
        log.exception("answering %r failed", message)
        history[-1]["content"] = f"Sorry, something went wrong: {e}"
        yield history, "", sources


def build_demo(assistant: Assistant) -> gr.Blocks:
    """The chat page for one assistant."""
    import gradio as gr

    with gr.Blocks(title="Ask the articles") as demo:
        gr.Markdown(
            "## Ask the articles\nAnswers come only from the indexed news articles, in the "
            "language you ask in; every `[n]` points to a passage shown on the right."
        )
        with gr.Row():
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(label="Chat", height=520)
                with gr.Row():
                    box = gr.Textbox(
                        placeholder="Ask a question about the articles…",
                        show_label=False,
                        scale=5,
                        autofocus=True,
                    )
                    send = gr.Button("Ask", variant="primary", scale=1)
                gr.Examples(EXAMPLES, inputs=box)
                clear = gr.Button("Clear")
            with gr.Column(scale=2):
                gr.Markdown("### Sources")
                sources = gr.HTML("<i>The passages used for the answer appear here.</i>")

        def turn(message: str, history: History) -> Iterator[tuple[Any, ...]]:
            yield from respond(assistant, message, history or [])

        for trigger in (box.submit, send.click):
            trigger(turn, [box, chatbot], [chatbot, box, sources], concurrency_limit=1)
        clear.click(lambda: ([], "", ""), None, [chatbot, box, sources])
    demo.queue(default_concurrency_limit=1, max_size=16)
    blocks: gr.Blocks = demo
    return blocks


def launch(assistant: Assistant, host: str = "127.0.0.1", port: int = 7860) -> None:
    """Load the models, then serve the chat (blocking)."""
    # Load the models, the language detector and the index before the first visitor waits.
    lang.detect(EXAMPLES[0])
    assistant.retriever.retrieve(EXAMPLES[0])
    assert assistant.generator is not None
    build_demo(assistant).launch(
        server_name=host, server_port=port, share=False, max_file_size=MAX_FILE_SIZE
    )
