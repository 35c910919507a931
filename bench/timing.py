"""The benchmarks' one way to time a call."""

from __future__ import annotations

import time
from collections.abc import Callable


def per_call(fn: Callable[[], object], repeats: int = 7, budget: float = 0.2) -> float:
    """Seconds per call: the best of ``repeats`` loops of about ``budget`` seconds."""
    fn()
    loops = 1
    while True:
        start = time.perf_counter()
        for _ in range(loops):
            fn()
        if time.perf_counter() - start > budget / 10 or loops > 1 << 20:
            break
        loops *= 2
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(loops):
            fn()
        best = min(best, (time.perf_counter() - start) / loops)
    return best
