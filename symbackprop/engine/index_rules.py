"""The δ recurrence for a network of any size, derived in index notation.

The equations of one general fully connected layer ``l`` are written once,
with indexed quantities and sums over the ``n_l`` units of a layer:
``z^l_j = Σ_k w^l_{jk} a^{l−1}_k + b^l_j``, ``a^l_j = a(z^l_j)`` and
``C = ½ Σ_k (t_k − a^L_k)²``. SymPy differentiates them (the derivative of
``w^l_{jk}`` by ``w^l_{ji}`` is Kronecker's delta, which collapses the sums),
so the book's rules come out for every size at once:

>>> rules = index_rules()
>>> rules["recurrence"].result
Derivative(a(z[l, i]), z[l, i])*Sum(delta[l + 1, j]*w[l + 1, j, i], (j, 1, n[l + 1]))
>>> rules["weight"].result
a[l - 1, i]*delta[l, j]

:func:`instantiate` turns any of these into the quantities of a concrete
network, which is how the tests hold them against the engine's own route.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import sympy as sp

from ..functions.activations import generic_a
from ..notation.latex import SYMBOL_LATEX
from ..notation.symbols import COST, Partial
from .network import LayeredModel

l, i, j, k, m = sp.symbols("l i j k m", integer=True, positive=True)
#: The output layer (the book's "last" layer).
L = sp.Symbol("L", integer=True, positive=True)
w, b, z, a, delta, t = (sp.IndexedBase(name) for name in ("w", "b", "z", "a", "delta", "t"))
#: ``n[l]``: how many units layer ``l`` has.
n = sp.IndexedBase("n")
#: λ, the rate of weight decay.
LAMBDA = sp.Symbol("lambda")

#: The matrix view: W^{l+1} (n_{l+1} × n_l), δ^{l+1}, δ^l and a'(z^l) as columns.
W_next = sp.MatrixSymbol("W^{l+1}", n[l + 1], n[l])
delta_next = sp.MatrixSymbol("delta^{l+1}", n[l + 1], 1)
delta_here = sp.MatrixSymbol("delta^{l}", n[l], 1)
slope_here = sp.MatrixSymbol("a'(z^l)", n[l], 1)
SYMBOL_LATEX.update({
    "W^{l+1}": r"W^{l+1}",
    "delta^{l+1}": r"\delta^{l+1}",
    "delta^{l}": r"\delta^{l}",
    "a'(z^l)": r"a'\left(z^{l}\right)",
})


def weighted_input(layer: sp.Expr, unit: sp.Expr, over: sp.Symbol = m) -> sp.Expr:
    """``z^layer_unit = Σ_over w^layer_{unit,over} a^{layer−1}_over + b^layer_unit``.

    >>> weighted_input(l, j)
    b[l, j] + Sum(a[l - 1, m]*w[l, j, m], (m, 1, n[l - 1]))
    """
    return sp.Sum(w[layer, unit, over] * a[layer - 1, over], (over, 1, n[layer - 1])) + b[layer, unit]


def squared_cost() -> sp.Expr:
    """The book's cost of one example, ``C = ½ Σ_k (t_k − a^L_k)²``.

    >>> squared_cost()
    Sum((-a[L, k] + t[k])**2/2, (k, 1, n[L]))
    """
    return sp.Sum(sp.Rational(1, 2) * (t[k] - a[L, k]) ** 2, (k, 1, n[L]))


def weight_decay_sum() -> sp.Expr:
    """The weight decay in ``C``: ``(λ/2) Σ_{p=2}^{L} Σ_q Σ_r (w^p_{qr})²``, over every weight.

    >>> weight_decay_sum()
    Sum(lambda*w[p, q, r]**2/2, (r, 1, n[p - 1]), (q, 1, n[p]), (p, 2, L))
    """
    p, q, r = sp.symbols("p q r", integer=True, positive=True)
    return sp.Sum(LAMBDA / 2 * w[p, q, r] ** 2, (r, 1, n[p - 1]), (q, 1, n[p]), (p, 2, L))


@dataclass(frozen=True)
class Rule:
    """One rule of the δ route: ``lhs = chain = result``, where ``chain`` is the
    chain rule written with unevaluated :class:`~symbackprop.engine.routes.Partial`
    factors and ``result`` is what SymPy's differentiation made of it."""

    lhs: sp.Expr
    chain: sp.Expr
    result: sp.Expr


def _collapse(expr: sp.Expr) -> sp.Expr:
    """Carry out the sums over Kronecker deltas.

    SymPy guards the surviving term with ``i ≤ n`` (or, summing over the
    layers, ``2 ≤ l ≤ L``); here every free index is a unit of its layer and
    ``l`` a layer with weights, so the guard holds and the term is kept.
    """
    for _ in range(4):
        expr = expr.doit()
        guarded = expr.atoms(sp.Piecewise)
        if not guarded:
            return expr
        kept = {}
        for piece in guarded:
            (value, condition), *_ = piece.args
            if not all(_in_range_guard(c) for c in sp.And.make_args(condition)):
                raise ValueError(f"unexpected condition {condition} in {piece}")
            kept[piece] = value
        expr = expr.xreplace(kept)
    return expr


def _in_range_guard(condition: sp.Basic) -> bool:
    # i ≤ n[…], j ≤ n[…], 2 ≤ l, l ≤ L: a unit within its layer, a layer with weights.
    if not isinstance(condition, (sp.LessThan, sp.GreaterThan)):
        return False
    small, large = (condition.lhs, condition.rhs) if isinstance(condition, sp.LessThan) else (condition.rhs, condition.lhs)
    return (small in (i, j) and large.has(n)) or (small == 2 and large == l) or (small == l and large == L)


def _as_outputs(expr: sp.Expr) -> sp.Expr:
    """``a(z^l_j)`` read back as the output ``a^l_j`` — except inside ``a'(z^l_j)``,
    which is not a function of the output."""
    slopes = {d: sp.Dummy() for d in expr.atoms(sp.Derivative)}
    named = expr.xreplace(slopes).replace(
        lambda e: isinstance(e, sp.core.function.AppliedUndef) and e.func == generic_a,
        lambda e: a[e.args[0].indices],
    )
    return named.xreplace({dummy: d for d, dummy in slopes.items()})


@cache
def index_rules() -> dict[str, Rule]:
    """The rules of the δ route for any layer ``l`` of any network, derived.

    ``definition``: ``δ^l_j = ∂C/∂z^l_j``; ``weight``: ``∂C/∂w^l_{ji}``;
    ``bias``: ``∂C/∂b^l_j``; ``output``: ``δ^L_j`` for the squared error;
    ``recurrence``: ``δ^l_i`` from the layer above; ``decayed weight``:
    ``∂C/∂w^l_{ji}`` when ``C`` holds the weight decay :func:`weight_decay_sum`,
    which then uses the weight directly too.

    >>> index_rules()["output"].result
    (a[L, j] - t[j])*Derivative(a(z[L, j]), z[L, j])
    >>> index_rules()["bias"].result
    delta[l, j]
    >>> index_rules()["decayed weight"].result
    lambda*w[l, j, i] + a[l - 1, i]*delta[l, j]
    """
    chain_w = sp.Sum(Partial(COST, z[l, k]) * Partial(z[l, k], w[l, j, i]), (k, 1, n[l]))
    weight = sp.Sum(delta[l, k] * sp.diff(weighted_input(l, k), w[l, j, i]), (k, 1, n[l]))
    chain_b = sp.Sum(Partial(COST, z[l, k]) * Partial(z[l, k], b[l, j]), (k, 1, n[l]))
    bias = sp.Sum(delta[l, k] * sp.diff(weighted_input(l, k), b[l, j]), (k, 1, n[l]))
    cost_of_z = squared_cost().xreplace({a[L, k]: generic_a(z[L, k])})
    output = _as_outputs(_collapse(sp.diff(cost_of_z, z[L, j])))
    # z^{l+1}_j depends on z^l_i only through a^l_i = a(z^l_i).
    next_z = weighted_input(l + 1, j, k).xreplace({a[l, k]: generic_a(z[l, k])})
    chain_r = sp.Sum(Partial(COST, z[l + 1, j]) * Partial(z[l + 1, j], z[l, i]), (j, 1, n[l + 1]))
    recurrence = sp.Sum(delta[l + 1, j] * sp.diff(next_z, z[l, i]), (j, 1, n[l + 1]))
    return {
        "definition": Rule(delta[l, j], Partial(COST, z[l, j]), Partial(COST, z[l, j])),
        "weight": Rule(Partial(COST, w[l, j, i]), chain_w, _collapse(weight)),
        "bias": Rule(Partial(COST, b[l, j]), chain_b, _collapse(bias)),
        "output": Rule(
            delta[L, j], Partial(COST, a[L, j]) * Partial(a[L, j], z[L, j]), output
        ),
        "recurrence": Rule(delta[l, i], chain_r, sp.factor_terms(_collapse(recurrence))),
        "decayed weight": Rule(
            Partial(COST, w[l, j, i]),
            chain_w + Partial(weight_decay_sum(), w[l, j, i]),
            _collapse(weight) + _collapse(sp.diff(weight_decay_sum(), w[l, j, i])),
        ),
    }


def cross_entropy_cost() -> sp.Expr:
    """The cross-entropy of one example, ``C = −Σ_k [t_k log a^L_k + (1 − t_k) log(1 − a^L_k)]``.

    >>> cross_entropy_cost()
    Sum(-(1 - t[k])*log(1 - a[L, k]) - log(a[L, k])*t[k], (k, 1, n[L]))
    """
    return sp.Sum(-(t[k] * sp.log(a[L, k]) + (1 - t[k]) * sp.log(1 - a[L, k])), (k, 1, n[L]))


@cache
def sigmoid_cross_entropy_rule() -> Rule:
    """``δ^L_j`` for a sigmoid output layer and the cross-entropy, for any width:
    ``∂C/∂a^L_j · σ'(z^L_j)`` with ``σ' = a(1 − a)``, which cancels to ``a^L_j − t_j``.

    >>> sigmoid_cross_entropy_rule().result
    a[L, j] - t[j]
    """
    from ..functions.elementary import sigmoid

    by_output = _collapse(sp.diff(cross_entropy_cost(), a[L, j]))
    slope = sigmoid(z[L, j]).diff(z[L, j]).xreplace({sigmoid(z[L, j]): a[L, j]})
    chain = by_output * slope
    return Rule(delta[L, j], chain, sp.cancel(chain))


def matrix_form() -> sp.Eq:
    """The recurrence for a whole layer, ``δ^l = ((W^{l+1})^T δ^{l+1}) ⊙ a'(z^l)``.

    >>> matrix_form()
    Eq(delta^{l}, HadamardProduct(W^{l+1}.T*delta^{l+1}, a'(z^l)))
    """
    return sp.Eq(delta_here, sp.HadamardProduct(W_next.T * delta_next, slope_here), evaluate=False)


def matrix_form_entry() -> sp.Expr:
    """Entry ``i`` of :func:`matrix_form`'s right side, by SymPy's matrix algebra,
    written back in index notation: the contraction ``Σ_j δ^{l+1}_j w^{l+1}_{ji}``
    is the product with the transpose.

    >>> matrix_form_entry()
    Derivative(a(z[l, i]), z[l, i])*Sum(delta[l + 1, j]*w[l + 1, j, i], (j, 1, n[l + 1]))
    """
    entry = matrix_form().rhs[i - 1, 0]
    shift = {
        W_next: lambda r, c: w[l + 1, r + 1, c + 1],
        delta_next: lambda r, c: delta[l + 1, r + 1],
        slope_here: lambda r, c: generic_a(z[l, r + 1]).diff(z[l, r + 1]),
    }
    entry = entry.replace(
        lambda e: isinstance(e, sp.matrices.expressions.matexpr.MatrixElement),
        lambda e: shift[e.parent](*e.indices),
    )
    (summed,) = entry.atoms(sp.Sum)
    dummy = summed.limits[0][0]
    return entry.xreplace({summed: summed.change_index(dummy, dummy + 1, j)})


def instantiate(expr: sp.Expr, model: LayeredModel, **indices: int) -> sp.Expr:
    """``expr`` for a concrete fully connected ``model``: layer and unit indices
    given by name (``l=2, i=1``), widths and ``L`` from the model, sums carried
    out, and each indexed quantity replaced by the model's own symbol.

    >>> from symbackprop import Network
    >>> instantiate(index_rules()["weight"].result, Network([2, 2, 1]), l=2, j=1, i=2)
    delta^2_1*x_2
    """
    values = {sp.Symbol(name, integer=True, positive=True): v for name, v in indices.items()}
    values[L] = model.depth
    expr = expr.xreplace(values)
    widths = {n[layer]: width for layer, width in enumerate(model.sizes, start=1)}
    expr = expr.xreplace(widths).doit()

    def symbol(e: sp.Indexed) -> sp.Symbol:
        name = e.base.label.name
        if name == "t":
            return model.symbol(f"t_{e.indices[0]}")
        layer, *units = e.indices
        return model.symbol(f"{name}^{layer}_{','.join(str(u) for u in units)}")

    return expr.xreplace({e: symbol(e) for e in expr.atoms(sp.Indexed)})
