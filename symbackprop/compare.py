"""Derivative hell, measured: four routes to the same gradient, side by side.

The book calls the direct route hell and moves on; here it is measured. Each
route is derived, sized, compiled and run on the same batch:

- ``direct``: substitute every definition into ``C`` and differentiate by
  each parameter;
- ``delta``: the δ recurrence in layer quantities (``z``, ``a``, ``δ`` are
  named once and reused);
- ``written-out``: the δ route's gradients with every layer quantity
  substituted, in inputs and parameters only;
- ``array``: the δ recurrence in matrix form (:mod:`symbackprop.arrays`).

Why the direct route explodes is a count, not a guess. By the chain rule a
written-out ``∂C/∂p`` is a sum with one product per path from ``p`` to ``C``;
a parameter of layer ``l`` has ``Π_{m>l} n_m`` of them. The δ route uses each
local derivative once:

>>> net = Network([12, 3, 2])
>>> chain_rule_terms(net, "direct"), chain_rule_terms(net, "delta")
(86, 60)
>>> deep = Network([4, 4, 4, 4, 4])
>>> chain_rule_terms(deep, "direct"), chain_rule_terms(deep, "delta")
(1700, 148)

A route whose measurement would run past the time cap is stopped in its
worker process and reported as over the cap, not waited for.
"""

from __future__ import annotations

import math
import multiprocessing
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import sympy as sp
from sympy.core.cache import clear_cache

from .derive import (
    DirectRoute,
    ExpressionSize,
    _path_counts,
    _users,
    delta_route,
    direct_route,
    estimate_direct_work,
    expression_size,
)
from .errors import NetworkSpecError
from .network import Network

#: The routes, in the order of every table.
ROUTES = ("direct", "delta", "written-out", "array")
ROUTE_TITLES = {
    "direct": "direct",
    "delta": "δ recurrence",
    "written-out": "δ written out",
    "array": "δ as arrays",
}
#: Routes whose work grows with the number of chain-rule paths.
PATH_ROUTES = ("direct", "written-out")
OVER_CAP = "over the cap"
#: The exact law behind the direct route's growth (see :func:`chain_rule_terms`).
PATHS_LAW = (
    "Σ paths = Σ_l (n_l n_{l−1} + n_l) Π_{m>l} n_m: the chain-rule products of the gradients "
    "written out, a product of widths; the δ recurrence needs one per local derivative, "
    "linear in the parameters."
)
NOT_COMPUTABLE = "no numbers"

MAX_BATCH = 100_000
MAX_SWEEP_POINTS = 40


# --- counting ------------------------------------------------------------------

def chain_rule_terms(model: Network, route: str) -> int:
    """How many chain-rule products a route's formulas hold.

    ``direct`` and ``written-out`` hold one product per path from a
    parameter to ``C`` (``Σ_p paths(p)``); ``delta`` and ``array`` one per
    local derivative ``∂d/∂q``, each used once (the edges of the network's
    graph that lead to ``C``).

    >>> chain_rule_terms(Network([2, 2, 1]), "direct")
    9
    """
    if route in PATH_ROUTES:
        counts = _path_counts(model)
        return sum(counts.get(p, 0) for p in model.parameters)
    if route in ("delta", "array"):
        users = _users(model)
        owned = set(model.definitions) | set(model.parameters)
        return sum(len(users.get(q, [])) for q in owned)
    raise NetworkSpecError(f"unknown route {route!r}; the routes are {', '.join(ROUTES)}")


# --- one route, measured --------------------------------------------------------

@dataclass(frozen=True)
class RouteMeasurement:
    """The figures of one route on one network.

    ``status`` is ``ok``, :data:`OVER_CAP` (stopped at the time cap, or not
    run because a smaller network already was) or :data:`NOT_COMPUTABLE`
    (derived and sized, but the activation has no numeric values, so there
    is nothing to compile). Times are seconds; ``evaluate_seconds`` is the
    median of several runs of one full gradient on the batch; ``gradient``
    holds the values of ``∂C_T/∂p`` it computed, parameter by parameter.
    ``proved`` counts the gradients proved exactly equal to the δ route's
    (the direct route only).
    """

    route: str
    status: str
    derive_seconds: float | None = None
    size: ExpressionSize | None = None
    cse_ops: int | None = None
    terms: int | None = None
    compile_seconds: float | None = None
    evaluate_seconds: float | None = None
    gradient: tuple[float, ...] | None = None
    proved: int | None = None
    proof_seconds: float | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass(frozen=True)
class NetworkSpec:
    """A network as names (so that a worker process can rebuild it)."""

    sizes: tuple[int, ...]
    activation: str | tuple[str, ...] = "sigmoid"
    cost: str = "squared"

    def network(self) -> Network:
        activation = self.activation if isinstance(self.activation, str) else list(self.activation)
        return Network(list(self.sizes), activation=activation, cost=self.cost)


def _median_seconds(fn: Callable[[], object], repeats: int = 7, budget: float = 0.03) -> float:
    """Median seconds per call over ``repeats`` loops of at least ``budget`` seconds."""
    start = time.perf_counter()
    fn()
    once = time.perf_counter() - start
    loops = max(1, min(10_000, int(budget / max(once, 1e-7))))
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(loops):
            fn()
        samples.append((time.perf_counter() - start) / loops)
    return float(np.median(samples))


def _batch(sizes: Sequence[int], batch: int, seed: int) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    from .arrays import dense_initial_params

    rng = np.random.default_rng(seed)
    params = dense_initial_params(sizes, rng, "fan-in")
    X = rng.random((batch, sizes[0]))
    T = np.eye(sizes[-1])[rng.integers(0, sizes[-1], batch)]
    return params, X, T


def _flat(params: dict[str, np.ndarray], sizes: Sequence[int]) -> list[float]:
    # The order of Network.parameters: per layer, w^l_{ji} row by row, then b^l_j.
    values: list[float] = []
    for l in range(2, len(sizes) + 1):
        values += params[f"W{l}"].ravel().tolist() + params[f"b{l}"].ravel().tolist()
    return values


def _cse_ops(exprs: Sequence[sp.Basic]) -> int:
    definitions, reduced = sp.cse(list(exprs), order="none")
    return expression_size([rhs for _, rhs in definitions] + list(reduced)).tree_ops


def _computable(net: Network) -> bool:
    return not any(
        layer.activation.is_generic or layer.activation.not_trainable_because for layer in net.layers
    )


def measure_route(spec: NetworkSpec, route: str, batch: int = 64, seed: int = 0, prove: bool = False) -> RouteMeasurement:
    """Derive one route, size it, compile it and time one gradient on a batch.

    >>> m = measure_route(NetworkSpec((2, 2, 1)), "delta", batch=8)
    >>> m.status, m.terms, len(m.gradient)
    ('ok', 15, 9)
    """
    # Each route starts from an empty SymPy cache: no route reuses another's work.
    clear_cache()
    net = spec.network()
    params, X, T = _batch(net.sizes, batch, seed)
    values = dict(zip(net.parameters, _flat(params, net.sizes)))
    start = time.perf_counter()
    if route == "array":
        from .arrays import compile_arrays, derive_arrays

        derivation = derive_arrays(net)
        derive_seconds = time.perf_counter() - start
        exprs = (
            [value for _, value in derivation.forward]
            + list(derivation.products.values())
            + list(derivation.deltas.values())
            + list(derivation.gradients.values())
        )

        def build():
            compiled = compile_arrays(derivation)
            arrays = [a for l in range(2, net.depth + 1) for a in (params[f"W{l}"], params[f"b{l}"][:, None])]
            return lambda: compiled.gradient(X.T, T.T, *arrays)

        def flat(out) -> list[float]:
            return [float(v) for value in out[1:] for v in np.asarray(value).ravel()]
    else:
        from .compile import compile_scalar

        if route == "direct":
            compiled_route = direct_route(net, force=True)
            exprs = list(compiled_route.gradients.values())
        elif route == "delta":
            compiled_route = delta_route(net)
            exprs = (
                list(net.definitions.values())
                + list(compiled_route.deltas.values())
                + list(compiled_route.gradients.values())
            )
        elif route == "written-out":
            via = delta_route(net)
            gradients = {p: via.expanded(p) for p in net.parameters}
            compiled_route = DirectRoute(net, net.cost_substituted(), gradients, time.perf_counter() - start)
            exprs = list(gradients.values())
        else:
            raise NetworkSpecError(f"unknown route {route!r}; the routes are {', '.join(ROUTES)}")
        derive_seconds = time.perf_counter() - start

        def build():
            compiled = compile_scalar(net, compiled_route)
            return lambda: compiled(values, X, T)

        def flat(out) -> list[float]:
            return list(out[1].values())
    size = expression_size(exprs)
    cse_ops = _cse_ops(exprs)
    result = RouteMeasurement(route, "ok", derive_seconds, size, cse_ops, chain_rule_terms(net, route))
    if prove and route == "direct":
        result = replace(result, **_prove_direct(net, compiled_route))
    if not _computable(net):
        return replace(result, status=NOT_COMPUTABLE)
    start = time.perf_counter()
    run = build()
    compile_seconds = time.perf_counter() - start
    gradient = tuple(flat(run()))
    return replace(
        result,
        compile_seconds=compile_seconds,
        evaluate_seconds=_median_seconds(run),
        gradient=gradient,
    )


def _prove_direct(net: Network, direct: DirectRoute) -> dict:
    """Prove every direct gradient equal to the δ route's, written out."""
    from .verify import prove_equal

    start = time.perf_counter()
    via = delta_route(net)
    proved = sum(bool(prove_equal(g, via.expanded(p))) for p, g in direct.gradients.items())
    return {"proved": proved, "proof_seconds": time.perf_counter() - start}


# --- a worker process, so that the time cap can stop SymPy mid-derivation --------

def _serve(connection) -> None:
    # Ctrl-C is the parent's to handle: it stops this process itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    connection.send("ready")
    while True:
        task = connection.recv()
        try:
            connection.send(measure_route(*task))
        except Exception as exc:  # sent back and raised in the parent
            connection.send(exc)


class _Worker:
    """A child process that measures routes; killed and replaced when a route
    runs past the cap (SymPy cannot be interrupted from inside)."""

    def __init__(self) -> None:
        self._process = None
        self._connection = None

    def run(self, task: tuple, cap: float) -> RouteMeasurement | None:
        """The measurement, or None when it did not finish within ``cap`` seconds."""
        if self._process is None:
            # spawn, not fork: the parent may be running threads (rich's live display).
            context = multiprocessing.get_context("spawn")
            self._connection, child = context.Pipe()
            self._process = context.Process(target=_serve, args=(child,), daemon=True)
            self._process.start()
            child.close()
            # Starting Python and importing SymPy is not the route's time.
            self._connection.recv()
        self._connection.send(task)
        if not self._connection.poll(cap):
            self.stop()
            return None
        answer = self._connection.recv()
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def stop(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.join()
            self._connection.close()
            self._process = self._connection = None


def _measure_all(
    spec: NetworkSpec, routes: Sequence[str], batch: int, seed: int, cap: float | None, prove: bool,
    worker: _Worker | None, skip: set[str] = frozenset(), on_route: Callable[[str], None] | None = None,
) -> list[RouteMeasurement]:
    rows = []
    for route in routes:
        if on_route is not None:
            on_route(route)
        if route in skip:
            rows.append(RouteMeasurement(route, OVER_CAP))
            continue
        task = (spec, route, batch, seed, prove)
        measured = measure_route(*task) if worker is None else worker.run(task, cap)
        rows.append(measured if measured is not None else RouteMeasurement(route, OVER_CAP))
    return rows


# --- the comparison of one network ----------------------------------------------

@dataclass
class Comparison:
    """The four routes on one network, measured in one run."""

    spec: NetworkSpec
    parameters: int
    batch: int
    cap: float | None
    rows: list[RouteMeasurement]

    def row(self, route: str) -> RouteMeasurement:
        return next(r for r in self.rows if r.route == route)

    def agreement(self) -> float | None:
        """Largest relative difference between the gradients the routes computed
        and the δ route's (None when fewer than two routes computed numbers)."""
        computed = [np.array(r.gradient) for r in self.rows if r.gradient is not None]
        if len(computed) < 2:
            return None
        reference = np.array(self.row("delta").gradient) if self.row("delta").gradient else computed[0]
        scale = max(float(np.max(np.abs(reference))), 1e-300)
        return max(float(np.max(np.abs(g - reference))) / scale for g in computed)

    def factor(self, slow: str, fast: str, figure: str) -> float | None:
        """How many times ``fast`` beats ``slow`` on ``figure`` (a field of
        :class:`RouteMeasurement` such as ``derive_seconds``)."""
        a, b = getattr(self.row(slow), figure), getattr(self.row(fast), figure)
        return a / b if a is not None and b else None

    def verdicts(self) -> list[str]:
        """Which route is faster, and by what factor, in plain sentences."""
        lines = []
        direct = self.row("direct")
        if not direct.ok and direct.status != NOT_COMPUTABLE:
            work = estimate_direct_work(self.spec.network())
            lines.append(
                f"The direct route did not finish within the {self.cap:g} s cap: differentiating C "
                f"written out by every parameter is about {work:.1e} operations. The δ recurrence "
                f"derived in {_seconds(self.row('delta').derive_seconds)}."
            )
        derive = self.factor("direct", "delta", "derive_seconds")
        if derive is not None:
            d, t = direct.size.tree_ops, self.row("delta").size.tree_ops
            lines.append(
                f"The δ recurrence derives {_times(derive)} than the direct route, "
                f"in {_ratio(d, t)} the operations ({t:,} against {d:,} written out)."
            )
        scalar = self.factor("direct", "delta", "evaluate_seconds")
        arrays = self.factor("direct", "array", "evaluate_seconds")
        if scalar is not None and arrays is not None:
            lines.append(
                f"Compiled, the δ recurrence's gradient of a batch of {self.batch} evaluates {_times(scalar)} "
                f"than the direct route's, and as arrays {_times(arrays)}."
            )
        gap = self.agreement()
        if gap is not None:
            lines.append(f"The compiled gradients agree to {gap:.1e} (relative).")
        if direct.proved is not None:
            lines.append(
                f"{direct.proved} of {self.parameters} direct gradients were proved exactly equal to the "
                f"δ route's ({_seconds(direct.proof_seconds)})."
            )
        return lines

    def table(self):
        """The comparison as a rich table."""
        from rich.table import Table

        table = Table(
            title=f"{self.spec.network().describe()}: {self.parameters} parameters, batch of {self.batch}",
            caption="direct: substitute, then differentiate; δ recurrence: in layer quantities z, a, δ; "
            "δ written out: its gradients in inputs and parameters; δ as arrays: the matrix form. "
            "ops: operations written out as a tree; nodes: distinct subexpressions; CSE: operations "
            "after common-subexpression elimination; terms: chain-rule products (one per path, or one "
            "per local derivative); eval: one gradient of the batch, median of repeats.",
            caption_justify="left",
        )
        table.add_column("route", no_wrap=True)
        for column in ("derive", "ops", "nodes", "CSE", "terms", "compile", "eval"):
            table.add_column(column, justify="right")
        for row in self.rows:
            table.add_row(ROUTE_TITLES[row.route], *_cells(row))
        return table

    def markdown(self) -> str:
        """The comparison as a Markdown table followed by the verdicts."""
        head = "| route | derive | ops (written out) | distinct nodes | ops after CSE | chain-rule terms " \
            f"| compile | gradient, batch of {self.batch} |"
        lines = [head, "|---|" + "---:|" * 7]
        for row in self.rows:
            lines.append("| " + " | ".join([ROUTE_TITLES[row.route], *_cells(row)]) + " |")
        return "\n".join(lines + [""] + self.verdicts())


def _cells(row: RouteMeasurement) -> list[str]:
    if row.status == OVER_CAP:
        return ["over cap"] + ["—"] * 6
    size = row.size
    numbers = [
        _seconds(row.derive_seconds), f"{size.tree_ops:,}", f"{size.graph_nodes:,}", f"{row.cse_ops:,}",
        f"{row.terms:,}",
    ]
    if row.status == NOT_COMPUTABLE:
        return numbers + ["—", "—"]
    return numbers + [_seconds(row.compile_seconds), _seconds(row.evaluate_seconds)]


def _seconds(s: float | None) -> str:
    if s is None:
        return "—"
    if s >= 1:
        return f"{s:.2f} s"
    if s >= 0.1:
        return f"{s * 1e3:.0f} ms"
    if s >= 1e-3:
        return f"{s * 1e3:.1f} ms"
    return f"{s * 1e6:.0f} µs"


def _compact(n: int) -> str:
    """``4931`` → ``4.9k``: sweep cells must fit a terminal."""
    for limit, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if n >= limit:
            value = n / limit
            return f"{value:.1f}{unit}" if value < 10 else f"{value:.0f}{unit}"
    return str(n)


def _times(factor: float) -> str:
    return f"{factor:.1f}× faster" if factor >= 1 else f"{1 / factor:.1f}× slower"


def _ratio(big: int, small: int) -> str:
    return f"1/{big / small:.0f} of" if big >= small else f"{small / big:.1f}× "


def _check_run_settings(batch: int, cap: float | None) -> None:
    if isinstance(batch, bool) or not isinstance(batch, int) or not 1 <= batch <= MAX_BATCH:
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
) -> Comparison:
    """Measure the four routes on one network.

    Each route is derived, sized, compiled and timed on the same batch
    (``fan-in`` initial values, inputs in [0, 1), one-hot targets, drawn
    from ``seed``). With a ``cap``, each route runs in a worker process and
    is stopped after ``cap`` seconds; ``cap=None`` runs in this process.
    ``prove`` also proves every direct gradient equal to the δ route's.

    >>> c = compare([2, 2, 1], batch=8, cap=None)
    >>> [row.route for row in c.rows]
    ['direct', 'delta', 'written-out', 'array']
    >>> c.row("direct").proved, c.agreement() < 1e-12
    (9, True)
    """
    spec = NetworkSpec(tuple(sizes), activation if isinstance(activation, str) else tuple(activation), cost)
    net = spec.network()
    _check_run_settings(batch, cap)
    worker = _Worker() if cap is not None else None
    try:
        rows = _measure_all(spec, ROUTES, batch, seed, cap, prove, worker)
    finally:
        if worker is not None:
            worker.stop()
    return Comparison(spec, net.parameter_count, batch, cap, rows)


# --- sweeps --------------------------------------------------------------------

@dataclass
class SweepPoint:
    """One network of a sweep: its place on the x axis and its routes."""

    x: int
    comparison: Comparison

    @property
    def sizes(self) -> tuple[int, ...]:
        return self.comparison.spec.sizes


@dataclass(frozen=True)
class GrowthLaw:
    """A law fitted to one route's figure over a sweep, by least squares.

    ``kind`` is ``exponential`` (``y ∝ rate^x``), ``power`` (``y ∝ x^rate``),
    both fitted in log space, or ``linear`` (``y = intercept + rate·x``).
    """

    route: str
    figure: str
    kind: str
    variable: str
    rate: float
    intercept: float
    r_squared: float
    points: int

    def predict(self, x: float) -> float:
        if self.kind == "exponential":
            return math.exp(self.intercept + math.log(self.rate) * x)
        if self.kind == "power":
            return math.exp(self.intercept + self.rate * math.log(x))
        return self.intercept + self.rate * x

    def describe(self) -> str:
        """``∝ 4.1^depth``, ``∝ width^1.80`` or ``≈ 107 + 57·depth``."""
        if self.kind == "exponential":
            return f"∝ {self.rate:.2f}^{self.variable}"
        if self.kind == "power":
            return f"∝ {self.variable}^{self.rate:.2f}"
        sign = "+" if self.rate >= 0 else "−"
        return f"≈ {self.intercept:.3g} {sign} {abs(self.rate):.3g}·{self.variable}"


#: The kinds of law :func:`fit_growth` fits.
LAW_KINDS = ("exponential", "power", "linear")


def fit_growth(route: str, figure: str, kind: str, variable: str, points: Sequence[tuple[float, float]]) -> GrowthLaw | None:
    """Fit a law of ``kind`` to ``(x, y)`` points; None with fewer than two
    distinct x. Exponential and power laws are fitted in log space (and
    need positive values), so that every point weighs alike.

    >>> law = fit_growth("direct", "ops", "exponential", "depth", [(1, 3.0), (2, 12.0), (3, 48.0)])
    >>> round(law.rate, 6), round(law.r_squared, 6)
    (4.0, 1.0)
    >>> round(fit_growth("delta", "ops", "power", "width", [(2, 8.0), (4, 32.0)]).rate, 6)
    2.0
    >>> fit_growth("delta", "ops", "linear", "depth", [(1, 164), (2, 221), (3, 278)]).describe()
    '≈ 107 + 57·depth'
    """
    if kind not in LAW_KINDS:
        raise NetworkSpecError(f"unknown kind of law {kind!r}; use {', '.join(LAW_KINDS)}")
    logs = kind != "linear"
    usable = [(x, y) for x, y in points if y is not None and (not logs or (y > 0 and x > 0))]
    if len({x for x, _ in usable}) < 2:
        return None
    xs = np.array([math.log(x) if kind == "power" else x for x, _ in usable], dtype=float)
    ys = np.array([math.log(y) if logs else y for _, y in usable], dtype=float)
    slope, intercept = np.polyfit(xs, ys, 1)
    residual = float(np.sum((ys - (slope * xs + intercept)) ** 2))
    total = float(np.sum((ys - ys.mean()) ** 2))
    r_squared = 1.0 - residual / total if total > 0 else 1.0
    rate = math.exp(slope) if kind == "exponential" else float(slope)
    return GrowthLaw(route, figure, kind, variable, rate, float(intercept), r_squared, len(usable))


#: The figures a sweep fits and charts: (field, label).
SWEEP_FIGURES = (
    ("derive_seconds", "derivation time (s)"),
    ("tree_ops", "operations, written out"),
    ("evaluate_seconds", "gradient evaluation (s)"),
)


def _figure(row: RouteMeasurement, name: str) -> float | None:
    if not row.ok and not (row.status == NOT_COMPUTABLE and name != "evaluate_seconds"):
        return None
    if name == "tree_ops":
        return float(row.size.tree_ops)
    return getattr(row, name)


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
        depth, as a power of the width. The δ recurrence and the array form
        are fitted as straight lines: their work is linear in the size of
        the network.
        """
        path_kind = "exponential" if self.over == "depth" else "power"
        laws = []
        for route in ROUTES:
            kind = path_kind if route in PATH_ROUTES else "linear"
            for figure, _ in SWEEP_FIGURES:
                data = [(p.x, _figure(p.comparison.row(route), figure)) for p in self.points]
                law = fit_growth(route, figure, kind, self.over, data)
                if law is not None:
                    laws.append(law)
        return laws

    def table(self):
        """One row per network: each route's derivation time and operations."""
        from rich.table import Table

        table = Table(
            title=f"sweep over {self.over}" + (" (interrupted)" if self.interrupted else ""),
            caption=f"each cell: derivation time · operations written out. {PATHS_LAW}",
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
        cells = [str(point.x), c.spec.network().describe(), f"{c.parameters:,}", f"{_paths(c):,}"]
        for route in ROUTES:
            row = c.row(route)
            cells.append("over cap" if row.status == OVER_CAP
                         else f"{_seconds(row.derive_seconds)} · {_compact(row.size.tree_ops)}")
        return cells

    def laws_table(self):
        from rich.table import Table

        table = Table(title="growth laws (least squares in log space)")
        for column in ("route", "figure", "law", "R²", "points"):
            table.add_column(column, justify="right" if column in ("R²", "points") else "left")
        labels = dict(SWEEP_FIGURES)
        for law in self.laws():
            table.add_row(law.route, labels[law.figure], law.describe(), f"{law.r_squared:.3f}", str(law.points))
        return table

    def markdown(self) -> str:
        """The sweep and its growth laws as Markdown tables."""
        head = f"| {self.over} | network | params | Σ paths | " + " | ".join(ROUTE_TITLES.values()) + " |"
        lines = [head, "|---:|---|---:|---:|" + "---:|" * len(ROUTES)]
        lines += ["| " + " | ".join(self._cells(p)) + " |" for p in self.points]
        lines += ["", f"Each cell: derivation time · operations written out. {PATHS_LAW}"]
        labels = dict(SWEEP_FIGURES)
        lines += ["", "| route | figure | law | R² | points |", "|---|---|---|---:|---:|"]
        lines += [
            f"| {law.route} | {labels[law.figure]} | {law.describe()} | {law.r_squared:.3f} | {law.points} |"
            for law in self.laws()
        ]
        return "\n".join(lines)

    def chart(self) -> str:
        """The sweep as an SVG chart: one panel per figure, log scale, measured
        points joined, fitted laws dashed, points over the cap marked."""
        from .chart import Panel, Series, svg_chart

        laws = {(law.route, law.figure): law for law in self.laws()}
        panels = []
        for figure, label in SWEEP_FIGURES:
            series = []
            for route in ROUTES:
                rows = [(p, p.comparison.row(route)) for p in self.points]
                measured = [(float(p.x), y) for p, r in rows if (y := _figure(r, figure)) is not None]
                over = [float(p.x) for p, r in rows if r.status == OVER_CAP]
                law = laws.get((route, figure))
                # A straight line on a log axis cannot go below zero.
                fitted = [] if law is None else [(float(p.x), y) for p, _ in rows if (y := law.predict(p.x)) > 0]
                if measured or over:
                    series.append(Series(ROUTE_TITLES[route], measured, fitted, over,
                                         law.describe() if law else ""))
            panels.append(Panel(label, self.x_label(), label, series, x_log=self.over == "width"))
        network = "-".join(str(n) for n in self.base)
        cap = f", time cap {self.cap:g} s per route" if self.cap is not None else ""
        return svg_chart(panels, f"Derivative hell vs the δ recurrence: sweep over {self.over}",
                         f"from {network}{cap}")


def _paths(c: Comparison) -> int:
    return chain_rule_terms(c.spec.network(), "direct")


def sweep_sizes(over: str, base: Sequence[int], points: Sequence[int]) -> list[tuple[int, list[int]]]:
    """The networks of a sweep: ``(x, sizes)`` for each point.

    ``depth``: ``x`` hidden layers of the first hidden width of ``base``;
    ``width``: every hidden layer of ``base`` made ``x`` wide.

    >>> sweep_sizes("depth", [12, 3, 2], [1, 2, 3])
    [(1, [12, 3, 2]), (2, [12, 3, 3, 2]), (3, [12, 3, 3, 3, 2])]
    >>> sweep_sizes("width", [4, 3, 3, 2], [1, 5])
    [(1, [4, 1, 1, 2]), (5, [4, 5, 5, 2])]
    """
    base = list(base)
    if over not in ("depth", "width"):
        raise NetworkSpecError(f"a sweep is over depth or width; got {over!r}")
    if len(base) < 3:
        raise NetworkSpecError(
            f"a sweep needs a network with a hidden layer to grow, such as 12,3,2; got {'-'.join(map(str, base))}"
        )
    if not points or len(points) > MAX_SWEEP_POINTS or any(
        isinstance(x, bool) or not isinstance(x, int) or x < 1 for x in points
    ):
        raise NetworkSpecError(f"sweep points must be 1 to {MAX_SWEEP_POINTS} positive whole numbers; got {list(points)}")
    if over == "depth":
        return [(x, [base[0]] + [base[1]] * x + [base[-1]]) for x in points]
    return [(x, [base[0]] + [x] * (len(base) - 2) + [base[-1]]) for x in points]


def default_points(over: str, largest: int) -> list[int]:
    """Depth 1, 2, …, ``largest``; widths 1, 2, 3, 4, 6, 8, 12, 16, … up to ``largest``.

    >>> default_points("width", 20)
    [1, 2, 3, 4, 6, 8, 12, 16]
    """
    if over == "depth":
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
) -> Sweep:
    """Compare the routes on each network of a sweep.

    A route that runs past ``cap`` seconds is stopped and reported over the
    cap, and is not run again on the larger networks that follow (its work
    only grows). Ctrl-C ends the sweep: the points measured so far are
    returned with ``interrupted`` set.

    >>> s = sweep("depth", [2, 2, 1], [1, 2], batch=4, cap=None)
    >>> [p.comparison.parameters for p in s.points]
    [9, 15]
    """
    _check_run_settings(batch, cap)
    networks = sweep_sizes(over, base, points)
    act = activation if isinstance(activation, str) else tuple(activation)
    specs = [(x, NetworkSpec(tuple(sizes), act, cost)) for x, sizes in networks]
    for _, spec in specs:
        spec.network()  # bad sizes or names fail before any work
    result = Sweep(over, tuple(base), cap=cap)
    worker = _Worker() if cap is not None else None
    over_cap: set[str] = set()
    try:
        for x, spec in specs:
            def report(route: str, sizes=spec.sizes) -> None:
                if on_route is not None:
                    on_route(sizes, route)
            rows = _measure_all(spec, ROUTES, batch, seed, cap, False, worker, set(over_cap), report)
            over_cap |= {r.route for r in rows if r.status == OVER_CAP}
            comparison = Comparison(spec, spec.network().parameter_count, batch, cap, rows)
            result.points.append(SweepPoint(x, comparison))
    except KeyboardInterrupt:
        result.interrupted = True
    finally:
        if worker is not None:
            worker.stop()
    return result


__all__ = [
    "Comparison",
    "GrowthLaw",
    "NetworkSpec",
    "RouteMeasurement",
    "Sweep",
    "chain_rule_terms",
    "compare",
    "default_points",
    "fit_growth",
    "measure_route",
    "sweep",
    "sweep_sizes",
]
