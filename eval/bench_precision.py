"""The embedder's precision: what each dtype costs and what `auto` chose on this machine.

    python eval/bench_precision.py                 # float32, bfloat16 and auto, 3 runs each
    python eval/bench_precision.py --runs 1

For each dtype it loads EmbeddingGemma with that precision, indexes the bundled corpus into
fresh indexes (end to end: read, clean, chunk, embed, store) and prints chunks/s (median),
then the citation check's own cost: embedding 12 answer-like sentences (what the check
embeds per answer, about 3 sentences for the answer and the rest for its evidence when the
store has none), in ms. Then the choice `auto` made (measured at its first load on this
CPU, or read from models/embed-precision.json) and whether the CPU has native bf16.
Run it alone: two cores, and every figure is a time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

from rag.config import Settings
from rag.embed import PRECISION_SAMPLES, native_bf16
from rag.models import make_embedder
from ragkit.bench import bench_ingest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    say = print
    out: dict[str, object] = {"native_bf16": native_bf16()}
    for dtype in ("float32", "bfloat16", "auto"):
        settings = Settings(embed_dtype=dtype)
        say(f"{dtype}:")
        ingest = bench_ingest(settings, args.runs, say)
        embedder = make_embedder(settings)
        sentences = (PRECISION_SAMPLES * 2)[:12]
        embedder.embed_sentences(sentences[:2])
        check_ms = []
        for _ in range(max(3, args.runs)):
            started = time.perf_counter()
            embedder.embed_sentences(sentences)
            check_ms.append((time.perf_counter() - started) * 1000)
        figures = {
            "chunks_per_s": round(ingest["chunks_per_s"]["median"], 2),
            "check_embed_ms": round(statistics.median(check_ms), 1),
            "precision": getattr(embedder, "precision", None),
        }
        out[dtype] = figures
        say(f"  {json.dumps(figures)}")
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
