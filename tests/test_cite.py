"""Citation parsing, support checks, repair and refusal (with the real embedder)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from rag.cite import (
    CitationChecker,
    adds_to,
    facts_of,
    numbers_in,
    own_words,
    parse_answer,
    quote,
    quote_cited,
    render,
    split_sentences,
)
from rag.config import Settings
from rag.evidence import Candidate, Evidence
from rag.prompts import NOT_FOUND
from rag.schema import Passage, Sentence

REFUSAL = "The articles don't say."

LLAMA_ES = (
    "Al compartir libremente el código que impulsó su tecnología AI, llamado Llama, Meta "
    "esperaba acelerar el desarrollo de su tecnología y atraer a otros a construir encima. "
    "Meta podía permitirse el lujo de hacer esto. Ganó dinero vendiendo anuncios en línea, "
    "no software de IA."
)
HIRES_FR = (
    "Plus tôt cette année, Meta a promis des milliards de dollars pour développer Meta "
    "Superintelligence Labs. Mark Zuckerberg a recruté Alexandr Wang, ancien directeur "
    "général de Scale AI, et Nat Friedman, ancien directeur général de GitHub, pour codiriger "
    "le projet."
)
LLAMA3_ES = (
    "Recientemente, Meta anunció la apertura de su último modelo de lenguaje grande, Llama 3. "
    "La versión más grande promete competir con GPT-4 y Claude 3."
)


def passage(text: str, source: str, start: int = 100) -> Passage:
    return Passage(
        chunk_id=source + str(start),
        source=source,
        title=source,
        language="es",
        text=text,
        start=start,
        end=start + len(text),
        score=0.0,
        similarity=0.6,
    )


PASSAGES = [
    passage(LLAMA_ES, "004.txt"),
    passage(HIRES_FR, "001.txt"),
    passage(LLAMA3_ES, "003.txt"),
]


@pytest.fixture(scope="module")
def checker(embedder) -> CitationChecker:  # type: ignore[no-untyped-def]
    return CitationChecker(embedder, threshold=Settings().support_threshold)


# ------------------------------------------------------------ parsing


def test_parse_markers_inside_and_after_the_stop() -> None:
    text = "Meta shared Llama [1]. It hired Wang.[2] Ads pay for it. [1][3] Done [1, 2]."
    assert parse_answer(text) == [
        ("Meta shared Llama.", (1,)),
        ("It hired Wang.", (2,)),
        ("Ads pay for it.", (1, 3)),
        ("Done.", (1, 2)),
    ]


def test_parse_answer_without_citations_and_with_lists() -> None:
    assert parse_answer("One fact. Another fact!") == [("One fact.", ()), ("Another fact!", ())]
    assert parse_answer("First line [2]\nSecond line") == [
        ("First line", (2,)),
        ("Second line", ()),
    ]


def test_split_sentences_offsets_point_into_text() -> None:
    text = "«Primera frase.» Segunda frase con $10 mil millones. ¿Tercera?\nCuarta"
    spans = split_sentences(text)
    assert [s.text for s in spans] == [
        "«Primera frase.»",
        "Segunda frase con $10 mil millones.",
        "¿Tercera?",
        "Cuarta",
    ]
    assert all(text[s.start : s.end] == s.text for s in spans)


def test_numbers_are_normalised_with_their_magnitude() -> None:
    assert numbers_in("$10 billion in 2023, 1,000 or 1.000 users, 3.5%") == {
        "10000000000",
        "2023",
        "1000",
        "3.5",
    }


def test_render_puts_markers_before_the_stop() -> None:
    sentences = [Sentence("It is open.", (1, 2), True), Sentence("No mark", (), False)]
    assert render(sentences) == "It is open [1][2]. No mark"


# ------------------------------------------------------------ verification


def test_supported_citation_is_kept_with_the_quoted_sentence(checker: CitationChecker) -> None:
    answer = "Meta open-sourced Llama to speed up the development of its technology [1]."
    v = checker.check(answer, PASSAGES, REFUSAL)
    assert not v.refused
    assert [c.n for c in v.citations] == [1]
    c = v.citations[0]
    assert c.source == "004.txt"
    assert c.quote.startswith("Al compartir libremente")
    p = PASSAGES[0]
    assert LLAMA_ES[c.quote_start - p.start : c.quote_end - p.start] == c.quote


def test_wrong_citation_is_moved_to_the_supporting_passage(checker: CitationChecker) -> None:
    answer = "Zuckerberg hired Alexandr Wang and Nat Friedman to co-lead the lab [1]."
    v = checker.check(answer, PASSAGES, REFUSAL)
    assert [c.n for c in v.citations] == [2]
    assert any("moved" in change for change in v.changes)


def test_uncited_supported_sentence_gets_a_citation(checker: CitationChecker) -> None:
    answer = "Meta announced the opening of its latest large language model, Llama 3."
    v = checker.check(answer, PASSAGES, REFUSAL)
    assert v.sentences[0].citations == (3,)


def test_an_uncited_sentence_shares_the_citation_of_the_sentence_after_it(
    checker: CitationChecker,
) -> None:
    answer = (
        "Meta hoped to speed up the development of its technology and attract others to "
        "build on it. It made its money selling online ads [1]."
    )
    v = checker.check(answer, PASSAGES, REFUSAL)
    assert [s.citations for s in v.sentences] == [(1,), (1,)]
    assert any("shares [1] with the sentence after it" in c for c in v.changes)


def test_citation_outside_the_retrieved_set_is_dropped(checker: CitationChecker) -> None:
    answer = "Zuckerberg hired Alexandr Wang to co-lead the lab [7]."
    v = checker.check(answer, PASSAGES, REFUSAL)
    assert all(1 <= c.n <= len(PASSAGES) for c in v.citations)
    assert any("no such passage" in change for change in v.changes)


def test_invented_number_is_not_supported_and_answer_is_refused(checker: CitationChecker) -> None:
    v = checker.check("Meta paid $100 million to Scale AI [2].", PASSAGES, REFUSAL)
    assert v.refused
    assert v.text == REFUSAL
    assert v.citations == ()


def test_answer_from_memory_is_refused(checker: CitationChecker) -> None:
    v = checker.check("The 2022 World Cup was won by Argentina [1].", PASSAGES, REFUSAL)
    assert v.refused
    assert v.citations == ()


def test_model_saying_not_found_is_a_refusal(checker: CitationChecker) -> None:
    v = checker.check(NOT_FOUND, PASSAGES, "Los artículos no lo dicen.")
    assert v.refused
    assert v.text == "Los artículos no lo dicen."


def test_unsupported_sentence_is_kept_but_marked(checker: CitationChecker) -> None:
    answer = (
        "Meta open-sourced Llama to speed up the development of its technology [1]. "
        "Observers found the weather pleasant all week [1]."
    )
    v = checker.check(answer, PASSAGES, REFUSAL)
    assert not v.refused
    assert [s.supported for s in v.sentences] == [True, False]
    assert v.sentences[1].citations == ()
    assert "[1]" not in v.text.split(".")[1]


def test_a_sentence_with_invented_names_and_numbers_is_removed(checker: CitationChecker) -> None:
    answer = (
        "Meta open-sourced Llama to speed up the development of its technology [1]. "
        "The 2022 World Cup was won by Argentina [1]."
    )
    v = checker.check(answer, PASSAGES, REFUSAL)
    assert not v.refused
    assert len(v.sentences) == 1
    assert "Argentina" not in v.text


def test_unchecked_mode_maps_citations_without_judging(checker: CitationChecker) -> None:
    v = CitationChecker.unchecked("The World Cup was won by Argentina [1].", PASSAGES, REFUSAL)
    assert not v.refused
    assert [c.n for c in v.citations] == [1]


def test_citation_moves_to_the_passage_that_holds_the_fact_verbatim(
    checker: CitationChecker,
) -> None:
    answer = "Meta announced the opening of its latest large language model, Llama 3 [1]."
    v = checker.check(answer, PASSAGES, REFUSAL)
    assert [c.n for c in v.citations] == [3]


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            "It opened Llama to reach developers (1).",
            [("It opened Llama to reach developers.", (1,))],
        ),
        ("A fact 【1】. Another ［2］.", [("A fact.", (1,)), ("Another.", (2,))]),
        ("Several facts [1-3].", [("Several facts.", (1, 2, 3))]),
        ("Named in the articles [1], [2], and [3].", [("Named in the articles.", (1, 2, 3))]),
        ("Dicho [1] y [2].", [("Dicho.", (1, 2))]),
        ("Per [Passage 2], it grew. It did [^3].", [("Per, it grew.", (2,)), ("It did.", (3,))]),
        ("1. Fact one [1]\n2. Fact two [2]", [("Fact one", (1,)), ("Fact two", (2,))]),
        ("- Fact one [1]\n- Fact two", [("Fact one", (1,)), ("Fact two", ())]),
        ("Developers.\n[1].", [("Developers.", (1,))]),
    ],
)
def test_parse_the_citation_styles_small_models_write(answer: str, expected: list[object]) -> None:
    assert parse_answer(answer) == expected


def test_not_found_only_at_the_start() -> None:
    from rag.cite import is_not_found

    assert is_not_found("NOT_FOUND")
    assert is_not_found("  **NOT FOUND**.")
    assert not is_not_found("The missing plane was not found, officials said [1].")


def test_abbreviations_do_not_end_sentences() -> None:
    text = (
        "El gobierno de EE. UU. anunció algo. El Sr. Nicholson habló. Chris V. Nicholson también."
    )
    assert [s.text for s in split_sentences(text)] == [
        "El gobierno de EE. UU. anunció algo.",
        "El Sr. Nicholson habló.",
        "Chris V. Nicholson también.",
    ]


def test_number_words_count_as_numbers() -> None:
    assert numbers_in("ha reclutado a una docena de investigadores") == {"12"}
    assert numbers_in("salários de nove dígitos") == {"9"}
    assert numbers_in("uno de los dos") == set()  # "dos" is also Portuguese "of the"


def test_copied_prompt_tags_are_not_part_of_the_answer() -> None:
    answer = '<passage n="1">Deepseek built an AI system.</passage> [1]'
    assert parse_answer(answer) == [("Deepseek built an AI system.", (1,))]


# ------------------------------------------------------------ names, numbers, non-answers

SPOKESPERSON_ES = (
    "Un portavoz de Meta dijo a TechCrunch que la empresa invertirá 10 mil millones de "
    "dólares en centros de datos el próximo año."
)
SPOKESPERSON = [passage(SPOKESPERSON_ES, "005.txt")]


def test_a_name_the_evidence_does_not_hold_removes_the_sentence(
    checker: CitationChecker,
) -> None:
    answer = "Mark Zuckerberg told TechCrunch that Meta will invest $10 billion in data [1]."
    v = checker.check(answer, SPOKESPERSON, REFUSAL, "What did Meta tell TechCrunch?")
    assert v.refused
    assert any("mark zuckerberg" in change for change in v.changes)


def test_the_right_magnitude_is_supported(checker: CitationChecker) -> None:
    answer = "A Meta spokesperson told TechCrunch that it will invest $10 billion in data [1]."
    v = checker.check(answer, SPOKESPERSON, REFUSAL, "What did Meta tell TechCrunch?")
    assert not v.refused
    assert [c.n for c in v.citations] == [1]


def test_the_wrong_magnitude_is_not(checker: CitationChecker) -> None:
    answer = "A Meta spokesperson told TechCrunch that it will invest $10 million in data [1]."
    v = checker.check(answer, SPOKESPERSON, REFUSAL, "What did Meta tell TechCrunch?")
    assert v.refused


def test_a_sentence_is_re_cited_to_the_passage_that_holds_its_names(
    checker: CitationChecker,
) -> None:
    answer = "Mark Zuckerberg recruited Alexandr Wang and Nat Friedman to co-lead the project [1]."
    v = checker.check(answer, PASSAGES, REFUSAL, "Who was recruited to co-lead the project?")
    assert [c.n for c in v.citations] == [2]


def test_a_translated_name_counts(checker: CitationChecker) -> None:
    evidence = [passage("La sede del banco está en Varsovia desde 1995.", "006.txt")]
    answer = "The bank has had its headquarters in Warsaw since 1995 [1]."
    v = checker.check(answer, evidence, REFUSAL, "Where is the bank's headquarters?")
    assert not v.refused


def test_restating_the_question_is_no_answer(checker: CitationChecker) -> None:
    question = "Which apps could gain from the partner's models?"
    answer = "The company's apps could gain from the partner's models [1]."
    v = checker.check(answer, PASSAGES, REFUSAL, question)
    assert v.refused
    assert any("restates" in change for change in v.changes)


@pytest.mark.parametrize(
    "sentence",
    [
        "The passage does not provide information about the price [1].",
        "The articles don't mention it [2].",
        "El pasaje no menciona el precio [1].",
        "Le passage ne précise pas le prix [1].",
        "O artigo não menciona o preço [1].",
        "Der Text enthält keine Angaben zum Preis [1].",
    ],
)
def test_the_models_own_refusal_is_never_a_cited_answer(
    checker: CitationChecker, sentence: str
) -> None:
    v = checker.check(sentence, PASSAGES, REFUSAL, "What did Llama cost?")
    assert v.refused
    assert v.citations == ()


def test_only_facts_beyond_the_question_count_as_evidence_of_an_answer() -> None:
    question = "When will Orion 5 be released?"
    assert not adds_to(facts_of("Orion 5 will be released soon.", question, "en"), question)
    assert adds_to(facts_of("Orion 5 comes out in March.", question, "en"), question)
    assert adds_to(facts_of("Orion 5 will be released in 2027.", question, "en"), question)
    assert adds_to(facts_of("Nadia Costa said Orion 5 is late.", question, "en"), question)


def test_two_is_dos_in_spanish_evidence(checker: CitationChecker) -> None:
    decnet = passage(
        "DECnet es un conjunto de protocolos de red creados por Digital Equipment "
        "Corporation, lanzada originalmente en 1975 con el fin de conectar dos "
        "miniordenadores PDP-11.",
        "019.txt",
    )
    answer = "DECnet was launched in 1975 to connect two PDP-11 minicomputers [1]."
    assert not checker.check(answer, [decnet], REFUSAL).refused
    assert numbers_in("dos modelos", "es") == {"2"}
    assert numbers_in("dos modelos") == set()  # Portuguese "dos" is "of the"


def test_an_answer_left_in_another_language_becomes_the_quote_it_cites(
    checker: CitationChecker,
) -> None:
    answer = "Meta hoped to speed up the development of its technology [1]."
    verified = checker.check(answer, PASSAGES, REFUSAL)
    quoted = quote_cited(verified, "de")
    assert quoted.sentences[0].quoted
    assert quoted.citations[0].n == 1
    assert quoted.citations[0].quote in quoted.text
    assert "Meta hoped" not in quoted.text


def _one_sentence(similarity: float) -> Evidence:
    text = "Las pruebas indican que los cidípidos no son monofiléticos."
    cand = Candidate(
        "017.txt",
        "Ctenophora",
        "es",
        text,
        0,
        len(text),
        0,
        "",
        np.zeros(4, np.float32),
        similarity,
        0.0,
        similarity,
    )
    return Evidence((passage(text, "017.txt", 0),), ((cand,),), (cand,))


@pytest.mark.parametrize(
    ("similarity", "share", "quoted"),
    [
        (0.55, 0.5, True),  # close in meaning, half the key words
        (0.45, 0.5, False),  # less close: half the key words are not enough...
        (0.45, 0.8, True),  # ...but most of them are
        (0.35, 1.0, False),  # too far, whatever it holds
    ],
)
def test_a_sentence_holding_most_key_words_is_quoted_at_a_lower_similarity(
    similarity: float, share: float, quoted: bool
) -> None:
    verified = quote(
        _one_sentence(similarity),
        "Was sind Cydippida laut den Beweisen nicht?",
        "de",
        0.5,
        0.5,
        lambda cand: share,
        (0.4, 0.7),
    )
    assert (verified is not None) == quoted
    if verified is not None:
        assert verified.sentences[0].quoted
        assert verified.citations[0].n == 1


def test_own_words_are_those_the_question_does_not_give() -> None:
    own = own_words(
        "A Meta abriu o código do Llama para acelerar o desenvolvimento.",
        "Por que a Meta abriu o código do Llama?",
    )
    assert set(own) == {"acelerar", "desenvolvimento"}


def test_the_passage_an_answer_was_written_from_keeps_its_citation(
    checker: CitationChecker,
) -> None:
    """A Portuguese answer taken word for word from a Spanish sentence stays cited to it,
    although a Portuguese sentence on the same subject is closer to it in meaning."""
    portuguese = dataclasses.replace(
        passage(
            "O momento de código aberto, amplamente alimentado por meta e modelos como a LLAMA, "
            "foi capaz de desacelerar, mesmo que o Openai esteja ciente de ainda liberar seu "
            "modelo aberto ainda atrasado.",
            "002.txt",
        ),
        language="pt",
        title="Meta construiu sua reputação de IA na abertura – que pode mudar",
    )
    spanish = dataclasses.replace(
        passage(
            "Al compartir libremente el código que impulsó su tecnología AI, llamado LLAMAMeta "
            "esperaba acelerar el desarrollo de su tecnología y atraer a otros a construir encima.",
            "004.txt",
        ),
        title="Cuando una pequeña compañía china llamada Deepseek reveló que había creado un "
        "sistema de IA que podría igualar los…",
    )
    passages = [portuguese, spanish]
    answer = (
        "A Meta abriu o código do Llama para acelerar o desenvolvimento de sua tecnologia e "
        "atraer outros a construir encima [2]."
    )
    question = "Por que a Meta abriu o código do Llama?"
    v = checker.check(answer, passages, REFUSAL, question, language="pt")
    assert [c.source for c in v.citations] == ["004.txt"]
