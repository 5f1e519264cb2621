"""How much longer than usual to wait on this machine: timeouts that scale with the CPU.

The suite runs on whatever machine CI has, and those differ in speed by 3.5 times and
more, with a second job sometimes sharing the two cores. A fixed wait (a server ready in
120 s) that fits the developers' machine fails on a slow one. So every readiness wait and
subprocess timeout in the tests is `patience(seconds)`: the bound that fits the
developers' machine, times this machine's slowness, measured once per run by timing a
small fixed CPU workload against the time it took there.

`RAG_TEST_SLOWDOWN` sets the factor instead (e.g. 4 on a machine known to be slow).
"""

from __future__ import annotations

import os
import time
from functools import cache

REFERENCE_S = 0.23
"""Seconds `_workload` took on the developers' machine, median of 5, idle: a 2-core Xeon
(AVX-512, AMX) where raw llama.cpp ran the default model at 31.5 prompt / 8.0 decode
tokens/s, the suite's bounds were set on it or on faster ones."""


def _workload() -> float:
    """A fixed mix of interpreter and numpy work (what the tests' slow parts do); seconds."""
    import numpy as np

    started = time.perf_counter()
    total = 0
    for i in range(400_000):
        total += i * i % 7
    a = np.random.default_rng(0).standard_normal((384, 384), dtype=np.float32)
    for _ in range(20):
        a = np.tanh(a @ a / 384)
    return time.perf_counter() - started


@cache
def slowdown() -> float:
    """This machine's slowness against the developers' (at least 1; see the module)."""
    forced = os.environ.get("RAG_TEST_SLOWDOWN")
    if forced:
        return max(1.0, float(forced))
    runs = sorted(_workload() for _ in range(5))
    return max(1.0, runs[2] / REFERENCE_S)


def patience(seconds: float) -> float:
    """`seconds` (a bound that fits the developers' machine) scaled to this one."""
    return seconds * slowdown()
