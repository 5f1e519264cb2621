"""The install's promises: the chat's install holds no development tool, every package is
pinned, and the README's layout names what the repository holds."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEV_TOOLS = {"pytest", "ruff", "mypy", "playwright", "matplotlib", "sse-starlette"}


def _pins(lock: str) -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (ROOT / lock).read_text(encoding="utf-8").splitlines():
        line = line.split("#")[0].strip()
        if not line:
            continue
        name, sep, version = line.partition("==")
        assert sep, f"{lock}: {line!r} is not pinned with =="
        assert version, f"{lock}: {line!r} has no version"
        pins[re.sub(r"[-_.]+", "-", name).lower()] = version
    return pins


def test_the_runtime_lock_holds_no_development_tool() -> None:
    runtime, dev = _pins("requirements.lock"), _pins("requirements-dev.lock")
    assert not DEV_TOOLS & set(runtime)
    assert set(dev) >= DEV_TOOLS, "the development lock pins the tools"
    assert not set(runtime) & set(dev), "a package is pinned in one lock only"


def test_every_direct_dependency_is_pinned_in_its_lock() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    runtime, dev = _pins("requirements.lock"), _pins("requirements-dev.lock")
    runtime["torch"] = "2.13.0"  # installed first, apart, by run.sh
    for req, lock in [
        *((r, runtime) for r in project["dependencies"]),
        *((r, dev) for r in project["optional-dependencies"]["dev"]),
    ]:
        name, _, version = re.split(r"(==|>=)", req)
        key = re.sub(r"[-_.]+", "-", name).lower()
        assert key in lock, f"{name} is not pinned where it belongs"
        if "==" in req:
            assert lock[key] == version, f"{name}: pyproject says {version}, the lock {lock[key]}"


def _layout_block() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Layout", 1)[1]
    return section.split("```", 2)[1]


def test_the_readme_layout_names_every_tracked_top_level_entry_and_module() -> None:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    files = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    layout = _layout_block()
    named = set(re.findall(r"[\w.*-]+(?:/[\w.*-]+)*/?", layout))
    tops = {f.split("/")[0] + ("/" if "/" in f else "") for f in files}
    missing = [t for t in sorted(tops) if t not in named and not t.startswith(".")]
    missing = [
        t for t in missing if not (t.startswith("requirements") and "requirements*.lock" in named)
    ]
    assert not missing, f"the README's layout does not name {missing}"
    for folder in ("rag", "ui", "eval/ragkit"):
        modules = {Path(f).name for f in files if f.startswith(folder + "/") and f.endswith(".py")}
        absent = [m for m in sorted(modules) if m != "__init__.py" and m not in named]
        assert not absent, f"the README's layout does not name {folder}/{absent}"
