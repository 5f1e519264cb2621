"""Stories (rag/stories.py): the articles that tell the same story are grouped, from the
real embedder's vectors, and the groups follow the index as articles come and go."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rag import stories
from rag.answer import Assistant
from rag.config import Settings
from rag.embed import Embedder

from .conftest import CORPUS, FakeGenerator, copy_corpus

SPANISH, FRENCH = "000_58cfdf2857a910d3.txt", "001_fb4bc891a711a523.txt"
OTHER = "003_7fbe2564b3846f7f.txt"


def unit(*xs: float) -> np.ndarray:
    v = np.asarray(xs, np.float32)
    return v / np.linalg.norm(v)


def test_groups_are_connected_components_above_the_threshold() -> None:
    vectors = {
        "a": unit(1, 0, 0),
        "b": unit(1, 0.3, 0),  # close to a
        "c": unit(1, 0.75, 0),  # close to b, not to a: one story through b
        "d": unit(0, 0, 1),
    }
    grouped = stories.group(vectors, 0.93)  # a-b 0.96, b-c 0.94, a-c 0.80
    assert grouped.groups == (("a", "b", "c"),)
    assert grouped.others("a") == ("b", "c")
    assert grouped.others("d") == ()
    assert grouped.together("a", "c")
    assert not grouped.together("a", "d")
    assert not grouped.together("a", "a")
    assert stories.group(vectors, 0.999).groups == ()
    assert stories.group({}, 0.5).groups == ()


def test_article_vector_is_the_normalised_mean_of_its_chunks() -> None:
    v = stories.article_vector(np.stack([unit(1, 0), unit(0, 1)]))
    assert np.allclose(v, unit(1, 1))


def test_the_bundled_story_in_two_languages_is_grouped_and_nothing_else(
    corpus_assistant: Assistant,
) -> None:
    chunks = corpus_assistant.store.chunk_vectors()
    sources, sims = stories.similarities(stories.article_vectors(chunks))
    threshold = corpus_assistant.settings.story_similarity
    twin = float(sims[sources.index(SPANISH), sources.index(FRENCH)])
    others = [
        float(sims[i, j])
        for i in range(len(sources))
        for j in range(i + 1, len(sources))
        if {sources[i], sources[j]} != {SPANISH, FRENCH}
    ]
    assert twin > threshold + 0.02 > threshold - 0.02 > max(others), (twin, max(others))
    assert corpus_assistant.retriever.stories().groups == ((SPANISH, FRENCH),)
    docs = corpus_assistant.documents()
    assert docs[SPANISH].story == (FRENCH,)
    assert docs[FRENCH].story == (SPANISH,)
    assert all(not d.story for s, d in docs.items() if s not in (SPANISH, FRENCH))
    assert [d.source for d in corpus_assistant.story(SPANISH)] == [FRENCH]
    assert corpus_assistant.story(FRENCH)[0].language == "es"
    assert corpus_assistant.story(OTHER) == ()


def test_the_api_lists_each_article_with_its_story(corpus_assistant: Assistant) -> None:
    from fastapi.testclient import TestClient

    from rag.api import create_app

    listed = TestClient(create_app(corpus_assistant)).get("/articles").json()
    by_source = {a["source"]: a["story"] for a in listed}
    assert by_source[SPANISH] == [FRENCH]
    assert by_source[OTHER] == []


@pytest.mark.parametrize("how", ["remove", "change"])
def test_a_removed_or_changed_article_leaves_its_story(
    settings: Settings, embedder: Embedder, tmp_path: Path, how: str
) -> None:
    folder = copy_corpus(tmp_path / "articles", [SPANISH, FRENCH])
    assistant = Assistant(settings, embedder=embedder, generator=FakeGenerator())
    assistant.ingest([folder])
    reader = Assistant(settings, embedder=embedder, generator=FakeGenerator())  # another one
    assert [d.source for d in reader.story(SPANISH)] == [FRENCH]

    if how == "remove":
        assert assistant.remove(FRENCH)
    else:  # the file now tells another story
        (folder / FRENCH).write_bytes((CORPUS / OTHER).read_bytes())
        assert assistant.ingest([folder / FRENCH]).updated == [FRENCH]
    assert assistant.story(SPANISH) == ()
    assert reader.story(SPANISH) == (), "a reader sees the new groups too"
    assert reader.documents()[SPANISH].story == ()

    (folder / FRENCH).write_bytes((CORPUS / FRENCH).read_bytes())
    assistant.ingest([folder / FRENCH])
    assert [d.source for d in reader.story(SPANISH)] == [FRENCH], "and back again"
