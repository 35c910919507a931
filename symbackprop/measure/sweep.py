"""Sweeps: the comparison repeated as the depth or the width of a network
grows, with its table, its growth laws and its chart."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..errors import NetworkSpecError, echo
from ..guards import MAX_SWEEP_POINTS, SWEEP_LARGEST, is_count
from .compare import (
    RATIO_NOTE,
    Comparison,
    check_run_settings,
    compact_count,
    format_seconds,
    measure_all,
    ratio_cells,
)
from .growth import GrowthLaw, fit_growth
from .stages import (
    FAILED,
    OVER_CAP,
    PATH_ROUTES,
    ROUTE_TITLES,
    ROUTES,
    NetworkSpec,
    RouteMeasurement,
    chain_rule_terms,
    warm_up,
)
from .worker import Worker

if TYPE_CHECKING:
    from rich.table import Table

#: The exact law behind the direct route's growth (see :func:`chain_rule_terms`).
PATHS_LAW = (
    "Σ paths = Σ_l (n_l n_{l−1} + n_l) Π_{m>l} n_m: the chain-rule products of the gradients "
    "written out, a product of widths; the δ recurrence needs one per local derivative, "
    "linear in the parameters."
)


@dataclass
class SweepPoint:
    """One network of a sweep: its place on the x axis and its routes."""

    x: int
    comparison: Comparison

    @property
    def sizes(self) -> tuple[int, ...]:
        return self.comparison.spec.sizes


#: The figures a sweep fits and charts: (field, label, the stage that measures it).
SWEEP_FIGURES = (
    ("derive_seconds", "derivation time (s)", "derive"),
    ("tree_ops", "operations, as a tree", "size"),
    ("graph_nodes", "distinct nodes (SymPy's graph)", "size"),
    ("cse_ops", "operations after CSE", "size"),
    ("evaluate_seconds", "gradient evaluation (s)", "evaluate"),
)
#: The sizes of a shared graph: fitted as a power of the depth or width for
#: the routes written out (a tree's exponential would hide how they grow).
SHARED_SIZES = ("graph_nodes", "cse_ops")


def _figure(row: RouteMeasurement, name: str) -> float | None:
    if name in ("tree_ops", "graph_nodes"):
        return float(getattr(row.size, name)) if row.size is not None else None
    value = getattr(row, name)
    return None if value is None else float(value)


CELL_NOTE = (
    "Each cell: derivation time · operations as a tree / distinct nodes / operations after CSE; "
    "\", over cap\": a later stage, such as compiling, was stopped by the cap."
)


@dataclass
class Sweep:
    """A comparison repeated as the depth or the width of a network grows."""

    over: str
    base: tuple[int, ...]
    points: list[SweepPoint] = field(default_factory=list)
    cap: float | None = None
    interrupted: bool = False

    def x_label(self) -> str:
        return "hidden layers" if self.over == "depth" else "hidden width"

    def laws(self) -> list[GrowthLaw]:
        """The growth law of each route and figure.

        The routes written out grow with the paths: exponentially in the
        depth, as a power of the width; their shared graphs (distinct nodes,
        operations after CSE) are fitted as powers of the depth or width. The
        δ recurrence and the array form are fitted as straight lines in the
        number of parameters: their work is one step per local derivative.
        """
        laws = []
        for route in ROUTES:
            for figure, _, _ in SWEEP_FIGURES:
                if route not in PATH_ROUTES:
                    kind, variable = "linear", "parameters"
                elif figure in SHARED_SIZES:
                    kind, variable = "power", self.over
                else:
                    kind, variable = ("exponential", "depth") if self.over == "depth" else ("power", "width")
                data = [
                    (p.x if route in PATH_ROUTES else p.comparison.parameters, _figure(p.comparison.row(route), figure))
                    for p in self.points
                ]
                law = fit_growth(route, figure, kind, variable, data)
                if law is not None:
                    laws.append(law)
        return laws

    def _variable(self, law: GrowthLaw, point: SweepPoint) -> float:
        return point.comparison.parameters if law.variable == "parameters" else point.x

    def table(self) -> Table:
        """One row per network: each route's derivation time and operations."""
        from rich.table import Table

        table = Table(
            title=f"sweep over {self.over}" + (" (interrupted)" if self.interrupted else ""),
            caption=f"{CELL_NOTE} {PATHS_LAW}",
            caption_justify="left",
        )
        table.add_column(self.over, justify="right")
        table.add_column("network", no_wrap=True)
        table.add_column("params", justify="right")
        table.add_column("Σ paths", justify="right")
        for route in ROUTES:
            table.add_column(ROUTE_TITLES[route], justify="right")
        for point in self.points:
            table.add_row(*self._cells(point))
        return table

    def _cells(self, point: SweepPoint) -> list[str]:
        c = point.comparison
        net = c.spec.network()
        paths = chain_rule_terms(net, "direct")
        cells = [str(point.x), net.describe(), f"{c.parameters:,}", f"{paths:,}"]
        for route in ROUTES:
            row = c.row(route)
            derived = format_seconds(row.derive_seconds) if row.derive_seconds is not None else _mark(row)
            size = " / ".join(map(compact_count, (row.size.tree_ops, row.size.graph_nodes, row.cse_ops))) \
                if row.size is not None else _mark(row)
            if row.derive_seconds is None:
                cells.append(derived)
            else:
                stopped = f", {_mark(row)}" if row.status in (OVER_CAP, FAILED) else ""
                cells.append(f"{derived} · {size}{stopped}")
        return cells

    def _ratio_row(self, point: SweepPoint) -> list[str]:
        c = point.comparison
        size, cse = c.cost_size()
        cells = [str(point.x), " / ".join(map(compact_count, (size.tree_ops, size.graph_nodes, cse)))]
        return cells + [" / ".join(ratio_cells(c.ratios(route))) for route in ROUTES]

    def ratio_table(self) -> Table:
        """Each network's ``C`` and every route's gradient size over it, by the three measures.

        >>> sweep("depth", [1, 1, 1], [1], batch=2, cap=None).ratio_table().row_count
        1
        """
        from rich.table import Table

        table = Table(title="gradient size ÷ size of C (as trees / distinct nodes / after CSE)",
                      caption=SWEEP_RATIO_NOTE, caption_justify="left")
        table.add_column(self.over, justify="right")
        table.add_column("C: ops / nodes / CSE", justify="right")
        for route in ROUTES:
            table.add_column(ROUTE_TITLES[route], justify="right")
        for point in self.points:
            table.add_row(*self._ratio_row(point))
        return table

    def laws_table(self) -> Table:
        """The fitted laws as a rich table.

        >>> sweep("width", [1, 1, 1], [1, 2], batch=2, cap=None).laws_table().row_count
        20
        """
        from rich.table import Table

        table = Table(title="growth laws (least squares; exponential and power laws in log space)")
        for column in ("route", "figure", "law", "R²", "points"):
            table.add_column(column, justify="right" if column in ("R²", "points") else "left")
        for law in self.laws():
            table.add_row(*_law_cells(law))
        return table

    def markdown(self) -> str:
        """The sweep and its growth laws as Markdown tables."""
        head = f"| {self.over} | network | params | Σ paths | " + " | ".join(ROUTE_TITLES.values()) + " |"
        lines = [head, "|---:|---|---:|---:|" + "---:|" * len(ROUTES)]
        lines += ["| " + " | ".join(self._cells(p)) + " |" for p in self.points]
        if self.interrupted:
            lines += ["", "Interrupted: the networks after these were not measured."]
        lines += ["", f"{CELL_NOTE} {PATHS_LAW}"]
        lines += ["", f"| {self.over} | C: ops / nodes / CSE | " + " | ".join(ROUTE_TITLES.values()) + " |",
                  "|---:|---:|" + "---:|" * len(ROUTES)]
        lines += ["| " + " | ".join(self._ratio_row(p)) + " |" for p in self.points]
        lines += ["", SWEEP_RATIO_NOTE]
        lines += ["", "| route | figure | law | R² | points |", "|---|---|---|---:|---:|"]
        lines += ["| " + " | ".join(_law_cells(law)) + " |" for law in self.laws()]
        return "\n".join(lines)

    def chart(self) -> str | None:
        """The sweep as an SVG chart: one panel per figure, log scale, measured
        points joined, fitted laws dashed, points over the cap marked; None
        when nothing was measured."""
        from .chart import Panel, Series, svg_chart

        laws = {(law.route, law.figure): law for law in self.laws()}
        panels = []
        for figure, label, stage in SWEEP_FIGURES:
            series = []
            for route in ROUTES:
                rows = [(p, p.comparison.row(route)) for p in self.points]
                measured = [(float(p.x), y) for p, r in rows if (y := _figure(r, figure)) is not None]
                over = [float(p.x) for p, r in rows if r.status == OVER_CAP and not r.finished(stage)]
                law = laws.get((route, figure))
                fitted = []
                if law is not None:
                    predicted = [(float(p.x), law.predict(self._variable(law, p))) for p, _ in rows]
                    # A straight line on a log axis cannot go below zero.
                    fitted = [(x, y) for x, y in predicted if 0 < y < math.inf]
                if measured or over:
                    series.append(Series(ROUTE_TITLES[route], measured, fitted, over,
                                         law.describe() if law else ""))
            if series:
                panels.append(Panel(label, self.x_label(), label, series, x_log=self.over == "width"))
        if not panels:
            return None
        network = "-".join(str(n) for n in self.base)
        notes = [f"from {network}"]
        if self.cap is not None:
            notes.append(f"time cap {self.cap:g} s per route")
        if self.interrupted:
            notes.append("interrupted")
        return svg_chart(panels, f"Derivative hell vs the δ recurrence: sweep over {self.over}", ", ".join(notes))


SWEEP_RATIO_NOTE = (
    "Each cell: all the gradients of the route over C written out in inputs and parameters, as trees / "
    "as distinct nodes / after CSE. " + RATIO_NOTE.split(". ", 1)[1]
)


def _mark(row: RouteMeasurement) -> str:
    return {OVER_CAP: "over cap", FAILED: "failed"}.get(row.status, "—")


def _law_cells(law: GrowthLaw) -> list[str]:
    labels = {name: label for name, label, _ in SWEEP_FIGURES}
    r_squared = "—" if law.r_squared is None else f"{law.r_squared:.3f}"
    return [ROUTE_TITLES[law.route], labels[law.figure], law.describe(), r_squared, str(law.points)]


def sweep_sizes(over: str, base: Sequence[int], points: Sequence[int]) -> list[tuple[int, list[int]]]:
    """The networks of a sweep, smallest first: ``(x, sizes)`` for each point.

    ``depth``: ``x`` hidden layers of the hidden width of ``base``;
    ``width``: every hidden layer of ``base`` made ``x`` wide.

    >>> sweep_sizes("depth", [12, 3, 2], [3, 1, 2, 1])
    [(1, [12, 3, 2]), (2, [12, 3, 3, 2]), (3, [12, 3, 3, 3, 2])]
    >>> sweep_sizes("width", [4, 3, 3, 2], [1, 5])
    [(1, [4, 1, 1, 2]), (5, [4, 5, 5, 2])]
    """
    if over not in ("depth", "width"):
        raise NetworkSpecError(f"a sweep is over depth or width; got {over!r}")
    if isinstance(base, (str, bytes)) or not isinstance(base, Sequence):
        raise NetworkSpecError(f"the network of a sweep is a list of layer sizes such as [12, 3, 2]; got {echo(base)}")
    base = list(base)
    if len(base) < 3:
        raise NetworkSpecError(
            f"a sweep needs a network with a hidden layer to grow, such as 12,3,2; got {'-'.join(map(str, base))}"
        )
    if over == "depth" and len(set(base[1:-1])) > 1:
        raise NetworkSpecError(
            f"a depth sweep repeats one hidden width; {'-'.join(map(str, base))} has hidden widths "
            f"{', '.join(map(str, base[1:-1]))}: give one hidden layer, such as {base[0]},{base[1]},{base[-1]}"
        )
    largest = SWEEP_LARGEST[over]
    if isinstance(points, (str, bytes)) or not isinstance(points, Sequence):
        raise NetworkSpecError(f"the points of a sweep are a list of whole numbers such as [1, 2, 3]; got {echo(points)}")
    if not points or len(points) > MAX_SWEEP_POINTS or any(
        not is_count(x, high=largest) for x in points
    ):
        # Checked before any network exists: a depth of 10^6 would be built layer by layer.
        raise NetworkSpecError(
            f"a sweep over {over} takes 1 to {MAX_SWEEP_POINTS} points, positive whole numbers up to {largest} "
            f"(beyond, even the δ recurrence takes minutes per network); got {_listed(points)}"
        )
    points = sorted(set(points))
    if over == "depth":
        return [(x, [base[0]] + [base[1]] * x + [base[-1]]) for x in points]
    return [(x, [base[0]] + [x] * (len(base) - 2) + [base[-1]]) for x in points]


def _listed(points: Sequence) -> str:
    """The points as typed, cut short: a refused list may be very long."""
    text = ", ".join(map(str, points[:8])) + (", …" if len(points) > 8 else "")
    return f"[{text}]"


def default_points(over: str, largest: int) -> list[int]:
    """Depth (or the logistic map's n) 1, 2, …, ``largest``; widths 1, 2, 3, 4,
    6, 8, 12, 16, … up to ``largest``.

    >>> default_points("width", 20)
    [1, 2, 3, 4, 6, 8, 12, 16]
    """
    if over in ("depth", "logistic"):
        return list(range(1, largest + 1))
    widths, k = [], 1
    while True:
        for w in (k, 3 * k // 2):
            if w > largest:
                return sorted(set(widths))
            widths.append(w)
        k *= 2


def sweep(
    over: str,
    base: Sequence[int],
    points: Sequence[int],
    activation: str | Sequence[str] = "sigmoid",
    cost: str = "squared",
    *,
    batch: int = 64,
    cap: float | None = 20.0,
    seed: int = 0,
    on_route: Callable[[tuple[int, ...], str], None] | None = None,
    weight_decay: object = 0,
) -> Sweep:
    """Compare the routes on each network of a sweep, smallest first.

    A route that runs past ``cap`` seconds (or fails) is stopped, keeping the
    stages it finished, and is not run again on the larger networks that
    follow: its work only grows. Ctrl-C ends the sweep: the points measured
    so far are returned with ``interrupted`` set. ``on_route(sizes, route)``
    is called before each route is measured. ``weight_decay`` is λ of every
    network's L2 weight decay.

    >>> s = sweep("depth", [1, 1, 1], [1, 2], batch=2, cap=None)
    >>> [p.comparison.parameters for p in s.points]
    [4, 6]
    """
    check_run_settings(batch, cap, seed)
    networks = sweep_sizes(over, base, points)
    act = activation if isinstance(activation, str) else tuple(activation)
    specs = [(x, NetworkSpec(tuple(sizes), act, cost, weight_decay)) for x, sizes in networks]
    # Built before any work, so that bad sizes or names fail at once.
    parameters = [spec.network().parameter_count for _, spec in specs]
    result = Sweep(over, tuple(base), cap=cap)
    worker = Worker() if cap is not None else None
    stopped: dict[str, str] = {}
    try:
        if worker is None:
            warm_up()
        for (x, spec), count in zip(specs, parameters):
            def report(route: str, sizes=spec.sizes) -> None:
                if on_route is not None:
                    on_route(sizes, route)
            rows = measure_all(spec, batch, seed, False, worker, cap, dict(stopped), report)
            stopped |= {r.route: r.status for r in rows if r.status in (OVER_CAP, FAILED)}
            comparison = Comparison(spec, count, batch, cap, rows)
            result.points.append(SweepPoint(x, comparison))
    except KeyboardInterrupt:
        result.interrupted = True
    finally:
        if worker is not None:
            worker.stop()
    return result


__all__ = [
    "Sweep",
    "default_points",
    "sweep",
    "sweep_sizes",
]
