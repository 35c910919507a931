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


def interleaved_per_call(
    fns: dict[str, Callable[[], object]], repeats: int = 31, budget: float = 0.2, baseline: str | None = None
) -> dict[str, tuple[float, float, float, float | None]]:
    """Seconds per call of each of ``fns``, their loops taken in turn.

    Each round times one loop of every function (about a tenth of ``budget``
    each), in an order rotated from round to round, so that a change of load
    on a shared machine falls on all of them alike rather than on whichever
    ran at that moment. Returns, per name, the median, lower and upper
    quartile of the rounds and the median over the rounds of the ratio to
    ``baseline``'s loop in the same round (None without a baseline).
    """
    names = list(fns)
    loops = {}
    for name, fn in fns.items():
        fn()
        n = 1
        while True:
            start = time.perf_counter()
            for _ in range(n):
                fn()
            if time.perf_counter() - start > budget / 10 or n > 1 << 20:
                break
            n *= 2
        loops[name] = n
    times: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(repeats):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            fn, n = fns[name], loops[name]
            start = time.perf_counter()
            for _ in range(n):
                fn()
            times[name].append((time.perf_counter() - start) / n)
    result = {}
    for name, series in times.items():
        lower, median, upper = statistics.quantiles(series, n=4, method="inclusive") if len(series) > 1 else series * 3
        ratio = None
        if baseline is not None:
            ratio = statistics.median(t / b for t, b in zip(series, times[baseline]))
        result[name] = (median, lower, upper, ratio)
    return result
