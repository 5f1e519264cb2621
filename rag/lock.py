"""One writer per index: a plain file lock taken by ingest, remove and rebuild.

Chroma's local store is not safe for two processes writing at once, so a writer first
takes an exclusive `flock` on `<index>/writer.lock` and fails at once, with a message
naming the holder, if another process has it. Readers (ask, chat, eval) never take it and
keep working while a writer runs. The kernel drops the lock when its holder dies, even by
SIGKILL, so a crashed ingest never leaves the index locked. Within one thread the lock is
reentrant (the CLI takes it before loading anything, so a second writer fails fast, and the
library takes it again inside).

The holder writes its pid into the file and empties it when it lets go, so a writer that
finds a pid there when it takes the lock knows the previous one died holding it: its
`Lease.after_crash` is set, and the writer checks the index before it writes (rag/check.py).
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rag.config import Settings

LOCK_NAME = "writer.lock"


@dataclass
class Lease:
    """The write lock, held."""

    after_crash: bool = False
    """The previous holder died holding it (a write may have been cut short)."""
    checked: bool = False
    """Set by the writer once it has checked the index after that crash."""


_held: dict[tuple[Path, int], tuple[int, Lease]] = {}
"""(lock file, thread) -> how many times this thread holds it, and its lease."""


class IndexBusy(RuntimeError):
    """Another process is writing to the index; the message is for the user."""


@contextmanager
def writer_lock(index_dir: Path, wait: float = 0.25) -> Iterator[Lease]:
    """Hold the index's write lock for the `with` block; IndexBusy after `wait` seconds."""
    index_dir.mkdir(parents=True, exist_ok=True)
    path = index_dir / LOCK_NAME
    key = (path.resolve(), threading.get_ident())
    if key in _held:
        depth, lease = _held[key]
        _held[key] = (depth + 1, lease)
        try:
            yield lease
        finally:
            _held[key] = (depth, lease)
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise IndexBusy(
                        f"another process is writing to {index_dir} (pid {_holder(path)}); "
                        "try again when it finishes"
                    ) from None
                time.sleep(0.05)
        lease = Lease(after_crash=os.fstat(fd).st_size > 0)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        _held[key] = (1, lease)
        try:
            yield lease
        finally:
            del _held[key]
            os.ftruncate(fd, 0)  # let go cleanly: the next holder sees no crash
    finally:
        os.close(fd)  # releases the lock


def index_lock(settings: Settings) -> AbstractContextManager[Lease]:
    """The write lock of the configured index.

    The on-disk store takes the folder's lock: embedded Chroma is not safe with two writing
    processes. A Chroma server serialises writes itself and may be shared by writers on
    several machines, which a local file could not coordinate anyway, so it takes none.
    """
    if settings.store_backend == "http":
        return nullcontext(Lease())
    return writer_lock(settings.path(settings.index_dir))


def _holder(path: Path) -> str:
    """The pid the lock holder wrote into the lock file ("?" if not written yet)."""
    try:
        return path.read_text(encoding="ascii").strip() or "?"
    except (OSError, UnicodeDecodeError):
        return "?"
