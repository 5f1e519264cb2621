"""Settings: defaults, sources and their priority, validation, paths, descriptions."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from rag.config import PROJECT_ROOT, Settings


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No RAG_* variables from the caller, no rag.toml in the working directory."""
    for key in list(os.environ):
        if key.startswith("RAG_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


def write_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> Path:
    path = tmp_path / "custom.toml"
    path.write_text(text, encoding="utf-8")
    monkeypatch.setenv("RAG_CONFIG", str(path))
    return path


def test_defaults_are_valid() -> None:
    s = Settings()
    assert s.root == PROJECT_ROOT
    assert s.retrieval_mode == "dense"
    assert s.chunk_overlap < s.chunk_size
    assert 1 <= s.top_k <= s.candidates


def test_env_overrides_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_TOP_K", "3")
    assert Settings().top_k == 3


def test_invalid_env_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_TOP_K", "three")
    with pytest.raises(ValidationError):
        Settings()


def test_keyword_beats_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_TOP_K", "3")
    assert Settings(top_k=2).top_k == 2


def test_toml_named_by_rag_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_toml(tmp_path, monkeypatch, 'top_k = 2\nretrieval_mode = "bm25"\n')
    s = Settings()
    assert s.top_k == 2
    assert s.retrieval_mode == "bm25"


def test_env_beats_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_toml(tmp_path, monkeypatch, 'top_k = 2\nretrieval_mode = "bm25"\n')
    monkeypatch.setenv("RAG_TOP_K", "5")
    s = Settings()
    assert s.top_k == 5
    assert s.retrieval_mode == "bm25"


def test_default_toml_in_working_directory(tmp_path: Path) -> None:
    (tmp_path / "rag.toml").write_text("candidates = 11\n", encoding="utf-8")
    assert Settings().candidates == 11


def test_missing_toml_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_CONFIG", str(tmp_path / "absent.toml"))
    assert Settings().top_k == Settings.model_fields["top_k"].default


def test_unknown_field_in_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_toml(tmp_path, monkeypatch, "top_kk = 2\n")
    with pytest.raises(ValidationError):
        Settings()


@pytest.mark.parametrize(
    "changes",
    [
        {"retrieval_mode": "fuzzy"},
        {"chunk_size": 100, "chunk_overlap": 100},
        {"chunk_size": 100, "chunk_overlap": 150},
        {"top_k": 0},
        {"top_k": 30, "candidates": 20},
        {"no_such_field": 1},
    ],
    ids=[
        "retrieval_mode",
        "overlap-equal",
        "overlap-larger",
        "top_k-0",
        "top_k>candidates",
        "unknown-field",
    ],
)
def test_invalid_settings(changes: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Settings(**changes)  # type: ignore[arg-type]


def test_settings_are_frozen() -> None:
    s = Settings()
    with pytest.raises(ValidationError):
        s.top_k = 9  # type: ignore[misc]
    assert s.with_(top_k=9).top_k == 9
    assert s.top_k != 9


def test_with_validates_changes() -> None:
    with pytest.raises(ValidationError):
        Settings().with_(chunk_overlap=500)


def test_path_resolution(tmp_path: Path) -> None:
    s = Settings(root=tmp_path)
    assert s.path(Path("index")) == tmp_path / "index"
    assert s.path(s.models_dir) == tmp_path / "models"
    absolute = tmp_path.parent / "elsewhere" / "model.gguf"
    assert s.path(absolute) == absolute


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_field_is_described(name: str) -> None:
    description = Settings.model_fields[name].description
    assert description
    assert description.strip()
