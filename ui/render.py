"""The chat's HTML: answers, source cards and the sources panel, as plain functions.

Everything here turns the library's result types into HTML or Markdown strings and needs
no Gradio; `ui.app` puts the strings on the page. `CSS` and `CITE_JS` are the look of the
cards and what a click on an answer's `[n]` does, which the page is launched with.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rag import lang
from rag.build import IngestReport
from rag.cite import render
from rag.schema import Answer, Passage

CITE_JS = """
() => {
  document.addEventListener('click', (event) => {
    const link = event.target.closest && event.target.closest('a.cite');
    if (!link) return;
    event.preventDefault();
    event.stopPropagation();
    const card = document.getElementById(link.getAttribute('href').slice(1));
    if (!card) return;
    for (let d = card.closest('details'); d; d = d.parentElement.closest('details')) d.open = true;
    document.querySelectorAll('.source.focused').forEach((c) => c.classList.remove('focused'));
    card.classList.add('focused');
    card.scrollIntoView({block: 'center'});
  }, true);
  window.ragCitationLinks = true;
}
"""
"""Clicking `[n]` opens and scrolls to its source card (Gradio opens links in a new tab)."""

CSS = """
.source { border-left: 3px solid #ccc; padding: 4px 10px; margin: 8px 0; }
.source.focused { border-left-color: #f59e0b; background: rgba(245, 158, 11, 0.08); }
.source mark { background: #fde68a; color: inherit; padding: 0 2px; }
.source blockquote { margin: 6px 0; white-space: pre-wrap; }
.source .article { white-space: pre-wrap; max-height: 360px; overflow-y: auto; }
.source .in-passage { background: rgba(253, 230, 138, 0.35); }
a.cite { text-decoration: none; font-weight: 600; }
"""

TurnRecord = dict[str, Any]
"""What the page keeps of one answered turn: n, asked, question, answer text, sources HTML."""

_MARKER = re.compile(r"\[(\d+)\]")


def render_passages(
    passages: Sequence[Passage],
    answer: Answer | None = None,
    turn: int = 1,
    article_text: Callable[[str], str] | None = None,
) -> str:
    """The passages as numbered source cards (HTML), quotes highlighted if an answer is given.

    Card n of turn t has the id `s{t}-{n}`, which the answer's `[n]` links point to. With
    `article_text`, each card can open the whole article, the passage and quote marked.
    """
    if not passages:
        return "<p><i>No passages found.</i></p>"
    spans: dict[int, set[tuple[int, int]]] = {}
    if answer is not None:
        for c in answer.citations:
            spans.setdefault(c.n, set()).add((c.quote_start, c.quote_end))
    cards = []
    for n, p in enumerate(passages, 1):
        quotes = sorted(spans.get(n, set()))
        body = _highlight(p.text, [(s - p.start, e - p.start) for s, e in quotes])
        cited = " · <b>cited</b>" if quotes else ""
        full = ""
        if article_text is not None:
            text = article_text(p.source)
            if text:
                full = (
                    "<details><summary>Full article</summary><div class='article'>"
                    f"{_highlight(text, quotes, (p.start, p.end))}</div></details>"
                )
        cards.append(
            f'<div class="source" id="s{turn}-{n}">'
            f"<b>[{n}] {html.escape(p.title)}</b><br>"
            f"<small>{html.escape(p.source)} · {html.escape(lang.name(p.language))}"
            f" · characters {p.start}–{p.end} · relevance {p.similarity:.2f}{cited}</small>"
            f"<blockquote>{body}</blockquote>{full}</div>"
        )
    return "\n".join(cards)


def _highlight(
    text: str, marks: Sequence[tuple[int, int]], passage: tuple[int, int] | None = None
) -> str:
    """`text` escaped, with `marks` in <mark> and the optional `passage` span shaded."""
    cuts = sorted({0, len(text), *(x for s, e in marks for x in (s, e)), *(passage or ())})
    out = []
    for start, end in zip(cuts, cuts[1:], strict=False):
        if not 0 <= start < end <= len(text):
            continue
        piece = html.escape(text[start:end])
        if any(s <= start and end <= e for s, e in marks):
            piece = f"<mark>{piece}</mark>"
        elif passage and passage[0] <= start and end <= passage[1]:
            piece = f"<span class='in-passage'>{piece}</span>"
        out.append(piece)
    return "".join(out)


def render_answer(answer: Answer, turn: int = 1) -> str:
    """The verified answer: notices first, `[n]` as links to cards, unsupported marked."""
    parts = [f"_{html.escape(n, quote=False)}_\n" for n in answer.notices]
    if answer.refused or not answer.sentences:
        parts.append(html.escape(answer.text))
    else:
        shown = []
        for s in answer.sentences:
            text = _link_markers(html.escape(render([s]), quote=False), turn, len(answer.passages))
            if not s.supported:
                text += " ⚠️ _(not supported by the articles)_"
            elif s.quoted:
                text += " _(quoted from the article, in its language)_"
            shown.append(text)
        parts.append(" ".join(shown))
    return "\n".join(parts)


def _link_markers(text: str, turn: int, count: int) -> str:
    def link(m: re.Match[str]) -> str:
        n = int(m.group(1))
        return f'<a class="cite" href="#s{turn}-{n}">[{n}]</a>' if 1 <= n <= count else m[0]

    return _MARKER.sub(link, text)


def render_sources(turns: Sequence[TurnRecord], current: str = "") -> str:
    """The sources panel: the turn in progress, then earlier turns (folded), newest first."""
    blocks = [current] if current else []
    for i, t in reversed(list(enumerate(turns, 1))):
        is_open = " open" if (i == len(turns) and not current) else ""  # the newest one
        blocks.append(
            f"<details{is_open}><summary>Sources for “{html.escape(t['question'])}”</summary>"
            f"{t['sources']}</details>"
        )
    return "\n".join(blocks) or "<p><i>The passages used for the answer appear here.</i></p>"


def current_sources(cards: str) -> str:
    """The cards of the turn in progress, open above the earlier turns."""
    return f"<details open><summary>Sources for this question</summary>{cards}</details>"


def report_text(report: IngestReport) -> str:
    """An ingest report as Markdown: a summary line, then every file that was not added."""
    lines = [f"**{html.escape(report.summary())}**"]
    lines += [f"- added: {html.escape(s)}" for s in report.added]
    lines += [f"- updated: {html.escape(s)}" for s in report.updated]
    lines += [f"- unchanged: {html.escape(s)}" for s in report.unchanged]
    lines += [
        f"- duplicate: {html.escape(s)} has the same text as {html.escape(twin)}"
        for s, twin in report.duplicates
    ]
    lines += [
        f"- rejected: {html.escape(Path(r.path).name)}: {html.escape(r.reason)}"
        for r in report.rejected
    ]
    return "\n".join(lines)
