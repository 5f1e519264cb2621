"""Quality metrics of an eval run against the hand-written gold questions.

Inputs: the gold rows (`eval/questions.jsonl`: `answerable`, `gold_sources`,
`gold_passages`, `expected_facts`, `language`, `cross_lingual`), the result rows of the eval
contract, and the trace rows `rag eval` writes beside them (the passage texts; without
them the passage-level metrics are left out). Every metric is a number in [0, 1] (or
seconds, for latency), computed over the questions it applies to; `None` when no question
applies. A run of conversations (`eval/conversations.jsonl`) is scored by
`compute_conversations`: the same metrics per turn, and the rewrites of the follow-ups.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from typing import Any

Row = dict[str, Any]

_WORD = re.compile(r"\w+")


def fold(text: str) -> str:
    """Lower-case, accent-free text with collapsed spaces (for tolerant matching)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(plain.split())


def contains_passage(text: str, gold: str, min_overlap: float = 0.6) -> bool:
    """True if `text` holds the gold quote: verbatim, or most of its words in one window.

    Chunk boundaries may cut a quote, so a passage that holds at least `min_overlap` of
    the quote's words (in any order, within a window the quote's length) counts.
    """
    t, g = fold(text), fold(gold)
    if g in t:
        return True
    gold_words = _WORD.findall(g)
    words = _WORD.findall(t)
    if not gold_words or not words:
        return False
    need = set(gold_words)
    size = len(gold_words)
    best = 0
    for i in range(max(1, len(words) - size + 1)):
        best = max(best, len(need & set(words[i : i + size])))
    return best / len(need) >= min_overlap


def fact_found(answer: str, alternatives: Sequence[str]) -> bool:
    """True if any alternative wording of a fact occurs in the answer (accent-insensitive)."""
    a = fold(answer)
    return any(fold(alt) in a for alt in alternatives)


def _mean(values: Iterable[float]) -> float | None:
    vs = list(values)
    return sum(vs) / len(vs) if vs else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100) by linear interpolation; None for no values."""
    if not values:
        return None
    vs = sorted(values)
    pos = (len(vs) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return vs[lo] + (vs[hi] - vs[lo]) * (pos - lo)


# ---------------------------------------------------------------- per-question scores


def article_rank(gold: Row, result: Row) -> int | None:
    """Rank (from 1) of the first retrieved passage from a gold article; None if absent."""
    golds = set(gold.get("gold_sources") or [])
    for rank, r in enumerate(result.get("retrieved") or [], 1):
        if r["source"] in golds:
            return rank
    return None


def passage_rank(gold: Row, trace: Row) -> int | None:
    """Rank (from 1) of the first retrieved passage that holds a gold passage; None if absent."""
    quotes = gold.get("gold_passages") or []
    for rank, p in enumerate(trace.get("passages") or [], 1):
        if any(contains_passage(p["text"], q) for q in quotes):
            return rank
    return None


def fact_coverage(gold: Row, result: Row) -> float:
    """Share of the expected facts stated in the answer (0 for a refusal)."""
    facts = gold.get("expected_facts") or []
    if not facts:
        return 0.0
    if result.get("refused"):
        return 0.0
    return sum(fact_found(result["answer"], alts) for alts in facts) / len(facts)


def citation_correct(gold: Row, trace: Row, n: int, quote: str = "") -> bool:
    """A citation [n] is correct if passage n holds one of the gold passages (the support),
    or if the sentence it quotes lies within one (evidence packed sentence by sentence can
    hold part of a long gold passage: the part that supports the answer)."""
    passages = trace.get("passages") or []
    if not 1 <= n <= len(passages):
        return False
    golds = gold.get("gold_passages") or []
    if any(contains_passage(passages[n - 1]["text"], q) for q in golds):
        return True
    return bool(quote) and any(contains_passage(q, quote) for q in golds)


def token_figures(
    traces: Sequence[Row] | None, ids: set[str] | None = None
) -> dict[str, float | None]:
    """p50/p95 of the prompt tokens the model really read per answer (after its cached
    prefix) and of the tokens it wrote, over the answers the model ran for."""
    ran = [
        t.get("timings") or {}
        for t in traces or []
        if (ids is None or str(t["id"]) in ids) and (t.get("timings") or {}).get("prompt_tokens")
    ]
    out: dict[str, float | None] = {}
    for key in ("new_prompt_tokens", "completion_tokens", "prompt_tokens"):
        values = [float(t[key]) for t in ran if key in t]
        out[f"{key}_p50"] = percentile(values, 50)
        out[f"{key}_p95"] = percentile(values, 95)
    return out


_QUOTED = re.compile(r"[«“„\"][^«»“”„\"]*[»”“\"]")


def answer_language(text: str, detect: Callable[[str], str]) -> str:
    """The language an answer is written in, leaving out what it quotes (a quoted evidence
    sentence is in its article's language on purpose)."""
    return detect(_QUOTED.sub(" ", text))


# ---------------------------------------------------------------- the metrics


TYPE_GROUPS = {"single": "single_fact", "multi": "broad"}
"""Report names of the gold `type`s."""


def compute(
    golds: Sequence[Row],
    results: Sequence[Row],
    traces: Sequence[Row] | None = None,
    detect_language: Callable[[str], str] | None = None,
    k_values: Sequence[int] = (1, 3, 5),
    answers: bool = True,
) -> dict[str, Any]:
    """All metrics of one run, overall and broken down by language and cross-linguality.

    Metrics (each over the questions it names):

    * `article_hit@k` (answerable): a gold article is among the top-k retrieved passages.
    * `article_mrr` (answerable): mean of 1/rank of the first gold-article passage (0 if none).
    * `passage_hit@k`, `passage_mrr` (answerable; needs traces): the same, where a hit is a
      retrieved passage that holds a gold passage (see `contains_passage`).
    * `fact_coverage` (answerable): mean share of expected facts stated in the answer;
      a refusal scores 0.
    * `citation_precision` (non-refused answerable; needs traces): share of citations whose
      cited passage holds a gold passage, i.e. contains the support for the answer.
    * `citation_source_precision` (non-refused answerable): share of citations pointing to a
      gold article (a looser reading of the same).
    * `citation_recall` (non-refused answers; needs traces): share of answer sentences that
      carry a citation, among the sentences the answer states as fact.
    * `abstention_accuracy` (unanswerable): share refused.
    * `false_abstention_rate` (answerable): share refused although the articles answer it.
    * `answer_language_match` (all; needs `detect_language`): the answer is in the
      question's language.
    * `latency_*`: p50/p95 of total and time-to-first-token seconds (all questions).

    With `answers=False` (a retrieval-only run) only the retrieval metrics are computed.
    """
    by_id = {str(r["id"]): r for r in results}
    trace_by_id = {str(t["id"]): t for t in traces or []}
    rows = []
    for g in golds:
        r = by_id.get(str(g["id"]))
        if r is not None:
            rows.append((g, r, trace_by_id.get(str(g["id"]))))

    def metrics(subset: list[tuple[Row, Row, Row | None]]) -> dict[str, float | None]:
        answerable = [x for x in subset if x[0].get("answerable")]
        unanswerable = [x for x in subset if not x[0].get("answerable")]
        answered = [x for x in answerable if not x[1].get("refused")]
        out: dict[str, float | None] = {"questions": float(len(subset))}
        ranks = [article_rank(g, r) for g, r, _ in answerable]
        for k in k_values:
            out[f"article_hit@{k}"] = _mean(float(rk is not None and rk <= k) for rk in ranks)
        out["article_mrr"] = _mean(1 / rk if rk else 0.0 for rk in ranks)
        traced = [(g, t) for g, _, t in answerable if t is not None]
        if traced:
            pranks = [passage_rank(g, t) for g, t in traced]
            for k in k_values:
                out[f"passage_hit@{k}"] = _mean(float(rk is not None and rk <= k) for rk in pranks)
            out["passage_mrr"] = _mean(1 / rk if rk else 0.0 for rk in pranks)
        if not answers:
            return out
        out["fact_coverage"] = _mean(fact_coverage(g, r) for g, r, _ in answerable)
        cites = [(g, r, t, c) for g, r, t in answered for c in r.get("citations") or []]
        out["citation_source_precision"] = _mean(
            float(c["source"] in (g.get("gold_sources") or [])) for g, _, _, c in cites
        )
        traced_cites = [(g, t, c) for g, _, t, c in cites if t is not None]
        if traced_cites:
            out["citation_precision"] = _mean(
                float(citation_correct(g, t, int(c["n"]), c.get("quote", "")))
                for g, t, c in traced_cites
            )
        sentences = [
            s
            for _, r, t in subset
            if t is not None and not r.get("refused")
            for s in t.get("sentences") or []
        ]
        if sentences:
            out["citation_recall"] = _mean(float(bool(s["citations"])) for s in sentences)
        out["abstention_accuracy"] = _mean(
            float(bool(r.get("refused"))) for _, r, _ in unanswerable
        )
        out["false_abstention_rate"] = _mean(
            float(bool(r.get("refused"))) for _, r, _ in answerable
        )
        if detect_language is not None:
            out["answer_language_match"] = _mean(
                float(answer_language(r["answer"], detect_language) == g["language"])
                for g, r, _ in subset
            )
        out.update(token_figures([t for _, _, t in subset if t is not None]))
        totals = [float(r["timings"]["total_s"]) for _, r, _ in subset]
        ttfts = [float(r["timings"]["ttft_s"]) for _, r, _ in subset if r["timings"]["ttft_s"] > 0]
        out["latency_total_p50_s"] = percentile(totals, 50)
        out["latency_total_p95_s"] = percentile(totals, 95)
        out["latency_ttft_p50_s"] = percentile(ttfts, 50)
        out["latency_ttft_p95_s"] = percentile(ttfts, 95)
        return out

    summary: dict[str, Any] = {"overall": metrics(rows), "by_language": {}, "by_crossing": {}}
    for language in sorted({g["language"] for g, _, _ in rows}):
        summary["by_language"][language] = metrics(
            [x for x in rows if x[0]["language"] == language]
        )
    for crossing, label in ((True, "cross_lingual"), (False, "same_language")):
        subset = [x for x in rows if bool(x[0].get("cross_lingual")) == crossing]
        summary["by_crossing"][label] = metrics(subset)
    # questions about one fact, and broad ones about the articles as a whole (gold type
    # "multi": "which articles mention X"), which the product answers article by article
    summary["by_type"] = {}
    for kind in sorted({str(g.get("type") or "single") for g, _, _ in rows}):
        subset = [x for x in rows if str(x[0].get("type") or "single") == kind]
        summary["by_type"][TYPE_GROUPS.get(kind, kind)] = metrics(subset)
    return summary


# ---------------------------------------------------------------- conversations


def term_named(text: str, alternatives: Sequence[str]) -> bool:
    """True if one alternative occurs in `text` at the start of a word (accent- and
    case-insensitive): a stem covers its endings ("critic" names "critics"), and a name is
    not found inside another word."""
    folded = fold(text)
    return any(re.search(r"(?<!\w)" + re.escape(fold(alt)), folded) for alt in alternatives)


def rewrite_named(terms: Sequence[Sequence[str]], question: str) -> bool:
    """A follow-up's standalone question names what was meant: every group of its gold
    `rewrite_terms` (alternative words or names, e.g. [["Zuckerberg"], ["Llama"]]) occurs."""
    return all(term_named(question, alternatives) for alternatives in terms)


def searched_question(result: Row) -> str:
    """The question a turn searched: its rewrite, or the question as typed."""
    return str(result.get("rewritten") or result["question"])


def rewrite_figures(
    pairs: Sequence[tuple[Row, Row]],
    traces: Sequence[Row] | None = None,
    detect_language: Callable[[str], str] | None = None,
) -> dict[str, float | None]:
    """The rewrite metrics over (gold turn, result row) pairs of follow-up turns."""
    rewritten = [(g, r) for g, r in pairs if r.get("rewritten")]
    termed = [(g, r) for g, r in pairs if g.get("rewrite_terms")]
    out: dict[str, float | None] = {"follow_ups": float(len(pairs))}
    out["rewrite_named"] = _mean(
        float(rewrite_named(g["rewrite_terms"], searched_question(r))) for g, r in termed
    )
    out["rewrite_language_kept"] = (
        _mean(float(detect_language(r["rewritten"]) == g["language"]) for g, r in rewritten)
        if detect_language is not None
        else None
    )
    for label, method in (
        ("rewritten_by_model", "model"),
        ("rewritten_from_context", "context"),
        ("not_rewritten", "none"),
    ):
        out[label] = _mean(float((r.get("rewrite") or "none") == method) for _, r in pairs)
    asked_model = {str(r["id"]) for _, r in pairs if (r.get("rewrite") or "none") != "none"}
    seconds = [
        float(t["timings"]["rewrite_s"])
        for t in traces or []
        if str(t["id"]) in asked_model and "rewrite_s" in (t.get("timings") or {})
    ]
    out["rewrite_s_p50"] = percentile(seconds, 50)
    return out


def compute_conversations(
    turns: Sequence[Row],
    results: Sequence[Row],
    traces: Sequence[Row] | None = None,
    detect_language: Callable[[str], str] | None = None,
) -> dict[str, Any]:
    """The metrics of a conversation run: `compute` over every turn (each counted as one
    question), plus the group `conversations`.

    `turns` are the gold turns (`ragkit.evaluate.conversation_turns`: the fields of a
    `questions.jsonl` row plus `conversation`, `turn` and, for follow-ups, `rewrite_terms`);
    `results` the rows `run_conversations` wrote. In `conversations`, over the follow-ups
    (turns after the first):

    * `rewrite_named`: the searched question (the rewrite, or the follow-up as typed when it
      was not rewritten) holds every `rewrite_terms` group (`rewrite_named`).
    * `rewrite_language_kept` (needs `detect_language`; follow-ups that were rewritten): the
      rewrite is detected in the conversation's language.
    * `rewritten_by_model` / `rewritten_from_context` / `not_rewritten`: how the searched
      question was obtained (the row's `rewrite`); `rewrite_s_p50`: seconds the rewrite took.
    * `follow_up_answers` and `all_turn_answers`: the `compute` metrics (fact coverage,
      citation precision, abstention, language match...) of the follow-up turns and of all
      turns; `by_language`: the rewrite metrics and `fact_coverage` per language.
    """
    summary = compute(turns, results, traces, detect_language)
    by_id = {str(r["id"]): r for r in results}
    played = [(g, by_id[str(g["id"])]) for g in turns if str(g["id"]) in by_id]
    follow_ups = [(g, r) for g, r in played if int(g.get("turn", 1)) > 1]
    answers = compute([g for g, _ in follow_ups], results, traces, detect_language)
    group: dict[str, Any] = {
        "conversations": float(len({str(g.get("conversation")) for g, _ in played})),
        "turns": float(len(played)),
        **rewrite_figures(follow_ups, traces, detect_language),
        "follow_up_answers": answers["overall"],
        "all_turn_answers": summary["overall"],
        "by_language": {},
    }
    for language in sorted({str(g["language"]) for g, _ in follow_ups}):
        subset = [(g, r) for g, r in follow_ups if g["language"] == language]
        group["by_language"][language] = {
            **rewrite_figures(subset, traces, detect_language),
            "fact_coverage": answers["by_language"][language].get("fact_coverage"),
        }
    summary["conversations"] = group
    return summary
