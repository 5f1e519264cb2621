"""The long crash drill: kill ingestion with SIGKILL many times and check the index after each.

    python eval/bench_crash.py                 # 200 kills, seed 1
    python eval/bench_crash.py --kills 500 --seed 7 --articles 40

CI runs 20 kills (tests/test_crash_safety.py); this runs as many as asked and prints the
figures: kills, how many landed mid-ingestion, how many left half-written articles (always
invisible, then discarded), failures (must be 0), the slowest reopening of the store.
See eval/ragkit/crashdrill.py for what each round does and checks.
"""

from __future__ import annotations

import sys
import tempfile

from ragkit.crashdrill import main

if __name__ == "__main__":
    args = sys.argv[1:]
    defaults = [] if "--kills" in args else ["--kills", "200"]
    defaults += [] if "--seed" in args else ["--seed", "1"]
    with tempfile.TemporaryDirectory(prefix="crash-drill-") as workdir:
        sys.exit(main([workdir, *defaults, *args]))
