"""Derivative hell, measured: four routes to the same gradient, side by side.

The book calls the direct route hell and moves on; here it is measured. Each
route is derived, sized, compiled and run on the same batch:

- ``direct``: substitute every definition into ``C`` and differentiate by
  each parameter;
- ``delta``: the δ recurrence in layer quantities (``z``, ``a``, ``δ`` are
  named once and reused);
- ``written-out``: the δ route's gradients with every layer quantity
  substituted, in inputs and parameters only;
- ``array``: the δ recurrence in matrix form (:mod:`symbackprop.numeric.arrays`).

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

import functools
import math
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np
import sympy as sp
from sympy.core.cache import clear_cache

from ..engine.network import Network
from ..engine.routes import (
    DirectRoute,
    ExpressionSize,
    _path_counts,
    _users,
    delta_route,
    direct_route,
    estimate_direct_work,
    expression_size,
)
from ..errors import NetworkSpecError, SymbackpropError, WorkerError
from ..guards import MAX_BATCH, MAX_SWEEP_POINTS, SWEEP_LARGEST

if TYPE_CHECKING:
    from rich.table import Table

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
FAILED = "failed"
#: The exact law behind the direct route's growth (see :func:`chain_rule_terms`).
PATHS_LAW = (
    "Σ paths = Σ_l (n_l n_{l−1} + n_l) Π_{m>l} n_m: the chain-rule products of the gradients "
    "written out, a product of widths; the δ recurrence needs one per local derivative, "
    "linear in the parameters."
)
NOT_COMPUTABLE = "no numbers"


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

#: The stages of a measurement, in order; a route over the cap keeps the
#: figures of the stages it finished.
STAGES = ("derive", "size", "compile", "evaluate", "prove")


@dataclass(frozen=True)
class RouteMeasurement:
    """The figures of one route on one network.

    ``status`` is ``ok``; :data:`OVER_CAP` (stopped at the time cap during
    stage ``unfinished``, or not run, ``unfinished`` None, because a smaller
    network already was over it); :data:`NOT_COMPUTABLE` (derived and sized,
    but the activation has no numeric values, so nothing is compiled); or
    :data:`FAILED` (``reason`` says why). Figures of finished stages are kept
    whatever the status. Times are seconds; ``evaluate_seconds`` is the
    median of several runs of one full gradient on the batch, and
    ``evaluate_spread`` their first and third quartiles; ``gradient``
    holds the values of ``∂C_T/∂p`` it computed, parameter by parameter;
    ``proved`` counts the gradients proved exactly equal to the δ route's
    (the direct route only).

    >>> RouteMeasurement("direct", OVER_CAP, unfinished="compile").finished("derive")
    True
    """

    route: str
    status: str
    derive_seconds: float | None = None
    size: ExpressionSize | None = None
    cse_ops: int | None = None
    terms: int | None = None
    compile_seconds: float | None = None
    evaluate_seconds: float | None = None
    evaluate_spread: tuple[float, float] | None = None
    gradient: tuple[float, ...] | None = None
    proved: int | None = None
    proof_seconds: float | None = None
    unfinished: str | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        """Every stage finished."""
        return self.status == "ok"

    def finished(self, stage: str) -> bool:
        """Whether ``stage`` (one of :data:`STAGES`) ran to its end."""
        if self.status == "ok":
            return True
        if self.status == NOT_COMPUTABLE:
            return stage in ("derive", "size", "prove")
        return self.unfinished is not None and STAGES.index(stage) < STAGES.index(self.unfinished)


@dataclass(frozen=True)
class NetworkSpec:
    """A network as names (so that a worker process can rebuild it).

    >>> NetworkSpec((2, 2, 1), "tanh").network()
    Network(2-2-1, activation=tanh, cost=squared)
    """

    sizes: tuple[int, ...]
    activation: str | tuple[str, ...] = "sigmoid"
    cost: str = "squared"

    def network(self) -> Network:
        activation = self.activation if isinstance(self.activation, str) else list(self.activation)
        return Network(list(self.sizes), activation=activation, cost=self.cost)


def _timed(fn: Callable[[], object], repeats: int = 7, budget: float = 0.03) -> tuple[float, tuple[float, float]]:
    """Seconds per call over ``repeats`` loops of at least ``budget`` seconds:
    the median, and the first and third quartiles (the spread a comparison
    must clear before it names a faster route).

    >>> median, (low, high) = _timed(lambda: sum(range(100)))
    >>> 0 < low <= median <= high
    True
    """
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
    low, median, high = np.percentile(samples, [25, 50, 75])
    return float(median), (float(low), float(high))


def _batch(sizes: Sequence[int], batch: int, seed: int) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    from ..numeric.dense import dense_initial_params

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


@functools.cache
def _warm_up() -> None:
    """Compile and run a tiny network by both paths, once per process, so that
    the first route measured does not pay for loading lambdify's and NumPy's
    machinery."""
    from ..numeric.arrays import compile_arrays, derive_arrays
    from ..numeric.scalar import compile_scalar

    net = Network([1, 1])
    compile_scalar(net)({p: 0.5 for p in net.parameters}, np.ones((2, 1)), np.ones((2, 1)))
    compile_arrays(derive_arrays(net)).gradient(np.ones((1, 2)), np.ones((1, 2)), np.ones((1, 1)), np.ones((1, 1)))
    clear_cache()


def _derive(net: Network, route: str):
    """The route's derivation: what to size and how to compile and run it."""
    if route == "array":
        from ..numeric.arrays import derive_arrays

        derivation = derive_arrays(net)
        exprs = (
            [value for _, value in derivation.forward]
            + list(derivation.products.values())
            + list(derivation.deltas.values())
            + list(derivation.gradients.values())
        )
        return derivation, exprs
    if route == "direct":
        derived = direct_route(net, force=True)
        return derived, list(derived.gradients.values())
    if route == "delta":
        derived = delta_route(net)
        exprs = list(net.definitions.values()) + list(derived.deltas.values()) + list(derived.gradients.values())
        return derived, exprs
    if route == "written-out":
        start = time.perf_counter()
        via = delta_route(net)
        gradients = {p: via.expanded(p) for p in net.parameters}
        derived = DirectRoute(net, net.cost_substituted(), gradients, time.perf_counter() - start)
        return derived, list(gradients.values())
    raise NetworkSpecError(f"unknown route {route!r}; the routes are {', '.join(ROUTES)}")


def _runner(net: Network, route: str, derived, batch: int, seed: int) -> Callable[[], list[float]]:
    """Compile the route; a call computes the gradient of the batch."""
    params, X, T = _batch(net.sizes, batch, seed)
    if route == "array":
        from ..numeric.arrays import compile_arrays

        compiled = compile_arrays(derived)
        arrays = [a for l in range(2, net.depth + 1) for a in (params[f"W{l}"], params[f"b{l}"][:, None])]
        return lambda: compiled.gradient(X.T, T.T, *arrays)
    from ..numeric.scalar import compile_scalar

    function = compile_scalar(net, derived)
    values = dict(zip(net.parameters, _flat(params, net.sizes)))
    return lambda: function(values, X, T)


def _gradient_values(route: str, out) -> tuple[float, ...]:
    if route == "array":
        return tuple(float(v) for value in out[1:] for v in np.asarray(value).ravel())
    return tuple(out[1].values())


def measure_stages(
    spec: NetworkSpec, route: str, batch: int = 64, seed: int = 0, prove: bool = False
) -> Iterator[RouteMeasurement]:
    """Measure one route stage by stage (:data:`STAGES`), yielding the figures
    so far after each: derive, size (operations, distinct nodes, after CSE,
    chain-rule terms), compile, evaluate one gradient on the batch, and (the
    direct route, with ``prove``) prove it equal to the δ route.

    >>> [m.unfinished for m in measure_stages(NetworkSpec((2, 1)), "delta", batch=4)]
    ['size', 'compile', 'evaluate', None]
    """
    # Each route starts from an empty SymPy cache: no route reuses another's work.
    clear_cache()
    net = spec.network()
    start = time.perf_counter()
    derived, exprs = _derive(net, route)
    result = RouteMeasurement(route, OVER_CAP, derive_seconds=time.perf_counter() - start, unfinished="size")
    yield result
    result = replace(result, size=expression_size(exprs), cse_ops=_cse_ops(exprs),
                     terms=chain_rule_terms(net, route), unfinished="compile")
    if _computable(net):
        yield result
        start = time.perf_counter()
        run = _runner(net, route, derived, batch, seed)
        result = replace(result, compile_seconds=time.perf_counter() - start, unfinished="evaluate")
        yield result
        seconds, spread = _timed(run)
        result = replace(result, gradient=_gradient_values(route, run()), evaluate_seconds=seconds,
                         evaluate_spread=spread)
    else:
        result = replace(result, status=NOT_COMPUTABLE)
    if prove and route == "direct":
        yield replace(result, unfinished="prove")
        result = replace(result, **_prove_direct(net, derived))
    yield replace(result, status="ok" if result.status == OVER_CAP else result.status, unfinished=None)


def _measured_safely(spec: NetworkSpec, route: str, batch: int, seed: int, prove: bool) -> Iterator[RouteMeasurement]:
    """:func:`measure_stages`, with a failure of SymPy or NumPy on a network too
    big for them reported as the route's status instead of raised."""
    last = RouteMeasurement(route, FAILED, unfinished="derive")
    try:
        for last in measure_stages(spec, route, batch, seed, prove):
            yield last
    except SymbackpropError:
        raise
    except RecursionError:
        yield replace(last, status=FAILED, reason="too deep for SymPy (its recursion limit)")
    except MemoryError:
        yield replace(last, status=FAILED, reason="out of memory")
    except Exception as exc:  # reported with the route, so that a sweep keeps its other rows
        yield replace(last, status=FAILED, reason=f"{type(exc).__name__}: {exc}")


def measure_route(spec: NetworkSpec, route: str, batch: int = 64, seed: int = 0, prove: bool = False) -> RouteMeasurement:
    """Derive one route, size it, compile it and time one gradient on a batch,
    in this process, without a cap.

    >>> m = measure_route(NetworkSpec((2, 2, 1)), "delta", batch=8)
    >>> m.status, m.terms, len(m.gradient)
    ('ok', 15, 9)
    """
    *_, result = measure_stages(spec, route, batch, seed, prove)
    return result


def _prove_direct(net: Network, direct: DirectRoute) -> dict:
    """Prove every direct gradient equal to the δ route's, written out."""
    from ..proof.verify import prove_equal

    start = time.perf_counter()
    via = delta_route(net)
    proved = sum(bool(prove_equal(g, via.expanded(p))) for p, g in direct.gradients.items())
    return {"proved": proved, "proof_seconds": time.perf_counter() - start}


# --- a worker process, so that the time cap can stop SymPy mid-derivation --------

def _watch_parent(parent: int) -> None:
    # Killed without a chance to clean up (SIGKILL, SIGTERM), the parent
    # cannot stop this process: it stops itself instead of running on.
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def _serve(connection, parent: int) -> None:
    # Ctrl-C is the parent's to handle (SIGINT is ignored from the start, see
    # _Worker._start): it stops this process itself.
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    _warm_up()
    try:
        connection.send("ready")
        while True:
            task = connection.recv()
            try:
                for measured in _measured_safely(*task):
                    connection.send(measured)
            except SymbackpropError as exc:  # bad input: raised again in the parent
                connection.send(exc)
            else:
                connection.send(None)
    except (EOFError, OSError):
        # The parent's end of the pipe closed (it was killed, or it stopped
        # us): nobody is left to report to, and no traceback is wanted. The
        # measuring reports its own failures as results, so these errors
        # only come from the pipe.
        return


class _Worker:
    """A child process that measures routes; killed and replaced when a route
    runs past the cap (SymPy cannot be interrupted from inside)."""

    def __init__(self) -> None:
        self._process = None
        self._connection = None

    def _start(self) -> None:
        # spawn, not fork: the parent may be running threads (rich's live display).
        context = multiprocessing.get_context("spawn")
        connection, child = context.Pipe()
        process = context.Process(target=_serve, args=(child, os.getpid()), daemon=True)
        # A Ctrl-C at the terminal reaches every process of the group. An
        # ignored SIGINT survives exec, and Python then installs no
        # KeyboardInterrupt handler: the child never prints a traceback, even
        # while it is still importing.
        # Only Python's main thread may change handlers, and a handler set
        # outside Python (getsignal gives None) could not be put back.
        ours = threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGINT) is not None
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if ours else None
        try:
            process.start()
        finally:
            if ours:
                signal.signal(signal.SIGINT, previous)
        child.close()
        self._process, self._connection = process, connection
        try:
            # Starting Python and importing SymPy is not the route's time.
            connection.recv()
        except (EOFError, OSError):
            self.stop()
            raise WorkerError(
                "the worker process that measures the routes could not start; in a script, call "
                "compare() and sweep() under `if __name__ == '__main__':`, or pass cap=None"
            ) from None

    def run(self, task: tuple, cap: float) -> RouteMeasurement:
        """Measure in the child; a route still running after ``cap`` seconds
        comes back :data:`OVER_CAP` with the stages it finished."""
        if self._process is None:
            self._start()
        route = task[1]
        last = RouteMeasurement(route, OVER_CAP, unfinished="derive")
        deadline = time.monotonic() + cap
        try:
            self._connection.send(task)
            while self._connection.poll(max(0.0, deadline - time.monotonic())):
                answer = self._connection.recv()
                if answer is None:
                    return last
                if isinstance(answer, BaseException):
                    raise answer
                last = answer
        except (EOFError, OSError):
            self.stop()
            return replace(last, status=FAILED, reason="the worker process died (out of memory?)")
        self.stop()
        return last

    def stop(self) -> None:
        """Kill the child, if there is one."""
        if self._process is not None:
            self._process.kill()
            self._process.join()
            self._connection.close()
            self._process = self._connection = None


def _measure_all(
    spec: NetworkSpec, batch: int, seed: int, prove: bool, worker: _Worker | None, cap: float | None,
    skip: dict[str, str] | None = None, on_route: Callable[[str], None] | None = None,
) -> list[RouteMeasurement]:
    """Measure every route; a route in ``skip`` is not run and keeps the status
    it had on a smaller network."""
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
            *_, measured = _measured_safely(*task)
        else:
            measured = worker.run(task, cap)
        rows.append(measured)
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
                f"The δ recurrence derived in {_seconds(delta.derive_seconds)}, more than "
                f"{self.cap / delta.derive_seconds:,.0f}× faster than the direct route."
            )
        array = self.row("array")
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
                f"δ route's ({_seconds(direct.proof_seconds)})."
            )
        return lines

    def table(self) -> Table:
        """The comparison as a rich table.

        >>> compare([1, 1], batch=2, cap=None).table().row_count
        4
        """
        from rich.table import Table

        table = Table(
            title=f"{self.spec.network().describe()}: {self.parameters} parameters, batch of {self.batch}",
            caption="direct: substitute, then differentiate; δ recurrence: in layer quantities z, a, δ; "
            "δ written out: its gradients in inputs and parameters; δ as arrays: the matrix form. "
            "ops: operations as a tree; nodes: distinct subexpressions; CSE: operations after "
            "common-subexpression elimination; terms: chain-rule products (one per path, or one per "
            "local derivative); eval: one gradient of the batch, median of repeats.",
            caption_justify="left",
        )
        table.add_column("route", no_wrap=True)
        for column in ("derive", "ops", "nodes", "CSE", "terms", "compile", "eval"):
            table.add_column(column, justify="right", overflow="fold")
        for row in self.rows:
            table.add_row(ROUTE_TITLES[row.route], *_cells(row, compact=True))
        return table

    def markdown(self) -> str:
        """The comparison as a Markdown table followed by the verdicts."""
        head = "| route | derive | ops (as a tree) | distinct nodes | ops after CSE | chain-rule terms " \
            f"| compile | gradient, batch of {self.batch} |"
        lines = [head, "|---|" + "---:|" * 7]
        for row in self.rows:
            lines.append("| " + " | ".join([ROUTE_TITLES[row.route], *_cells(row)]) + " |")
        return "\n".join(lines + [""] + self.verdicts())


def _stopped(row: RouteMeasurement, spec: NetworkSpec, cap: float | None) -> str:
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
        "size": f"was derived in {_seconds(row.derive_seconds)} but not sized",
        "compile": f"was derived in {_seconds(row.derive_seconds)} but not compiled",
        "evaluate": "was compiled but not run",
        "prove": "was measured, but its proof did not finish",
    }[row.unfinished]
    return f"The {title} route {done} within the {cap:g} s cap." if cap else f"The {title} route {done}."


def _cells(row: RouteMeasurement, compact: bool = False) -> list[str]:
    """Figures of the finished stages; the stage the cap stopped reads "over cap"."""
    def count(n: int) -> str:
        return _compact(n) if compact and n >= 1_000_000 else f"{n:,}"

    size = row.size
    stages = [
        ("derive", [_seconds(row.derive_seconds)]),
        ("size", [count(size.tree_ops), count(size.graph_nodes), count(row.cse_ops), count(row.terms)]
         if size is not None else ["—"] * 4),
        ("compile", [_seconds(row.compile_seconds)]),
        ("evaluate", [_seconds(row.evaluate_seconds)]),
    ]
    cells = []
    for stage, figures in stages:
        if row.status in (OVER_CAP, FAILED) and stage == (row.unfinished or "derive"):
            figures = ["over cap" if row.status == OVER_CAP else "failed"] + ["—"] * (len(figures) - 1)
        cells += figures
    return cells


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
    return f"{_seconds(row.evaluate_seconds)}, quartiles {_seconds(low)} to {_seconds(high)}"


def _speed(slow: RouteMeasurement, fast: RouteMeasurement) -> str:
    """How ``fast`` compares with ``slow`` in evaluation time: a direction only
    when their quartiles do not overlap, since timings of one run vary.

    >>> a = RouteMeasurement("direct", "ok", evaluate_seconds=1e-3, evaluate_spread=(0.9e-3, 1.2e-3))
    >>> b = RouteMeasurement("delta", "ok", evaluate_seconds=0.8e-3, evaluate_spread=(0.7e-3, 1.0e-3))
    >>> _speed(a, b)
    'about as fast (800 µs, quartiles 700 µs to 1.0 ms, overlapping)'
    >>> _speed(a, replace(b, evaluate_spread=(0.75e-3, 0.85e-3)))
    '1.2× faster (800 µs, quartiles 750 µs to 850 µs)'
    """
    (slow_low, slow_high), (low, high) = slow.evaluate_spread, fast.evaluate_spread
    if low <= slow_high and slow_low <= high:
        return f"about as fast ({_spread(fast)}, overlapping)"
    return f"{_faster(slow.evaluate_seconds / fast.evaluate_seconds)} ({_spread(fast)})"


def _ratio(big: int, small: int) -> str:
    return f"1/{big / small:.0f} of" if big >= small else f"{small / big:.1f}×"


def _check_run_settings(batch: int, cap: float | None, seed: int) -> None:
    from ..numeric.train import check_seed

    check_seed(seed)
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
    is stopped after ``cap`` seconds, keeping the stages it finished (in a
    script, call it under ``if __name__ == "__main__":``, as for any
    ``multiprocessing`` code); ``cap=None`` runs in this process. ``prove``
    also proves every direct gradient equal to the δ route's.

    >>> c = compare([2, 2, 1], batch=8, cap=None)
    >>> [row.route for row in c.rows]
    ['direct', 'delta', 'written-out', 'array']
    >>> c.row("direct").proved, c.agreement() < 1e-12
    (9, True)
    """
    if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence):
        raise NetworkSpecError(f"the network to compare is a list of layer sizes such as [12, 3, 2]; got {sizes!r:.60}")
    spec = NetworkSpec(tuple(sizes), activation if isinstance(activation, str) else tuple(activation), cost)
    net = spec.network()
    _check_run_settings(batch, cap, seed)
    worker = _Worker() if cap is not None else None
    if worker is None:
        _warm_up()
    try:
        rows = _measure_all(spec, batch, seed, prove, worker, cap)
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

    ``kind`` is ``exponential`` (``y ∝ rate^v``), ``power`` (``y ∝ v^rate``),
    both fitted in log space, or ``linear`` (``y = intercept + rate·v``), in
    the variable ``variable``. ``r_squared`` is None for fewer than three
    points (two points fit any law exactly).
    """

    route: str
    figure: str
    kind: str
    variable: str
    rate: float
    intercept: float
    r_squared: float | None
    points: int

    def predict(self, v: float) -> float:
        """The law's value at ``v`` (``inf`` past the range of floats).

        >>> round(fit_growth("direct", "tree_ops", "exponential", "depth", [(1, 2.0), (2, 4.0)]).predict(10), 6)
        1024.0
        """
        if self.kind == "linear":
            return self.intercept + self.rate * v
        exponent = self.intercept + (math.log(self.rate) * v if self.kind == "exponential" else self.rate * math.log(v))
        return math.exp(exponent) if exponent < 700 else math.inf

    def describe(self) -> str:
        """``∝ 4.1^depth``, ``∝ width^1.80`` or ``≈ 107 + 4.75·parameters``.

        >>> fit_growth("array", "tree_ops", "linear", "parameters", [(9, 46), (17, 46.0)]).describe()
        '≈ 46 + 0·parameters'
        """
        if self.kind == "exponential":
            return f"∝ {self.rate:.2f}^{self.variable}"
        if self.kind == "power":
            return f"∝ {self.variable}^{self.rate:.2f}"
        # A slope lost in rounding noise (the array form's constant size) reads 0.
        rate = 0.0 if abs(self.rate) < 1e-12 * abs(self.intercept) else self.rate
        sign = "+" if rate >= 0 else "−"
        return f"≈ {self.intercept:.3g} {sign} {abs(rate):.3g}·{self.variable}".replace("-", "−")


#: The kinds of law :func:`fit_growth` fits.
LAW_KINDS = ("exponential", "power", "linear")


def fit_growth(route: str, figure: str, kind: str, variable: str, points: Sequence[tuple[float, float]]) -> GrowthLaw | None:
    """Fit a law of ``kind`` to ``(v, y)`` points; None with fewer than two
    distinct v. Exponential and power laws are fitted in log space (and
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
    usable = [(v, y) for v, y in points if y is not None and (not logs or (y > 0 and v > 0))]
    if len({v for v, _ in usable}) < 2:
        return None
    vs = np.array([math.log(v) if kind == "power" else v for v, _ in usable], dtype=float)
    ys = np.array([math.log(y) if logs else y for _, y in usable], dtype=float)
    slope, intercept = np.polyfit(vs, ys, 1)
    residual = float(np.sum((ys - (slope * vs + intercept)) ** 2))
    total = float(np.sum((ys - ys.mean()) ** 2))
    r_squared = (1.0 - residual / total if total > 0 else 1.0) if len(usable) > 2 else None
    rate = math.exp(slope) if kind == "exponential" else float(slope)
    return GrowthLaw(route, figure, kind, variable, rate, float(intercept), r_squared, len(usable))


#: The figures a sweep fits and charts: (field, label, the stage that measures it).
SWEEP_FIGURES = (
    ("derive_seconds", "derivation time (s)", "derive"),
    ("tree_ops", "operations, as a tree", "size"),
    ("evaluate_seconds", "gradient evaluation (s)", "evaluate"),
)


def _figure(row: RouteMeasurement, name: str) -> float | None:
    if name == "tree_ops":
        return float(row.size.tree_ops) if row.size is not None else None
    return getattr(row, name)


CELL_NOTE = (
    "Each cell: derivation time · operations as a tree; \", over cap\": a later stage, such as "
    "compiling, was stopped by the cap."
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
        depth, as a power of the width. The δ recurrence and the array form
        are fitted as straight lines in the number of parameters: their work
        is one step per local derivative.
        """
        laws = []
        for route in ROUTES:
            if route in PATH_ROUTES:
                kind, variable = ("exponential", "depth") if self.over == "depth" else ("power", "width")
            else:
                kind, variable = "linear", "parameters"
            for figure, _, _ in SWEEP_FIGURES:
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
            derived = _seconds(row.derive_seconds) if row.derive_seconds is not None else _mark(row)
            size = _compact(row.size.tree_ops) if row.size is not None else _mark(row)
            if row.derive_seconds is None:
                cells.append(derived)
            else:
                stopped = f", {_mark(row)}" if row.status in (OVER_CAP, FAILED) else ""
                cells.append(f"{derived} · {size}{stopped}")
        return cells

    def laws_table(self) -> Table:
        """The fitted laws as a rich table.

        >>> sweep("depth", [1, 1, 1], [1, 2, 3], batch=2, cap=None).laws_table().row_count
        12
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
        raise NetworkSpecError(f"the network of a sweep is a list of layer sizes such as [12, 3, 2]; got {base!r:.60}")
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
        raise NetworkSpecError(f"the points of a sweep are a list of whole numbers such as [1, 2, 3]; got {points!r:.60}")
    if not points or len(points) > MAX_SWEEP_POINTS or any(
        isinstance(x, bool) or not isinstance(x, int) or not 1 <= x <= largest for x in points
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
    """Compare the routes on each network of a sweep, smallest first.

    A route that runs past ``cap`` seconds (or fails) is stopped, keeping the
    stages it finished, and is not run again on the larger networks that
    follow: its work only grows. Ctrl-C ends the sweep: the points measured
    so far are returned with ``interrupted`` set. ``on_route(sizes, route)``
    is called before each route is measured.

    >>> s = sweep("depth", [2, 2, 1], [1, 2], batch=4, cap=None)
    >>> [p.comparison.parameters for p in s.points]
    [9, 15]
    """
    _check_run_settings(batch, cap, seed)
    networks = sweep_sizes(over, base, points)
    act = activation if isinstance(activation, str) else tuple(activation)
    specs = [(x, NetworkSpec(tuple(sizes), act, cost)) for x, sizes in networks]
    # Built before any work, so that bad sizes or names fail at once.
    parameters = [spec.network().parameter_count for _, spec in specs]
    result = Sweep(over, tuple(base), cap=cap)
    worker = _Worker() if cap is not None else None
    stopped: dict[str, str] = {}
    try:
        if worker is None:
            _warm_up()
        for (x, spec), count in zip(specs, parameters):
            def report(route: str, sizes=spec.sizes) -> None:
                if on_route is not None:
                    on_route(sizes, route)
            rows = _measure_all(spec, batch, seed, False, worker, cap, dict(stopped), report)
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
    "measure_stages",
    "sweep",
    "sweep_sizes",
]
