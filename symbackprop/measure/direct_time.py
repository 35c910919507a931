"""Where the direct route's time goes: substitution, differentiation, simplification.

The direct route writes ``C`` out (substitution), differentiates it by each
parameter (``sympy.diff``), and its gradients are only useful once brought to
a canonical form in which they can be compared (the exact proof's expansion:
the project never calls ``simplify``). Each stage is timed from an empty
SymPy cache, in CPU seconds. Differentiation is then split in two ways:

- by running the same rules once per distinct node (:func:`shared_diff`,
  which returns the same expressions): what remains of ``sympy.diff``'s
  time is the cost of walking trees;
- by profiling ``sympy.diff``: the share of its time spent in the two walks
  every nested ``Derivative`` makes over its argument's tree (its free
  symbols, and making inner derivatives canonical).

>>> from symbackprop import Network
>>> t = direct_time(Network([2, 1]), profile=False)
>>> t.parameters, t.walk_share is None, t.differentiate > 0
(3, True, True)
"""

from __future__ import annotations

import cProfile
import pstats
import time
from collections.abc import Callable
from dataclasses import dataclass

from sympy.core.cache import clear_cache

from ..engine.network import LayeredModel
from ..engine.routes import delta_route, expression_size
from ..engine.shared_derivative import shared_diff
from ..proof.verify import prove_equal


@dataclass(frozen=True)
class DirectTime:
    """Seconds of each stage of the direct route on one model.

    ``substitute``: ``C`` written out in inputs and parameters;
    ``differentiate``: ``sympy.diff`` by every parameter; ``shared``: the
    same derivatives by :func:`shared_diff`; ``simplify``: every gradient
    proved equal to the δ route's (expansion to a canonical form);
    ``walk_share``: the fraction of profiled ``sympy.diff`` time inside the
    tree walks of ``Derivative`` (None when not profiled); ``tree_ops`` and
    ``graph_nodes``: the size of all the gradients.
    """

    model: str
    parameters: int
    substitute: float
    differentiate: float
    shared: float
    simplify: float
    walk_share: float | None
    tree_ops: int
    graph_nodes: int


def _timed(work: Callable[[], object]) -> tuple[object, float]:
    # CPU seconds of this process: on a shared machine, wall-clock time would
    # measure the other processes too.
    clear_cache()
    start = time.process_time()
    result = work()
    return result, time.process_time() - start


def direct_time(model: LayeredModel, *, profile: bool = True) -> DirectTime:
    """Time the stages of the direct route on ``model`` (see the module's text)."""
    cost, substitute = _timed(model.cost_substituted)
    gradients, differentiate = _timed(lambda: {p: cost.diff(p) for p in model.parameters})
    shared, shared_seconds = _timed(lambda: {p: shared_diff(cost, p) for p in model.parameters})
    if shared != gradients:  # pragma: no cover - tests hold shared_diff to sympy.diff
        raise AssertionError("shared_diff and sympy.diff differ")
    route = delta_route(model)
    written_out = {p: route.expanded(p) for p in model.parameters}
    proved, simplify = _timed(lambda: all(prove_equal(gradients[p], written_out[p]) for p in model.parameters))
    if not proved:  # pragma: no cover - the two routes are proved equal throughout the tests
        raise AssertionError("the direct route and the δ route differ")
    size = expression_size(list(gradients.values()))
    share = _walk_share(model, cost) if profile else None
    return DirectTime(model.describe(), model.parameter_count, substitute, differentiate, shared_seconds,
                      simplify, share, size.tree_ops, size.graph_nodes)


def _walk_share(model: LayeredModel, cost) -> float:
    """The fraction of ``sympy.diff``'s profiled time that ``Derivative(…)``
    spends in ``Basic.free_symbols`` and ``Basic.replace``, its two walks over
    its argument's tree."""
    profiler = cProfile.Profile()
    clear_cache()
    profiler.enable()
    for p in model.parameters:
        cost.diff(p)
    profiler.disable()
    stats = pstats.Stats(profiler)
    total, walks = stats.total_tt, 0.0
    for (filename, _, name), (_, _, _, _, callers) in stats.stats.items():
        if name in ("free_symbols", "replace") and filename.endswith("basic.py"):
            walks += sum(
                c[3] for (f, _, n), c in callers.items() if n == "__new__" and f.endswith("function.py")
            )
    return walks / total if total else 0.0


def markdown(rows: list[DirectTime]) -> str:
    """The measurements as a Markdown table.

    >>> print(markdown([DirectTime("2-1", 3, 1e-3, 0.02, 0.004, 0.01, 0.8, 30, 20)]).splitlines()[2])
    | 2-1 | 3 | 30 / 20 | 1.0 ms | 20.0 ms (80% tree walks) | 4.0 ms | 10.0 ms |
    """
    from .compare import format_seconds

    lines = [
        "| model | params | gradients: ops / nodes | substitute (C written out) | differentiate (sympy.diff) "
        "| the same, each node once (shared_diff) | simplify (expand, prove equal to δ) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        walks = f" ({r.walk_share:.0%} tree walks)" if r.walk_share is not None else ""
        lines.append(
            f"| {r.model} | {r.parameters} | {r.tree_ops:,} / {r.graph_nodes:,} | {format_seconds(r.substitute)} "
            f"| {format_seconds(r.differentiate)}{walks} | {format_seconds(r.shared)} | {format_seconds(r.simplify)} |"
        )
    return "\n".join(lines)


__all__ = ["DirectTime", "direct_time", "markdown"]
