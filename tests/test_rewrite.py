"""Follow-up questions rewritten into standalone ones, and the checks on the rewrite."""

from __future__ import annotations

import pytest

from rag.rewrite import Turn, acceptable, clean, needs_rewrite, rewrite

from .conftest import FakeGenerator

HISTORY = [
    Turn(
        "Why did Meta open-source Llama?",
        "Meta shared Llama's code to speed up its technology [1].",
    )
]


@pytest.mark.parametrize(
    "question",
    [
        "and why did critics object?",
        "What did he say about it?",
        "¿y quién lo dirige ahora?",
        "Et combien a-t-elle investi dans cela ?",
        "e os críticos?",
        "Why?",
    ],
)
def test_follow_ups_are_recognised(question: str) -> None:
    assert needs_rewrite(question)


@pytest.mark.parametrize(
    "question",
    [
        "Who did Mark Zuckerberg hire to co-lead Meta Superintelligence Labs?",
        "¿Qué dijo Yann LeCun sobre los modelos de código abierto?",
        "Pourquoi Meta discute-t-elle avec Google et OpenAI ?",
    ],
)
def test_standalone_questions_are_left_alone(question: str) -> None:
    assert not needs_rewrite(question)


def test_a_good_rewrite_is_used() -> None:
    fake = FakeGenerator("Standalone question: Why did critics object to Meta open-sourcing Llama?")
    got = rewrite(fake, HISTORY, "and why did critics object?", "en")
    assert got.question == "Why did critics object to Meta open-sourcing Llama?"
    assert got.method == "model"
    prompt = fake.calls[0][-1]["content"]
    assert "[1]" not in prompt, "citation markers are not shown to the rewrite"


def test_a_rewrite_that_invents_a_name_falls_back_to_the_context() -> None:
    fake = FakeGenerator("Why did Elon Musk object to Meta open-sourcing Llama?")
    got = rewrite(fake, HISTORY, "and why did critics object?", "en")
    assert got.method == "context"
    assert got.question == "Why did Meta open-source Llama? and why did critics object?"


def test_a_rewrite_in_another_language_falls_back() -> None:
    fake = FakeGenerator("Why did critics object to Meta open-sourcing Llama?")
    got = rewrite(fake, HISTORY, "¿y por qué se quejaron los críticos?", "es")
    assert got.method == "context"


def test_no_history_or_standalone_means_no_model_call() -> None:
    fake = FakeGenerator("unused")
    assert rewrite(fake, [], "and why?", "en").method == "none"
    assert rewrite(fake, HISTORY, "Who founded OpenAI in 2015?", "en").method == "none"
    assert fake.calls == []


def test_clean_and_acceptable() -> None:
    assert clean('"¿Quién dirige Meta?"\nextra line') == "¿Quién dirige Meta?"
    assert not acceptable("NOT_FOUND", "and?", "en", HISTORY)
    assert acceptable("¿Quién dirige ahora Meta?", "¿y quién lo dirige ahora?", "es", HISTORY)


def test_a_rewrite_keeps_the_follow_ups_names_and_resolves_what_it_points_to() -> None:
    history = [
        Turn(
            "Quelle approche Microsoft a-t-elle choisie dans la course à l'IA ?",
            "Microsoft a investi dans OpenAI, Apple a collaboré avec lui [1].",
        )
    ]
    asked = "Et où se situe Meta entre les deux ?"
    assert not acceptable(
        "Quelle approche Microsoft a-t-elle choisie dans la course à l'IA ?", asked, "fr", history
    )
    assert acceptable("Où se situe Meta entre Apple et Microsoft ?", asked, "fr", history)
    pt = [Turn("O que Yann LeCun disse sobre a DeepSeek?", "Ele disse que... [1]")]
    assert not acceptable("Onde publicou isso?", "Onde ele publicou isso?", "pt", pt)
    assert acceptable(
        "Onde Yann LeCun publicou isso sobre a DeepSeek?", "Onde ele publicou isso?", "pt", pt
    )
