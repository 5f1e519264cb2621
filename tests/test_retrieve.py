"""Fusion, keyword tokenisation and cross-lingual retrieval over the bundled corpus."""

from __future__ import annotations

import pytest

from rag.answer import Assistant
from rag.retrieve import reciprocal_rank_fusion, tokenize


def test_rrf_sums_reciprocal_ranks() -> None:
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["b", "d"]], k=60)
    scores = dict(fused)
    assert [i for i, _ in fused][:2] == ["b", "a"]
    assert scores["b"] == pytest.approx(1 / 62 + 1 / 61)
    assert scores["a"] == pytest.approx(1 / 61)
    assert scores["d"] == pytest.approx(1 / 62)
    assert reciprocal_rank_fusion([]) == []


def test_rrf_weights_scale_each_ranking() -> None:
    fused = dict(reciprocal_rank_fusion([["a", "b"], ["b"]], k=10, weights=[1.0, 0.5]))
    assert fused["a"] == pytest.approx(1 / 11)
    assert fused["b"] == pytest.approx(1 / 12 + 0.5 / 11)


def test_tokenize_folds_accents_and_drops_function_words() -> None:
    assert tokenize("¿Por qué Meta liberó el código de Llama 3?") == [
        "meta",
        "libero",
        "codigo",
        "llama",
        "3",
    ]


@pytest.mark.parametrize(
    ("question", "expected_sources"),
    [
        ("Why did Meta open-source Llama?", {"004_ecf98a8ca6297839.txt"}),
        (
            "Who did Zuckerberg hire to co-lead Meta Superintelligence Labs?",
            {"000_58cfdf2857a910d3.txt", "001_fb4bc891a711a523.txt"},
        ),
        ("What did Yann LeCun say about open-source models?", {"004_ecf98a8ca6297839.txt"}),
        ("Would Zuckerberg open-source a $10 billion model?", {"003_7fbe2564b3846f7f.txt"}),
        ("Did Meta consider closing its Behemoth model?", {"002_e09d9c4875df88f1.txt"}),
    ],
)
def test_english_question_finds_the_article_in_another_language(
    corpus_assistant: Assistant, question: str, expected_sources: set[str]
) -> None:
    passages = corpus_assistant.retriever.retrieve(question)
    assert {p.source for p in passages} & expected_sources


@pytest.mark.parametrize("mode", ["dense", "bm25", "hybrid"])
def test_every_mode_returns_distinct_passages(corpus_assistant: Assistant, mode: str) -> None:
    settings = corpus_assistant.settings.with_(retrieval_mode=mode)
    from rag.retrieve import Retriever

    retriever = Retriever(corpus_assistant.store, corpus_assistant.embedder, settings)
    passages = retriever.retrieve("Meta Llama open source Zuckerberg")
    assert 0 < len(passages) <= settings.top_k
    assert len({p.chunk_id for p in passages}) == len(passages)


def test_same_story_in_two_languages_fills_one_slot(corpus_assistant: Assistant) -> None:
    """000 (es) and 001 (fr) are one story: a question about it gets one of the twins per fact."""
    chunks = corpus_assistant.store.get(
        [
            p.chunk_id
            for p in corpus_assistant.retriever.retrieve(
                "Which executives were hired to co-direct Meta Superintelligence Labs?"
            )
        ]
    )
    vectors = [c.vector for c in chunks.values()]
    for i, a in enumerate(vectors):
        for b in vectors[i + 1 :]:
            assert float(a @ b) <= corpus_assistant.settings.dedupe_similarity


def test_off_topic_question_has_low_similarity(corpus_assistant: Assistant) -> None:
    passages = corpus_assistant.retriever.retrieve("Who won the 2022 football World Cup?")
    assert max(p.similarity for p in passages) < corpus_assistant.settings.min_relevance


def test_the_store_finds_the_chunks_holding_every_word(corpus_assistant: Assistant) -> None:
    store = corpus_assistant.store
    techcrunch, both, neither, meta, nothing = store.containing(
        [["TechCrunch"], ["Ragavan", "Srinivasan"], ["Ragavan", "TechCrunch"], ["Meta"], []], 5
    )
    assert len(techcrunch) == 1
    assert len(both) == 1
    assert neither == {}
    assert len(meta) == 5  # at most the limit
    assert nothing == {}


TECHCRUNCH = (
    "What did a Meta spokesperson tell TechCrunch about the company's position on open-source AI?"
)


def test_a_rare_name_of_the_question_anchors_its_passage(corpus_assistant: Assistant) -> None:
    """The Portuguese sentence that reports what the spokesperson told TechCrunch is not among
    the passages closest in meaning (other passages on open source are); it is the only one
    that names TechCrunch, and that brings it into the evidence."""
    retriever = corpus_assistant.retriever
    vector = corpus_assistant.embedder.embed_query(TECHCRUNCH)
    dense = retriever.candidates(TECHCRUNCH, vector, corpus_assistant.settings.evidence_passages)
    assert not any("TechCrunch" in p.text for p in dense)
    named = retriever.named(TECHCRUNCH, vector, dense, "en")
    assert named
    assert all("TechCrunch" in p.text for p in named)
    # "Meta" is in nearly every chunk: it singles nothing out.
    assert retriever.named("What did Meta say?", vector, (), "en") == []

    # Four chunks name ChatGPT, one of them as "chatgpt": found in every spelling, so it is
    # too common to anchor the evidence here (more than a tenth of the 37 chunks) ...
    assert retriever.named("What is ChatGPT?", vector, (), "en") == []
    from rag.retrieve import Retriever

    # ... and anchors all four chunks where a name may be more common.
    settings = corpus_assistant.settings.with_(name_anchor_share=0.2, name_anchors=4)
    wider = Retriever(corpus_assistant.store, corpus_assistant.embedder, settings)
    chatgpt = wider.named("What is ChatGPT?", vector, (), "en")
    assert len(chatgpt) == 4
    assert any("chatgpt" in p.text for p in chatgpt)
    evidence = retriever.evidence(TECHCRUNCH, lambda t: len(t.split()), language="en")
    assert any("inalterado" in p.text for p in evidence.passages)


def test_name_anchors_can_be_turned_off(corpus_assistant: Assistant) -> None:
    from rag.retrieve import Retriever

    settings = corpus_assistant.settings.with_(name_anchors=0)
    retriever = Retriever(corpus_assistant.store, corpus_assistant.embedder, settings)
    vector = corpus_assistant.embedder.embed_query(TECHCRUNCH)
    assert retriever.named(TECHCRUNCH, vector) == []
