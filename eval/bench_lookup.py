"""Prompt-lookup speculative decoding: is it faster, and is the text the same?

llama-cpp-python's `LlamaPromptLookupDecoding` drafts tokens by copying n-grams from the
prompt, and the model checks the draft in one batch. Answers that quote their evidence
should gain; at temperature 0 the text must not change. Run the same questions twice, once
per setting, on a quiet machine, then compare the two runs' traces:

    rag eval --questions eval/questions.jsonl --limit 24 --out /tmp/lookup-0.jsonl
    rag eval --questions eval/questions.jsonl --limit 24 --set llm_prompt_lookup=10 \
        --out /tmp/lookup-10.jsonl
    python eval/bench_lookup.py /tmp/lookup-0.jsonl /tmp/lookup-10.jsonl

It prints, per pair of runs: how many answers have the same raw model text, and the median
decode seconds per completion token (generation time after the first token) in each run,
with their ratio; and the raw llama.cpp rates each run recorded beside it, if any.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path


def _trace(run: Path) -> dict[str, dict[str, object]]:
    path = run.with_name(run.stem + ".trace.jsonl")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return {str(r["id"]): r for r in rows}


def _decode_s_per_token(row: dict[str, object]) -> float | None:
    t = row["timings"]
    assert isinstance(t, dict)
    tokens = float(t.get("completion_tokens") or 0)
    if tokens < 2:
        return None
    return (float(t["generate_s"]) - float(t["ttft_s"])) / (tokens - 1)


def _rates(run: Path) -> str:
    meta = run.with_name(run.stem + ".meta.json")
    raw = (
        json.loads(meta.read_text(encoding="utf-8")).get("raw_llama_cpp") if meta.exists() else None
    )
    if not raw:
        return "not recorded"
    return f"prompt {raw['prompt_tok_s']} tok/s, decode {raw['decode_tok_s']} tok/s"


def compare(base: Path, other: Path) -> str:
    """The comparison as printable lines."""
    a, b = _trace(base), _trace(other)
    ids = [i for i in a if i in b]
    same = sum(a[i]["raw_text"] == b[i]["raw_text"] for i in ids)
    da = [d for i in ids if (d := _decode_s_per_token(a[i])) is not None]
    db = [d for i in ids if (d := _decode_s_per_token(b[i])) is not None]
    lines = [
        f"answers compared: {len(ids)}",
        f"same raw text: {same} of {len(ids)}",
    ]
    if da and db:
        ma, mb = statistics.median(da), statistics.median(db)
        lines += [
            f"decode s/token, median: {base.stem} {ma:.4f}, {other.stem} {mb:.4f}"
            f" (ratio {mb / ma:.2f})",
        ]
    lines += [f"raw llama.cpp rates: {base.stem}: {_rates(base)}; {other.stem}: {_rates(other)}"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", type=Path, help="run without prompt lookup (rag eval --out)")
    parser.add_argument("other", type=Path, help="run with it")
    args = parser.parse_args(argv)
    print(compare(args.base, args.other))
    return 0


if __name__ == "__main__":
    sys.exit(main())
