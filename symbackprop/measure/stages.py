"""One route measured stage by stage: derived, sized, compiled, run on a batch
and (the direct route) proved equal to the δ route, in this process.

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
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np
import sympy as sp
from sympy.core.cache import clear_cache

from ..engine.batchnorm import BatchNormNetwork
from ..engine.cnn import ConvolutionalNetwork
from ..engine.model_file import model_from_document
from ..engine.network import LayeredModel, Network
from ..engine.recurrent import RecurrentNetwork
from ..engine.routes import (
    DirectRoute,
    ExpressionSize,
    consumers,
    delta_route,
    direct_route,
    expression_size,
    path_counts,
)
from ..errors import NetworkSpecError, SymbackpropError

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
NOT_COMPUTABLE = "no numbers"
#: Networks whose array path is written by hand in NumPy, not derived.
STRUCTURED = (ConvolutionalNetwork, RecurrentNetwork, BatchNormNetwork)


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
        counts = path_counts(model)
        return sum(counts.get(p, 0) for p in model.parameters)
    if route in ("delta", "array"):
        users = consumers(model)
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
    weight_decay: object = 0

    def network(self) -> Network:
        activation = self.activation if isinstance(self.activation, str) else list(self.activation)
        return Network(list(self.sizes), activation=activation, cost=self.cost, weight_decay=self.weight_decay)


@dataclass(frozen=True)
class ModelSpec:
    """A model file's network as the file's document (JSON values, see
    :func:`~symbackprop.engine.model_file.read_model_document`), so that a
    worker process rebuilds it without a pickled model.

    >>> ModelSpec({"inputs": 2, "layers": [{"kind": "residual", "skip": 1}]}, "m.json").network().describe()
    '2-2r'
    """

    document: object
    where: str = "the model file"

    def network(self) -> LayeredModel:
        return model_from_document(self.document, self.where)


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


def cse_ops(exprs: Sequence[sp.Basic]) -> int:
    """Operations after common-subexpression elimination: ``sympy.cse`` names
    every subexpression used more than once (``x0 = …``, ``x1 = …``), and
    the count is the tree operations (as :func:`expression_size` counts them:
    ``k − 1`` for a sum or product of ``k`` terms, 1 for any other operation,
    0 for a symbol or a number) of the named right-hand sides plus those of
    the reduced expressions. A name costs nothing where it is used: this is
    the work of a program that computes each named value once.

    >>> x, y = sp.symbols("x y")
    >>> s = sp.sin(x + y)
    >>> expression_size([s * s + s, 2 * s]).tree_ops   # sin(x+y) written three times
    9
    >>> cse_ops([s * s + s, 2 * s])                     # x0 = sin(x + y): 2; x0**2 + x0: 2; 2*x0: 1
    5
    """
    definitions, reduced = sp.cse(list(exprs), order="none")
    return expression_size([rhs for _, rhs in definitions] + list(reduced)).tree_ops


def cost_sizes(model: Network) -> tuple[ExpressionSize, int]:
    """The sizes of ``C`` itself, written out in inputs, targets and parameters:
    tree operations and distinct nodes, and operations after CSE (the yardstick
    of a gradient's size: the cheap-gradient principle says reverse mode
    computes all of ``∂C/∂p`` for a small constant times the work of ``C``).

    ``C = (−b + t − w·x)²/2``: the product by 1/2, the square, the sum of
    three terms (2), ``−b`` and ``−w·x`` (1 and 2) are 7 operations; its
    12 distinct nodes are those 5 operations' results and the leaves
    1/2, −1, b, t, w, x, 2; nothing repeats, so CSE leaves 7.

    >>> cost_sizes(Network([1, 1], activation="identity"))
    (ExpressionSize(tree_ops=7, graph_nodes=12), 7)
    """
    cost = model.cost_substituted()
    return expression_size([cost]), cse_ops([cost])


def _computable(net: Network) -> bool:
    return not any(
        layer.activation.is_generic or layer.activation.not_trainable_because for layer in net.layers
    )


@functools.cache
def warm_up() -> None:
    """Compile and run a tiny network by both paths, once per process, so that
    the first route measured does not pay for loading lambdify's and NumPy's
    machinery.

    >>> warm_up()
    """
    from ..numeric.array_form import derive_arrays
    from ..numeric.arrays import compile_arrays
    from ..numeric.scalar import compile_scalar

    net = Network([1, 1])
    compile_scalar(net)({p: 0.5 for p in net.parameters}, np.ones((2, 1)), np.ones((2, 1)))
    compile_arrays(derive_arrays(net)).gradient(np.ones((1, 2)), np.ones((1, 2)), np.ones((1, 1)), np.ones((1, 1)))
    clear_cache()


def _derive(net: Network, route: str):
    """The route's derivation: what to size and how to compile and run it."""
    if route == "array" and isinstance(net, STRUCTURED):
        # Nothing to derive: the array path is NumPy written by hand, built when compiled.
        return None, None
    if route == "array":
        from ..numeric.array_form import derive_arrays

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


def _runner(spec, net: LayeredModel, route: str, derived, batch: int, seed: int) -> tuple[Callable, Callable]:
    """Compile the route: a call of the first function computes the gradient
    of the batch, the second reads its values from what the call returned,
    parameter by parameter (outside the timed call)."""
    if isinstance(spec, ModelSpec):
        return _model_runner(net, route, derived, batch, seed)
    params, X, T = _batch(net.sizes, batch, seed)
    if route == "array":
        from ..numeric.arrays import compile_arrays

        compiled = compile_arrays(derived)
        arrays = [a for l in range(2, net.depth + 1) for a in (params[f"W{l}"], params[f"b{l}"][:, None])]
        return (lambda: compiled.gradient(X.T, T.T, *arrays),
                lambda out: tuple(float(v) for value in out[1:] for v in np.asarray(value).ravel()))
    from ..numeric.scalar import compile_scalar

    function = compile_scalar(net, derived)
    values = dict(zip(net.parameters, _flat(params, net.sizes)))
    return lambda: function(values, X, T), _scalar_values


@dataclass(frozen=True)
class ModelBatch:
    """One batch for every route of a model file's network: the parameters'
    values by symbol, and the examples as the scalar routes read them (``X``,
    ``T``: a row of the network's inputs and targets per example) and as its
    array path reads them (``images``, ``labels``).

    A batch-normalised network's ``C_T`` is over the batch it was derived
    for: its scalar routes read that whole batch as one row.

    >>> b = model_batch(ConvolutionalNetwork((4, 4), 1, 3, pool=2, outputs=2), 3, 0)
    >>> b.X.shape, b.images.shape, b.T.shape, len(b.values)
    ((3, 16), (3, 1, 4, 4), (3, 2), 14)
    """

    values: dict
    X: np.ndarray
    T: np.ndarray
    images: np.ndarray
    labels: np.ndarray


def model_batch(net: LayeredModel, batch: int, seed: int) -> ModelBatch:
    """Parameters drawn from N(0, 1/4), inputs in [0, 1) and one-hot targets, from ``seed``."""
    from ..numeric.model_arrays import output_width

    rng = np.random.default_rng(seed)
    values = dict(zip(net.parameters, rng.normal(0, 0.5, net.parameter_count).tolist()))
    if isinstance(net, ConvolutionalNetwork):
        images = rng.random((batch, net.channels, *net.image_shape))
    elif isinstance(net, RecurrentNetwork):
        images = rng.random((batch, net.steps, len(net.recurrent.x[0])))
    else:
        images = rng.random((net.batch if isinstance(net, BatchNormNetwork) else batch, net.sizes[0]))
    rows = 1 if isinstance(net, BatchNormNetwork) else len(images)
    # h^{(0)} = 0 closes a recurrent network's inputs.
    extra = np.zeros((rows, len(net.inputs) - images.size // rows))
    X = np.concatenate([images.reshape(rows, -1), extra], axis=1)
    width = output_width(net)
    per_example = len(net.targets) * rows // len(images)
    labels = np.eye(width)[rng.integers(0, width, (len(images), per_example // width))].reshape(len(images), -1)
    return ModelBatch(values, X, labels.reshape(rows, -1), images, labels)


def _scalar_values(out) -> tuple[float, ...]:
    return tuple(out[1].values())


def _model_runner(net: LayeredModel, route: str, derived, batch: int, seed: int) -> tuple[Callable, Callable]:
    data = model_batch(net, batch, seed)
    if route != "array":
        from ..numeric.scalar import compile_scalar

        function = compile_scalar(net, derived)
        return lambda: function(data.values, data.X, data.T), _scalar_values
    if isinstance(net, STRUCTURED):
        from ..numeric.model_arrays import trainable_for

        model = trainable_for(net, "array")
        params = _arrays_from_symbols(model, data.values)
        return (lambda: model.cost_and_gradient(params, data.images, data.labels),
                lambda out: tuple(model.symbol_values(out[1])[p] for p in net.parameters))
    from ..numeric.arrays import compile_arrays
    from ..numeric.dense import parameter_places, parameter_shapes

    compiled = compile_arrays(derived)
    shapes, places = parameter_shapes(net), parameter_places(net)
    params = {name: np.zeros(shape) for name, shape in shapes.items()}
    for p, (name, place) in zip(net.parameters, places):
        params[name][place] = data.values[p]
    # The matrix form takes b^l as a column.
    arrays = [params[name][:, None] if len(shape) == 1 else params[name] for name, shape in shapes.items()]

    def values(out) -> tuple[float, ...]:
        by_name = dict(zip(shapes, out[1:]))
        return tuple(float(by_name[name][place if len(place) == 2 else (place[0], 0)]) for name, place in places)
    return lambda: compiled.gradient(data.images.T, data.labels.T, *arrays), values


def _arrays_from_symbols(model, values: dict) -> dict[str, np.ndarray]:
    """The array path's parameters from values keyed by symbol: every array
    entry is numbered, and the model's ``symbol_values`` tells which symbol
    holds which number."""
    sizes = [int(np.prod(shape)) for shape in model.parameter_shapes.values()]
    ends = np.cumsum(sizes)
    numbered = {name: np.arange(end - size, end, dtype=float).reshape(shape)
                for (name, shape), size, end in zip(model.parameter_shapes.items(), sizes, ends)}
    flat = np.zeros(int(ends[-1]))
    for symbol, number in model.symbol_values(numbered).items():
        flat[int(number)] = values[symbol]
    return {name: flat[end - size:end].reshape(shape)
            for (name, shape), size, end in zip(model.parameter_shapes.items(), sizes, ends)}


def measure_stages(
    spec: NetworkSpec | ModelSpec, route: str, batch: int = 64, seed: int = 0, prove: bool = False
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
    seconds = time.perf_counter() - start
    result = RouteMeasurement(route, OVER_CAP, derive_seconds=seconds if exprs is not None else None,
                              unfinished="size")
    yield result
    if exprs is not None:
        result = replace(result, size=expression_size(exprs), cse_ops=cse_ops(exprs), terms=chain_rule_terms(net, route))
    result = replace(result, unfinished="compile")
    if _computable(net):
        yield result
        start = time.perf_counter()
        run, values = _runner(spec, net, route, derived, batch, seed)
        result = replace(result, compile_seconds=time.perf_counter() - start, unfinished="evaluate")
        yield result
        seconds, spread = _timed(run)
        result = replace(result, gradient=values(run()), evaluate_seconds=seconds,
                         evaluate_spread=spread)
    else:
        result = replace(result, status=NOT_COMPUTABLE)
    if prove and route == "direct":
        yield replace(result, unfinished="prove")
        result = replace(result, **_prove_direct(net, derived))
    yield replace(result, status="ok" if result.status == OVER_CAP else result.status, unfinished=None)


def measured_safely(spec: NetworkSpec, route: str, batch: int, seed: int, prove: bool) -> Iterator[RouteMeasurement]:
    """:func:`measure_stages`, with a failure of SymPy or NumPy on a network too
    big for them reported as the route's status instead of raised.

    >>> *_, last = measured_safely(NetworkSpec((2, 1)), "delta", batch=4, seed=0, prove=False)
    >>> last.status, last.unfinished
    ('ok', None)
    """
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


__all__ = [
    "NetworkSpec",
    "cost_sizes",
    "cse_ops",
    "RouteMeasurement",
    "chain_rule_terms",
    "measure_route",
    "measure_stages",
]
