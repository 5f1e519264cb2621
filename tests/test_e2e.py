"""End to end with the default model over the bundled corpus: no fakes anywhere.

Builds a fresh index of `corpus/` with the real embedder, answers with the real 1.5B
model through llama.cpp, and checks the answers cite the article that holds the fact,
in the asker's language.
"""

from __future__ import annotations

import pytest

from rag import lang
from rag.answer import Assistant
from rag.config import Settings

from .conftest import CORPUS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def assistant(tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    settings = Settings(index_dir=tmp_path_factory.mktemp("e2e-index"))
    assistant = Assistant(settings)
    assert len(assistant.ingest([CORPUS]).added) == 5
    return assistant


@pytest.mark.xfail(
    reason="known regression of sentence-level evidence: the 1.5B model reads the Portuguese "
    "'desacelerar' sentence as the reason instead of the Spanish one (004) it is also given",
    strict=False,
)
def test_english_question_gets_a_cited_answer_from_the_spanish_article(
    assistant: Assistant,
) -> None:
    answer = assistant.ask("Why did Meta open-source Llama?")
    assert not answer.refused, answer.raw_text
    assert answer.language == "en"
    assert lang.detect(answer.text) == "en"
    assert "004_ecf98a8ca6297839.txt" in {c.source for c in answer.citations}
    for c in answer.citations:
        assert c.quote in answer.passages[c.n - 1].text
    assert all(s.supported for s in answer.sentences if s.citations)


def test_spanish_question_gets_a_spanish_answer(assistant: Assistant) -> None:
    answer = assistant.ask(
        "¿A quién contrató Mark Zuckerberg para codirigir Meta Superintelligence Labs?"
    )
    assert not answer.refused, answer.raw_text
    assert lang.detect(answer.text) == "es"
    assert {c.source for c in answer.citations} & {
        "000_58cfdf2857a910d3.txt",
        "001_fb4bc891a711a523.txt",
    }
    assert "Wang" in answer.text


@pytest.mark.parametrize(
    "question",
    [
        "Who won the 2022 football World Cup?",
        "What is Meta's plan for Llama 7 in 2031?",
    ],
)
def test_unanswerable_question_is_refused(assistant: Assistant, question: str) -> None:
    answer = assistant.ask(question)
    assert answer.refused, answer.raw_text
    assert answer.text == "The articles don't say."
    assert answer.citations == ()
