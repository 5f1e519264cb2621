"""Stories: the indexed articles that tell the same story (one story, several languages).

A newsroom publishes one story in Spanish and in French; a reader of the Spanish one should
learn that the French one exists, and the prompt's few slots should not go to the same
passage twice. This module says which articles belong together, from their vectors alone:

* an article's vector is the normalised mean of its chunk vectors (the ones the store keeps,
  embedded by the multilingual EmbeddingGemma): a translation lands next to its original,
  whatever the language, while two articles on one topic (two AI stories) stay apart;
* two articles whose vectors are at least `threshold` similar (cosine) are linked, and a
  story is a connected component of those links, so three versions of one story form one
  group. The threshold is `Settings.story_similarity`, measured on both eval corpora
  (`python eval/bench_stories.py`).

Pure functions of vectors: the store reads the vectors (`Store.chunk_vectors`), the
retriever groups them again whenever the committed articles change (`Retriever.stories`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

BLOCK = 1024
"""Articles compared at once: memory stays at BLOCK x articles similarities."""


def article_vector(chunk_vectors: np.ndarray) -> np.ndarray:
    """One article's vector: the mean of its (unit) chunk vectors, normalised."""
    matrix = np.asarray(chunk_vectors, np.float32)
    mean: np.ndarray = matrix.reshape(-1, matrix.shape[-1]).mean(0)
    return mean / max(float(np.linalg.norm(mean)), 1e-12)


def article_vectors(chunks: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Source -> article vector, from source -> its chunk vectors (one row per chunk)."""
    return {src: article_vector(vectors) for src, vectors in chunks.items() if len(vectors)}


def similarities(vectors: Mapping[str, np.ndarray]) -> tuple[list[str], np.ndarray]:
    """The sources (sorted) and their article-to-article cosine similarity matrix."""
    sources = sorted(vectors)
    if not sources:
        return [], np.zeros((0, 0), np.float32)
    matrix = np.stack([vectors[s] for s in sources]).astype(np.float32)
    return sources, matrix @ matrix.T


@dataclass(frozen=True)
class Stories:
    """The indexed articles grouped into stories; an article alone is a story of one."""

    groups: tuple[tuple[str, ...], ...] = ()
    """The stories of two or more articles, each sorted, in the order of their first article."""
    _of: Mapping[str, tuple[str, ...]] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_of", {src: g for g in self.groups for src in g})

    def others(self, source: str) -> tuple[str, ...]:
        """The other articles of `source`'s story (sorted; () for an article alone)."""
        return tuple(s for s in self._of.get(source, ()) if s != source)

    def together(self, a: str, b: str) -> bool:
        """True when two different articles tell the same story."""
        return a != b and b in self._of.get(a, ())


def group(vectors: Mapping[str, np.ndarray], threshold: float) -> Stories:
    """Articles linked when their vectors' cosine similarity is >= `threshold`; each
    connected component of two or more articles is a story."""
    sources = sorted(vectors)
    parent = list(range(len(sources)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    if sources:
        matrix = np.stack([vectors[s] for s in sources]).astype(np.float32)
        for start in range(0, len(sources), BLOCK):
            sims = matrix[start : start + BLOCK] @ matrix.T
            for i, j in zip(*np.nonzero(sims >= threshold), strict=True):
                a, b = root(start + int(i)), root(int(j))
                if a != b:
                    parent[max(a, b)] = min(a, b)
    members: dict[int, list[str]] = {}
    for i, src in enumerate(sources):
        members.setdefault(root(i), []).append(src)
    return Stories(tuple(tuple(m) for _, m in sorted(members.items()) if len(m) > 1))
