"""Language detection of questions, answers and articles (Lingua, plus function words)."""

from __future__ import annotations

import pytest

from rag import lang


@pytest.mark.parametrize(
    ("question", "language"),
    [
        ("Who is Yann LeCun?", "en"),  # the name alone reads French
        ("Quem é Yann LeCun?", "pt"),
        ("¿Quién es Ragavan Srinivasan?", "es"),
        ("Was ist DECnet?", "de"),
        ("Et Microsoft ?", "fr"),
        ("E por quê?", "pt"),
        ("¿Y por qué?", "es"),
        ("Und warum?", "de"),
    ],
)
def test_short_questions_with_names_get_their_language(question: str, language: str) -> None:
    assert lang.detect(question) == language


def test_longer_text_is_left_to_the_detector() -> None:
    text = (
        "Meta a été l'une des entreprises les plus dynamiques en matière d'externalisation "
        "de ses modèles, en mettant à disposition des versions antérieures de Llama."
    )
    assert lang.detect(text) == "fr"
    assert lang.detect("12345") == "en"  # nothing to go on: the default
