"""The classic example of expression swell: the logistic map, differentiated.

Baydin et al. ("Automatic differentiation in machine learning: a survey",
JMLR 2018, table 1) iterate ``l_{n+1} = 4 l_n (1 − l_n)`` from ``l_0 = x``
and write out ``dl_n/dx``: the derivative written as
a tree grows exponentially, while ``l_n`` itself, as a graph, is one
multiplication and one subtraction per step. Here each ``l_n`` is built as
SymPy builds it (its automatic simplification included), differentiated by
``sympy.diff`` and by :func:`~symbackprop.engine.shared_derivative.shared_diff`
(the same expression, each distinct node once), and sized three ways:

>>> point = logistic_point(2)
>>> point.derivative
16*x*(1 - x)*(8*x - 4) - 16*x*(-4*x*(1 - x) + 1) + 16*(1 - x)*(-4*x*(1 - x) + 1)
>>> point.map_size.tree_ops, point.derivative_size.tree_ops, point.derivative_size.graph_nodes
(10, 25, 17)
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sympy as sp
from sympy.core.cache import clear_cache

from ..engine.routes import ExpressionSize, expression_size
from ..engine.shared_derivative import shared_diff
from ..errors import NetworkSpecError, echo
from ..guards import MAX_SWEEP_POINTS, SWEEP_LARGEST, is_count
from .compare import compact_count, format_seconds
from .growth import GrowthLaw, fit_growth
from .stages import cse_ops

if TYPE_CHECKING:
    from rich.table import Table

X = sp.Symbol("x")


def logistic_map(n: int) -> sp.Expr:
    """``l_n``: ``l_0 = x``, ``l_{k+1} = 4 l_k (1 − l_k)``, as SymPy writes it.

    >>> logistic_map(1), logistic_map(0)
    (4*x*(1 - x), x)
    """
    if not is_count(n, low=0, high=SWEEP_LARGEST["logistic"]):
        raise NetworkSpecError(
            f"the logistic map is iterated 0 to {SWEEP_LARGEST['logistic']} times; got {echo(n)}"
        )
    value: sp.Expr = X
    for _ in range(n):
        value = 4 * value * (1 - value)
    return value


@dataclass(frozen=True)
class LogisticPoint:
    """``l_n`` and ``dl_n/dx``, their sizes (as trees, as distinct nodes, after
    CSE) and the seconds ``sympy.diff`` and ``shared_diff`` took."""

    n: int
    derivative: sp.Expr
    map_size: ExpressionSize
    map_cse: int
    derivative_size: ExpressionSize
    derivative_cse: int
    diff_seconds: float
    shared_seconds: float


def logistic_point(n: int) -> LogisticPoint:
    """Measure ``dl_n/dx``. The two derivatives must be the same expression.

    >>> logistic_point(1).derivative
    4 - 8*x
    """
    value = logistic_map(n)
    derivative, diff_seconds = _fastest(lambda: sp.diff(value, X))
    shared, shared_seconds = _fastest(lambda: shared_diff(value, X))
    if shared != derivative:  # pragma: no cover - shared_diff reproduces sympy.diff; tests hold it to that
        raise AssertionError(f"shared_diff and sympy.diff differ on l_{n}")
    return LogisticPoint(n, derivative, expression_size([value]), cse_ops([value]),
                         expression_size([derivative]), cse_ops([derivative]), diff_seconds, shared_seconds)


def _fastest(differentiate, budget: float = 0.5, repeats: int = 5) -> tuple[sp.Expr, float]:
    """The result and the fastest of a few runs (as many as fit ``budget``
    seconds, at most ``repeats``), each from an empty SymPy cache: no run
    reuses the derivatives another one (or a smaller ``n``) stored."""
    best, spent = float("inf"), 0.0
    for _ in range(repeats):
        clear_cache()
        start = time.perf_counter()
        result = differentiate()
        seconds = time.perf_counter() - start
        best, spent = min(best, seconds), spent + seconds
        if spent > budget:
            break
    return result, best


#: What the sweep fits: (name, label, kind of law).
LOGISTIC_FIGURES = (
    ("derivative_tree", "dl_n/dx: operations, as a tree", "exponential"),
    ("derivative_nodes", "dl_n/dx: distinct nodes", "power"),
    ("derivative_cse", "dl_n/dx: operations after CSE", "power"),
    ("diff_seconds", "sympy.diff (s)", "exponential"),
    ("shared_seconds", "shared_diff (s)", "power"),
)


def _value(point: LogisticPoint, name: str) -> float:
    return float({
        "derivative_tree": point.derivative_size.tree_ops,
        "derivative_nodes": point.derivative_size.graph_nodes,
        "derivative_cse": point.derivative_cse,
        "diff_seconds": point.diff_seconds,
        "shared_seconds": point.shared_seconds,
    }[name])


LOGISTIC_NOTE = (
    "l_0 = x, l_{n+1} = 4 l_n (1 − l_n) (Baydin et al., JMLR 2018). Sizes: operations written as a tree / "
    "distinct nodes of SymPy's graph / operations after CSE. sympy.diff walks trees; shared_diff applies "
    "the same rules once per distinct node and returns the same expression."
)


@dataclass
class LogisticSweep:
    """``dl_n/dx`` measured for growing ``n``."""

    points: list[LogisticPoint]

    def laws(self) -> list[GrowthLaw]:
        """Exponential laws in ``n`` for the tree and sympy.diff's time, power
        laws for the shared graph and shared_diff's time."""
        laws = []
        for name, _, kind in LOGISTIC_FIGURES:
            law = fit_growth("logistic", name, kind, "n", [(p.n, _value(p, name)) for p in self.points])
            if law is not None:
                laws.append(law)
        return laws

    def _cells(self, p: LogisticPoint) -> list[str]:
        def sizes(size: ExpressionSize, cse: int) -> str:
            return " / ".join(map(compact_count, (size.tree_ops, size.graph_nodes, cse)))

        return [str(p.n), sizes(p.map_size, p.map_cse), sizes(p.derivative_size, p.derivative_cse),
                f"{p.derivative_size.tree_ops / p.map_size.tree_ops:.1f}× / "
                f"{p.derivative_size.graph_nodes / p.map_size.graph_nodes:.1f}× / "
                f"{p.derivative_cse / p.map_cse:.1f}×",
                format_seconds(p.diff_seconds), format_seconds(p.shared_seconds)]

    COLUMNS = ("n", "l_n: ops / nodes / CSE", "dl_n/dx: ops / nodes / CSE", "derivative ÷ l_n",
               "sympy.diff", "shared_diff")

    def table(self) -> Table:
        """The sweep as a rich table.

        >>> logistic_sweep([1, 2]).table().row_count
        2
        """
        from rich.table import Table

        table = Table(title="expression swell: the logistic map", caption=LOGISTIC_NOTE, caption_justify="left")
        for column in self.COLUMNS:
            table.add_column(column, justify="right")
        for p in self.points:
            table.add_row(*self._cells(p))
        return table

    def laws_table(self) -> Table:
        """The fitted laws as a rich table."""
        from rich.table import Table

        table = Table(title="growth laws (least squares in log space)")
        for column in ("figure", "law", "R²", "points"):
            table.add_column(column, justify="right" if column in ("R²", "points") else "left")
        for law in self.laws():
            table.add_row(*_law_cells(law))
        return table

    def markdown(self) -> str:
        """The sweep and its laws as Markdown tables."""
        lines = ["| " + " | ".join(self.COLUMNS) + " |", "|---:|---:|---:|---:|---:|---:|"]
        lines += ["| " + " | ".join(self._cells(p)) + " |" for p in self.points]
        lines += ["", LOGISTIC_NOTE, "", "| figure | law | R² | points |", "|---|---|---:|---:|"]
        lines += ["| " + " | ".join(_law_cells(law)) + " |" for law in self.laws()]
        return "\n".join(lines)

    def chart(self) -> str:
        """Sizes and times against ``n`` as an SVG chart (log scale).

        >>> logistic_sweep([1, 2, 3]).chart().count('class="panel"')
        2
        """
        from .chart import Panel, Series, svg_chart

        laws = {law.figure: law for law in self.laws()}

        def series(name: str, label: str) -> Series:
            measured = [(float(p.n), _value(p, name)) for p in self.points]
            law = laws.get(name)
            fitted = [(x, law.predict(x)) for x, _ in measured] if law else []
            return Series(label, measured, fitted, (), law.describe() if law else "")

        sizes = Panel("Size of dl_n/dx", "n", "size", [
            series("derivative_tree", "operations, as a tree"),
            series("derivative_nodes", "distinct nodes"),
            series("derivative_cse", "operations after CSE"),
        ])
        times = Panel("Time to differentiate", "n", "seconds", [
            series("diff_seconds", "sympy.diff"),
            series("shared_seconds", "shared_diff"),
        ])
        return svg_chart([sizes, times], "Expression swell: the logistic map lₙ₊₁ = 4 lₙ (1 − lₙ)",
                         "the same derivative, written as a tree, as SymPy's graph and after CSE")


def _law_cells(law: GrowthLaw) -> list[str]:
    labels = {name: label for name, label, _ in LOGISTIC_FIGURES}
    r_squared = "—" if law.r_squared is None else f"{law.r_squared:.3f}"
    return [labels[law.figure], law.describe(), r_squared, str(law.points)]


def logistic_sweep(points: Sequence[int]) -> LogisticSweep:
    """Measure ``dl_n/dx`` for each ``n`` in ``points`` (smallest first).

    >>> [p.derivative_size.graph_nodes for p in logistic_sweep([3, 1]).points]
    [5, 26]
    >>> logistic_sweep([0])
    Traceback (most recent call last):
    ...
    symbackprop.errors.NetworkSpecError: a logistic sweep takes 1 to 40 points, whole numbers n from 1 to 14; got [0]
    """
    largest = SWEEP_LARGEST["logistic"]
    if isinstance(points, (str, bytes)) or not isinstance(points, Sequence) or not points \
            or len(points) > MAX_SWEEP_POINTS \
            or not all(is_count(n, high=largest) for n in points):
        raise NetworkSpecError(
            f"a logistic sweep takes 1 to {MAX_SWEEP_POINTS} points, whole numbers n from 1 to {largest}; "
            f"got {echo(points)}"
        )
    return LogisticSweep([logistic_point(n) for n in sorted(set(points))])


__all__ = ["LogisticPoint", "LogisticSweep", "logistic_map", "logistic_point", "logistic_sweep"]
