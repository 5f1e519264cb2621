"""Turn text into unit vectors with the multilingual embedding model.

EmbeddingGemma was trained with task prompts: questions are embedded as
`task: search result | query: ...` and passages as `title: <title> | text: ...`. Using
them (with the article's real title) is what makes an English question land near a
Spanish passage. Vectors are L2-normalised, so a dot product is a cosine similarity.
"""

from __future__ import annotations

import os
import re
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

Vectors = npt.NDArray[np.float32]

QUERY_PROMPT = "task: search result | query: "
DOCUMENT_PROMPT = "title: {title} | text: "
SENTENCE_PROMPT = "task: sentence similarity | query: "


class Embedder(Protocol):
    """What the pipeline needs from an embedding model."""

    model_id: str
    dimension: int

    def embed_query(self, text: str) -> Vectors: ...

    def embed_documents(self, texts: Sequence[str], title: str = "none") -> Vectors: ...

    def embed_sentences(self, texts: Sequence[str]) -> Vectors: ...

    def tokenize(self, text: str) -> list[int]: ...


PRECISION_RECORD = "embed-precision.json"
"""Beside the model folders: the precision chosen per model and CPU, with its timings."""

PRECISION_SAMPLES = [
    "Meta publicó los pesos de su modelo de lenguaje para que investigadores y empresas "
    "pudieran estudiarlo, adaptarlo y construir productos sobre él sin pagar licencias.",
    "La société a annoncé un investissement de 10 milliards de dollars dans des centres de "
    "données, une somme que les analystes jugent considérable pour un logiciel gratuit.",
    "O diretor de inteligência artificial defendeu que os modelos abertos são auditados "
    "mais depressa e melhoram mais cedo do que os modelos fechados da concorrência.",
    "Critics said the release could help competitors, while supporters answered that the "
    "company earns its money from advertising, not from selling software licences.",
    "El Gobierno pidió a las empresas tecnológicas que explicaran cómo se entrenan sus "
    "sistemas y qué datos personales utilizan, antes de la entrada en vigor de la ley.",
    "Les chercheurs ont comparé plusieurs modèles ouverts sur des tâches de traduction et "
    "de résumé, et les écarts avec les modèles fermés se sont nettement réduits.",
]
"""Passages the precision choice is timed and compared on (news-like, four languages)."""

MIN_PRECISION_COSINE = 0.999
"""A lower precision is kept only if every sample's vector stays this close to float32's."""


def _cpuinfo() -> str:
    """/proc/cpuinfo ("" where there is none)."""
    try:
        return Path("/proc/cpuinfo").read_text(encoding="ascii", errors="replace")
    except OSError:
        return ""


def native_bf16() -> bool:
    """True if the CPU has bfloat16 instructions (AVX-512 BF16 or AMX), where bfloat16 is
    fast; elsewhere torch emulates it, several times slower than float32."""
    return any(f in _cpuinfo().split() for f in ("avx512_bf16", "amx_bf16"))


def _cpu_key() -> str:
    """Names this CPU (model name and flags) in the precision record."""
    import platform

    lines = [ln for ln in _cpuinfo().splitlines() if ln.startswith(("model name", "flags"))]
    cpu = "\n".join(dict.fromkeys(lines)) or platform.processor()
    return f"{platform.machine()}-{zlib.crc32(cpu.encode()):08x}"


class SentenceTransformerEmbedder:
    """EmbeddingGemma (or any sentence-transformers model) loaded from a local folder."""

    def __init__(self, path: Path, dtype: str = "auto", batch_size: int = 16) -> None:
        """`dtype` "auto" picks bfloat16 or float32 by measuring both on this machine the
        first time (see `_choose_precision`), then reads the choice from the record."""
        if not (path / "modules.json").exists():
            raise FileNotFoundError(
                f"embedding model not found at {path}; run `rag setup` to fetch it"
            )
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(os.cpu_count() or 1)
        self.model_id = path.name
        self.batch_size = batch_size
        self.precision: dict[str, object] = {"dtype": dtype, "chosen_by": "settings"}
        """The dtype in use and, when "auto" measured it, the figures of that choice."""
        record = path.parent / PRECISION_RECORD
        key = f"{path.name}@{_cpu_key()}"
        if dtype == "auto":
            known = _read_record(record).get(key)
            if known:
                dtype, self.precision = str(known["dtype"]), {**known, "chosen_by": "record"}
        self._model: SentenceTransformer = SentenceTransformer(
            str(path),
            device="cpu",
            local_files_only=True,
            model_kwargs={
                "torch_dtype": torch.float32 if dtype == "auto" else getattr(torch, dtype)
            },
        )
        if dtype == "auto":
            self.precision = self._choose_precision()
            _write_record(record, key, self.precision)
            self.precision["chosen_by"] = "measured now"
        self.dimension = int(self._model.get_embedding_dimension() or 0)

    def _choose_precision(self) -> dict[str, object]:
        """Time float32 and bfloat16 on `PRECISION_SAMPLES`; keep bfloat16 only if it is
        faster and every vector stays within `MIN_PRECISION_COSINE` of float32's."""
        import copy
        import time

        import torch

        def timed(model: SentenceTransformer) -> tuple[float, Vectors]:
            self._model = model
            self.embed_documents(PRECISION_SAMPLES[:2])  # warm
            runs = []
            for _ in range(2):
                started = time.perf_counter()
                vectors = self.embed_documents(PRECISION_SAMPLES)
                runs.append(time.perf_counter() - started)
            return min(runs), vectors

        full = self._model
        f32_s, f32 = timed(full)
        bf16_s, bf16 = timed(copy.deepcopy(full).to(torch.bfloat16))
        cosine = float(np.min(np.sum(f32 * bf16, axis=1)))
        keep_bf16 = bf16_s < f32_s and cosine >= MIN_PRECISION_COSINE
        if not keep_bf16:
            self._model = full
        n = len(PRECISION_SAMPLES)
        return {
            "dtype": "bfloat16" if keep_bf16 else "float32",
            "float32_passages_s": round(n / f32_s, 2),
            "bfloat16_passages_s": round(n / bf16_s, 2),
            "bfloat16_min_cosine": round(cosine, 5),
            "native_bf16": native_bf16(),
        }

    def _encode(self, texts: Sequence[str], prompt: str) -> Vectors:
        vectors = self._model.encode(
            list(texts),
            prompt=prompt,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def embed_query(self, text: str) -> Vectors:
        """One question -> one vector (shape: dimension)."""
        vector: Vectors = self._encode([text], QUERY_PROMPT)[0]
        return vector

    def embed_documents(self, texts: Sequence[str], title: str = "none") -> Vectors:
        """Passages of one article -> vectors (shape: n x dimension)."""
        title = " ".join(title.split()) or "none"
        return self._encode(texts, DOCUMENT_PROMPT.format(title=title))

    def embed_sentences(self, texts: Sequence[str]) -> Vectors:
        """Short sentences compared with each other (citation support checks)."""
        return self._encode(texts, SENTENCE_PROMPT)

    def tokenize(self, text: str) -> list[int]:
        """Token ids of the model's tokenizer (chunk lengths are measured with it)."""
        ids: list[int] = self._model.tokenizer(text, add_special_tokens=False)["input_ids"]
        return ids


def _read_record(path: Path) -> dict[str, dict[str, object]]:
    import json

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_record(path: Path, key: str, choice: dict[str, object]) -> None:
    """Add one choice to the record (written whole, then renamed into place)."""
    import json

    data = {**_read_record(path), key: choice}
    tmp = path.with_suffix(".tmp")
    try:
        tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        tmp.replace(path)
    except OSError:  # a read-only models folder: measured again at the next load
        pass


class HashEmbedder:
    """A cheap, deterministic stand-in for the embedding model: no weights, no torch.

    Words are hashed into `dimension` buckets and the counts L2-normalised, so texts that
    share words are close. Only for drills that start many processes (the crash drill),
    where loading the real model in each one would take most of the time; never for answers.
    """

    def __init__(self, dimension: int = 64) -> None:
        self.model_id = f"word-hash-{dimension}"
        self.dimension = dimension

    def tokenize(self, text: str) -> list[int]:
        """Word and punctuation tokens, as stable integers."""
        return [zlib.crc32(t.encode("utf-8", "replace")) for t in _TOKEN.findall(text)]

    def _vectors(self, texts: Sequence[str]) -> Vectors:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for token in self.tokenize(text.casefold()):
                out[row, token % self.dimension] += 1.0
            out[row, 0] += 1e-3  # an empty text still gets a unit vector
        norms: Vectors = np.linalg.norm(out, axis=1, keepdims=True)
        return out / norms

    def embed_query(self, text: str) -> Vectors:
        vector: Vectors = self._vectors([text])[0]
        return vector

    def embed_documents(self, texts: Sequence[str], title: str = "none") -> Vectors:
        return self._vectors(texts)

    def embed_sentences(self, texts: Sequence[str]) -> Vectors:
        return self._vectors(texts)


_TOKEN = re.compile(r"\w+|[^\w\s]")
