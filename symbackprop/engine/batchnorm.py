"""A fully connected network with batch normalisation, over a batch of m examples.

Each hidden layer's weighted inputs are normalised over the batch (training
mode: the batch's own mean and variance) before the activation; the output
layer is dense. The model's "example" is the whole batch, with inputs
``x^{(k)}_i`` and targets ``t^{(k)}_j``, and its cost is ``C_T = Σ_k C_k``.

The δ route walks back through ``μ`` and ``σ²`` as a graph (the *staged*
backward pass); :func:`compact_unit_error` is the formula people use, and
:func:`staged_equals_compact` proves the two equal exactly.

>>> net = BatchNormNetwork([1, 1, 1], batch=3, activation="generic")
>>> net.parameter_count, net.describe()
(5, '1-1-1 batch-normalised, batch of 3')
>>> staged_equals_compact(net)
True
"""

from __future__ import annotations

from collections.abc import Sequence

import sympy as sp

from ..errors import ExpressionError, NetworkSpecError, echo
from ..functions.activations import Activation, get_activation
from ..functions.costs import Cost, get_cost
from ..functions.parsing import parse_number
from ..guards import MAX_NORM_BATCH, batch_norm_terms, check_count, check_model_terms
from ..layers.batchnorm import BatchDense, BatchNorm
from ..layers.protocol import step_symbol
from .network import LayeredModel, check_sizes
from .routes import DeltaRoute, delta_route

#: ε of ``√(σ² + ε)`` unless one is given: PyTorch's default.
DEFAULT_EPSILON = sp.Rational(1, 10**5)


def norm_epsilon(value: object) -> sp.Expr:
    """``ε`` of batch normalisation: a number > 0 (read exactly), or a positive symbol.

    >>> norm_epsilon("1e-5"), norm_epsilon(sp.Symbol("epsilon", positive=True))
    (1/100000, epsilon)
    >>> norm_epsilon(0)
    Traceback (most recent call last):
    ...
    symbackprop.errors.NetworkSpecError: batch normalisation needs ε > 0 (it keeps √(σ² + ε) away from 0 when a batch's values agree); got 0
    """
    if isinstance(value, sp.Symbol) and value.is_positive:
        return value
    try:
        number = value if isinstance(value, sp.Expr) else parse_number(str(value))
    except ExpressionError:
        number = None
    if not isinstance(number, sp.Expr) or not number.is_number or not (number.is_real and number > 0):
        raise NetworkSpecError(
            "batch normalisation needs ε > 0 (it keeps √(σ² + ε) away from 0 when a batch's values agree); "
            f"got {echo(value)}"
        )
    return sp.nsimplify(number) if isinstance(number, sp.Float) else number


class BatchNormNetwork(LayeredModel):
    """Layers of widths ``sizes`` (input first), each hidden layer batch-normalised
    before its activation, evaluated on a batch of ``batch`` (m ≥ 2) examples.

    >>> net = BatchNormNetwork([2, 2, 1], batch=2)
    >>> [type(layer).__name__ for layer in net.layers]
    ['BatchDense', 'BatchNorm', 'BatchDense']
    >>> net.cost_expression
    (-a^3(1)_1 + t^(1)_1)**2/2 + (-a^3(2)_1 + t^(2)_1)**2/2
    >>> BatchNormNetwork([2, 2, 1], batch=1)
    Traceback (most recent call last):
    ...
    symbackprop.errors.NetworkSpecError: batch normalisation needs a batch of m ≥ 2 examples (with m = 1 every ẑ is 0); got 1
    """

    def __init__(
        self,
        sizes: Sequence[int],
        batch: int = 3,
        activation: str | Activation = "sigmoid",
        output_activation: str | Activation | None = None,
        cost: str | Cost = "squared",
        epsilon: object = DEFAULT_EPSILON,
    ) -> None:
        if isinstance(batch, int) and not isinstance(batch, bool) and batch == 1:
            raise NetworkSpecError(
                "batch normalisation needs a batch of m ≥ 2 examples (with m = 1 every ẑ is 0); got 1"
            )
        check_count(batch, "the batch m of batch normalisation", 2, MAX_NORM_BATCH, NetworkSpecError)
        self.sizes = check_sizes(sizes)
        if len(self.sizes) < 3:
            raise NetworkSpecError(
                f"batch normalisation sits on a hidden layer: give at least three widths, such as 4,3,2; got {list(sizes)}"
            )
        check_model_terms(
            f"the {'-'.join(map(str, self.sizes))} network over a batch of {batch}",
            batch_norm_terms(batch, self.sizes),
            "choose a smaller batch or narrower layers",
        )
        self.batch = batch
        self.epsilon = norm_epsilon(epsilon)
        self.activation = get_activation(activation)
        self.output_activation = get_activation(output_activation or activation)
        self.cost = get_cost(cost)
        examples = range(1, batch + 1)
        inputs = [tuple(step_symbol("x", k, i) for i in range(1, self.sizes[0] + 1)) for k in examples]
        self.inputs = tuple(s for row in inputs for s in row)
        self.targets = tuple(step_symbol("t", k, j) for k in examples for j in range(1, self.sizes[-1] + 1))
        layers: list = []
        previous = inputs
        for l, width in enumerate(self.sizes[1:-1], start=2):
            dense = BatchDense(l, previous, width, None)
            norm = BatchNorm(l, dense.z, self.activation, self.epsilon)
            layers += [dense, norm]
            previous = norm.a
        layers.append(BatchDense(len(self.sizes), previous, self.sizes[-1], self.output_activation))
        self.layers = tuple(layers)
        self._finish()

    @property
    def norms(self) -> list[BatchNorm]:
        """The batch-normalisation layers, first hidden layer first."""
        return [layer for layer in self.layers if isinstance(layer, BatchNorm)]

    def find_symbol(self, name: str | sp.Symbol) -> sp.Symbol | None:
        """The exact name, or one written with braces or Greek letters (``μ^2_1``, ``γ^2_1``).

        >>> BatchNormNetwork([1, 1, 1], batch=2).symbol("γ^{2}_{1}")
        gamma^2_1
        """
        if isinstance(name, str):
            name = name.replace("{", "").replace("}", "").replace(" ", "")
            for greek, latin in (("μ", "mu"), ("γ", "gamma"), ("β", "beta"), ("σ²", "sigma2"), ("δ", "delta")):
                name = name.replace(greek, latin)
        return super().find_symbol(name)

    def describe(self) -> str:
        return f"{'-'.join(map(str, self.sizes))} batch-normalised, batch of {self.batch}"

    def naming_hint(self) -> str:
        return ("weights are w^l_ji, the output biases b^L_j, the scales and shifts gamma^l_j and beta^l_j; "
                "example k's quantities are x^(k)_i, z^l(k)_j, zhat^l(k)_j, y^l(k)_j, a^l(k)_j")

    def __repr__(self) -> str:
        return f"BatchNormNetwork({self.describe()}, activation={self.activation.name}, cost={self.cost.name})"


def compact_unit_error(norm: BatchNorm, k: int, j: int) -> sp.Expr:
    """The compact formula for ``δ^{l(k)}_j = ∂C/∂z^{l(k)}_j`` (k, j from 0) in the
    layer's quantities, with ``g_k = ∂C/∂y^{l(k)}_j``:
    ``(γ / (m √(σ²+ε))) (m g_k − Σ_i g_i − ẑ_k Σ_i g_i ẑ_i)``.

    >>> z = [sp.symbols(f"z^2({k})_1:2") for k in (1, 2)]
    >>> from symbackprop.functions.activations import get_activation
    >>> norm = BatchNorm(2, z, get_activation("identity"), sp.Symbol("epsilon", positive=True))
    >>> compact_unit_error(norm, 0, 0)
    gamma^2_1*(g^2(1)_1 - g^2(2)_1 - zhat^2(1)_1*(g^2(1)_1*zhat^2(1)_1 + g^2(2)_1*zhat^2(2)_1))/(2*sqrt(epsilon + sigma2^2_1))
    """
    m = norm.batch
    g = [norm.g[i][j] for i in range(m)]
    zhat = [norm.zhat[i][j] for i in range(m)]
    scale = norm.gamma[j] / (m * sp.sqrt(norm.var[j] + norm.epsilon))
    return scale * (m * g[k] - sp.Add(*g) - zhat[k] * sp.Add(*(gi * zi for gi, zi in zip(g, zhat))))


def _in_batch_inputs(model: BatchNormNetwork, norm: BatchNorm, expr: sp.Expr) -> sp.Expr:
    """``expr`` with the layer's ``μ``, ``σ²``, ``ẑ`` written in its ``z^{l(k)}_j``,
    and ``√(σ²+ε)`` (whatever power of it) as the power of one positive atom ``r``:
    both routes' formulas are then rational functions of the z's, the g's, γ and r."""
    local = {q: model.definitions[q] for q in (*norm.mu, *norm.var, *(s for row in norm.zhat for s in row))}
    full: dict[sp.Symbol, sp.Expr] = {}
    for q, definition in local.items():
        full[q] = definition.xreplace(full)
    written = expr.xreplace(full)
    for j, var in enumerate(norm.var):
        r = sp.Symbol(f"r_{j + 1}", positive=True)
        base = full[var] + norm.epsilon
        written = written.replace(
            lambda e, base=base: isinstance(e, sp.Pow) and e.base == base, lambda e, r=r: r ** (2 * e.exp)
        )
    return written


def staged_equals_compact(model: BatchNormNetwork, route: DeltaRoute | None = None) -> bool:
    """Prove, for every example k and unit j of every normalised layer, that the
    δ route's staged ``∂C/∂z^{l(k)}_j`` (through ``μ`` and ``σ²``) equals
    :func:`compact_unit_error`, exactly: both are written in the batch's z's,
    the errors ``g`` and ``γ``, and their difference is multiplied out to 0.
    The ``g`` stay symbols, so the proof holds for every cost and every layer above.

    >>> staged_equals_compact(BatchNormNetwork([1, 2, 1], batch=2, activation="generic"))
    True
    """
    route = route or delta_route(model)
    for norm, dense in _norm_layers(model):
        for k in range(norm.batch):
            for j in range(len(norm.mu)):
                delta = sp.Symbol("delta" + dense.z[k][j].name[1:])
                gap = _in_batch_inputs(model, norm, route.deltas[delta] - compact_unit_error(norm, k, j))
                if sp.expand(sp.together(gap).as_numer_denom()[0]) != 0:
                    return False
    return True


def shift_invariance(model: BatchNormNetwork, route: DeltaRoute | None = None) -> bool:
    """Prove ``Σ_k ∂C/∂z^{l(k)}_j = 0`` for every normalised unit: shifting the
    whole batch by the same amount leaves ``ẑ`` and so ``C`` unchanged, and the
    derived gradient is orthogonal to that shift.

    >>> shift_invariance(BatchNormNetwork([1, 1, 1], batch=3, activation="generic"))
    True
    """
    route = route or delta_route(model)
    for norm, dense in _norm_layers(model):
        for j in range(len(norm.mu)):
            total = sp.Add(*(route.deltas[sp.Symbol("delta" + dense.z[k][j].name[1:])] for k in range(norm.batch)))
            gap = _in_batch_inputs(model, norm, total)
            if sp.expand(sp.together(gap).as_numer_denom()[0]) != 0:
                return False
    return True


def _norm_layers(model: BatchNormNetwork) -> list[tuple[BatchNorm, BatchDense]]:
    layers = model.layers
    return [(layer, layers[i - 1]) for i, layer in enumerate(layers) if isinstance(layer, BatchNorm)]
