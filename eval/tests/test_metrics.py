"""The eval metrics on small hand-made runs whose right values are known."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ragkit.metrics import compute, contains_passage, fact_found, fold, percentile
from ragkit.report import write_report

GOLDS = [
    {
        "id": "a",
        "language": "en",
        "answerable": True,
        "cross_lingual": True,
        "gold_sources": ["x.txt"],
        "gold_passages": ["Meta esperaba acelerar el desarrollo"],
        "expected_facts": [["accelerat", "speed up"], ["Llama"]],
    },
    {
        "id": "b",
        "language": "es",
        "answerable": True,
        "cross_lingual": False,
        "gold_sources": ["y.txt"],
        "gold_passages": ["Zuckerberg contrató a Alexandr Wang"],
        "expected_facts": [["Wang"]],
    },
    {
        "id": "c",
        "language": "en",
        "answerable": False,
        "cross_lingual": True,
        "gold_sources": [],
        "gold_passages": [],
        "expected_facts": [],
    },
]


def result(
    qid: str,
    answer: str,
    refused: bool,
    sources: list[str],
    cites: list[tuple[int, str]],
    total: float = 10.0,
) -> dict[str, object]:
    return {
        "id": qid,
        "question": "?",
        "answer": answer,
        "refused": refused,
        "citations": [{"n": n, "source": s, "quote": "q"} for n, s in cites],
        "retrieved": [{"source": s, "score": 0.1} for s in sources],
        "timings": {"retrieve_s": 0.1, "ttft_s": total / 2, "total_s": total},
    }


RESULTS = [
    result(
        "a",
        "Meta shared Llama to accelerate development [2].",
        False,
        ["z.txt", "x.txt"],
        [(2, "x.txt")],
        8.0,
    ),
    result("b", "Los artículos no lo dicen.", True, ["y.txt"], [], 2.0),
    result("c", "The articles don't say.", True, ["z.txt"], [], 0.1),
]
TRACES = [
    {
        "id": "a",
        "passages": [{"text": "nada"}, {"text": "Y Meta esperaba acelerar el desarrollo."}],
        "sentences": [
            {"text": "Meta shared Llama.", "citations": [2], "supported": True},
            {"text": "Uncited.", "citations": [], "supported": False},
        ],
    },
    {
        "id": "b",
        "passages": [{"text": "Zuckerberg contrató a Alexandr Wang, exdirector"}],
        "sentences": [],
    },
    {"id": "c", "passages": [{"text": "nada"}], "sentences": []},
]


def detect(text: str) -> str:
    return "es" if "artículos" in text else "en"


def test_helpers() -> None:
    assert fold("  Çódigo   Abierto ") == "codigo abierto"
    assert fact_found("They ACCELERATED it", ["accelerat"])
    assert not fact_found("nothing", ["accelerat", "faster"])
    assert contains_passage(
        "xx Meta esperaba  ACELERAR el desarrollo yy", "Meta esperaba acelerar el desarrollo"
    )
    # a quote cut by a chunk boundary still counts when most of its words are there
    assert contains_passage("Meta esperaba acelerar el", "Meta esperaba acelerar el desarrollo")
    assert not contains_passage("otra cosa", "Meta esperaba acelerar el desarrollo")
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == pytest.approx(2.5)
    assert percentile([], 50) is None


def test_overall_metrics() -> None:
    m = compute(GOLDS, RESULTS, TRACES, detect_language=detect)["overall"]
    assert m["questions"] == 3
    assert m["article_hit@1"] == pytest.approx(0.5)  # a at rank 2, b at rank 1
    assert m["article_hit@3"] == pytest.approx(1.0)
    assert m["article_mrr"] == pytest.approx((1 / 2 + 1) / 2)
    assert m["passage_mrr"] == pytest.approx((1 / 2 + 1) / 2)
    assert m["fact_coverage"] == pytest.approx((1.0 + 0.0) / 2)  # b refused scores 0
    assert m["citation_precision"] == pytest.approx(1.0)
    assert m["citation_source_precision"] == pytest.approx(1.0)
    assert m["citation_recall"] == pytest.approx(0.5)
    assert m["abstention_accuracy"] == pytest.approx(1.0)
    assert m["false_abstention_rate"] == pytest.approx(0.5)
    assert m["answer_language_match"] == pytest.approx(1.0)
    assert m["latency_total_p50_s"] == pytest.approx(2.0)


def test_breakdowns() -> None:
    s = compute(GOLDS, RESULTS, TRACES)
    assert set(s["by_language"]) == {"en", "es"}
    assert s["by_language"]["es"]["false_abstention_rate"] == pytest.approx(1.0)
    assert s["by_crossing"]["cross_lingual"]["questions"] == 2
    assert s["by_crossing"]["same_language"]["fact_coverage"] == pytest.approx(0.0)


def test_wrong_citation_lowers_precision() -> None:
    wrong = [dict(RESULTS[0], citations=[{"n": 1, "source": "z.txt", "quote": "q"}]), *RESULTS[1:]]
    m = compute(GOLDS, wrong, TRACES)["overall"]
    assert m["citation_precision"] == pytest.approx(0.0)
    assert m["citation_source_precision"] == pytest.approx(0.0)


def test_report_compares_runs(tmp_path: Path) -> None:
    a = compute(GOLDS, RESULTS, TRACES)
    b = compute(GOLDS, RESULTS, None)
    report = write_report(
        {"hybrid": a, "dense": b}, {"hybrid": [1.0, 2.0], "dense": [3.0]}, tmp_path
    )
    text = report.read_text()
    assert "| metric | hybrid | dense |" in text
    for png in ("metrics.png", "by_language.png", "latency.png"):
        assert (tmp_path / png).stat().st_size > 1000
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert set(summary["runs"]) == {"hybrid", "dense"}
