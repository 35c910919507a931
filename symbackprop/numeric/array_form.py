"""The array form: the δ recurrence derived once more, in index form, for any widths.

The scalar path writes one expression per weight, so its cost grows with
the network. Here every layer is written once with *symbolic* sizes, as the
book's matrix form reads entry by entry (``k`` numbers the examples of a
batch, ``u`` is the row of ``m`` ones that copies the bias to every example)::

    z^l[j,k] = Σ_h w^l[j,h] a^{l−1}[h,k] + b^l[j,0] u[0,k]
    a^l[j,k] = a(z^l[j,k])
    C_T      = Σ_{j,k} c(a^L[j,k], t[j,k]) + Σ_k (λ/2) Σ_l Σ_{j,h} w^l[j,h]²

(the last sum is the weight decay of a network that has one, once per
example as in ``C_T = Σ_k C_k``; ``C_T`` is then one more user of ``w^l``)

and the derivation is the δ route's, entry by entry: the adjoint of a
quantity ``Y[i,k]`` is ``Σ_{j,k'} G_X[j,k'] ∂X[j,k']/∂Y[i,k]`` over the
quantities ``X`` that use it, with SymPy differentiating the equation and
the Kronecker deltas of the derivative collapsing the sums. What is left is
a contraction times an entrywise factor; SymPy's array expressions
recognise the contraction as a matrix product
(``convert_indexed_to_array`` → ``convert_array_to_matrix``):

>>> d = derive_arrays([12, 3, 2])
>>> d.delta_text(2)
'delta^2 = (W^3.T*delta^3) ⊙ (a^2) ⊙ (1 - a^2)'
>>> d.gradient_text("W2"), d.gradient_text("b2")
('∂C_T/∂W^2 = delta^2*a^1.T', '∂C_T/∂b^2 = delta^2*u.T')

The derivation does not depend on the widths: 12-3-2 and 64-32-10 share it.
:func:`~symbackprop.numeric.arrays.verify_arrays` checks it, entry by entry and exactly, against the
scalar δ route at small sizes, and :class:`~symbackprop.numeric.arrays.ArrayModel`
compiles it to NumPy matrix products over the batch.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixElement
from sympy.tensor.array.expressions import convert_array_to_matrix, convert_indexed_to_array

from ..engine.model import Model
from ..engine.network import Network
from ..errors import NotDifferentiableError
from ..functions.activations import Activation
from ..functions.costs import Cost
from ..functions.elementary import sigmoid
from ..functions.softmax import softmax
from ..layers.dense import Dense
from ..layers.equations import EquationLayer, layer_sum
from ..layers.protocol import Layer
from ..layers.residual import Residual
from ..layers.softmax import Softmax
from .dense import numeric_network
from .stable import stable_logs

#: The batch size and the free indices of every entry equation.
M = sp.Symbol("m", integer=True, positive=True)
I, K = sp.symbols("i k", integer=True, nonnegative=True)
_C = sp.Symbol("c", integer=True, nonnegative=True)


#: The row of m ones that copies a bias to every example: ``z = W a + b u``.
ONES = sp.MatrixSymbol("u", 1, M)


@dataclass
class ArrayUnit:
    """One weighted input of a layer in matrix form: ``z`` (or ``z'``, …) with
    its weights, bias, unit error and entry equation."""

    W: sp.MatrixSymbol
    b: sp.MatrixSymbol
    z: sp.MatrixSymbol
    delta: sp.MatrixSymbol
    equation: sp.Expr


@dataclass
class ArrayLayer:
    """Layer ``l`` with symbolic widths: its matrices and its entry equations.

    ``W``, ``b``, ``z``, ``delta`` and ``z_equation`` are those of its weighted
    input ``z``; ``units`` lists every weighted input (``z``, then ``z'``, …
    of a layer stated by its equations); ``skip`` is the layer whose outputs
    a residual layer adds (None for the others)."""

    index: int
    activation: Activation
    width: sp.Symbol
    W: sp.MatrixSymbol
    b: sp.MatrixSymbol
    z: sp.MatrixSymbol
    a: sp.MatrixSymbol
    delta: sp.MatrixSymbol
    z_equation: sp.Expr
    a_equation: sp.Expr
    units: tuple[ArrayUnit, ...] = ()
    skip: int | None = None


@dataclass
class ArrayDerivation:
    """The δ recurrence and the gradients as matrix expressions.

    ``forward`` and ``deltas`` list ``(matrix, value)`` in order of
    computation; a value is either a matrix expression or an *entrywise*
    expression in whole arrays (``products`` names the matrix products it
    uses). ``gradients`` maps ``W2``, ``b2``, … to ``∂C_T/∂W^l`` as a matrix
    expression; ``entry_deltas`` keeps each ``δ^l[i,k]`` as derived, in index
    form, before the matrix products were recognised. ``weight_decay`` is λ
    and ``decay_entries`` the entrywise ``(λ/2) (W^l)²`` of each layer, whose
    sums, once per example, ``C_T`` adds to its error terms.
    """

    activations: tuple[Activation, ...]
    cost: Cost
    inputs: sp.MatrixSymbol
    targets: sp.MatrixSymbol
    layers: list[ArrayLayer]
    cost_entry: sp.Expr
    forward: list[tuple[sp.MatrixSymbol, sp.Expr]]
    products: dict[sp.Symbol, sp.MatrixExpr]
    deltas: dict[sp.MatrixSymbol, sp.Expr]
    entry_deltas: dict[sp.MatrixSymbol, sp.Expr]
    gradients: dict[str, sp.MatrixExpr]
    seconds: float = 0.0
    widths: tuple[sp.Symbol, ...] = field(default=())
    weight_decay: sp.Expr = sp.S.Zero
    decay_entries: tuple[sp.Expr, ...] = field(default=())

    def layer(self, l: int) -> ArrayLayer:
        return self.layers[l - 2]

    def delta_text(self, l: int) -> str:
        """``δ^l`` as derived, in plain text (``⊙`` is the entrywise product)."""
        layer = self.layer(l)
        return f"{layer.delta.name} = {_entrywise_text(self.deltas[layer.delta], self.products)}"

    def gradient_text(self, name: str) -> str:
        """``∂C_T/∂W^l`` or ``∂C_T/∂b^l`` as a matrix product."""
        return f"∂C_T/∂{name[0]}^{name[1:]} = {self.gradients[name]}"

    def latex(self) -> list[str]:
        """Every derived equation in LaTeX, output layer first.

        >>> derive_arrays([2, 1]).latex()[0]
        '\\\\delta^{2} = \\\\left(a^{2}\\\\right) \\\\odot \\\\left(1 - a^{2}\\\\right) \\\\odot \\\\left(a^{2} - t\\\\right)'
        """
        from ..notation.latex import book_latex

        lines = []
        for layer in reversed(self.layers):
            lines.append(
                f"{book_latex(layer.delta)} = {_entrywise_latex(self.deltas[layer.delta], self.products)}"
            )
        for name, value in self.gradients.items():
            lines.append(rf"\frac{{\partial C_T}}{{\partial {name[0]}^{{{name[1:]}}}}} = {book_latex(value)}")
        return lines


# --- sums with Kronecker deltas ----------------------------------------------------

def _fresh_bound(expr: sp.Expr) -> sp.Expr:
    """``expr`` with every summation index renamed to a new dummy, so that
    renaming free indices cannot capture a bound one."""

    def rename(function, *limits):
        fresh = {lim[0]: sp.Dummy(lim[0].name, integer=True, nonnegative=True) for lim in limits}
        return sp.Sum(function.xreplace(fresh), *[(fresh[v], lo, hi) for v, lo, hi in limits])

    return expr.replace(sp.Sum, rename)


def _collapse(expr: sp.Expr) -> sp.Expr:
    """Sum out Kronecker deltas: ``Σ_j f(j) δ_{j i} = f(i)`` for ``i`` in the
    range of ``j``."""
    return expr.replace(lambda e: isinstance(e, sp.Sum), _collapse_sum)


def _collapse_sum(s: sp.Sum) -> sp.Expr:
    function, limits = _collapse(s.function), list(s.limits)
    if isinstance(function, sp.Add):
        return sp.Add(*(_collapse_sum(sp.Sum(term, *limits)) for term in function.args))
    progress = True
    while progress and limits:
        progress = False
        factors = sp.Mul.make_args(function)
        for limit in limits:
            v = limit[0]
            for factor in factors:
                if isinstance(factor, sp.KroneckerDelta) and v in factor.args[:2]:
                    other = factor.args[1] if factor.args[0] == v else factor.args[0]
                    rest = sp.Mul(*(f for f in factors if f is not factor))
                    function = rest.xreplace({v: other})
                    limits.remove(limit)
                    progress = True
                    break
            if progress:
                break
    if function == 0:
        return sp.S.Zero
    return sp.Sum(function, *limits) if limits else function


def _adjoint(users: list[tuple[sp.Expr, sp.Expr, sp.Symbol, sp.Symbol]], wrt: sp.Expr) -> sp.Expr:
    """``Σ_X Σ_{j,k'} G_X[j,k'] ∂X[j,k']/∂wrt`` for users ``(G_X(i,k), X(j,k'), j, k')``
    with their bounds, collapsed."""
    total = []
    for adjoint, equation, (j, j_top), (k2, k_top) in users:
        # The adjoint is a template in (i, k); rename to the equation's (j, k').
        g = _fresh_bound(adjoint).xreplace({I: j, K: k2})
        local = sp.diff(equation, wrt)
        total.append(_collapse(sp.Sum(g * local, (j, 0, j_top - 1), (k2, 0, k_top - 1)).doit()))
    return _in_range(sp.Add(*total))


def _in_range(expr: sp.Expr) -> sp.Expr:
    # SymPy guards a collapsed sum with "if 0 ≤ i ≤ n − 1"; the free indices
    # are positions in their arrays, so the guard always holds.
    return expr.replace(sp.Piecewise, lambda *pairs: pairs[0][0])


# --- from index form to matrices ------------------------------------------------

def _to_matrix(expr: sp.Expr, indices: Sequence[sp.Symbol]) -> sp.MatrixExpr:
    return convert_array_to_matrix(convert_indexed_to_array(expr, first_indices=list(indices)))


def _split_entrywise(
    expr: sp.Expr, products: dict[sp.Symbol, sp.MatrixExpr], name: str
) -> sp.Expr:
    """Each sum in ``expr[i,k]`` becomes a named matrix product; each entry
    ``X[i,k]`` the whole array ``X``: what remains is entrywise."""
    sums = sorted(expr.atoms(sp.Sum), key=sp.default_sort_key)
    replacements: dict[sp.Expr, sp.Expr] = {}
    for n, s in enumerate(sums):
        matrix = _to_matrix(s, (I, K))
        # A product another δ already names (W^{l+1}^T δ^{l+1} read by a layer and by its skip's source) is computed once.
        known = next((symbol for symbol, value in products.items() if value == matrix), None)
        symbol = known or sp.Symbol(f"{name}_{n}" if len(sums) > 1 else name)
        products[symbol] = matrix
        replacements[s] = symbol
    expr = expr.xreplace(replacements)
    for entry in expr.atoms(MatrixElement):
        if tuple(entry.indices) != (I, K):
            raise NotDifferentiableError(
                f"the entry {entry} is not taken at [i, k]: this equation is not entrywise, "
                "so the array path cannot compile it"
            )
    return expr.xreplace({e: sp.Symbol(e.parent.name) for e in expr.atoms(MatrixElement)})


class softmax_columns(sp.Function):
    """``a[i,k] = e^{z[i,k]} / Σ_h e^{z[h,k]}``: the softmax of each column of
    ``z`` (each example), computed from ``z − max`` so that no ``e^{1000}``
    overflows."""


class log_softmax_columns(sp.Function):
    """``log a[i,k] = z[i,k] − log Σ_h e^{z[h,k]}`` of each column (log-sum-exp),
    finite for every ``z``."""


def _np_log_softmax_columns(z):
    top = z.max(axis=0, keepdims=True)
    return z - top - np.log(np.exp(z - top).sum(axis=0, keepdims=True))


#: How the compiled array path evaluates the column functions.
NUMPY_FUNCTIONS = {
    "softmax_columns": lambda z: np.exp(_np_log_softmax_columns(z)),
    "log_softmax_columns": _np_log_softmax_columns,
}


def derive_arrays(
    sizes_or_network: Sequence[int] | Network | Model,
    activation="sigmoid",
    cost="squared",
) -> ArrayDerivation:
    """Derive the δ recurrence and the gradients in matrix form.

    Only the kinds of layer, the activations and the cost matter; widths stay
    symbolic. A quantity used by several others (the outputs a residual layer
    adds) receives the sum of their adjoints, as in the δ route.

    >>> d = derive_arrays([4, 3, 2], activation="generic")
    >>> d.delta_text(3)
    'delta^3 = (a^3 - t) ⊙ (Derivative(a(z^3), z^3))'
    >>> derive_arrays(Network([3, 2], output="softmax", cost="categorical-cross-entropy")).delta_text(2)
    'delta^2 = (a^2 - t)'
    >>> derive_arrays(Network([3, 2], output="softmax", cost="squared"))
    Traceback (most recent call last):
    ...
    symbackprop.errors.NotDifferentiableError: a softmax output with the squared cost leaves a sum over the output units in δ^L that the array path does not write as matrices; it computes a softmax output with the categorical cross-entropy (δ^L = a^L − t). Use that cost, or the scalar path (ScalarModel, CLI: --path scalar)
    """
    network = numeric_network(sizes_or_network, activation, cost)
    if isinstance(network.output_layer, Softmax) and network.target_constraint is None:
        # Only Σ_j t[j,k] = 1 of the categorical cross-entropy cancels the softmax's
        # full Jacobian; any other cost keeps Σ_j ∂c/∂a[j,k] a[j,k] in every δ^L[i,k].
        raise NotDifferentiableError(
            f"a softmax output with the {network.cost.name} cost leaves a sum over the output units in δ^L that "
            "the array path does not write as matrices; it computes a softmax output with the categorical "
            "cross-entropy (δ^L = a^L − t). Use that cost, or the scalar path (ScalarModel, CLI: --path scalar)"
        )
    start = time.perf_counter()
    depth = network.depth
    widths = tuple(sp.Symbol(f"n_{l}", integer=True, positive=True) for l in range(1, depth + 1))
    j, h, k2 = (sp.Symbol(s, integer=True, nonnegative=True) for s in ("j", "h", "k'"))
    inputs = sp.MatrixSymbol("a^1", widths[0], M)
    outputs = [inputs]
    layers: list[ArrayLayer] = []
    for l, layer in enumerate(network.layers, start=2):
        n, n_prev = widths[l - 1], widths[l - 2]
        units = []
        for primes in _unit_primes(layer):
            W = sp.MatrixSymbol(f"W{primes}^{l}", n, n_prev)
            b = sp.MatrixSymbol(f"b{primes}^{l}", n, 1)
            equation = sp.Sum(W[I, h] * outputs[-1][h, K], (h, 0, n_prev - 1)) + sp.Sum(
                b[I, _C] * ONES[_C, K], (_C, 0, 0)
            )
            units.append(ArrayUnit(W, b, sp.MatrixSymbol(f"z{primes}^{l}", n, M),
                                   sp.MatrixSymbol(f"delta{primes}^{l}", n, M), equation))
        a = sp.MatrixSymbol(f"a^{l}", n, M)
        first = units[0]
        skip = layer.skip_source if isinstance(layer, Residual) else None
        a_eq = _output_entry(layer, units, outputs, h, n)
        layers.append(ArrayLayer(l, layer.activation, n, first.W, first.b, first.z, a, first.delta,
                                 first.equation, a_eq, tuple(units), skip))
        outputs.append(a)
    targets = sp.MatrixSymbol("t", widths[-1], M)
    out = layers[-1]
    cost_entry = network.cost.term(out.a[I, K], targets[I, K])
    decay = network.weight_decay
    weights = [u.W for layer in layers for u in layer.units]
    decay_entries = tuple(decay / 2 * W[I, K] ** 2 for W in weights) if decay != 0 else ()
    # C_T = Σ_{j,k} c(a^L[j,k], t[j,k]) + Σ_k (λ/2) Σ_l Σ_{j,h} W^l[j,h]²; its adjoint for a^L[i,k]:
    cost_total = sp.Sum(cost_entry.xreplace({I: j, K: k2}), (j, 0, out.width - 1), (k2, 0, M - 1)) + sp.Add(*(
        sp.Sum(entry.xreplace({I: j, K: h}), (j, 0, W.shape[0] - 1), (h, 0, W.shape[1] - 1), (k2, 0, M - 1))
        for entry, W in zip(decay_entries, weights)
    ))

    products: dict[sp.Symbol, sp.MatrixExpr] = {}
    deltas: dict[sp.MatrixSymbol, sp.Expr] = {}
    entry_deltas: dict[sp.MatrixSymbol, sp.Expr] = {}
    gradients: dict[str, sp.MatrixExpr] = {}
    # users[l]: the equations that read a^l, each (its adjoint, its entry equation, its bounds).
    users: dict[int, list] = {l: [] for l in range(2, depth + 1)}
    for layer in reversed(layers):
        adjoint_a = _adjoint(users[layer.index], layer.a[I, K])
        if layer is out:
            adjoint_a += _in_range(_collapse(sp.diff(cost_total, out.a[I, K]).doit()))
        # δ^l[i,k] = ∂C_T/∂z^l[i,k]: through a^l[j,k'], the layer's output equation.
        template = _fresh_bound(layer.a_equation).xreplace({I: j, K: k2})
        for unit in layer.units:
            delta_entry = _adjoint([(adjoint_a, template, (j, layer.width), (k2, M))], unit.z[I, K])
            if layer.activation.function is softmax:
                delta_entry = _softmax_atoms(delta_entry, layer)
            else:
                delta_entry = _atomize_entry(delta_entry, layer)
            if network.target_constraint is not None:
                delta_entry = _targets_sum_to_one(delta_entry, targets)
            if any(p.exp.is_negative for p in delta_entry.atoms(sp.Pow)):
                delta_entry = sp.factor(sp.cancel(delta_entry))
            entry_deltas[unit.delta] = delta_entry
            name = unit.delta.name.replace("delta", "S").replace("^", "")
            deltas[unit.delta] = _split_entrywise(delta_entry, products, name)
            # The gradients and the adjoint of a^{l−1} read δ^l as a named array.
            z_template = _fresh_bound(unit.equation).xreplace({I: j, K: k2})
            reads = [(unit.delta[I, K], z_template, (j, layer.width), (k2, M))]
            # C_T itself uses W^l when it holds the weight decay.
            w_entry = _adjoint(reads, unit.W[I, K]) + _in_range(_collapse(sp.diff(cost_total, unit.W[I, K]).doit()))
            gradients[_array_name(unit.W)] = _to_matrix(w_entry, (I, K))
            gradients[_array_name(unit.b)] = _to_matrix(_adjoint(reads, unit.b[I, K]), (I, K))
            if layer.index > 2:
                users[layer.index - 1] += reads
        if layer.skip is not None and layer.skip > 1:
            # a^l = a(z^l) + a^s: a^s has a second user, and receives this layer's whole adjoint.
            users[layer.skip].append((adjoint_a, template, (j, layer.width), (k2, M)))
    order = [_array_name(m) for layer in layers for u in layer.units for m in (u.W, u.b)]
    gradients = {name: gradients[name] for name in order}

    forward: list[tuple[sp.MatrixSymbol, sp.Expr]] = []
    for layer in layers:
        for unit in layer.units:
            forward.append((unit.z, _to_matrix(unit.equation, (I, K))))
        if layer.activation.function is softmax:
            forward.append((layer.a, softmax_columns(sp.Symbol(layer.z.name))))
        else:
            forward.append((layer.a, _split_entrywise(layer.a_equation, products, f"P{layer.index}")))
    cost_arrays = _split_entrywise(cost_entry, products, "PC")
    if out.activation.function is softmax:
        # log a^L = z^L − log Σ_h e^{z^L[h,k]}: the categorical cross-entropy without log 0
        cost_arrays = cost_arrays.xreplace({sp.log(sp.Symbol(out.a.name)): log_softmax_columns(sp.Symbol(out.z.name))})
    else:
        stable = {sp.Symbol(out.a.name): sigmoid(sp.Symbol(out.z.name))} if out.activation.function is sigmoid else {}
        cost_arrays = stable_logs(cost_arrays, stable)
    return ArrayDerivation(
        tuple(layer.activation for layer in layers),
        network.cost,
        inputs,
        targets,
        layers,
        cost_arrays,
        forward,
        products,
        deltas,
        entry_deltas,
        gradients,
        time.perf_counter() - start,
        widths,
        decay,
        tuple(_split_entrywise(entry, products, f"PW{n}") for n, entry in enumerate(decay_entries)),
    )


def _array_name(matrix: sp.MatrixSymbol) -> str:
    # W^2 → W2, b'^4 → b'4: the names numeric models give the parameter arrays.
    return matrix.name.replace("^", "")


def _unit_primes(layer: Layer) -> list[str]:
    """The primes of each weighted input: ``[""]`` for a dense layer, ``["", "'"]`` for ``z, z'``."""
    if isinstance(layer, EquationLayer):
        return [name[1:] for name in layer.unit_names]
    if isinstance(layer, Dense):
        return [""]
    raise NotDifferentiableError(
        f"layer {layer.index} is a {type(layer).__name__} layer; the array path computes dense, softmax, residual "
        "and entrywise equation layers: use the scalar path (ScalarModel, CLI: --path scalar)"
    )


def _output_entry(layer: Layer, units: list[ArrayUnit], outputs: list, h: sp.Symbol, n: sp.Symbol) -> sp.Expr:
    """``a^l[i,k]`` in index form, from the layer's own output equation."""
    z = units[0].z
    if isinstance(layer, Softmax):
        return sp.exp(z[I, K]) / sp.Sum(sp.exp(z[h, K]), (h, 0, n - 1))
    if isinstance(layer, Residual):
        return layer.activation(z[I, K]) + outputs[layer.skip_source - 1][I, K]
    if isinstance(layer, EquationLayer):
        if layer.formula.atoms(layer_sum):
            raise NotDifferentiableError(
                f"the output of layer {layer.index}, {layer.text!r}, sums over the layer's units, but the array "
                "path computes a layer's outputs entry by entry; use the scalar path (ScalarModel, CLI: --path scalar)"
            )
        return layer.formula.xreplace({layer.placeholders[name]: u.z[I, K] for name, u in zip(layer.unit_names, units)})
    if layer.equations[layer.outputs[0]].free_symbols != {layer.units[0]}:
        raise NotDifferentiableError(
            f"the outputs of layer {layer.index} ({layer.activation.name}) each read more than their own z, "
            "but the array path computes activations entry by entry; use the scalar path "
            "(ScalarModel, CLI: --path scalar)"
        )
    return layer.activation(z[I, K])


def _softmax_atoms(expr: sp.Expr, layer: ArrayLayer) -> sp.Expr:
    """``e^{z[x,k]}`` written as ``a[x,k] S`` with ``S = Σ_h e^{z[h,k]}`` (the
    softmax's own definition read backwards), ``S`` taken out of every sum
    and cancelled: the δ in the outputs ``a``, as the scalar route has it."""
    S = sp.Dummy("S", positive=True)
    z, a = layer.z, layer.a

    def normaliser(e):
        return (isinstance(e, sp.Sum) and len(e.limits) == 1 and isinstance(e.function, sp.exp)
                and e.function.args[0] == z[e.limits[0][0], K])

    expr = expr.replace(normaliser, lambda e: S)
    expr = expr.replace(
        lambda e: isinstance(e, sp.exp) and isinstance(e.args[0], MatrixElement) and e.args[0].parent == z,
        lambda e: a[e.args[0].indices] * S,
    )
    return sp.expand(sp.cancel(_constants_out(expr)))


def _constants_out(expr: sp.Expr) -> sp.Expr:
    # Σ_j c f(j) = c Σ_j f(j) for c free of j.
    def pull(function, *limits):
        bound = {lim[0] for lim in limits}
        inside, outside = [], []
        for f in sp.Mul.make_args(sp.expand(function)) if not isinstance(function, sp.Add) else [function]:
            (inside if f.free_symbols & bound else outside).append(f)
        if isinstance(function, sp.Add):
            return sp.Add(*(pull(term, *limits) for term in function.args))
        return sp.Mul(*outside) * sp.Sum(sp.Mul(*inside), *limits)

    return expr.replace(sp.Sum, pull)


def _targets_sum_to_one(expr: sp.Expr, targets: sp.MatrixSymbol) -> sp.Expr:
    """``Σ_j t[j,k]`` replaced by 1: the constraint of one-hot targets (as
    :meth:`~symbackprop.engine.routes.DeltaRoute.constrained` applies it)."""
    return expr.replace(
        lambda e: isinstance(e, sp.Sum) and len(e.limits) == 1 and e.function == targets[e.limits[0][0], K],
        lambda e: sp.S.One,
    )


def _atomize_entry(expr: sp.Expr, layer: ArrayLayer) -> sp.Expr:
    # a(z^l[i,k]) is the named output a^l[i,k]; a derivative a'(z) keeps its z.
    protected = {d: sp.Dummy() for d in expr.atoms(sp.Derivative, sp.Subs)}
    named = expr.xreplace(protected).xreplace({layer.a_equation: layer.a[I, K]})
    return named.xreplace({dummy: d for d, dummy in protected.items()})


def _entrywise_text(expr: sp.Expr, products: dict[sp.Symbol, sp.MatrixExpr]) -> str:
    factors = sp.Mul.make_args(expr)
    shown = [f"({products[f]})" if f in products else f"({f})" for f in factors]
    return " ⊙ ".join(shown)


def _entrywise_latex(expr: sp.Expr, products: dict[sp.Symbol, sp.MatrixExpr]) -> str:
    from ..notation.latex import book_latex

    shown = [book_latex(products.get(f, f)) for f in sp.Mul.make_args(expr)]
    return r" \odot ".join(rf"\left({s}\right)" for s in shown)
