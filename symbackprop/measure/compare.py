"""Derivative hell, measured: four routes to the same gradient, side by side.

The book calls the direct route hell and moves on; here it is measured. Each
route is derived, sized, compiled and run on the same batch:

- ``direct``: substitute every definition into ``C`` and differentiate by
  each parameter;
- ``delta``: the δ recurrence in layer quantities (``z``, ``a``, ``δ`` are
  named once and reused);
- ``written-out``: the δ route's gradients with every layer quantity
  substituted, in inputs and parameters only;
- ``array``: the δ recurrence in matrix form (:mod:`symbackprop.numeric.array_form`).

This module holds the comparison of one network: every route measured
(:mod:`.stages`), its table and its verdicts in plain sentences. A route
whose measurement would run past the time cap is stopped in its worker
process (:mod:`.worker`) and reported as over the cap, not waited for.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ..engine.batchnorm import BatchNormNetwork
from ..engine.routes import ExpressionSize, estimate_direct_work
from ..errors import NetworkSpecError, echo
from ..guards import MAX_BATCH, check_seed, is_count
from .stages import (
    FAILED,
    NOT_COMPUTABLE,
    OVER_CAP,
    ROUTE_TITLES,
    ROUTES,
    ModelSpec,
    NetworkSpec,
    RouteMeasurement,
    cost_sizes,
    measured_safely,
    warm_up,
)
from .worker import Worker

if TYPE_CHECKING:
    from rich.table import Table


def measure_all(
    spec: NetworkSpec, batch: int, seed: int, prove: bool, worker: Worker | None, cap: float | None,
    skip: dict[str, str] | None = None, on_route: Callable[[str], None] | None = None,
) -> list[RouteMeasurement]:
    """Measure every route, in ``worker`` under the time cap ``cap`` or, without
    a worker, in this process; a route in ``skip`` is not run and keeps the
    status it had on a smaller network.

    >>> skip = {"direct": OVER_CAP, "written-out": FAILED}
    >>> rows = measure_all(NetworkSpec((2, 1), "generic"), 4, 0, False, None, None, skip=skip)
    >>> [(row.route, row.status) for row in rows]
    [('direct', 'over the cap'), ('delta', 'no numbers'), ('written-out', 'failed'), ('array', 'no numbers')]
    >>> rows[2].reason
    'not run: it failed on a smaller network'
    """
    rows = []
    for route in ROUTES:
        if on_route is not None:
            on_route(route)
        if skip and route in skip:
            reason = "not run: it failed on a smaller network" if skip[route] == FAILED else ""
            rows.append(RouteMeasurement(route, skip[route], reason=reason))
            continue
        task = (spec, route, batch, seed, prove)
        if worker is None:
            *_, measured = measured_safely(*task)
        else:
            measured = worker.run(task, cap)
        rows.append(measured)
    return rows


# --- the comparison of one network ----------------------------------------------

@dataclass
class Comparison:
    """The four routes on one network, measured in one run."""

    spec: NetworkSpec | ModelSpec
    parameters: int
    batch: int
    cap: float | None
    rows: list[RouteMeasurement]
    _cost: tuple[ExpressionSize, int] | None = field(default=None, repr=False)

    def cost_size(self) -> tuple[ExpressionSize, int]:
        """``C`` itself, written out: its tree operations and distinct nodes,
        and its operations after CSE (see :func:`~.stages.cost_sizes`)."""
        if self._cost is None:
            self._cost = cost_sizes(self.spec.network())
        return self._cost

    def ratios(self, route: str) -> tuple[float, float, float] | None:
        """Gradient size over cost size, ``route``'s sizes over those of ``C``:
        as trees, as distinct nodes and after CSE; None unless sized.

        >>> c = compare([1, 1], batch=2, cap=None, prove=False)
        >>> c.ratios("delta")[2] < c.ratios("direct")[0]
        True
        """
        row = self.row(route)
        if row.size is None or row.cse_ops is None:
            return None
        size, cse = self.cost_size()
        return row.size.tree_ops / size.tree_ops, row.size.graph_nodes / size.graph_nodes, row.cse_ops / cse

    def row(self, route: str) -> RouteMeasurement:
        """The measurement of ``route`` (one of :data:`ROUTES`)."""
        return next(r for r in self.rows if r.route == route)

    def agreement(self) -> float | None:
        """Largest relative difference between the gradients the routes computed
        and the first one's (None when fewer than two routes computed numbers)."""
        computed = [np.array(r.gradient) for r in self.rows if r.gradient is not None]
        if len(computed) < 2:
            return None
        reference = computed[0]
        scale = max(float(np.max(np.abs(reference))), 1e-300)
        return max(float(np.max(np.abs(g - reference))) / scale for g in computed)

    def factor(self, slow: str, fast: str, figure: str) -> float | None:
        """How many times ``fast`` beats ``slow`` on ``figure`` (a field of
        :class:`RouteMeasurement` such as ``derive_seconds``); None unless
        both were measured."""
        a, b = getattr(self.row(slow), figure), getattr(self.row(fast), figure)
        return a / b if a is not None and b else None

    def verdicts(self) -> list[str]:
        """Which route is faster, and by what factor, in plain sentences."""
        lines = [_stopped(row, self.spec, self.cap) for row in self.rows if row.status in (OVER_CAP, FAILED)]
        direct, delta = self.row("direct"), self.row("delta")
        derive = self.factor("direct", "delta", "derive_seconds")
        if derive is not None and direct.size is not None and delta.size is not None:
            d, t = direct.size.tree_ops, delta.size.tree_ops
            lines.append(
                f"The δ recurrence derives {_times(derive)} the direct route, "
                f"with {_ratio(d, t)} the operations ({t:,} in layer quantities against {d:,} written out)."
            )
        elif delta.derive_seconds is not None and direct.derive_seconds is None and self.cap is not None:
            lines.append(
                f"The δ recurrence derived in {format_seconds(delta.derive_seconds)}, more than "
                f"{self.cap / delta.derive_seconds:,.0f}× faster than the direct route."
            )
        array = self.row("array")
        if array.ok and array.derive_seconds is None:
            lines.append(f"The {self.spec.network().describe()} network's array path is NumPy written by hand: "
                         "compiled and run, with no derivation to size.")
        if all(r.evaluate_spread is not None for r in (direct, delta, array)):
            lines.append(
                f"Compiled, one gradient of a batch of {self.batch} takes {_spread(direct)}, by the "
                f"direct route; by the δ recurrence it is {_speed(direct, delta)}, and as arrays {_speed(direct, array)}."
            )
        if any(row.status == NOT_COMPUTABLE for row in self.rows):
            lines.append("The activation has no numeric values (generic a(z), or the unit step), "
                         "so nothing was compiled or run.")
        gap = self.agreement()
        if gap is not None:
            lines.append(f"The compiled gradients agree to {gap:.1e} (relative).")
        if direct.proved is not None:
            lines.append(
                f"{direct.proved} of {self.parameters} direct gradients were proved exactly equal to the "
                f"δ route's ({format_seconds(direct.proof_seconds)})."
            )
        return lines

    def table(self) -> Table:
        """The comparison as a rich table: ``C`` itself, then each route.

        >>> compare([1, 1], batch=2, cap=None).table().row_count
        5
        """
        from rich.table import Table

        table = Table(
            title=f"{self.name()}: {self.parameters} parameters, batch of {self.batch}",
            caption="direct: substitute, then differentiate; δ recurrence: in layer quantities z, a, δ; "
            "δ written out: its gradients in inputs and parameters; δ as arrays: the matrix form "
            "(for a CNN, recurrent or batch-normalised network, its array kernels, with no derivation to size). "
            "ops: operations as a tree; nodes: distinct subexpressions; CSE: operations after "
            "common-subexpression elimination; terms: chain-rule products (one per path, or one per "
            "local derivative); eval: one gradient of the batch, median of repeats.",
            caption_justify="left",
        )
        table.add_column("route", no_wrap=True)
        for column in ("derive", "ops", "nodes", "CSE", "terms", "compile", "eval"):
            table.add_column(column, justify="right", overflow="fold")
        table.add_row(COST_TITLE, *self._cost_cells(compact=True), style="dim")
        for row in self.rows:
            table.add_row(ROUTE_TITLES[row.route], *_cells(row, compact=True))
        return table

    def name(self) -> str:
        """The network as the table's title names it: a model file by its name, then its layers.

        >>> compare([2, 1], batch=2, cap=None, prove=False).name()
        '2-1'
        """
        described = self.spec.network().describe()
        return f"{self.spec.where} ({described})" if isinstance(self.spec, ModelSpec) else described

    def _cost_cells(self, compact: bool = False) -> list[str]:
        size, cse = self.cost_size()
        count = compact_count if compact else "{:,}".format
        return ["—", count(size.tree_ops), count(size.graph_nodes), count(cse), "—", "—", "—"]

    def ratio_table(self) -> Table:
        """Each route's gradient size over the size of ``C``, by the three measures.

        >>> compare([1, 1], batch=2, cap=None, prove=False).ratio_table().row_count
        4
        """
        from rich.table import Table

        table = Table(title="gradient size ÷ size of C", caption=RATIO_NOTE, caption_justify="left")
        table.add_column("route", no_wrap=True)
        for column in RATIO_COLUMNS:
            table.add_column(column, justify="right")
        for route in ROUTES:
            table.add_row(ROUTE_TITLES[route], *ratio_cells(self.ratios(route)))
        return table

    def markdown(self) -> str:
        """The comparison as a Markdown table, the size ratios, then the verdicts."""
        head = "| route | derive | ops (as a tree) | distinct nodes | ops after CSE | chain-rule terms " \
            f"| compile | gradient, batch of {self.batch} |"
        lines = [head, "|---|" + "---:|" * 7, "| " + " | ".join([COST_TITLE, *self._cost_cells()]) + " |"]
        for row in self.rows:
            lines.append("| " + " | ".join([ROUTE_TITLES[row.route], *_cells(row)]) + " |")
        lines += ["", "| gradient size ÷ size of C | " + " | ".join(RATIO_COLUMNS) + " |", "|---|---:|---:|---:|"]
        lines += ["| " + " | ".join([ROUTE_TITLES[r], *ratio_cells(self.ratios(r))]) + " |" for r in ROUTES]
        return "\n".join(lines + ["", RATIO_NOTE, ""] + self.verdicts())


COST_TITLE = "C itself"
RATIO_COLUMNS = ("as trees", "distinct nodes", "after CSE")
RATIO_NOTE = (
    "Gradient size ÷ size of C: all the gradients of a route against C written out in inputs and "
    "parameters, by the same measure. The cheap-gradient principle bounds what reverse mode needs "
    "by a small constant times C; a ratio that grows with the network is expression swell."
)


def ratio_cells(ratios: tuple[float, float, float] | None) -> list[str]:
    """``12.3×`` per measure, ``—`` when the route was not sized.

    >>> ratio_cells((1234.5, 1.25, 0.5)), ratio_cells(None)
    (['1,234×', '1.2×', '0.50×'], ['—', '—', '—'])
    """
    if ratios is None:
        return ["—"] * 3
    return [f"{r:,.0f}×" if r >= 100 else f"{r:.1f}×" if r >= 1 else f"{r:.2f}×" for r in ratios]


def _stopped(row: RouteMeasurement, spec: NetworkSpec | ModelSpec, cap: float | None) -> str:
    """Why a route has no figures from some stage on."""
    title = ROUTE_TITLES[row.route]
    if row.status == FAILED:
        return f"The {title} route failed during {row.unfinished or 'its measurement'}: {row.reason}."
    if row.unfinished is None:
        return f"The {title} route was not run: on a smaller network it was already over the cap."
    hell = ""
    if row.route == "direct" and row.unfinished == "derive":
        work = estimate_direct_work(spec.network())
        hell = f" (differentiating C written out by each parameter is about {work:.1e} operations)"
    done = {
        "derive": f"could not be derived{hell}",
        "size": f"was derived in {format_seconds(row.derive_seconds)} but not sized",
        "compile": f"was derived in {format_seconds(row.derive_seconds)} but not compiled",
        "evaluate": "was compiled but not run",
        "prove": "was measured, but its proof did not finish",
    }[row.unfinished]
    return f"The {title} route {done} within the {cap:g} s cap." if cap else f"The {title} route {done}."


def _cells(row: RouteMeasurement, compact: bool = False) -> list[str]:
    """Figures of the finished stages; the stage the cap stopped reads "over cap"."""
    def count(n: int) -> str:
        return compact_count(n) if compact and n >= 1_000_000 else f"{n:,}"

    size = row.size
    stages = [
        ("derive", [format_seconds(row.derive_seconds)]),
        ("size", [count(size.tree_ops), count(size.graph_nodes), count(row.cse_ops), count(row.terms)]
         if size is not None else ["—"] * 4),
        ("compile", [format_seconds(row.compile_seconds)]),
        ("evaluate", [format_seconds(row.evaluate_seconds)]),
    ]
    cells = []
    for stage, figures in stages:
        if row.status in (OVER_CAP, FAILED) and stage == (row.unfinished or "derive"):
            figures = ["over cap" if row.status == OVER_CAP else "failed"] + ["—"] * (len(figures) - 1)
        cells += figures
    return cells


def format_seconds(s: float | None) -> str:
    """Seconds for a table cell, in the unit that keeps three figures.

    >>> format_seconds(2.5), format_seconds(0.0123), format_seconds(4.2e-5), format_seconds(None)
    ('2.50 s', '12.3 ms', '42 µs', '—')
    """
    if s is None:
        return "—"
    if s >= 1:
        return f"{s:.2f} s"
    if s >= 0.1:
        return f"{s * 1e3:.0f} ms"
    if s >= 1e-3:
        return f"{s * 1e3:.1f} ms"
    return f"{s * 1e6:.0f} µs"


def compact_count(n: int) -> str:
    """``4931`` → ``4.9k``: sweep cells must fit a terminal.

    >>> compact_count(4931), compact_count(27_000_000), compact_count(812)
    ('4.9k', '27M', '812')
    """
    for limit, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if n >= limit:
            value = n / limit
            return f"{value:.1f}{unit}" if value < 10 else f"{value:.0f}{unit}"
    return str(n)


def _faster(factor: float) -> str:
    if 0.95 <= factor <= 1.05:
        return "about as fast"
    return f"{factor:.1f}× faster" if factor > 1 else f"{1 / factor:.1f}× slower"


def _times(factor: float) -> str:
    """A speed ratio in words, leading to what it is compared with."""
    words = _faster(factor)
    return words + (" as" if words.startswith("about") else " than")


def _spread(row: RouteMeasurement) -> str:
    low, high = row.evaluate_spread
    return f"{format_seconds(row.evaluate_seconds)}, quartiles {format_seconds(low)} to {format_seconds(high)}"


def _speed(slow: RouteMeasurement, fast: RouteMeasurement) -> str:
    """How ``fast`` compares with ``slow`` in evaluation time: a direction only
    when their quartiles do not overlap, since timings of one run vary.

    >>> a = RouteMeasurement("direct", "ok", evaluate_seconds=1e-3, evaluate_spread=(0.9e-3, 1.2e-3))
    >>> b = RouteMeasurement("delta", "ok", evaluate_seconds=0.8e-3, evaluate_spread=(0.7e-3, 1.0e-3))
    >>> _speed(a, b)
    'about as fast (800 µs, quartiles 700 µs to 1.0 ms, overlapping)'
    >>> from dataclasses import replace
    >>> _speed(a, replace(b, evaluate_spread=(0.75e-3, 0.85e-3)))
    '1.2× faster (800 µs, quartiles 750 µs to 850 µs)'
    """
    (slow_low, slow_high), (low, high) = slow.evaluate_spread, fast.evaluate_spread
    if low <= slow_high and slow_low <= high:
        return f"about as fast ({_spread(fast)}, overlapping)"
    return f"{_faster(slow.evaluate_seconds / fast.evaluate_seconds)} ({_spread(fast)})"


def _ratio(big: int, small: int) -> str:
    return f"1/{big / small:.0f} of" if big >= small else f"{small / big:.1f}×"


def check_run_settings(batch: int, cap: float | None, seed: int) -> None:
    """Refuse a batch, time cap or seed a comparison or a sweep cannot run with.

    >>> check_run_settings(64, 0, 0)
    Traceback (most recent call last):
    ...
    symbackprop.errors.NetworkSpecError: the time cap must be a positive number of seconds; got 0
    """

    check_seed(seed)
    if not is_count(batch, high=MAX_BATCH):
        raise NetworkSpecError(f"the batch must be a whole number of examples from 1 to {MAX_BATCH}; got {batch!r}")
    if cap is not None and not (isinstance(cap, (int, float)) and math.isfinite(cap) and cap > 0):
        raise NetworkSpecError(f"the time cap must be a positive number of seconds; got {cap!r}")


def compare(
    sizes: Sequence[int],
    activation: str | Sequence[str] = "sigmoid",
    cost: str = "squared",
    *,
    batch: int = 64,
    cap: float | None = 60.0,
    seed: int = 0,
    prove: bool = True,
    weight_decay: object = 0,
) -> Comparison:
    """Measure the four routes on one network.

    Each route is derived, sized, compiled and timed on the same batch
    (``fan-in`` initial values, inputs in [0, 1), one-hot targets, drawn
    from ``seed``). With a ``cap``, each route runs in a worker process and
    is stopped after ``cap`` seconds, keeping the stages it finished (in a
    script, call it under ``if __name__ == "__main__":``, as for any
    ``multiprocessing`` code); ``cap=None`` runs in this process. ``prove``
    also proves every direct gradient equal to the δ route's. ``weight_decay``
    is λ of the network's L2 weight decay (see :class:`Network`).

    >>> c = compare([2, 2, 1], batch=8, cap=None)
    >>> [row.route for row in c.rows]
    ['direct', 'delta', 'written-out', 'array']
    >>> c.row("direct").proved, c.agreement() < 1e-12
    (9, True)
    """
    if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence):
        raise NetworkSpecError(f"the network to compare is a list of layer sizes such as [12, 3, 2]; got {echo(sizes)}")
    spec = NetworkSpec(
        tuple(sizes), activation if isinstance(activation, str) else tuple(activation), cost, weight_decay
    )
    check_run_settings(batch, cap, seed)
    return _measured(spec, spec.network(), batch, cap, seed, prove)


def compare_model(
    document: object, where: str = "the model file", *, batch: int = 64, cap: float | None = 60.0, seed: int = 0,
    prove: bool = True,
) -> Comparison:
    """Measure the four routes on the network a model file describes, given as
    the file's document (:func:`~symbackprop.engine.model_file.read_model_document`):
    any kind of layer, with the array path of the network's kind (a
    convolutional, recurrent or batch-normalised network's is NumPy written
    by hand: it has no derivation to size). Parameters are drawn from
    N(0, 1/4); a batch-normalised network is measured on the batch it was
    derived for, whatever ``batch`` says. Otherwise as :func:`compare`.

    >>> doc = {"inputs": 2, "layers": [{"kind": "dense", "width": 2, "activation": "tanh"},
    ...                                {"kind": "residual", "skip": 2, "activation": "tanh"}]}
    >>> c = compare_model(doc, "res.json", batch=4, cap=None)
    >>> c.name(), c.row("direct").proved, c.agreement() < 1e-12
    ('res.json (2-2-2r)', 12, True)
    """
    spec = ModelSpec(document, where)
    net = spec.network()
    check_run_settings(batch, cap, seed)
    if isinstance(net, BatchNormNetwork):
        batch = net.batch
    return _measured(spec, net, batch, cap, seed, prove)


def _measured(spec: NetworkSpec | ModelSpec, net, batch: int, cap: float | None, seed: int, prove: bool) -> Comparison:
    worker = Worker() if cap is not None else None
    if worker is None:
        warm_up()
    try:
        rows = measure_all(spec, batch, seed, prove, worker, cap)
    finally:
        if worker is not None:
            worker.stop()
    return Comparison(spec, net.parameter_count, batch, cap, rows)


__all__ = ["Comparison", "compare", "compare_model"]
