"""Bad inputs through the real `rag ingest`: outcome counts and peak memory.

    python eval/bad_inputs.py [--big-mb 200]

Writes the bad corpus of eval/ragkit/badcorpus.py (230+ entries: empty, binary, Latin-1, UTF-16,
mixed encodings, a 200 MB file, script-stuffed HTML, duplicates, link loops, FIFOs,
unreadable files...) into a temporary folder, ingests it with the real CLI and embedder,
and prints what happened to each kind of input and the peak RSS of the ingest process.
"""

from __future__ import annotations

import argparse
import tempfile
from collections import Counter
from pathlib import Path

from ragkit import badcorpus


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--big-mb", type=int, default=200, help="size of the huge file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bad-inputs-") as tmp:
        folder = Path(tmp) / "inputs"
        entries = badcorpus.make(folder, big_bytes=args.big_mb * 1_000_000)
        run = badcorpus.ingest_cli(folder, entries, Path(tmp) / "index")
    counts: Counter[str] = Counter()
    by_kind: dict[str, Counter[str]] = {}
    unexpected = []
    for path, entry in entries.items():
        got = run.outcomes.get(path, [("MISSING", "")])
        what = got[0][0] if len(got) == 1 else f"{len(got)} outcomes"
        counts[what] += 1
        by_kind.setdefault(entry.kind, Counter())[what] += 1
        if what not in entry.allowed:
            unexpected.append(f"{path}: {entry.kind} -> {got}")
    crashed = run.returncode not in (0, 1) or "Traceback" in run.stderr
    print(f"bad inputs tried: {len(entries)}; exit code {run.returncode}; crashed: {crashed}")
    print("outcomes: " + ", ".join(f"{k} {v}" for k, v in counts.most_common()))
    print(f"peak RSS of `rag ingest`: {run.peak_rss_mb:.0f} MB")
    for kind, c in sorted(by_kind.items()):
        print(f"  {kind:45s} " + ", ".join(f"{k} {v}" for k, v in c.items()))
    for line in unexpected + run.strays:
        print(f"UNEXPECTED {line}")
    return 1 if crashed or unexpected or run.strays else 0


if __name__ == "__main__":
    raise SystemExit(main())
