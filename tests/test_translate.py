"""A quote in the asker's language, on demand (rag/translate.py): its warnings, its cache,
the Assistant's method and `POST /translate` (FastAPI's TestClient over a real assistant;
a fake generator where the model's text does not matter)."""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rag.answer import Assistant
from rag.cite import CitationChecker
from rag.config import Settings
from rag.generate import GenerationStats
from rag.prompts import BUSY, TOO_BUSY, TRANSLATE_PROMPT
from rag.schema import Answer, Citation, Passage, Sentence, Translation
from rag.translate import (
    CACHE_NAME,
    TranslationError,
    Translator,
    check,
    clean_output,
    configured_model,
    say_number,
)
from ui.render import render_passages, render_translation, with_translation

from .conftest import FakeGenerator

KEY = "k3y-for-the-translations"

# A sentence of corpus/003 and its faithful translation.
ORIGINAL = (
    "Mark Zuckerberg, CEO de Meta, ha declarado su disposición a hacer de código abierto un "
    "modelo de IA valorado en $10 mil millones si cumple con ciertos criterios."
)
FAITHFUL = (
    "Meta CEO Mark Zuckerberg has said he is willing to open-source an AI model worth "
    "$10 billion if it meets certain criteria."
)
HIRED = "Meta contrató a Alexandr Wang, fundador de Scale AI, en junio de 2025."
HIRED_EN = "Meta hired Alexandr Wang, the founder of Scale AI, in June 2025."


# ---------------------------------------------------------------- the warnings


def test_a_faithful_translation_has_no_warning() -> None:
    assert check(ORIGINAL, FAITHFUL, "es") == ()
    assert check(HIRED, HIRED_EN, "es") == ()


def test_a_number_with_another_magnitude_is_a_changed_number() -> None:
    warnings = check(ORIGINAL, FAITHFUL.replace("billion", "million"), "es")
    assert warnings == (
        "The number 10 billion of the original reads 10 million in the translation.",
    )


def test_a_dropped_name_is_flagged_as_the_original_writes_it() -> None:
    warnings = check(HIRED, "Meta hired the founder of Scale AI in June 2025.", "es")
    assert warnings == ("The name “Alexandr Wang” of the original is not in the translation.",)


def test_a_lost_or_added_number_or_month_is_flagged() -> None:
    warnings = check(HIRED, "Meta hired Alexandr Wang, the founder of Scale AI, in July.", "es")
    assert "The number 2025 of the original is not in the translation." in warnings
    assert "The month June of the original is not in the translation." in warnings
    assert "The translation names the month July, which the original does not." in warnings
    added = check("Meta contrató a Alexandr Wang.", "Meta hired Alexandr Wang in 2024.", "es")
    assert added == ("The translation gives the number 2024, which the original does not.",)


def test_a_translated_name_counts_as_kept_with_the_checker(embedder: Any) -> None:
    original = "El ministro viajó a Varsovia con Pedro Sánchez."
    translation = "The minister travelled to Warsaw with Pedro Sánchez."
    assert check(original, translation, "es") != (), "letter for letter, Warsaw is not Varsovia"
    assert check(original, translation, "es", CitationChecker(embedder, 0.5)) == ()


def test_numbers_are_said_with_their_magnitude() -> None:
    assert [say_number(n) for n in ("10000000000", "2500000", "2023", "12000", "3.5")] == [
        "10 billion",
        "2.5 million",
        "2023",
        "12,000",
        "3.5",
    ]


def test_only_the_translation_is_kept_of_what_the_model_wrote() -> None:
    said = 'Translation: "Meta hired him."\n\nNote: literal.'
    assert clean_output(said, "Meta lo contrató.") == "Meta hired him."
    assert clean_output("**English:** Meta hired him.", "Meta lo contrató.") == "Meta hired him."
    assert clean_output("«Bonjour»", "«Hola»") == "«Bonjour»", "the original's own quotes stay"


# ---------------------------------------------------------------- the translator and its cache


class Exploding:
    """A generator factory that must not be called: a cached translation loads no model."""

    def __call__(self) -> Any:
        raise AssertionError("the model was loaded for a cached translation")


def test_the_second_request_is_cached_and_costs_no_generation(settings: Settings) -> None:
    fake = FakeGenerator(HIRED_EN)
    translator = Translator(settings, lambda: fake, model_id="fake")
    first = translator.translate(HIRED, "en", "es")
    assert not first.cached
    assert first.text.startswith("Meta hired Alexandr Wang")
    assert (first.original, first.source_language, first.language) == (HIRED, "es", "en")
    assert first.label == "Machine translation"
    assert first.warnings == ()
    assert len(fake.calls) == 1
    system, user = fake.calls[0]
    assert system["content"] == TRANSLATE_PROMPT.format(language="English")
    assert user["content"] == HIRED, "the quote alone, nothing else"

    again = translator.translate(f"  {HIRED}\n", "EN", "es")  # spaces and case do not matter
    assert again.cached
    assert again.text == first.text
    assert len(fake.calls) == 1, "no second generation"

    # Another process (a new translator) reads it without loading the model.
    other = Translator(settings, Exploding(), model_id="fake")
    assert other.translate(HIRED, "en").cached
    assert (settings.path(settings.index_dir) / CACHE_NAME).exists()
    # Another model or another language is another translation.
    assert Translator(settings, Exploding(), model_id="other").cached(HIRED, "en") is None
    assert other.cached(HIRED, "fr") is None


def test_warnings_are_kept_with_the_cached_translation(settings: Settings) -> None:
    fake = FakeGenerator("Meta hired the founder of Scale AI in June 2025.")
    translator = Translator(settings, lambda: fake, model_id="fake")
    made = translator.translate(HIRED, "en", "es")
    assert made.warnings == ("The name “Alexandr Wang” of the original is not in the translation.",)
    assert translator.translate(HIRED, "en", "es").warnings == made.warnings


def test_text_already_in_the_language_is_given_back_without_a_model(settings: Settings) -> None:
    same = Translator(settings, Exploding(), model_id="fake").translate(FAITHFUL, "en")
    assert same.text == FAITHFUL
    assert same.source_language == "en"
    assert "not translated" in same.label


def test_an_empty_reply_is_a_warning_and_is_not_cached(settings: Settings) -> None:
    fake = FakeGenerator("", HIRED_EN)
    translator = Translator(settings, lambda: fake, model_id="fake")
    empty = translator.translate(HIRED, "en", "es")
    assert empty.text == ""
    assert empty.warnings == ("The model gave no translation; please try again.",)
    assert not translator.translate(HIRED, "en", "es").cached, "tried again"
    assert len(fake.calls) == 2


@pytest.mark.parametrize(
    ("text", "language", "message"),
    [
        ("   ", "en", "Please give the text to translate."),
        ("x" * 1001, "en", "at most 1,000"),
        ("Hola", "xx", "Unknown language 'xx'"),
        ("Hola", "", "Unknown language"),
    ],
)
def test_bad_requests_are_refused_with_a_message(
    settings: Settings, text: str, language: str, message: str
) -> None:
    with pytest.raises(TranslationError, match=message):
        Translator(settings, Exploding(), model_id="fake").translate(text, language)


def test_the_real_runtime_counts_the_tokens(settings: Settings, tiny_generator: Any) -> None:
    """llama.cpp on the tiny model: plumbing and counters only (its text is poor)."""
    made = Translator(settings, lambda: tiny_generator, model_id="tiny").translate(
        HIRED, "en", "es"
    )
    assert made.prompt_tokens > len(HIRED.split())
    assert 0 < made.completion_tokens <= 2 * tiny_generator.count_tokens(HIRED) + 32
    assert made.seconds > 0


# ---------------------------------------------------------------- the Assistant


def test_the_assistant_translates_on_demand_with_its_model(
    settings: Settings, embedder: Any
) -> None:
    fake = FakeGenerator(FAITHFUL)
    fake.model_id = configured_model(settings)  # as the configured model would be
    made = Assistant(settings, embedder=embedder, generator=fake).translate(ORIGINAL, "en")
    assert not made.cached
    assert made.source_language == "es", "detected"
    assert made.warnings == ()
    assert len(fake.calls) == 1
    fresh = Assistant(settings, embedder=embedder)  # a new process: nothing loaded yet
    assert fresh.translate(ORIGINAL, "en").cached
    assert fresh._generator is None, "a cached translation loads no model"


# ---------------------------------------------------------------- POST /translate


class CountingGenerator(FakeGenerator):
    """A fake that also reports prompt tokens, like the real one."""

    def stream(
        self, messages: list[dict[str, str]], max_tokens: int, stats: GenerationStats | None = None
    ) -> Iterator[str]:
        yield from super().stream(messages, max_tokens, stats)
        if stats is not None:
            stats.prompt_tokens = sum(len(m["content"].split()) for m in messages)


@pytest.fixture
def client(tmp_path: Path, embedder: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """The API in process over a real assistant with a fake model; a key if parametrised."""
    from fastapi.testclient import TestClient

    from rag.api import create_app

    key = getattr(request, "param", None)
    settings = Settings(index_dir=tmp_path / "index", api_key=key)
    fake = CountingGenerator(FAITHFUL.replace("billion", "million"))
    assistant = Assistant(settings, embedder=embedder, generator=fake)
    with TestClient(create_app(assistant)) as c:
        c.fake = fake  # type: ignore[attr-defined]
        yield c


def test_translate_endpoint_then_its_cache(client: Any) -> None:
    body = {"text": ORIGINAL, "language": "en"}
    first = client.post("/translate", json=body)
    assert first.status_code == 200, first.text
    data = first.json()
    assert set(data) == {
        "translation",
        "original",
        "source_language",
        "language",
        "label",
        "warnings",
        "cached",
    }
    assert data["translation"] == FAITHFUL.replace("billion", "million")
    assert (data["original"], data["source_language"], data["language"]) == (ORIGINAL, "es", "en")
    assert data["label"] == "Machine translation"
    assert data["warnings"] == [
        "The number 10 billion of the original reads 10 million in the translation."
    ]
    assert data["cached"] is False
    assert len(client.fake.calls) == 1

    second = client.post("/translate", json=body)
    assert second.status_code == 200
    assert second.json() == {**data, "cached": True}
    assert len(client.fake.calls) == 1, "the generator was not called again"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"text": "", "language": "en"}, "Please give the text to translate."),
        ({"text": "Hola " * 300, "language": "en"}, "at most 1,000"),
        ({"text": "Hola", "language": "klingon"}, "Unknown language 'klingon'"),
    ],
)
def test_translate_endpoint_refuses_bad_requests(
    client: Any, body: dict[str, str], message: str
) -> None:
    r = client.post("/translate", json=body)
    assert r.status_code == 422
    assert message in r.json()["detail"]
    assert client.fake.calls == []


@pytest.mark.parametrize("client", [KEY], indirect=True)
def test_translate_endpoint_wants_the_key(client: Any) -> None:
    body = {"text": ORIGINAL, "language": "en"}
    assert client.post("/translate", json=body).status_code == 401
    wrong = client.post("/translate", json=body, headers={"Authorization": "Bearer wrong"})
    assert wrong.status_code == 401
    assert client.fake.calls == []
    ok = client.post("/translate", json=body, headers={"Authorization": f"Bearer {KEY}"})
    assert ok.status_code == 200, ok.text


def test_ask_can_translate_each_quote_from_another_language(corpus_assistant: Assistant) -> None:
    from fastapi.testclient import TestClient

    from rag.api import create_app

    reply = "Meta shared Llama to speed up the development of its technology [1]."
    translation = "Sharing the code, Meta hoped to speed up."
    corpus_assistant._generator = FakeGenerator(reply, reply, translation)
    corpus_assistant._translator = None
    with TestClient(create_app(corpus_assistant)) as c:
        question = {"question": "Why did Meta open-source Llama?"}
        plain = c.post("/ask", json=question).json()
        assert all(cit["translation"] is None for cit in plain["citations"])
        r = c.post("/ask", json={**question, "translate_to": "en"})
        assert r.status_code == 200, r.text
        cited = r.json()["citations"]
        assert cited, "the fake answer is cited"
        for cit in cited:
            made = cit["translation"]
            assert made["original"] == " ".join(cit["quote"].split())
            assert made["language"] == "en"
            assert made["label"] == "Machine translation"
        assert c.post("/ask", json={**question, "translate_to": "xx"}).status_code == 422


# ---------------------------------------------------------------- the card in the chat

SPANISH_TEXT = "Meta compartió Llama para acelerar su desarrollo. Los críticos objetaron en 2024."
SPANISH_QUOTE = "Los críticos objetaron en 2024."


def cards_for_an_english_question() -> tuple[str, Answer]:
    """Turn 2's cards: [1] an English passage, [2] a Spanish one whose sentence is cited."""
    english = Passage(
        "en.txt:0", "en.txt", "Meta opens Llama", "en", "Meta shared it.", 0, 15, 0.5, 0.8
    )
    spanish = Passage(
        "es.txt:0", "es.txt", "Meta abre Llama", "es", SPANISH_TEXT, 0, len(SPANISH_TEXT), 0.4, 0.7
    )
    start = SPANISH_TEXT.index(SPANISH_QUOTE)
    citation = Citation(
        2,
        "es.txt",
        "Meta abre Llama",
        "es.txt:0",
        SPANISH_QUOTE,
        start,
        start + len(SPANISH_QUOTE),
        0.8,
    )
    answer = Answer(
        question="Did critics object?",
        language="en",
        text="Critics objected in 2024 [2].",
        refused=False,
        sentences=(Sentence("Critics objected in 2024.", (2,), True),),
        citations=(citation,),
        passages=(english, spanish),
    )
    return render_passages(answer.passages, answer, turn=2), answer


def test_only_a_card_in_another_language_offers_its_quote_in_english() -> None:
    cards, answer = cards_for_an_english_question()
    english_card, spanish_card = cards.split("\n")
    assert 'class="translate"' not in english_card
    assert '<button type="button" class="translate"' in spanish_card
    assert ">Show in English</button>" in spanish_card
    assert f'data-text="{SPANISH_QUOTE}"' in spanish_card, "the cited quote"
    assert 'data-source="es"' in spanish_card
    assert 'data-language="en"' in spanish_card
    assert 'class="translate"' not in render_passages(answer.passages, turn=2), "not before"
    uncited = dataclasses.replace(answer, citations=())
    first = render_passages(uncited.passages, uncited, turn=2).split("\n")[1]
    assert 'data-text="Meta compartió Llama para acelerar su desarrollo."' in first


def test_a_translation_shows_labelled_under_the_original_which_keeps_its_mark() -> None:
    cards, _ = cards_for_an_english_question()
    made = Translation(
        original=SPANISH_QUOTE,
        text="Critics <objected> in 2023.",
        source_language="es",
        language="en",
        warnings=("The number 2024 of the original reads 2023 in the translation.",),
    )
    shown = with_translation(cards, "s2-2", render_translation(made, "s2-2"))
    english_card, spanish_card = shown.split("\n")
    assert english_card == cards.split("\n")[0], "the other card is as it was"
    assert 'class="translate"' not in spanish_card, "the button gives way to the translation"
    assert f"<mark>{SPANISH_QUOTE}</mark>" in spanish_card, "the original stays, marked"
    block = spanish_card[spanish_card.index('<div class="translation"') :]
    assert spanish_card.index("<mark>") < spanish_card.index('<div class="translation"')
    assert '<small class="label">Machine translation · Spanish → English</small>' in block
    assert "<blockquote>Critics &lt;objected&gt; in 2023.</blockquote>" in block
    assert "<mark>" not in block
    assert "⚠️ The number 2024 of the original reads 2023 in the translation." in block
    assert with_translation(shown, "s2-2", "again") == shown, "one translation per card"


def test_the_chat_shows_a_cached_translation_even_while_the_model_is_busy(
    settings: Settings, embedder: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ui import app

    cards, _ = cards_for_an_english_question()
    turns: list[dict[str, Any]] = [
        {"n": 2, "asked": "q", "question": "q", "answer": "a", "sources": cards}
    ]
    fake = FakeGenerator("Critics objected in 2024.")
    assistant = Assistant(settings, embedder=embedder, generator=fake)
    request = json.dumps({"card": "s2-2", "text": SPANISH_QUOTE, "source": "es", "language": "en"})
    monkeypatch.setattr(app, "BUSY_WAIT_S", 0.2)
    lock = threading.Lock()
    lock.acquire()  # someone's answer is being generated
    replies = [json.loads(r) for r in app.translate_card(assistant, request, turns, lock)]
    assert [r["card"] for r in replies] == ["s2-2", "s2-2"]
    assert BUSY in replies[0]["html"]
    assert "disabled" in replies[0]["html"]
    assert TOO_BUSY in replies[1]["html"]
    assert 'class="translate"' in replies[1]["html"], "the button is back, to try again"
    assert fake.calls == [], "no second generation at once"
    lock.release()

    (made,) = [json.loads(r) for r in app.translate_card(assistant, request, turns, lock)]
    assert made["html"].startswith('<div class="translation" data-card="s2-2"')
    assert "Critics objected in 2024." in made["html"]
    assert made["html"] in turns[0]["sources"], "kept: it stays when the panel is redrawn"
    assert not lock.locked()

    lock.acquire()
    turns[0]["sources"] = cards
    (cached,) = [json.loads(r) for r in app.translate_card(assistant, request, turns, lock)]
    assert cached["html"] == made["html"], "from the cache, without waiting for the model"
    assert len(fake.calls) == 1
    lock.release()
    assert list(app.translate_card(assistant, '{"card": "x<"}', turns, lock)) == []
