"""The real llama.cpp runtime on the smallest model: streaming and counters."""

from __future__ import annotations

from rag.generate import GenerationStats, LlamaCppGenerator
from rag.prompts import build_messages
from rag.schema import Passage


def test_streams_tokens_and_counts_them(tiny_generator: LlamaCppGenerator) -> None:
    passage = Passage("c1", "a.txt", "Title", "en", "Meta released Llama openly.", 0, 27, 0.0, 0.9)
    messages = build_messages("Why did Meta release Llama?", "en", [passage])
    stats = GenerationStats()
    pieces = list(tiny_generator.stream(messages, max_tokens=16, stats=stats))
    assert pieces
    assert all(isinstance(p, str) for p in pieces)
    assert 0 < stats.completion_tokens <= 16
    assert stats.prompt_tokens > 50


def test_missing_model_file_is_a_clear_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import pytest

    with pytest.raises(FileNotFoundError, match="rag setup"):
        LlamaCppGenerator(tmp_path / "nope.gguf")
