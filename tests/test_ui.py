"""The chat's turn logic and article management (fake generator, real retrieval)."""

from __future__ import annotations

import html
import threading
from pathlib import Path

import pytest

from rag.answer import Assistant
from rag.config import Settings
from rag.prompts import BUSY, TOO_BUSY
from ui import app
from ui.app import add_articles, article_rows, build_demo, launch_options, respond
from ui.render import report_text

from .conftest import CORPUS, FakeGenerator

QUESTION = "Why did Meta open-source Llama?"
REPLY = "Meta shared Llama to speed up the development of its technology [1]."


def bot_text(history: list[dict[str, str]]) -> str:
    return history[-1]["content"]


def test_a_turn_shows_sources_first_then_the_verified_answer(corpus_assistant: Assistant) -> None:
    corpus_assistant._generator = FakeGenerator(REPLY)
    updates = list(respond(corpus_assistant, QUESTION, [], []))
    history, box, sources, turns = updates[0]
    assert box == ""
    assert 'id="s1-1"' in sources, "the passages are on screen before the model has written"
    assert bot_text(history) == app.THINKING
    assert turns == []
    final, _, final_sources, turns = updates[-1]
    assert final[0] == {"role": "user", "content": QUESTION}
    answer = bot_text(final)
    assert '<a class="cite" href="#s1-' in answer, "each [n] links to its source card"
    assert "<mark>" in final_sources, "the quoted sentence is highlighted in its passage"
    assert "Full article" in final_sources
    assert [t["question"] for t in turns] == [QUESTION]


def test_the_cited_card_holds_the_quote(corpus_assistant: Assistant) -> None:
    corpus_assistant._generator = FakeGenerator(REPLY)
    *_, (history, _, sources, _) = respond(corpus_assistant, QUESTION, [], [])
    answer = corpus_assistant.ask(QUESTION)
    citation = answer.citations[0]
    card = sources.split(f'id="s1-{citation.n}"')[1].split('<div class="source"')[0]
    assert f"<mark>{html.escape(citation.quote[:40])}" in card
    assert citation.source in card


def test_a_follow_up_is_rewritten_and_the_rewrite_shown(corpus_assistant: Assistant) -> None:
    corpus_assistant._generator = FakeGenerator(REPLY)
    *_, (history, _, _, turns) = respond(corpus_assistant, QUESTION, [], [])
    rewritten = "Why did critics object to Meta open-sourcing Llama?"
    fake = FakeGenerator(rewritten, "Critics said it helps rivals [1].")
    corpus_assistant._generator = fake
    updates = list(respond(corpus_assistant, "and why did critics object?", history, turns))
    assert any(f"Searching for: {rewritten}" in bot_text(u[0]) for u in updates[:2])
    rewrite_prompt = fake.calls[0][-1]["content"]
    assert QUESTION in rewrite_prompt
    assert "and why did critics object?" in rewrite_prompt
    answer_prompt = fake.calls[1][-1]["content"]
    assert f"Question: {rewritten}" in answer_prompt, "the model answers the standalone question"
    *_, (final, _, sources, turns) = updates
    assert len(final) == 4
    assert turns[-1]["asked"] == "and why did critics object?"
    assert turns[-1]["question"] == rewritten
    assert 'id="s2-1"' in sources
    assert 'id="s1-1"' in sources, "earlier sources stay reachable"


def test_a_new_conversation_does_not_rewrite(corpus_assistant: Assistant) -> None:
    fake = FakeGenerator(REPLY)
    corpus_assistant._generator = fake
    old = [{"n": 1, "asked": QUESTION, "question": QUESTION, "answer": "x", "sources": ""}]
    list(respond(corpus_assistant, "and what about it?", [], old))
    assert len(fake.calls) <= 1, "no rewrite call: an empty chat starts a new conversation"


def test_a_second_asker_is_told_the_model_is_busy(
    corpus_assistant: Assistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus_assistant._generator = FakeGenerator(REPLY)
    monkeypatch.setattr(app, "BUSY_WAIT_S", 0.2)
    lock = threading.Lock()
    lock.acquire()
    updates = list(respond(corpus_assistant, QUESTION, [], [], lock))
    assert [bot_text(u[0]) for u in updates] == [BUSY, TOO_BUSY]
    lock.release()
    updates = list(respond(corpus_assistant, QUESTION, [], [], lock))
    assert "[" in bot_text(updates[-1][0])
    assert not lock.locked(), "the lock is released after the answer"


def test_empty_question_gets_a_message_not_a_crash(corpus_assistant: Assistant) -> None:
    updates = list(respond(corpus_assistant, "   ", [], []))
    assert "type a question" in bot_text(updates[-1][0])


def test_uploaded_articles_are_indexed_reported_listed_and_removable(
    tmp_path: Path, embedder: object
) -> None:
    settings = Settings(index_dir=tmp_path / "index")
    assistant = Assistant(settings, embedder=embedder, generator=FakeGenerator(REPLY))  # type: ignore[arg-type]
    new = tmp_path / "upload" / "robots.txt"
    new.parent.mkdir()
    new.write_text(
        "Robots learn to sort recycling\n\nA startup in Lyon trained a robot arm to sort "
        "plastic bottles from cans. The robot sorts 40 items a minute, its makers said.",
        encoding="utf-8",
    )
    twin = tmp_path / "upload" / "copy.txt"
    twin.write_bytes(new.read_bytes())
    image = tmp_path / "upload" / "photo.png"
    image.write_bytes(b"\x89PNG")
    seen: list[float] = []

    report = add_articles(assistant, [new, twin, image], lambda f, _m: seen.append(f))
    assert report.added == ["robots.txt"]
    assert report.duplicates == [("copy.txt", "robots.txt")]
    assert "unsupported file type .png" in report.rejected[0].reason
    assert seen[0] == 0.0, "the progress bar starts at 0"
    assert seen[-1] == 1.0
    text = report_text(report)
    assert "1 added" in text
    assert "same text as robots.txt" in text
    assert "photo.png" in text
    assert (settings.uploads() / "robots.txt").exists(), "uploads are kept with the index"

    rows = article_rows(assistant)
    assert rows == [["robots.txt", "Robots learn to sort recycling", "English", 1, ""]]
    answer = assistant.ask("How many items a minute does the robot sort?")
    assert answer.passages[0].source == "robots.txt", "searchable at once"

    assert assistant.remove("robots.txt")
    assert article_rows(assistant) == []


def test_the_page_builds_with_its_endpoints(corpus_assistant: Assistant) -> None:
    demo = build_demo(corpus_assistant)
    assert demo.title == "Ask the articles"
    api = demo.get_api_info()
    assert set(api["named_endpoints"]) == {"/turn", "/clear", "/add", "/remove"}


def test_the_server_is_local_bounded_and_serves_nothing_of_ours(
    corpus_assistant: Assistant,
) -> None:
    options = launch_options(corpus_assistant)
    s = corpus_assistant.settings
    assert options["server_name"] == "127.0.0.1"
    assert options["share"] is False
    assert options["max_file_size"] == s.max_file_bytes, "one limit for every way in"
    assert options["auth"] is None, "no login set: loopback only"
    assert options["allowed_paths"] == []
    assert str(s.root) in options["blocked_paths"]


def test_examples_include_english_and_spanish() -> None:
    assert "Why did Meta open-source Llama?" in app.EXAMPLES
    assert any(q.startswith("¿") for q in app.EXAMPLES)
    assert CORPUS.exists()
