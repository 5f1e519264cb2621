"""Scores for question sets whose gold is an answer span (the XQuAD-derived set).

Rows: `id, lang, question, gold (answer spans, in the question's language), gold_doc,
answerable`. The scores mirror the set's own scorer (`eval/xquad/score.py`), so the two
agree on the same run: `strict`, the answer contains a gold span (accents, case and
punctuation folded); `lenient`, at least 60% of a gold span's words are in the answer. A
refused answerable question counts as wrong (and as a false refusal); an unanswerable one
counts as right only if refused with no citation.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from typing import Any

Row = dict[str, Any]

SPAN_STOPWORDS = frozenset(
    str.split(
        "the a an of in on at to and or de la el los las del en y o un una der die das und von im"
    )
)


def is_span_set(golds: Sequence[Row]) -> bool:
    """True for a question set of this kind (gold spans instead of expected facts)."""
    return bool(golds) and "gold" in golds[0] and "expected_facts" not in golds[0]


def norm(text: str) -> str:
    """Folded words and numbers ("1,000" and "1.000" -> "1000"), space-separated."""
    s = unicodedata.normalize("NFKD", (text or "").lower())
    s = "".join(c for c in s if not unicodedata.combining(c))
    s = re.sub(r"(\d)[,.](\d{3})\b", r"\1\2", s)
    return " ".join(re.findall(r"[a-z0-9]+", s))


def span_scores(answer: str, golds: Sequence[str]) -> tuple[bool, bool]:
    """(strict, lenient) for one answer against its gold spans."""
    ans = norm(answer)
    words = set(ans.split())
    spans = [norm(g) for g in golds]
    strict = any(g and g in ans for g in spans)

    def tokens(g: str) -> list[str]:
        return [w for w in g.split() if w not in SPAN_STOPWORDS] or g.split()

    lenient = strict or any(
        tokens(g) and sum(w in words for w in tokens(g)) / len(tokens(g)) >= 0.6 for g in spans
    )
    return strict, lenient


def compute(
    golds: Sequence[Row],
    results: Sequence[Row],
    traces: Sequence[Row] | None = None,
    detect_language: Callable[[str], str] | None = None,
) -> dict[str, Any]:
    """Strict and lenient correctness, refusals, citations, language and tokens, overall,
    by question language and by crossing (a question in another language than Spanish,
    the corpus's, is cross-lingual)."""
    from ragkit.metrics import answer_language, percentile, token_figures

    by_id = {str(r["id"]): r for r in results}
    rows = [(g, by_id[str(g["id"])]) for g in golds if str(g["id"]) in by_id]

    def mean(values: list[float]) -> float | None:
        return sum(values) / len(values) if values else None

    def metrics(subset: list[tuple[Row, Row]]) -> dict[str, float | None]:
        answerable = [(g, r) for g, r in subset if g["answerable"]]
        unanswerable = [(g, r) for g, r in subset if not g["answerable"]]
        scored = [
            span_scores(r["answer"], g["gold"]) if not r.get("refused") else (False, False)
            for g, r in answerable
        ]
        cites = [
            float(c["source"] == g["gold_doc"])
            for g, r in answerable
            if not r.get("refused")
            for c in r.get("citations") or []
        ]
        out: dict[str, float | None] = {
            "questions": float(len(subset)),
            "strict": mean([float(s) for s, _ in scored]),
            "lenient": mean([float(x) for _, x in scored]),
            "false_refusal": mean([float(bool(r.get("refused"))) for _, r in answerable]),
            "refusal_correct": mean(
                [float(bool(r.get("refused")) and not r.get("citations")) for _, r in unanswerable]
            ),
            "citation_doc_precision": mean(cites),
            "doc_hit@5": mean(
                [
                    float(g["gold_doc"] in [x["source"] for x in (r.get("retrieved") or [])[:5]])
                    for g, r in answerable
                ]
            ),
        }
        if detect_language is not None:
            out["answer_language_match"] = mean(
                [
                    float(answer_language(r["answer"], detect_language) == g["lang"])
                    for g, r in subset
                ]
            )
        out.update(token_figures(traces, {str(g["id"]) for g, _ in subset}))
        totals = [float(r["timings"]["total_s"]) for _, r in subset]
        ttfts = [float(r["timings"]["ttft_s"]) for _, r in subset if r["timings"]["ttft_s"] > 0]
        out["latency_total_p50_s"] = percentile(totals, 50)
        out["latency_total_p95_s"] = percentile(totals, 95)
        out["latency_ttft_p50_s"] = percentile(ttfts, 50)
        out["latency_ttft_p95_s"] = percentile(ttfts, 95)
        return out

    summary: dict[str, Any] = {"overall": metrics(rows), "by_language": {}, "by_crossing": {}}
    for language in sorted({g["lang"] for g, _ in rows}):
        summary["by_language"][language] = metrics([x for x in rows if x[0]["lang"] == language])
    summary["by_crossing"]["cross_lingual"] = metrics([x for x in rows if x[0]["lang"] != "es"])
    summary["by_crossing"]["same_language"] = metrics([x for x in rows if x[0]["lang"] == "es"])
    return summary
