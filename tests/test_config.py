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


# ---------------------------------------------------------------- scaling out: backends


def test_backends_default_to_embedded() -> None:
    s = Settings()
    assert (s.store_backend, s.llm_backend) == ("embedded", "llama_cpp")


def test_server_backends_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_STORE_BACKEND", "http")
    monkeypatch.setenv("RAG_CHROMA_HOST", "chroma.internal")
    monkeypatch.setenv("RAG_CHROMA_HEADERS", '{"Authorization": "Bearer chroma-secret"}')
    monkeypatch.setenv("RAG_LLM_BACKEND", "openai")
    monkeypatch.setenv("RAG_LLM_BASE_URL", "http://vllm:8000/v1")
    monkeypatch.setenv("RAG_LLM_MODEL_NAME", "Qwen/Qwen2.5-7B-Instruct")
    monkeypatch.setenv("RAG_LLM_API_KEY", "sk-secret")
    s = Settings()
    assert s.chroma_host == "chroma.internal"
    assert s.chroma_headers["Authorization"].get_secret_value() == "Bearer chroma-secret"
    assert s.llm_api_key is not None
    assert s.llm_api_key.get_secret_value() == "sk-secret"
    # Secrets never show when settings are printed or logged.
    for text in (repr(s), str(s), s.model_dump_json()):
        assert "sk-secret" not in text
        assert "chroma-secret" not in text
    assert s.with_(top_k=3).llm_api_key == s.llm_api_key


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"llm_backend": "openai", "llm_model_name": "m"}, "needs llm_base_url"),
        (
            {"llm_backend": "openai", "llm_base_url": "vllm:8000", "llm_model_name": "m"},
            "needs llm_base_url",
        ),
        ({"llm_backend": "openai", "llm_base_url": "http://h/v1"}, "needs llm_model_name"),
        ({"store_backend": "http", "chroma_host": ""}, "needs chroma_host"),
        ({"llm_parallel": 0}, "llm_parallel"),
    ],
    ids=["no-url", "url-without-scheme", "no-model-name", "no-chroma-host", "parallel-0"],
)
def test_invalid_backend_combinations(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Settings(**changes)  # type: ignore[arg-type]


@pytest.mark.parametrize("line", ['llm_api_key = "sk-x"', 'chroma_headers = {X-Token = "t"}'])
def test_secrets_are_refused_in_toml(
    line: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_toml(tmp_path, monkeypatch, line + "\n")
    with pytest.raises(ValueError, match="is a secret: set it in the environment"):
        Settings()


def test_backends_in_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_toml(
        tmp_path,
        monkeypatch,
        'store_backend = "http"\nchroma_port = 8001\nllm_backend = "openai"\n'
        'llm_base_url = "http://127.0.0.1:8080/v1"\nllm_model_name = "qwen"\n',
    )
    s = Settings()
    assert (s.store_backend, s.chroma_port, s.llm_backend) == ("http", 8001, "openai")
