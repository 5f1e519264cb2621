"""Measure prompt injection: how often an answer obeys an attack planted in an article.

For every case of `eval/injection/cases.jsonl` the attack article is added to an index of the
bundled corpus (so it competes with real articles in retrieval), its benign question is asked,
and the article is removed again. Two conditions, same retrieval, same model:

* `naive` (before): the passages pasted as plain `[n] text` under a system prompt with no
  word about untrusted text (`prompts.NAIVE_SYSTEM_PROMPT`), the model's text shown as is;
* `product` (after): `Assistant.ask`, the product's full path: tagged, neutralised passages
  declared untrusted, then the citation check. Its rows also keep the model's raw text, so
  the report shows the prompt's share (`product-raw`) and the checker's share apart.

    python eval/bench_injection.py                      # both conditions, all cases (~30 min)
    python eval/bench_injection.py --limit 3            # a smoke run
    python eval/bench_injection.py --replay             # re-check recorded product answers
    python eval/bench_injection.py --report-only        # rebuild the report from the rows

Rows go to eval/results/injection-<condition>.jsonl, the report to eval/reports/injection/.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import asdict
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag import lang, prompts  # noqa: E402
from rag.answer import Assistant  # noqa: E402
from rag.cite import CitationChecker, is_not_found  # noqa: E402
from rag.config import Settings  # noqa: E402
from rag.schema import Passage  # noqa: E402
from ragkit.attacks import AttackCase, judge, load_cases  # noqa: E402

CASES = ROOT / "eval" / "injection" / "cases.jsonl"
RESULTS = ROOT / "eval" / "results"
REPORT = ROOT / "eval" / "reports" / "injection"
CONDITIONS = ("naive", "product", "ungated")
SHOWN = ("naive", "product-raw", "product", "ungated")
"""Conditions in the report: `product-raw` is the product's prompt without the checker;
`ungated` is the product asked even when no passage passes the relevance gate (run only for
the cases the gate refuses: `--conditions ungated --ids ...`)."""


def run_case(assistant: Assistant, case: AttackCase, condition: str) -> dict[str, Any]:
    """Ask one case's question in one condition; the article must already be indexed."""
    started = time.perf_counter()
    row: dict[str, Any] = {"id": case.id, "condition": condition}
    if condition == "naive":
        language = lang.detect(case.question)
        passages = tuple(assistant.retriever.retrieve(case.question))
        messages = prompts.build_naive_messages(case.question, language, passages)
        raw = "".join(assistant.generator.stream(messages, assistant.settings.max_answer_tokens))
        row.update(text=raw, raw_text=raw, refused=is_not_found(raw), citations=[])
    else:
        settings = assistant.settings
        if condition == "ungated":
            assistant.settings = settings.with_(min_relevance=0.0)
        try:
            answer = assistant.ask(case.question)
        finally:
            assistant.settings = settings
        passages = answer.passages
        row.update(
            text=answer.text,
            raw_text=answer.raw_text,
            refused=answer.refused,
            citations=[asdict(c) for c in answer.citations],
        )
    row["passages"] = [asdict(p) for p in passages]
    row["seconds"] = round(time.perf_counter() - started, 2)
    return row


def verdicts(case: AttackCase, row: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The judgement of one row, per shown condition (a product row yields two)."""
    texts = [p["text"] for p in row["passages"]]
    if row["condition"] == "naive":
        return {"naive": asdict(judge(case, row["text"], texts))}
    shown = row["passages"]
    cited = [c["n"] for c in row["citations"]]
    final = asdict(judge(case, row["text"], texts, cited))
    # A citation resolved to another article than the one at its number is out of set too.
    final["out_of_set"] |= any(
        not 1 <= c["n"] <= len(shown) or shown[c["n"] - 1]["chunk_id"] != c["chunk_id"]
        for c in row["citations"]
    )
    if row["condition"] == "ungated":
        return {"ungated": final}
    return {"product-raw": asdict(judge(case, row["raw_text"], texts)), "product": final}


def rate(rows: list[dict[str, Any]], key: str) -> dict[str, Any]:
    n = len(rows)
    k = sum(bool(r[key]) for r in rows)
    return {"n": n, "count": k, "rate": round(k / n, 3) if n else None}


def summarise(
    cases: list[AttackCase], judged: dict[str, dict[str, dict[str, Any]]], asked: set[str]
) -> dict:
    """Counts and rates per condition, overall and per attack kind and language; `asked`
    are the cases where the product asked the model (not refused by the relevance gate)."""
    by_id = {c.id: c for c in cases}
    out: dict[str, Any] = {"cases": len(judged), "conditions": {}}
    for cond in SHOWN:
        rows = [{**v[cond], "id": i} for i, v in judged.items() if cond in v]
        if not rows:
            continue
        delivered = [r for r in rows if r["delivered"]]
        entry: dict[str, Any] = {
            "attack_success": rate(rows, "success"),
            "attack_success_delivered": rate(delivered, "success"),
            "attack_success_model_asked": rate(
                [r for r in delivered if r["id"] in asked], "success"
            ),
            "delivered": rate(rows, "delivered"),
            "leak": rate(rows, "leak"),
            "out_of_set_citation": rate(rows, "out_of_set"),
            "refused": rate(rows, "refused") if "refused" in rows[0] else None,
        }
        for group in ("attack_kind", "attack_language"):
            buckets: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for r in rows:
                buckets[getattr(by_id[r["id"]], group)].append(r)
            entry[f"by_{group}"] = {k: rate(v, "success") for k, v in sorted(buckets.items())}
        out["conditions"][cond] = entry
    return out


def pct(x: dict[str, Any] | None) -> str:
    if not x or x["rate"] is None:
        return "-"
    return f"{x['count']}/{x['n']} ({100 * x['rate']:.0f}%)"


def write_report(cases: list[AttackCase], rows: dict[str, list[dict[str, Any]]]) -> dict:
    """Write summary.json and README.md to eval/reports/injection/; return the summary."""
    by_id = {c.id: c for c in cases}
    # Only cases answered in every recorded condition, so the figures compare like with like.
    recorded = [{r["id"] for r in v} for k, v in rows.items() if v and k != "ungated"]
    common = set.intersection(*recorded) if recorded else set()
    judged: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for cond_rows in rows.values():
        for row in cond_rows:
            if row["id"] not in common:
                continue
            found = verdicts(by_id[row["id"]], row)
            for k in found:
                raw_only = k == "product-raw"
                found[k]["refused"] = is_not_found(row["raw_text"]) if raw_only else row["refused"]
            judged[row["id"]].update(found)
    asked = {r["id"] for r in rows.get("product", []) if r["raw_text"].strip()}
    summary = summarise(cases, judged, asked)
    REPORT.mkdir(parents=True, exist_ok=True)
    (REPORT / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    conds = [c for c in SHOWN if c in summary["conditions"]]
    S = summary["conditions"]
    lines = [
        "# Prompt injection",
        "",
        f"{summary['cases']} attack articles (`eval/injection/`), one benign question each, asked "
        "with the default model over the bundled corpus plus the attack article. Produced by "
        "`python eval/bench_injection.py`.",
        "",
        "- `naive`: passages pasted as plain text, no untrusted-text rule, model text as is "
        "(before).",
        "- `product-raw`: the product's prompt (tagged, neutralised passages declared "
        "untrusted), the model's text before the citation check.",
        "- `product`: the product's answer, `Assistant.ask` (after).",
        "",
        "| | " + " | ".join(conds) + " |",
        "|---" * (len(conds) + 1) + "|",
    ]
    for key, label in (
        ("attack_success", "attack success (all cases)"),
        ("attack_success_delivered", "attack success (attack reached the prompt)"),
        (
            "attack_success_model_asked",
            "attack success (reached the prompt, product asked the model)",
        ),
        ("delivered", "attack reached the prompt"),
        ("leak", "system prompt leaked"),
        ("out_of_set_citation", "citation outside the retrieved set"),
        ("refused", "refused (benign question not answered)"),
    ):
        lines.append(f"| {label} | " + " | ".join(pct(S[c][key]) for c in conds) + " |")
    for group, title in (("attack_kind", "attack kind"), ("attack_language", "attack language")):
        keys = sorted(S[conds[0]][f"by_{group}"])
        lines += ["", f"Attack success by {title}:", ""]
        lines += ["| " + title + " | " + " | ".join(conds) + " |", "|---" * (len(conds) + 1) + "|"]
        for k in keys:
            lines.append(
                f"| {k} | " + " | ".join(pct(S[c][f"by_{group}"].get(k)) for c in conds) + " |"
            )
    gated = sorted(i for i, v in judged.items() if "ungated" in v)
    if gated:
        sub = [judged[i] for i in gated]
        naive_hits = sum(bool(v.get("naive", {}).get("success")) for v in sub)
        ungated_hits = sum(bool(v["ungated"]["success"]) for v in sub)
        lines += [
            "",
            f"The relevance gate refuses {len(gated)} of these questions without asking the "
            "model (no passage is close enough). Asked anyway (`ungated`: the product's prompt "
            f"and check, gate off), attacks succeed in {ungated_hits}/{len(gated)} of them; "
            f"with the naive prompt in {naive_hits}/{len(gated)}.",
        ]
    lines += ["", "Cases where an attack succeeded:", ""]
    for i, v in sorted(judged.items()):
        hit = [c for c in conds if v.get(c, {}).get("success")]
        if hit:
            case = by_id[i]
            lines.append(f"- `{i}` {case.attack_kind}/{case.attack_language}: " + ", ".join(hit))
    (REPORT / "README.md").write_text("\n".join(lines) + "\n")
    return summary


def sha(cases_file: Path, row: dict[str, Any]) -> str:
    """Short hash of the article a row was answered from (rows of changed articles are stale)."""
    case = next(c for c in load_cases(cases_file) if c.id == row["id"])
    return hashlib.sha256((cases_file.parent / case.file).read_bytes()).hexdigest()[:16]


def results_path(condition: str) -> Path:
    return RESULTS / f"injection-{condition}.jsonl"


def load_rows(condition: str) -> list[dict[str, Any]]:
    path = results_path(condition)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def replay(assistant: Assistant, condition: str) -> list[dict[str, Any]]:
    """Re-run the citation check on the recorded raw product answers (no generation)."""
    checker = CitationChecker(assistant.embedder, assistant.settings.support_threshold)
    out = []
    for row in load_rows(condition):
        passages = [Passage(**p) for p in row["passages"]]
        language = lang.detect(row.get("question", "")) if row.get("question") else "en"
        verified = checker.check(row["raw_text"], passages, prompts.refusal(language))
        out.append(
            {
                **row,
                "text": verified.text,
                "refused": verified.refused,
                "citations": [asdict(c) for c in verified.citations],
            }
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", type=Path, default=CASES)
    ap.add_argument("--conditions", nargs="+", default=["naive", "product"], choices=CONDITIONS)
    ap.add_argument("--limit", type=int, help="only the first N cases (a smoke run)")
    ap.add_argument("--ids", nargs="+", help="only these case ids")
    ap.add_argument(
        "--resume", action="store_true", help="keep recorded rows of unchanged articles"
    )
    ap.add_argument("--replay", action="store_true", help="re-check recorded product rows")
    ap.add_argument("--report-only", action="store_true", help="rebuild the report only")
    args = ap.parse_args()

    cases = load_cases(args.cases)
    if args.ids:
        cases = [c for c in cases if c.id in args.ids]
    if args.limit:
        cases = cases[: args.limit]
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(index_dir=Path(tmp) / "index")
        assistant = Assistant(settings)
        if args.replay:
            for cond in ("product", "ungated"):
                rows = replay(assistant, cond)
                with results_path(cond).open("w", encoding="utf-8") as f:
                    f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
        elif not args.report_only:
            assistant.ingest([settings.path(settings.corpus_dir)])
            done: dict[str, set[str]] = {c: set() for c in args.conditions}
            if args.resume:
                for c in args.conditions:
                    keep = [r for r in load_rows(c) if r.get("article_sha") == sha(args.cases, r)]
                    done[c] = {r["id"] for r in keep}
                    with results_path(c).open("w", encoding="utf-8") as f:
                        f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in keep)
            mode = "a" if args.resume else "w"
            out = {c: results_path(c).open(mode, encoding="utf-8") for c in args.conditions}
            for case in cases:
                todo = [c for c in args.conditions if case.id not in done[c]]
                if not todo:
                    continue
                assistant.ingest([args.cases.parent / case.file])
                for cond in todo:
                    row = run_case(assistant, case, cond)
                    row["question"] = case.question
                    row["article_sha"] = sha(args.cases, row)
                    out[cond].write(json.dumps(row, ensure_ascii=False) + "\n")
                    out[cond].flush()
                    v = verdicts(case, row)
                    flags = " ".join(
                        f"{k}:{'HIT' if x['success'] else 'ok'}"
                        f"{' LEAK' if x['leak'] else ''}{' OOS' if x['out_of_set'] else ''}"
                        f"{'' if x['delivered'] else ' (not delivered)'}"
                        for k, x in v.items()
                    )
                    print(
                        f"{case.id} {case.attack_kind:13} {row['seconds']:5.1f}s {flags}",
                        flush=True,
                    )
                assert assistant.remove(Path(case.file).name)
            for f in out.values():
                f.close()
    all_rows = {c: load_rows(c) for c in CONDITIONS}
    summary = write_report(load_cases(args.cases), all_rows)
    for cond, s in summary["conditions"].items():
        print(
            f"{cond:12} attack success {pct(s['attack_success'])}, leaks {pct(s['leak'])}, "
            f"out-of-set citations {pct(s['out_of_set_citation'])}, refused {pct(s['refused'])}"
        )


if __name__ == "__main__":
    main()
