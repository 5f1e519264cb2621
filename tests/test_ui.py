"""The chat's turn logic and page construction (fake generator, real retrieval)."""

from __future__ import annotations

from rag.answer import Assistant
from ui.app import build_demo, respond

from .conftest import FakeGenerator


def test_a_turn_shows_sources_first_then_the_verified_answer(corpus_assistant: Assistant) -> None:
    corpus_assistant._generator = FakeGenerator(
        "Meta shared Llama to speed up the development of its technology [1]."
    )
    updates = list(respond(corpus_assistant, "Why did Meta open-source Llama?", []))
    history, box, sources = updates[0]
    assert box == ""
    assert 'id="source-1"' in sources
    assert history[-1] == {"role": "assistant", "content": "…"}
    final_history, _, final_sources = updates[-1]
    assert final_history[0] == {"role": "user", "content": "Why did Meta open-source Llama?"}
    assert "[" in final_history[-1]["content"]
    assert "<mark>" in final_sources


def test_empty_question_gets_a_message_not_a_crash(corpus_assistant: Assistant) -> None:
    updates = list(respond(corpus_assistant, "   ", []))
    assert "type a question" in updates[-1][0][-1]["content"]


def test_page_builds(corpus_assistant: Assistant) -> None:
    demo = build_demo(corpus_assistant)
    assert demo.title == "Ask the articles"
