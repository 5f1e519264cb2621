"""Write an eval report: Markdown tables, PNG plots and a compact JSON summary.

One run gives its metrics; several runs (e.g. hybrid vs dense retrieval, with and without
the citation check) are put side by side, each metric in one row, so a change can be
judged at a glance.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

QUALITY_KEYS = (
    "article_hit@1",
    "article_hit@3",
    "article_mrr",
    "passage_hit@3",
    "passage_mrr",
    "fact_coverage",
    "citation_precision",
    "citation_source_precision",
    "citation_recall",
    "abstention_accuracy",
    "false_abstention_rate",
    "answer_language_match",
)
LATENCY_KEYS = (
    "new_prompt_tokens_p50",
    "new_prompt_tokens_p95",
    "completion_tokens_p50",
    "completion_tokens_p95",
    "latency_ttft_p50_s",
    "latency_ttft_p95_s",
    "latency_total_p50_s",
    "latency_total_p95_s",
)
BREAKDOWN_KEYS = ("article_hit@3", "fact_coverage", "citation_precision", "answer_language_match")
SPAN_QUALITY_KEYS = (
    "doc_hit@5",
    "strict",
    "lenient",
    "false_refusal",
    "refusal_correct",
    "citation_doc_precision",
    "answer_language_match",
)
SPAN_BREAKDOWN_KEYS = ("lenient", "false_refusal", "refusal_correct", "answer_language_match")
"""The keys of a question set with gold answer spans (eval/xquad, `ragkit.spans`)."""
CONVERSATION_KEYS = (
    "conversations",
    "turns",
    "follow_ups",
    "rewrite_named",
    "rewrite_language_kept",
    "rewritten_by_model",
    "rewritten_from_context",
    "not_rewritten",
    "rewrite_s_p50",
)
CONVERSATION_ANSWER_KEYS = (
    "article_hit@3",
    "passage_hit@3",
    "fact_coverage",
    "citation_precision",
    "citation_source_precision",
    "abstention_accuracy",
    "false_abstention_rate",
    "answer_language_match",
    "latency_total_p50_s",
)
CONVERSATION_LANGUAGE_KEYS = (
    "follow_ups",
    "rewrite_named",
    "rewrite_language_kept",
    "fact_coverage",
)
"""The group `conversations` of a run of conversations (`metrics.compute_conversations`)."""


def _fmt(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        if v.is_integer() and v > 1:
            return str(int(v))
        return f"{v:.3f}" if v <= 1.0 else f"{v:.2f}"
    return str(v)


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_fmt(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _plots(
    summaries: Mapping[str, dict[str, Any]],
    totals: Mapping[str, list[float]],
    out: Path,
    quality_keys: Sequence[str] = QUALITY_KEYS,
    breakdown_keys: Sequence[str] = BREAKDOWN_KEYS,
) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    names = list(summaries)
    width = 0.8 / len(names)
    files = []

    keys = [
        k for k in quality_keys if any(summaries[n]["overall"].get(k) is not None for n in names)
    ]
    fig, ax = plt.subplots(figsize=(11, 4.5))
    x = np.arange(len(keys))
    for i, name in enumerate(names):
        vals = [summaries[name]["overall"].get(k) or 0.0 for k in keys]
        ax.bar(x + i * width, vals, width, label=name)
    ax.set_xticks(x + width * (len(names) - 1) / 2, keys, rotation=30, ha="right")
    ax.set_ylim(0, 1)
    ax.set_title("Quality metrics (overall)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "metrics.png", dpi=110)
    plt.close(fig)
    files.append("metrics.png")

    languages = sorted({lang for n in names for lang in summaries[n]["by_language"]})
    fig, axes = plt.subplots(1, len(breakdown_keys), figsize=(14, 3.8), sharey=True)
    for ax, key in zip(axes, breakdown_keys, strict=True):
        groups = [*languages, "cross", "same"]
        x = np.arange(len(groups))
        for i, name in enumerate(names):
            s = summaries[name]
            vals = [s["by_language"].get(g, {}).get(key) or 0.0 for g in languages]
            vals += [
                s["by_crossing"]["cross_lingual"].get(key) or 0.0,
                s["by_crossing"]["same_language"].get(key) or 0.0,
            ]
            ax.bar(x + i * width, vals, width, label=name)
        ax.set_xticks(x + width * (len(names) - 1) / 2, groups)
        ax.set_title(key)
        ax.set_ylim(0, 1)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "by_language.png", dpi=110)
    plt.close(fig)
    files.append("by_language.png")

    fig, ax = plt.subplots(figsize=(7, 3.8))
    for name in names:
        ax.hist(totals[name], bins=20, alpha=0.6, label=name)
    ax.set_xlabel("seconds per answer (total)")
    ax.set_ylabel("questions")
    ax.set_title("Answer latency")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "latency.png", dpi=110)
    plt.close(fig)
    files.append("latency.png")
    return files


def _conversation_section(summaries: Mapping[str, dict[str, Any]]) -> list[str]:
    """The `conversations` group of the runs that have one, as Markdown lines."""
    names = [n for n in summaries if "conversations" in summaries[n]]
    if not names:
        return []
    groups = {n: summaries[n]["conversations"] for n in names}
    parts = [
        "## Conversations",
        "",
        "Each turn asked with the earlier turns as history, as the chat does. A follow-up's "
        "rewrite *names* what was meant when the question it searched holds every "
        "`rewrite_terms` group; it *keeps the language* when it is detected in the "
        "conversation's language. The sections after this one count every turn as one "
        "question.",
        "",
        _table(
            ["metric", *names], [[k, *(groups[n].get(k) for n in names)] for k in CONVERSATION_KEYS]
        ),
        "",
        "### Answers: follow-up turns and all turns",
        "",
    ]
    header = [f"{n}: {part}" for n in names for part in ("follow-ups", "all turns")]
    rows = [
        [
            k,
            *(
                groups[n][part].get(k)
                for n in names
                for part in ("follow_up_answers", "all_turn_answers")
            ),
        ]
        for k in CONVERSATION_ANSWER_KEYS
    ]
    parts += [_table(["metric", *header], rows), ""]
    for name in names:
        by_language = groups[name]["by_language"]
        rows = [
            [g, *(by_language[g].get(k) for k in CONVERSATION_LANGUAGE_KEYS)] for g in by_language
        ]
        parts += [
            f"### {name}: follow-ups by language",
            "",
            _table(["language", *CONVERSATION_LANGUAGE_KEYS], rows),
            "",
        ]
    return parts


def write_report(
    summaries: Mapping[str, dict[str, Any]],
    totals: Mapping[str, list[float]],
    out: Path,
    command: str = "",
    notes: Sequence[str] = (),
    spans: bool = False,
) -> Path:
    """Write `report.md`, `summary.json` and the plots into `out`; return the report path.
    With `spans`, the runs were scored as a gold-span set (`ragkit.spans`)."""
    quality_keys = SPAN_QUALITY_KEYS if spans else QUALITY_KEYS
    breakdown_keys = SPAN_BREAKDOWN_KEYS if spans else BREAKDOWN_KEYS
    out.mkdir(parents=True, exist_ok=True)
    names = list(summaries)
    plots = _plots(summaries, totals, out, quality_keys, breakdown_keys)
    parts = [f"# Eval report: {' vs '.join(names)}", ""]
    if command:
        parts += ["Produced by:", "", "```", command, "```", ""]
    parts += list(notes) + ([""] if notes else [])
    parts += _conversation_section(summaries)
    overall = [
        [k, *(summaries[n]["overall"].get(k) for n in names)]
        for k in ("questions", *quality_keys, *LATENCY_KEYS)
    ]
    parts += ["## Overall", "", _table(["metric", *names], overall), ""]
    parts += ["![metrics](metrics.png)", "", "## By question language, crossing and type", ""]
    for name in names:
        s = summaries[name]
        groups = {**s["by_language"], **s["by_crossing"], **s.get("by_type", {})}
        rows = [[g, *(groups[g].get(k) for k in ("questions", *breakdown_keys))] for g in groups]
        parts += [f"### {name}", "", _table(["group", "questions", *breakdown_keys], rows), ""]
    parts += [
        "![by language](by_language.png)",
        "",
        "## Latency",
        "",
        "![latency](latency.png)",
        "",
    ]
    parts += [
        f"Metric definitions: `eval/ragkit/metrics.py` (`compute`). Plots: {', '.join(plots)}.",
        "",
    ]
    report = out / "report.md"
    report.write_text("\n".join(parts), encoding="utf-8")
    compact = {n: summaries[n]["overall"] for n in names}
    written: dict[str, Any] = {"command": command, "runs": compact, "full": summaries}
    conversations = {n: s["conversations"] for n, s in summaries.items() if "conversations" in s}
    if conversations:
        written["conversations"] = conversations
    (out / "summary.json").write_text(json.dumps(written, indent=2) + "\n", encoding="utf-8")
    return report
