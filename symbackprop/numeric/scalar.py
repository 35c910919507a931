"""From symbols to numbers: derived gradients compiled to NumPy (or mpmath).

The *scalar path* compiles one expression per parameter, exactly as derived:
either route's gradients, evaluated over a whole batch at once (each input
is an array over the examples). The layer quantities ``z``, ``a`` and ``δ``
are passed to ``lambdify`` as the common subexpressions, so the generated
code reads like the book's spreadsheet: forward, then the δs backwards, then
one line per gradient.

>>> import numpy as np
>>> net = Network([12, 3, 2])
>>> grad = compile_scalar(net)
>>> params = {p: 0.1 for p in net.parameters}
>>> x, t = np.ones((5, 12)), np.tile([1.0, 0.0], (5, 1))
>>> cost, gradient = grad(params, x, t)
>>> round(cost, 6), len(gradient)
(1.284576, 47)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np
import sympy as sp

from ..engine.network import LayeredModel, check_model
from ..engine.routes import DeltaRoute, DirectRoute, delta_route
from ..errors import ArgumentError, DataError, NotDifferentiableError, UnknownNameError, echo
from ..functions.activations import MPMATH_FUNCTIONS, NUMPY_FUNCTIONS
from .stable import MPMATH_FUNCTIONS as STABLE_MPMATH
from .stable import NUMPY_FUNCTIONS as STABLE_NUMPY
from .stable import stable_logs


def lambdify_modules(backend: str, model: LayeredModel | None = None) -> list:
    """The ``modules`` for ``lambdify``: the stable functions, the model's own
    activations' implementations, then NumPy or mpmath.

    >>> lambdify_modules("mpmath")[-1]
    'mpmath'
    """
    own: dict = dict(STABLE_NUMPY if backend == "numpy" else STABLE_MPMATH)
    for layer in model.layers if model is not None else ():
        act = layer.activation
        own.update(act.numpy_functions if backend == "numpy" else act.mpmath_functions)
    if backend == "numpy":
        return [{**NUMPY_FUNCTIONS, **own}, "numpy"]
    return [{**MPMATH_FUNCTIONS, **own}, "mpmath"]


BACKENDS = ("numpy", "symengine", "mpmath")


def _stable_outputs(model: LayeredModel) -> dict[sp.Symbol, sp.Expr]:
    """``{a^L_j: σ(z^L_j)}`` or ``{a^L_j: softmax(j, z^L_1, …)}``: the output
    units whose logs :func:`~symbackprop.numeric.stable.stable_logs` rewrites."""
    from ..functions.elementary import sigmoid
    from ..functions.softmax import softmax

    return {
        a: model.definitions[a]
        for a in model.output_layer.outputs
        if isinstance(model.definitions.get(a), (sigmoid, softmax))
    }


def code_names(symbols: Sequence[sp.Symbol]) -> dict[sp.Symbol, sp.Symbol]:
    """Python names for the book's symbols in generated code.

    >>> code_names(sp.symbols("w^2_11 b^2_1"))
    {w^2_11: q0, b^2_1: q1}
    """
    # Book names like w^2_11 are not Python identifiers; the generated code
    # uses q0, q1, ... and keeps the mapping.
    return {s: sp.Symbol(f"q{n}") for n, s in enumerate(symbols)}


@dataclass
class CompiledGradient:
    """A compiled ``(C, ∂C/∂p for every p)`` with the expressions it came from.

    Calling it with parameter values, inputs ``x`` (batch × inputs) and
    targets ``t`` (batch × outputs) returns ``C_T = Σ_k C_k`` and the gradient
    of ``C_T`` as a dict keyed by parameter symbol. For one identity unit,
    ``C = (t − w x − b)²/2``, so at ``w = 2, b = 1, x = 1, t = 0`` the cost is
    9/2 and ``∂C/∂w = ∂C/∂b = 3``:

    >>> f = compile_scalar(Network([1, 1], activation="identity"))
    >>> w, b = f.parameters
    >>> f({w: 2.0, b: 1.0}, [[1.0]], [[0.0]])
    (4.5, {w^2_11: 3.0, b^2_1: 3.0})
    """

    model: LayeredModel
    route: str
    backend: str
    parameters: tuple[sp.Symbol, ...]
    cost_expression: sp.Expr
    gradient_expressions: dict[sp.Symbol, sp.Expr]
    common: list[tuple[sp.Symbol, sp.Expr]]
    function: object

    def __call__(self, params: Mapping, x, t) -> tuple[float, dict[sp.Symbol, float]]:
        values = [params[p] for p in self.parameters]
        if self.backend == "symengine":
            x, t = self._check(x, t)
            rows = np.hstack([x, t, np.broadcast_to(np.asarray(values, dtype=float), (len(x), len(values)))])
            sums = self.function(rows).sum(axis=0)
            return float(sums[0]), dict(zip(self.parameters, sums[1:].tolist()))
        if self.backend == "mpmath":
            out = self.function(*x, *t, *values)
            return out[0], dict(zip(self.parameters, out[1:]))
        x, t = self._check(x, t)
        out = self.function(*x.T, *t.T, *values)
        batch = x.shape[0]
        # An expression free of the inputs comes back as one number, not a batch.
        sums = [float(v.sum()) if getattr(v, "shape", ()) else float(v) * batch for v in out]
        return sums[0], dict(zip(self.parameters, sums[1:]))

    def _check(self, x, t) -> tuple[np.ndarray, np.ndarray]:
        x = np.asarray(x, dtype=float)
        t = np.asarray(t, dtype=float)
        model = self.model
        if x.ndim != 2 or x.shape[1] != len(model.inputs):
            raise DataError(f"inputs must be an array of shape (batch, {len(model.inputs)}); got {x.shape}")
        if t.shape != (x.shape[0], len(model.targets)):
            raise DataError(f"targets must be an array of shape ({x.shape[0]}, {len(model.targets)}); got {t.shape}")
        return x, t

    def latex(self, parameter) -> str:
        """The formula this function computes for ``∂C/∂p``, in LaTeX."""
        from ..notation.latex import book_latex

        p = self.model.symbol(parameter)
        return book_latex(self.gradient_expressions[p])


def largest_difference(
    C: float, gradient: Mapping[sp.Symbol, float], C_scalar: float, scalar: Mapping[sp.Symbol, float]
) -> float:
    """The largest relative difference (to the scalar path's value, or absolute
    below 1) between ``C`` with its ``gradient`` from a batch's arrays and the same
    from :func:`compile_scalar`: how an array path is checked against the δ route.

    >>> w = sp.Symbol("w")
    >>> largest_difference(2.0, {w: 0.5}, 2.0, {w: 0.25})
    0.25
    """
    worst = abs(C - C_scalar) / max(1.0, abs(C_scalar))
    for symbol, value in gradient.items():
        worst = max(worst, abs(value - scalar[symbol]) / max(1.0, abs(scalar[symbol])))
    return float(worst)


def compile_scalar(
    model: LayeredModel,
    route: DeltaRoute | DirectRoute | None = None,
    backend: str = "numpy",
) -> CompiledGradient:
    """Compile the cost and one gradient expression per parameter.

    ``route`` is a :func:`~symbackprop.engine.routes.delta_route` (default) or a
    :func:`~symbackprop.engine.routes.direct_route`; ``backend`` is ``numpy``
    (batches of float64), ``symengine`` (SymEngine's LLVM compiler, batches
    of float64; optional extra) or ``mpmath`` (one example at any precision).

    >>> from symbackprop.engine.routes import direct_route
    >>> net = Network([2, 1], activation="tanh")
    >>> f = compile_scalar(net, direct_route(net))
    >>> f.route
    'direct'
    >>> compile_scalar(net, backend="llvm")
    Traceback (most recent call last):
    ...
    symbackprop.errors.UnknownNameError: unknown backend 'llvm'; use numpy, symengine or mpmath
    """
    check_model(model, "compile_scalar")
    if route is not None and not isinstance(route, (DeltaRoute, DirectRoute)):
        raise ArgumentError(f"the route must be delta_route(model) or direct_route(model); got {echo(route)}")
    if backend not in BACKENDS:
        raise UnknownNameError(f"unknown backend {backend!r}; use {', '.join(BACKENDS[:-1])} or {BACKENDS[-1]}")
    if backend in ("numpy", "symengine"):
        for layer in model.layers:
            if layer.activation.not_trainable_because:
                raise NotDifferentiableError(layer.activation.not_trainable_because)
            if layer.activation.is_generic:
                raise NotDifferentiableError(
                    "the generic activation a(z) has no values; choose a concrete activation to compute numbers"
                )
    if model.weight_decay.free_symbols:
        raise ArgumentError(
            f"the weight decay λ = {model.weight_decay} is a symbol; give it a number to compute gradients"
        )
    route = delta_route(model) if route is None else route
    args = list(model.inputs) + list(model.targets) + list(model.parameters)
    if isinstance(route, DeltaRoute):
        kind = "delta"
        cost = model.cost_expression
        common = list(model.definitions.items()) + list(route.deltas.items())
    else:
        kind = "direct"
        cost = route.cost
        common = []
    gradients = dict(route.gradients)
    if backend != "symengine":
        cost = stable_logs(cost, _stable_outputs(model))
    exprs = [cost] + [gradients[p] for p in model.parameters]
    if backend == "symengine":
        from .symengine_backend import lambdify_llvm

        function = lambdify_llvm(args, exprs, common)
        return CompiledGradient(model, kind, backend, tuple(model.parameters), cost, gradients, common, function)
    names = code_names(args + [s for s, _ in common])
    safe_common = [(names[s], e.xreplace(names)) for s, e in common]
    safe_exprs = [e.xreplace(names) for e in exprs]
    if kind == "delta":
        def layer_cse(expressions):
            return safe_common, expressions
        cse = layer_cse
    else:
        cse = partial(sp.cse, order="none", list=False)
    function = sp.lambdify(
        [names[a] for a in args],
        safe_exprs,
        modules=lambdify_modules(backend, model),
        cse=cse,
        use_imps=False,
        docstring_limit=0,
    )
    return CompiledGradient(
        model, kind, backend, tuple(model.parameters), cost, gradients, common, function
    )



class ScalarModel:
    """A fully connected network trained by the scalar path (one compiled
    expression per weight, as the book's spreadsheet computes them); a
    :class:`~symbackprop.numeric.trainable.Trainable` with the same parameters as
    :class:`~symbackprop.numeric.arrays.ArrayModel`.

    >>> model = ScalarModel([1, 1], activation="identity")
    >>> model.cost_and_gradient({"W2": np.array([[2.0]]), "b2": np.array([1.0])},
    ...                         np.array([[1.0]]), np.array([[0.0]]))
    (4.5, {'W2': array([[3.]]), 'b2': array([3.])})
    """

    path = "scalar"

    def __init__(
        self, sizes_or_network, activation="sigmoid", cost="squared", init: str = "book", backend: str = "numpy"
    ) -> None:
        import time

        from .dense import book_file_aliases, check_init, numeric_network, parameter_places, parameter_shapes

        self.init = check_init(init)
        self.network = numeric_network(sizes_or_network, activation, cost)
        start = time.perf_counter()
        # cancelled: cross-entropy's δ^L = a − t instead of a 0/0 at saturation;
        # constrained: the categorical cross-entropy's δ^L = a − t for one-hot targets
        self.compiled = compile_scalar(self.network, delta_route(self.network).cancelled().constrained(), backend)
        net = self.network
        names = code_names(list(net.inputs) + list(net.parameters) + list(net.definitions))
        self._forward = sp.lambdify(
            [names[s] for s in list(net.inputs) + list(net.parameters)],
            [names[a] for a in net.output_layer.outputs],
            modules=lambdify_modules("numpy", net),
            cse=lambda exprs: ([(names[s], e.xreplace(names)) for s, e in net.definitions.items()], exprs),
            use_imps=False,
            docstring_limit=0,
        )
        self.compile_seconds = time.perf_counter() - start
        self.sizes = net.sizes
        self.parameter_shapes = parameter_shapes(net)
        self.file_aliases = book_file_aliases(len(self.sizes))
        self.input_shape = (self.sizes[0],)
        self.output_size = self.sizes[-1]
        self.output_bounds = self.network.output_layer.activation.bounds
        # Where each symbol w^l_{ji}, b^l_j sits in the arrays W^l, b^l.
        self._places = parameter_places(net)

    def describe(self) -> str:
        return self.network.describe()

    def initial_params(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Normal initial values; see :func:`~symbackprop.numeric.dense.dense_initial_params`."""
        from .dense import initial_values

        return initial_values(self.parameter_shapes, rng, self.init)

    def _values(self, params) -> list[float]:
        return [params[name][place] for name, place in self._places]

    def cost_and_gradient(self, params, X, T):
        """``C_T`` and ``∂C_T/∂p`` of a batch, one compiled expression per parameter."""
        cost, sums = self.compiled(dict(zip(self.compiled.parameters, self._values(params))), X, T)
        gradient = {name: np.zeros(shape) for name, shape in self.parameter_shapes.items()}
        for (name, place), value in zip(self._places, sums.values()):
            gradient[name][place] = value
        return cost, gradient

    def predict(self, params, X):
        """The outputs ``a^L`` of each example (examples × output units)."""
        outputs = self._forward(*X.T, *self._values(params))
        return np.stack([np.broadcast_to(o, (X.shape[0],)) for o in outputs], axis=1)
