"""The embedder's precision, chosen by measurement on this machine and recorded."""

from __future__ import annotations

import json
from pathlib import Path

from rag.embed import MIN_PRECISION_COSINE, PRECISION_RECORD, SentenceTransformerEmbedder

from .conftest import MODELS


def test_auto_precision_is_measured_once_then_read_from_the_record(tmp_path: Path) -> None:
    model = tmp_path / "embeddinggemma-300m"
    model.symlink_to((MODELS / "embeddinggemma-300m").resolve())

    first = SentenceTransformerEmbedder(model, "auto")
    print(first.precision)
    assert first.precision["chosen_by"] == "measured now"
    assert first.precision["dtype"] in ("float32", "bfloat16")
    if first.precision["dtype"] == "bfloat16":
        cosine = first.precision["bfloat16_min_cosine"]
        assert isinstance(cosine, float)
        assert cosine >= MIN_PRECISION_COSINE
        assert first.precision["bfloat16_passages_s"] > first.precision["float32_passages_s"]  # type: ignore[operator]
    record = json.loads((tmp_path / PRECISION_RECORD).read_text(encoding="utf-8"))
    [(key, choice)] = record.items()
    assert key.startswith("embeddinggemma-300m@")
    assert choice["dtype"] == first.precision["dtype"]

    second = SentenceTransformerEmbedder(model, "auto")
    assert second.precision == {**choice, "chosen_by": "record"}
    assert str(next(second._model.parameters()).dtype) == f"torch.{choice['dtype']}"
