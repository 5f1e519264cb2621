"""The persistent store and idempotent ingestion, on a real Chroma in tmp_path."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rag.answer import Assistant
from rag.config import Settings
from rag.store import Store, StoreMismatch

from .conftest import CORPUS, copy_corpus


@pytest.fixture
def assistant(settings: Settings, embedder) -> Assistant:  # type: ignore[no-untyped-def]
    return Assistant(settings, embedder=embedder)


SMALL = ["002_e09d9c4875df88f1.txt", "003_7fbe2564b3846f7f.txt"]


def test_ingest_is_idempotent(assistant: Assistant, tmp_path: Path) -> None:
    folder = copy_corpus(tmp_path / "articles", SMALL)
    first = assistant.ingest([folder])
    assert sorted(first.added) == SMALL
    ids_before, _ = assistant.store.all_texts()
    second = assistant.ingest([folder])
    assert second.added == []
    assert second.chunks == 0
    assert sorted(second.unchanged) == SMALL
    ids_after, _ = assistant.store.all_texts()
    assert sorted(ids_before) == sorted(ids_after)
    docs = assistant.documents()
    assert {d.language for d in docs.values()} == {"pt", "es"}
    assert all(d.chunks > 0 for d in docs.values())


def test_changed_file_replaces_its_chunks(assistant: Assistant, tmp_path: Path) -> None:
    folder = copy_corpus(tmp_path / "articles", SMALL)
    assistant.ingest([folder])
    old_ids = set(assistant.store.all_texts()[0])
    target = folder / SMALL[1]
    target.write_text(
        target.read_text(encoding="utf-8") + "\nUna frase nueva sobre Llama 4.\n", encoding="utf-8"
    )
    report = assistant.ingest([folder])
    assert report.updated == [SMALL[1]]
    ids, texts = assistant.store.all_texts()
    assert any("Llama 4" in t for t in texts)
    assert len(assistant.documents()) == 2
    # The unchanged article keeps its chunks; the changed one has no stale chunk left.
    stale = old_ids - set(ids)
    assert stale
    assert not any(cid in stale for cid in ids)


def test_duplicate_under_another_name_is_reported(assistant: Assistant, tmp_path: Path) -> None:
    folder = copy_corpus(tmp_path / "articles", SMALL[:1])
    shutil.copy(folder / SMALL[0], folder / "copy-of-article.txt")
    report = assistant.ingest([folder])
    assert len(report.added) == 1
    assert len(report.duplicates) == 1
    assert len(assistant.documents()) == 1


def test_bad_files_are_rejected_and_the_rest_indexed(assistant: Assistant, tmp_path: Path) -> None:
    folder = copy_corpus(tmp_path / "articles", SMALL[:1])
    (folder / "empty.txt").write_text("")
    (folder / "binary.txt").write_bytes(b"\x00\x01\x02" * 100)
    (folder / "notes.pdf").write_bytes(b"%PDF-1.4")
    report = assistant.ingest([folder, tmp_path / "missing"])
    assert report.added == [SMALL[0]]
    reasons = {Path(r.path).name: r.reason for r in report.rejected}
    assert set(reasons) == {"empty.txt", "binary.txt", "notes.pdf", "missing"}
    assert all(reasons.values())


def test_remove_article(assistant: Assistant, tmp_path: Path) -> None:
    assistant.ingest([copy_corpus(tmp_path / "articles", SMALL)])
    assert assistant.remove(SMALL[0])
    assert list(assistant.documents()) == [SMALL[1]]
    assert not assistant.remove("never-indexed.txt")


def test_article_text_is_rebuilt_from_chunk_offsets(assistant: Assistant, tmp_path: Path) -> None:
    from rag.ingest import load_article

    folder = copy_corpus(tmp_path / "articles", SMALL[1:])
    assistant.ingest([folder])
    assert assistant.store.article_text(SMALL[1]) == load_article(folder / SMALL[1]).text


def test_opening_with_another_embedding_model_is_refused(
    settings: Settings, embedder, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    Assistant(settings, embedder=embedder).ingest([copy_corpus(tmp_path / "a", SMALL[:1])])
    path = settings.path(settings.index_dir) / "chroma"
    with pytest.raises(StoreMismatch, match="was built with embedding model"):
        Store(path, settings.collection, "another-model", 384)
    # The index is untouched and still opens with the right model.
    assert (
        len(Store(path, settings.collection, embedder.model_id, embedder.dimension).documents())
        == 1
    )


def test_two_files_with_one_name_in_a_run(assistant: Assistant, tmp_path: Path) -> None:
    first = copy_corpus(tmp_path / "a", SMALL[:1])
    second = tmp_path / "b"
    second.mkdir()
    (second / SMALL[0]).write_text(CORPUS.joinpath(SMALL[1]).read_text(encoding="utf-8"))
    report = assistant.ingest([first, second])
    assert report.added == [SMALL[0]]
    assert len(report.rejected) == 1
    assert "another file named" in report.rejected[0].reason


def test_copy_stays_indexable_after_the_original_changes(
    assistant: Assistant, tmp_path: Path
) -> None:
    folder = copy_corpus(tmp_path / "articles", SMALL[:1])
    assistant.ingest([folder])
    original = folder / SMALL[0]
    original.write_text(
        original.read_text(encoding="utf-8") + "\nUna frase nueva.\n", encoding="utf-8"
    )
    shutil.copy(CORPUS / SMALL[0], folder / "copy.txt")  # the old text, under a new name
    report = assistant.ingest([folder])
    assert report.updated == [SMALL[0]]
    assert report.added == ["copy.txt"]


def test_keyword_index_follows_an_update_with_the_same_chunk_count(
    assistant: Assistant, tmp_path: Path
) -> None:
    folder = copy_corpus(tmp_path / "articles", SMALL[1:])
    assistant.ingest([folder])
    retriever = assistant.retriever
    before = retriever.bm25()
    target = folder / SMALL[1]
    text = target.read_text(encoding="utf-8").replace("PyTorch", "Zyxwvut")
    target.write_text(text, encoding="utf-8")
    assert assistant.ingest([folder]).updated == [SMALL[1]]
    after = retriever.bm25()
    assert after is not before
    assert after.search("Zyxwvut", 3)
