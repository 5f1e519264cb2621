"""Key words and names matched across languages by meaning (with the real embedder)."""

from __future__ import annotations

from typing import Any

import pytest

from rag.evidence import key_terms, lexical_agreement
from rag.meaning import Meanings

QUESTION = "What percentage of Scotland's voting population failed to vote?"
SENTENCE = (
    "Aunque el voto fue de un 51,6 % a favor de una Asamblea Escocesa, el 32,9 % de la "
    "población con derecho a voto no votó o no pudo hacerlo."
)


class Counting:
    """The real embedder, counting the words it is asked to embed."""

    def __init__(self, embedder: Any) -> None:
        self.embedder = embedder
        self.embedded = 0

    def embed_sentences(self, texts: list[str]) -> Any:
        self.embedded += len(texts)
        return self.embedder.embed_sentences(texts)


@pytest.fixture
def meanings(embedder) -> Meanings:  # type: ignore[no-untyped-def]
    return Meanings(Counting(embedder), similarity=0.8)  # type: ignore[arg-type]


def test_an_english_question_shares_its_key_words_with_a_spanish_sentence(
    meanings: Meanings,
) -> None:
    weights = key_terms(QUESTION)
    literal = lexical_agreement(weights, SENTENCE)
    assert literal < 0.3  # almost no word is written the same
    assert meanings.lexical(weights, SENTENCE) >= 0.5  # population/población, vote/voto ...


def test_related_but_different_words_do_not_match(meanings: Meanings) -> None:
    assert meanings.unmatched(["chinese", "population"], ["japoneses", "votantes"]) == [
        "chinese",
        "population",
    ]
    assert meanings.unmatched(["islands", "coast"], ["islas", "costa"]) == []


def test_a_word_is_embedded_once(meanings: Meanings) -> None:
    weights = key_terms(QUESTION)
    meanings.lexical(weights, SENTENCE)
    counter: Counting = meanings.embedder  # type: ignore[assignment]
    first = counter.embedded
    assert first > 0
    meanings.lexical(weights, SENTENCE)
    assert counter.embedded == first
