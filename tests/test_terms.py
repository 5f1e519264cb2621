"""Names, numbers with their magnitude, dates and key words (no model)."""

from __future__ import annotations

import pytest

from rag.terms import (
    content_words,
    dates_in,
    is_generic,
    missing_names,
    names_in,
    numbers_in,
    same_word,
    vocabulary,
)


@pytest.mark.parametrize(
    "text",
    [
        "$10 billion",
        "10 mil millones de dólares",
        "10.000 millones de dólares",
        "10 milliards d'euros",
        "10 bilhões",
        "10 Milliarden Euro",
    ],
)
def test_ten_billion_in_every_language(text: str) -> None:
    assert numbers_in(text) == {"10000000000"}


def test_million_is_not_billion() -> None:
    assert numbers_in("$10 million") != numbers_in("10 mil millones")


def test_plain_numbers_years_percent_and_decimals() -> None:
    assert numbers_in("In 2023, 1,000 or 1.000 users, 3.5% and 2,5 millones") == {
        "2023",
        "1000",
        "3.5",
        "2500000",
    }


def test_number_words() -> None:
    assert numbers_in("una docena de investigadores") == {"12"}
    assert numbers_in("four Panthers players") == numbers_in("cuatro jugadores")
    assert numbers_in("uno de los dos") == set()  # "dos" is also Portuguese "of the"


def test_months_are_dates_in_every_language() -> None:
    assert dates_in("in July 2024") == dates_in("en julio de 2024") == {7}


def test_names_are_runs_of_capitalised_words() -> None:
    names = names_in("Mark Zuckerberg told TechCrunch that the Banco de España agreed.")
    assert names == ["mark zuckerberg", "techcrunch", "banco de espana"]


def test_a_capitalised_first_word_alone_is_no_name() -> None:
    assert names_in("According to the article, Meta shared Llama.") == ["meta", "llama"]
    assert names_in("DeepSeek built it.") == ["deepseek"]


def test_a_list_or_an_aside_ends_a_name() -> None:
    assert names_in("He hired Alexandr Wang, Nat Friedman and Yann LeCun.") == [
        "alexandr wang",
        "nat friedman",
        "yann lecun",
    ]
    assert names_in("Meta Platforms, Scale AI, GitHub (Microsoft) and «DeepSeek» grew.") == [
        "meta platforms",
        "scale",
        "github",
        "microsoft",
        "deepseek",
    ]
    # A full stop inside a sentence ends an abbreviation, not the name.
    assert names_in("She lived in St. Louis.") == ["st louis"]


def test_short_acronyms_and_months_are_not_names() -> None:
    assert names_in("It said the AI rules of the EU start in March.") == []


def test_missing_names_are_checked_word_by_word() -> None:
    evidence = "Un portavoz de Meta dijo a TechCrunch que no comenta rumores."
    assert missing_names(["mark zuckerberg", "techcrunch", "meta"], evidence) == ["mark zuckerberg"]


def test_words_run_together_are_found_apart() -> None:
    # a page's link text glued to the next word, as in the bundled article 004
    assert {"llama", "meta", "llamameta"} <= vocabulary(
        "su tecnología AI, llamado LLAMAMeta esperaba"
    )
    assert {"llamada", "nueva"} <= vocabulary("la llamadaNueva York")
    assert missing_names(["Llama"], "llamado LLAMAMeta esperaba") == []


def test_a_brands_own_capitals_are_one_word() -> None:
    # "open" must not match OpenAI, nor "seek" DeepSeek
    assert vocabulary("DeepSeek, OpenAI, iPhone, McKinsey y ctDNA") == {
        "deepseek", "openai", "iphone", "mckinsey", "y", "ctdna"
    }  # fmt: skip


def test_inflections_are_the_same_word() -> None:
    assert same_word("open-sourced", "open-source")
    assert same_word("acelerar", "acelera")
    assert not same_word("model", "modern")


def test_content_words_leave_out_function_words() -> None:
    assert content_words("Why did Meta open-source Llama?") == {"meta", "open-source", "llama"}


def test_a_question_word_opening_a_question_is_no_name() -> None:
    names = names_in("Combien Meta a-t-il promis pour développer Meta Superintelligence Labs ?")
    assert names == ["meta", "meta superintelligence labs"]
    assert "combien" not in content_words("Combien Meta a-t-il promis ?")


def test_inflections_of_generic_words_are_generic() -> None:
    assert is_generic("mentionnent")
    assert is_generic("mencionam")
    assert is_generic("says")
    assert not is_generic("microsoft")
    assert not is_generic("podcasts")
