"""The chat's HTML, from hand-made answers: plain functions, no Gradio, no models."""

from __future__ import annotations

import subprocess
import sys

from rag.answer import Assistant
from rag.build import IngestReport
from rag.config import PROJECT_ROOT
from rag.ingest import Rejected
from rag.schema import Answer, Citation, Passage, Sentence
from rag.store import DocumentInfo
from ui.render import (
    also_reported,
    current_sources,
    render_answer,
    render_passages,
    render_sources,
    report_text,
)

from .conftest import FakeGenerator

ARTICLE = "Meta & friends.\n\nMeta shared Llama to speed up development. Critics objected."
START = ARTICLE.index("Meta shared")
PASSAGE = Passage(
    chunk_id="meta.txt:0",
    source="meta.txt",
    title="Meta <opens> Llama",
    language="en",
    text=ARTICLE[START:],
    start=START,
    end=len(ARTICLE),
    score=0.5,
    similarity=0.81,
)
QUOTE = "Meta shared Llama to speed up development."


def answer(*sentences: Sentence, refused: bool = False, notices: tuple[str, ...] = ()) -> Answer:
    """An answer from `PASSAGE`, every sentence citing [1] quoting `QUOTE`."""
    citation = Citation(
        n=1,
        source=PASSAGE.source,
        title=PASSAGE.title,
        chunk_id=PASSAGE.chunk_id,
        quote=QUOTE,
        quote_start=START,
        quote_end=START + len(QUOTE),
        support=0.9,
    )
    return Answer(
        question="Why did Meta open Llama?",
        language="en",
        text=" ".join(s.text for s in sentences),
        refused=refused,
        sentences=sentences,
        citations=() if refused else (citation,),
        passages=(PASSAGE,),
        notices=notices,
    )


def test_cards_are_numbered_per_turn_with_the_quote_marked() -> None:
    shown = render_passages([PASSAGE], answer(Sentence("It shares.", (1,), True)), turn=2)
    assert 'id="s2-1"' in shown
    assert "[1] Meta &lt;opens&gt; Llama" in shown, "titles are escaped"
    assert f"<mark>{QUOTE}</mark>" in shown
    assert "English" in shown
    assert f"characters {START}–{len(ARTICLE)}" in shown
    assert "relevance 0.81" in shown
    assert "<b>cited</b>" in shown
    assert "Full article" not in shown, "only with a way to read the article"


def test_a_card_opens_the_whole_article_with_passage_and_quote_marked() -> None:
    shown = render_passages([PASSAGE], answer(Sentence("It shares.", (1,), True)),
                            article_text=lambda source: ARTICLE)  # fmt: skip
    full = shown.split("Full article")[1]
    assert "Meta &amp; friends." in full
    assert f"<mark>{QUOTE}</mark>" in full
    assert "<span class='in-passage'> Critics objected.</span>" in full


def test_a_card_of_a_story_told_twice_says_where_else_it_was_reported() -> None:
    twin = DocumentInfo("meta-fr.txt", "Meta & Llama, en français", "fr", "h", 3)
    texts = {"meta-fr.txt": "Meta a partagé <Llama>.", "meta.txt": ARTICLE}
    shown = render_passages(
        [PASSAGE], article_text=texts.__getitem__, story=lambda s: [twin] if s == "meta.txt" else []
    )
    line = shown.split('class="also-reported"')[1]
    assert "Also reported in French: <i>Meta &amp; Llama, en français</i>" in line
    assert "(meta-fr.txt)" in line
    assert "<div class='article'>Meta a partagé &lt;Llama&gt;.</div></details>" in line, (
        "it opens the other article's text"
    )
    assert "also-reported" not in render_passages([PASSAGE], story=lambda s: [])
    plain = also_reported([twin])  # no way to read it: the line alone
    assert plain.startswith('<div class="also-reported">Also reported in French')


def test_cards_without_an_answer_mark_nothing() -> None:
    shown = render_passages([PASSAGE])
    assert "<mark>" not in shown
    assert "cited" not in shown
    assert render_passages([]) == "<p><i>No passages found.</i></p>"


def test_markers_link_to_cards_and_unsupported_sentences_are_flagged() -> None:
    shown = render_answer(
        answer(
            Sentence("Meta shared Llama.", (1,), True), Sentence("It is <b>big</b>.", (), False)
        ),
        turn=3,
    )
    assert 'Meta shared Llama <a class="cite" href="#s3-1">[1]</a>.' in shown
    assert "It is &lt;b&gt;big&lt;/b&gt;. ⚠️ _(not supported by the articles)_" in shown


def test_a_marker_past_the_passages_is_no_link() -> None:
    shown = render_answer(answer(Sentence("Meta shared Llama.", (4,), True)))
    assert "[4]" in shown
    assert "href" not in shown


def test_refusals_and_notices_are_shown_escaped() -> None:
    refused = answer(Sentence("The articles don't say.", (), True), refused=True,
                     notices=("Question <trimmed>",))  # fmt: skip
    shown = render_answer(refused)
    assert shown.splitlines()[0] == "_Question &lt;trimmed&gt;_"
    assert "The articles don&#x27;t say." in shown


def test_the_panel_shows_the_turn_in_progress_then_earlier_turns_folded() -> None:
    turns = [
        {"n": 1, "question": "First?", "sources": "<p>one</p>"},
        {"n": 2, "question": "Second <b>?", "sources": "<p>two</p>"},
    ]
    panel = render_sources(turns)
    assert panel.index("Second &lt;b&gt;?") < panel.index("First?"), "newest first"
    assert panel.startswith("<details open>"), "the newest turn is open"
    assert panel.count("<details open>") == 1
    live = render_sources(turns, current_sources("<p>now</p>"))
    assert live.startswith("<details open><summary>Sources for this question</summary><p>now")
    assert live.count("<details open>") == 1, "earlier turns fold while one is answered"
    assert "appear here" in render_sources([])


def test_an_ingest_report_lists_every_file_not_added() -> None:
    report = IngestReport(
        added=["a.txt"],
        unchanged=["b.txt"],
        duplicates=[("c.txt", "a.txt")],
        rejected=[Rejected("/up/<x>.png", "unsupported file type .png")],
    )
    text = report_text(report)
    assert text.startswith("**1 added, 0 updated, 1 unchanged, 1 duplicate(s), 1 rejected")
    assert "- duplicate: c.txt has the same text as a.txt" in text
    assert "- rejected: &lt;x&gt;.png: unsupported file type .png" in text


def test_rendering_needs_no_gradio() -> None:
    code = "import sys, ui.render; sys.exit('gradio' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True)
    assert done.returncode == 0, done.stderr


# ---------------------------------------------------------------- an answer from the pipeline


def test_unsupported_sentences_are_marked_and_model_html_is_escaped(
    corpus_assistant: Assistant,
) -> None:
    corpus_assistant._generator = FakeGenerator(
        "Meta shared Llama to speed up the development of its technology [1]. "
        "Observers found the weather <script>alert()</script> pleasant all week [2]."
    )
    shown = render_answer(corpus_assistant.ask("Why did Meta open-source Llama?"), turn=3)
    assert "<script>" not in shown
    assert "⚠️" in shown
    assert 'href="#s3-' in shown
