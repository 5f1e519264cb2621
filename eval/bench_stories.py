"""Which articles tell the same story: the figures behind `Settings.story_similarity`.

    python eval/bench_stories.py                    # both corpora, fresh temporary indexes
    python eval/bench_stories.py --keep /tmp/idx    # keep (and reuse) the indexes there

Indexes the bundled corpus (corpus/: 000 and 001 are one story in Spanish and French) and
the XQuAD-derived one (eval/xquad/corpus/: 20 distinct articles, nothing should group),
each into an index of its own, and prints for each the article-to-article similarity
matrix of the article vectors rag/stories.py groups by (the normalised mean of an article's
chunk vectors), the known twins' similarity, the highest pair of two other articles, and
the groups the configured threshold makes. Then the same two figures for two other article
scores, for comparison: the normalised mean of the sentence vectors, and chunk alignment
(the mean, over both articles' chunks, of each chunk's best match in the other article).
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from rag import stories
from rag.answer import Assistant
from rag.config import PROJECT_ROOT, Settings
from rag.models import make_embedder

CORPORA = {
    "news": (PROJECT_ROOT / "corpus", {("000_58cfdf2857a910d3.txt", "001_fb4bc891a711a523.txt")}),
    "xquad": (PROJECT_ROOT / "eval" / "xquad" / "corpus", set()),
}
"""Name -> (folder, the pairs of articles that tell one story)."""

Pairs = set[tuple[str, str]]


def figures(sources: list[str], matrix: np.ndarray, twins: Pairs) -> tuple[float | None, float]:
    """The lowest twin similarity (None without twins) and the highest other pair's."""
    twin, other = [], []
    for i in range(len(sources)):
        for j in range(i + 1, len(sources)):
            (twin if (sources[i], sources[j]) in twins else other).append(float(matrix[i, j]))
    return (min(twin) if twin else None), max(other, default=-1.0)


def pair_of(sources: list[str], matrix: np.ndarray, twins: Pairs) -> str:
    """The highest pair that is not a known twin, named."""
    best, names = -2.0, ""
    for i in range(len(sources)):
        for j in range(i + 1, len(sources)):
            if (sources[i], sources[j]) not in twins and matrix[i, j] > best:
                best, names = float(matrix[i, j]), f"{sources[i]} / {sources[j]}"
    return names


def print_matrix(sources: list[str], matrix: np.ndarray) -> None:
    short = [s.split("_")[0] for s in sources]
    print("      " + " ".join(f"{s:>5}" for s in short))
    for name, row in zip(short, matrix, strict=True):
        print(f"{name:>5} " + " ".join(f"{x:5.2f}" for x in row))


def alignment(chunks: dict[str, np.ndarray]) -> tuple[list[str], np.ndarray]:
    """Chunk alignment: for two articles, the mean of every chunk's best cosine in the other."""
    sources = sorted(chunks)
    out = np.eye(len(sources), dtype=np.float32)
    for i, a in enumerate(sources):
        for j in range(i + 1, len(sources)):
            sims = chunks[a] @ chunks[sources[j]].T
            both = np.concatenate([sims.max(1), sims.max(0)])
            out[i, j] = out[j, i] = float(both.mean())
    return sources, out


def measure(assistant: Assistant, twins: Pairs, threshold: float) -> dict[str, object]:
    """Print one corpus's matrix and figures; returns them."""
    chunks = assistant.store.chunk_vectors()
    sources, matrix = stories.similarities(stories.article_vectors(chunks))
    print_matrix(sources, matrix)
    twin, other = figures(sources, matrix, twins)
    if twin is not None:
        print(f"twins (lowest): {twin:.3f}")
    print(f"highest other pair: {other:.3f} ({pair_of(sources, matrix, twins)})")
    grouped = stories.group(stories.article_vectors(chunks), threshold).groups
    print(f"groups at {threshold}: {[list(g) for g in grouped] or 'none'}")
    sentences = assistant.store.sentences(sources)
    alternatives: dict[str, Callable[[], tuple[list[str], np.ndarray]]] = {
        "mean of sentence vectors": lambda: stories.similarities(
            {
                s: stories.article_vector(np.stack([r.vector for r in v]))
                for s, v in sentences.items()
            }
        ),
        "chunk alignment": lambda: alignment(chunks),
    }
    for name, score in alternatives.items():
        alt_sources, alt = score()
        t, o = figures(alt_sources, alt, twins)
        shown = "" if t is None else f"twins {t:.3f}, "
        print(f"  for comparison, {name}: {shown}highest other pair {o:.3f}")
    return {"twins": twin, "highest_other": other, "groups": grouped}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="folder for the indexes (default: temporary)")
    args = parser.parse_args(argv)
    base = Settings()
    embedder = make_embedder(base)
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp)
        results = {}
        for name, (folder, twins) in CORPORA.items():
            assistant = Assistant(base.with_(index_dir=root / name), embedder=embedder)
            report = assistant.ingest([folder])
            print(f"\n== {name} ({folder}): {report.summary()}")
            results[name] = measure(assistant, twins, base.story_similarity)
    news, xquad = results["news"], results["xquad"]
    print(
        f"\nstory_similarity {base.story_similarity}: news twins {news['twins']:.3f}, highest "
        f"other pair {news['highest_other']:.3f} (news), {xquad['highest_other']:.3f} (xquad)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
