"""The query path: bad questions, refusals, event order (fake generator, real retrieval)."""

from __future__ import annotations

import pytest

from rag.answer import (
    Assistant,
    Done,
    QuestionError,
    Retrying,
    Sources,
    Token,
    prepare_question,
)
from rag.prompts import REFUSALS, SYSTEM_PROMPT

from .conftest import FakeGenerator


@pytest.fixture
def assistant(corpus_assistant: Assistant) -> Assistant:
    """The corpus assistant with a fresh fake generator for each test."""
    corpus_assistant._generator = FakeGenerator()
    return corpus_assistant


def fake(assistant: Assistant) -> FakeGenerator:
    generator = assistant.generator
    assert isinstance(generator, FakeGenerator)
    return generator


@pytest.mark.parametrize("question", ["", "   ", "\x00\x07\n", "?!"])
def test_empty_question_is_a_clear_error(question: str) -> None:
    with pytest.raises(QuestionError, match="type a question"):
        prepare_question(question, 1000)


def test_long_question_is_trimmed_with_a_notice() -> None:
    text, notices = prepare_question("word " * 50_000, 1000)
    assert len(text) <= 1000
    assert notices
    assert "only the first" in notices[0]


def test_control_characters_are_removed() -> None:
    assert (
        prepare_question("Why\x00 did\x1b Meta\topen Llama?", 100)[0] == "Why did Meta open Llama?"
    )


def test_events_come_in_order_sources_tokens_done(assistant: Assistant) -> None:
    fake(assistant).reply = "Meta shared Llama to speed up the development of its technology [1]."
    events = list(assistant.stream("Why did Meta open-source Llama?"))
    assert isinstance(events[0], Sources)
    assert events[0].passages
    assert all(isinstance(e, Token) for e in events[1:-1])
    assert isinstance(events[-1], Done)
    answer = events[-1].answer
    assert answer.raw_text == fake(assistant).reply
    assert {"retrieve_s", "ttft_s", "total_s"} <= set(answer.timings)


def test_prompt_holds_only_the_retrieved_passages_and_the_language(assistant: Assistant) -> None:
    fake(assistant).reply = "NOT_FOUND"
    answer = assistant.ask("¿Qué dijo Yann LeCun sobre el código abierto?")
    system, user = fake(assistant).calls[-1]
    assert system["content"] == SYSTEM_PROMPT
    assert user["content"].count("<passage ") == len(answer.passages)
    assert "Answer in Spanish." in user["content"]


def test_off_topic_question_is_refused_without_calling_the_model(assistant: Assistant) -> None:
    answer = assistant.ask("Who won the 2022 football World Cup?")
    assert answer.refused
    assert answer.text == REFUSALS["en"]
    assert answer.citations == ()
    assert fake(assistant).calls == []


@pytest.mark.parametrize(
    ("question", "language"),
    [
        ("¿Quién ganó el Mundial de fútbol de 2022?", "es"),
        ("Qui a gagné la Coupe du monde de football 2022 ?", "fr"),
        ("Quem ganhou a Copa do Mundo de futebol de 2022?", "pt"),
    ],
)
def test_refusal_is_in_the_askers_language(
    assistant: Assistant, question: str, language: str
) -> None:
    answer = assistant.ask(question)
    assert answer.refused
    assert answer.language == language
    assert answer.text == REFUSALS[language]


def test_model_answer_from_memory_becomes_a_refusal(assistant: Assistant) -> None:
    fake(assistant).reply = "Meta paid $100 million to buy Scale AI in 2019 [1]."
    answer = assistant.ask("How much did Meta pay for Scale AI?")
    assert answer.refused
    assert answer.citations == ()
    assert answer.raw_text.startswith("Meta paid")


def test_citations_point_into_retrieved_passages(assistant: Assistant) -> None:
    fake(assistant).reply = (
        "Mark Zuckerberg hired Alexandr Wang, former CEO of Scale AI, and Nat Friedman, "
        "former CEO of GitHub, to co-lead the project [9]."
    )
    answer = assistant.ask("Who was hired to co-lead Meta Superintelligence Labs?")
    assert not answer.refused
    assert answer.citations
    for c in answer.citations:
        passage = answer.passages[c.n - 1]
        assert c.source == passage.source
        assert passage.start <= c.quote_start < c.quote_end <= passage.end
        assert c.quote in passage.text
    assert {c.source for c in answer.citations} <= {
        "000_58cfdf2857a910d3.txt",
        "001_fb4bc891a711a523.txt",
    }


def test_without_verification_the_models_citations_are_kept(assistant: Assistant) -> None:
    unchecked = Assistant(
        assistant.settings.with_(verify_citations=False),
        embedder=assistant.embedder,
        generator=FakeGenerator("The World Cup was won by Argentina [1]."),
    )
    unchecked._store = assistant.store
    answer = unchecked.ask("Why did Meta open-source Llama?")
    assert not answer.refused
    assert [c.n for c in answer.citations] == [1]


def test_passages_that_do_not_fit_the_context_are_dropped(assistant: Assistant) -> None:
    whole = Assistant(
        assistant.settings.with_(evidence_mode="passages", quote_fallback=False),
        embedder=assistant.embedder,
        generator=FakeGenerator("NOT_FOUND"),
    )
    whole._store = assistant.store
    generator = fake(whole)
    generator.context_size = assistant.settings.max_answer_tokens + 450  # room for ~2 passages
    answer = whole.ask("Why did Meta open-source Llama?")
    assert 1 <= len(answer.passages) < assistant.settings.top_k
    assert any("best passages fit" in n for n in answer.notices)
    assert generator.calls[-1][1]["content"].count("<passage ") == len(answer.passages)


def test_the_model_reads_sentences_not_whole_passages(assistant: Assistant) -> None:
    fake(assistant).reply = "NOT_FOUND"
    answer = assistant.ask("Why did Meta open-source Llama?")
    user = fake(assistant).calls[-1][1]["content"]
    budget = assistant.settings.evidence_tokens
    assert sum(len(p.text.split()) for p in answer.passages) <= budget + 60
    assert len(user.split()) < 4 * budget
    for p in answer.passages:
        assert assistant.article_text(p.source)[p.start : p.end] == p.text


def test_a_failed_answer_falls_back_to_a_clear_evidence_quote(assistant: Assistant) -> None:
    fake(assistant).reply = "NOT_FOUND"
    answer = assistant.ask("¿Por qué Meta liberó el código de Llama?")
    assert not answer.refused
    assert answer.sentences[0].quoted
    assert answer.text.startswith("Los artículos dicen: «")
    c = answer.citations[0]
    assert assistant.article_text(c.source)[c.quote_start : c.quote_end] == c.quote


def test_a_broad_question_gets_a_cited_point_per_article(assistant: Assistant) -> None:
    fake(assistant).reply = "NOT_FOUND"  # even when the model fails, each article is quoted
    answer = assistant.ask("Which articles mention DeepSeek?")
    assert not answer.refused
    cited = [c.source for c in answer.citations]
    assert len(set(cited)) >= 2
    assert cited == sorted(cited)  # in article order
    assert answer.text.startswith(f"Only {len(set(cited))} of the 5 articles mention it.")
    # the model read one passage per article
    passages = fake(assistant).calls[-1][1]["content"].count("<passage ")
    assert passages == len({p.source for p in answer.passages}) == len(answer.passages)
    for c in answer.citations:
        assert assistant.article_text(c.source)[c.quote_start : c.quote_end] == c.quote


def test_a_name_few_articles_hold_is_what_a_broad_question_looks_for(
    assistant: Assistant,
) -> None:
    assert assistant.distinctive_names("Which articles mention Meta or Anthropic?") == ["anthropic"]
    fake(assistant).reply = "NOT_FOUND"
    answer = assistant.ask("Which articles mention Anthropic or its Claude models?")
    assert not answer.refused
    assert all(c.quote for c in answer.citations)
    assert any("Anthropic" in c.quote or "Claude" in c.quote for c in answer.citations)


def test_an_answer_says_what_the_check_did(assistant: Assistant) -> None:
    fake(assistant).reply = "NOT_FOUND"
    answer = assistant.ask("How much did Meta pledge to develop Meta Superintelligence Labs?")
    assert not answer.refused
    assert answer.sentences[0].quoted
    assert "milliards" in answer.citations[0].quote  # an amount in words answers "how much"
    assert "quoted the evidence" in answer.checks


def test_a_broad_question_nothing_speaks_to_is_refused(assistant: Assistant) -> None:
    fake(assistant).reply = "NOT_FOUND"
    answer = assistant.ask("What do the articles say about the price of coffee in Brazil?")
    assert answer.refused


def test_real_absence_is_still_refused(assistant: Assistant) -> None:
    fake(assistant).reply = "NOT_FOUND"
    answer = assistant.ask("How many employees does Meta have in Brazil?")
    assert answer.refused


def test_a_refusal_before_the_model_says_why(assistant: Assistant) -> None:
    calls = len(fake(assistant).calls)
    answer = assistant.ask("What is the boiling point of water on Mount Everest?")
    assert answer.refused
    assert len(fake(assistant).calls) == calls  # the model did not run
    assert answer.checks[0].startswith("refused before the model ran")


def test_a_wrong_language_answer_is_asked_again(assistant: Assistant) -> None:
    english = "Meta shared Llama to speed up the development of its technology [1]."
    spanish = "Meta compartió Llama para acelerar el desarrollo de su tecnología [1]."
    assistant._generator = FakeGenerator(english, spanish)
    events = list(assistant.stream("¿Por qué Meta liberó el código de Llama?"))
    assert any(isinstance(e, Retrying) for e in events)
    answer = events[-1].answer
    assert answer.text.startswith("Meta compartió Llama")
    assert "Answer in Spanish:" in fake(assistant).calls[-1][1]["content"]


def test_new_prompt_tokens_are_counted(tiny_generator) -> None:  # type: ignore[no-untyped-def]
    from rag.generate import GenerationStats

    messages = [{"role": "system", "content": "You answer."}, {"role": "user", "content": "Hi"}]
    first, second = GenerationStats(), GenerationStats()
    list(tiny_generator.stream(messages, 4, first))
    list(tiny_generator.stream(messages[:1] + [{"role": "user", "content": "Hello"}], 4, second))
    assert 0 < first.new_prompt_tokens <= first.prompt_tokens
    assert second.new_prompt_tokens < second.prompt_tokens  # the system prompt was cached
