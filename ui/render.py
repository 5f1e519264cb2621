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
from typing import TYPE_CHECKING, Any

from rag import lang
from rag.build import IngestReport
from rag.chunk import split_sentences
from rag.cite import render
from rag.schema import Answer, Passage, Translation

if TYPE_CHECKING:
    from rag.store import DocumentInfo

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
  document.addEventListener('click', (event) => {
    const button = event.target.closest && event.target.closest('button.translate');
    if (!button) return;
    event.preventDefault();
    event.stopPropagation();
    const d = button.dataset;
    window.ragTranslateRequest = JSON.stringify(
      {card: d.card, text: d.text, source: d.source, language: d.language});
    const box = document.querySelector('#translate-request textarea');
    if (box) {
      box.value = window.ragTranslateRequest;
      box.dispatchEvent(new Event('input', {bubbles: true}));
    }
    button.disabled = true;
    button.textContent = 'Translating…';
    const run = document.querySelector('#translate-run');
    if (run) run.click();
  }, true);
  window.ragCitationLinks = true;
}
"""
"""Clicking `[n]` opens and scrolls to its source card (Gradio opens links in a new tab).
Clicking a card's "Show in English" (`translate_button`) puts the request where the page's
hidden translate button (`#translate-run`) picks it up (`TRANSLATE_REQUEST_JS`)."""

TRANSLATE_REQUEST_JS = "(request, ...rest) => [window.ragTranslateRequest || request, ...rest]"
"""Run before the translate handler: hands it the request of the card button clicked."""

TRANSLATE_PATCH_JS = """
(reply) => {
  if (!reply) return;
  const r = JSON.parse(reply);
  document.querySelectorAll('.translate-slot').forEach((slot) => {
    if (slot.dataset.card === r.card) slot.outerHTML = r.html;
  });
}
"""
"""Run on each reply of the translate handler ({card, html}): the card's button slot becomes
the reply (a note that the model is busy, or the translation)."""

CSS = """
.source { border-left: 3px solid #ccc; padding: 4px 10px; margin: 8px 0; }
.source.focused { border-left-color: #f59e0b; background: rgba(245, 158, 11, 0.08); }
.source mark { background: #fde68a; color: inherit; padding: 0 2px; }
.source blockquote { margin: 6px 0; white-space: pre-wrap; }
.source .article { white-space: pre-wrap; max-height: 360px; overflow-y: auto; }
.source .in-passage { background: rgba(253, 230, 138, 0.35); }
.source .also-reported { margin: 4px 0; font-size: 0.9em; }
.source .translation { border-left: 2px dashed #93c5fd; margin: 4px 0; padding-left: 8px; }
.source .translation .label { color: #6b7280; }
.source .translation blockquote { margin: 2px 0; }
.source button.translate { font-size: 0.85em; padding: 1px 8px; border: 1px solid #ccc;
  border-radius: 4px; cursor: pointer; }
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
    story: Callable[[str], Sequence[DocumentInfo]] | None = None,
) -> str:
    """The passages as numbered source cards (HTML), quotes highlighted if an answer is given.

    Card n of turn t has the id `s{t}-{n}`, which the answer's `[n]` links point to. With
    `article_text`, each card can open the whole article, the passage and quote marked.
    With `story` (source -> the other articles of its story), a card whose article has a
    twin says where else the story was reported (`also_reported`).
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
        translate = ""
        if answer is not None and p.language != answer.language:
            translate = translate_button(
                f"s{turn}-{n}", _card_text(p, answer, n), p.language, answer.language
            )
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
            f"<blockquote>{body}</blockquote>{translate}{full}"
            f"{also_reported(story(p.source), article_text) if story else ''}</div>"
        )
    return "\n".join(cards)


def also_reported(
    twins: Sequence[DocumentInfo], article_text: Callable[[str], str] | None = None
) -> str:
    """One line per other article of the same story: "Also reported in French: <title>"
    (class `also-reported`); with `article_text`, the line opens that article's text."""
    lines = []
    for twin in twins:
        said = (
            f"Also reported in {html.escape(lang.name(twin.language))}: "
            f"<i>{html.escape(twin.title or twin.source)}</i> "
            f"<small>({html.escape(twin.source)})</small>"
        )
        text = article_text(twin.source) if article_text is not None else ""
        if text:
            lines.append(
                f'<details class="also-reported"><summary>{said}</summary>'
                f"<div class='article'>{html.escape(text)}</div></details>"
            )
        else:
            lines.append(f'<div class="also-reported">{said}</div>')
    return "".join(lines)


def _card_text(passage: Passage, answer: Answer, n: int) -> str:
    """What a card's "Show in English" translates: its cited quotes, in article order, or
    else its passage's first sentence."""
    quotes = sorted({(c.quote_start, c.quote) for c in answer.citations if c.n == n})
    if quotes:
        return " ".join(q for _, q in quotes)
    first = split_sentences(passage.text)
    return first[0].text if first else passage.text


def translate_button(
    card: str, text: str, source: str, language: str, note: str = "", waiting: bool = False
) -> str:
    """A card's "Show in <language>" button (class `translate`) with what it translates in
    its data attributes, in a slot (`translate-slot`) that the translation replaces; a
    `note` beside it (the model is busy, try again), the button disabled while `waiting`."""
    a = {"card": card, "text": text, "source": source, "language": language}
    data = " ".join(f'data-{k}="{html.escape(v)}"' for k, v in a.items())
    disabled = " disabled" if waiting else ""
    said = f" <small>{html.escape(note)}</small>" if note else ""
    return (
        f'<div class="translate-slot" data-card="{html.escape(card)}">'
        f'<button type="button" class="translate" {data}{disabled}>'
        f"Show in {html.escape(lang.name(language))}</button>{said}</div>"
    )


def render_translation(t: Translation, card: str = "") -> str:
    """A translation under its original (class `translation`): its label ("Machine
    translation", from which language), the text, and a ⚠️ line per warning."""
    label = f"{t.label} · {lang.name(t.source_language) or '?'} → {lang.name(t.language)}"
    warnings = "".join(f"<li>⚠️ {html.escape(w)}</li>" for w in t.warnings)
    return (
        f'<div class="translation" data-card="{html.escape(card)}" '
        f'lang="{html.escape(t.language)}">'
        f'<small class="label">{html.escape(label)}</small>'
        f"<blockquote>{html.escape(t.text)}</blockquote>"
        + (f'<ul class="warnings">{warnings}</ul>' if warnings else "")
        + "</div>"
    )


def with_translation(cards: str, card: str, block: str) -> str:
    """Cards HTML with card `card`'s translate slot replaced by `block` (a translation)."""
    opening = f'<div class="translate-slot" data-card="{html.escape(card)}">'
    slot = re.compile(re.escape(opening) + r".*?</div>", re.S)
    return slot.sub(lambda _m: block, cards, count=1)


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
