"""The benchmarks' one way to time a call."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def _loop_times(fn: Callable[[], object], repeats: int, budget: float) -> list[float]:
    """Seconds per call in each of ``repeats`` loops; the loops are made long
    enough (about a tenth of ``budget``) for the clock to resolve them."""
    fn()
    loops = 1
    while True:
        start = time.perf_counter()
        for _ in range(loops):
            fn()
        if time.perf_counter() - start > budget / 10 or loops > 1 << 20:
            break
        loops *= 2
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(loops):
            fn()
        times.append((time.perf_counter() - start) / loops)
    return times


def per_call(fn: Callable[[], object], repeats: int = 7, budget: float = 0.2) -> float:
    """Seconds per call: the best of ``repeats`` loops of about ``budget`` seconds."""
    return min(_loop_times(fn, repeats, budget))


def median_per_call(fn: Callable[[], object], repeats: int = 15, budget: float = 0.2) -> tuple[float, float, float]:
    """Seconds per call: the median, lower and upper quartile of ``repeats`` loops.

    The median and the quartiles say what a typical call costs and how much
    it wanders, where the best of the loops only says what the quietest
    moment allowed.
    """
    times = _loop_times(fn, repeats, budget)
    if len(times) < 2:
        return times[0], times[0], times[0]
    # "inclusive" keeps the quartiles within the measured range for few repeats.
    lower, median, upper = statistics.quantiles(times, n=4, method="inclusive")
    return median, lower, upper
