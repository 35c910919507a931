"""The δ-route document of a network too large for the direct route.

A network such as 784-100-10 (79,510 parameters) is never built as SymPy
expressions here: the rules of every layer come from the derivation in
index form (:mod:`symbackprop.engine.index_rules`), which holds for every
width; they are instantiated for this network's first and last layers by
putting in its widths, activations and cost; the matrix form comes from the
array derivation (:func:`~symbackprop.numeric.array_form.derive_arrays`,
widths symbolic); the size of the direct route is counted from the widths.
The exact identity of the two routes is not attempted — the direct route is
what is too large — and the verdict is the check at random points of
:func:`~symbackprop.proof.sampled.sampled_check`, which says so.

>>> doc = large_network_derivation([30, 20, 10], samples=1)
>>> [step.title for step in doc.steps][:3]
['The network', 'The rules of every layer', 'The output layer, $L = 3$']
"""

from __future__ import annotations

from collections.abc import Sequence

import sympy as sp

from ..engine import index_rules as ix
from ..engine.index_rules import index_rules, matrix_form
from ..engine.network import Network
from ..engine.routes import expression_size
from ..errors import SizeLimitError
from ..functions.activations import generic_a
from ..guards import SAMPLED_PARAMETER_LIMIT
from ..notation.latex import book_latex
from ..notation.symbols import COST, Partial
from ..numeric.array_form import derive_arrays
from ..proof.sampled import sampled_check
from .derivation import Derivation, Step


def parameter_count(sizes: Sequence[int]) -> int:
    """``Σ_l n_l (n_{l−1} + 1)``: every weight and bias.

    >>> parameter_count([784, 100, 10])
    79510
    """
    return sum(n * (previous + 1) for previous, n in zip(sizes, sizes[1:]))


def _occurrences(expr: sp.Basic, symbol: sp.Symbol) -> int:
    return sum(1 for node in sp.preorder_traversal(expr) if node == symbol)


def direct_work(sizes: Sequence[int], small: Network) -> int:
    """The direct route's estimated operations for ``sizes`` — the tree
    operations of the written-out ``C`` times the parameters, as
    :func:`~symbackprop.engine.routes.estimate_direct_work` measures them —
    counted layer by layer from the widths, without writing ``C`` out.
    ``small`` is a network of the same depth, activations and cost.

    >>> from symbackprop import Network
    >>> direct_work([784, 100, 10], Network([1, 1, 1])) > 10**11
    True
    """
    z = sp.Symbol("z")
    ops_a = 0  # the inputs x_i are atoms
    for previous, layer in zip(sizes, small.layers):
        # z^l_j = Σ_i w^l_ji a^{l−1}_i + b^l_j: n_{l−1} products, n_{l−1} additions
        ops_z = 2 * previous + previous * ops_a
        unit = layer.activation(z)
        ops_a = expression_size([unit]).tree_ops + _occurrences(unit, z) * ops_z
    a = sp.symbols(f"a1:{sizes[-1] + 1}")
    t = sp.symbols(f"t1:{sizes[-1] + 1}")
    cost = small.cost(a, t)
    ops_c = expression_size([cost]).tree_ops + sum(_occurrences(cost, s) for s in a) * ops_a
    if small.output_layer.activation(z) == z:
        # a^L_j is then the sum z^L_j itself, and SymPy distributes a number times it
        # (−a^L_j in t_j − a^L_j) over its n_{L−1} + 1 terms: one more operation per product.
        scaled = sum(1 for node in sp.preorder_traversal(cost)
                     if isinstance(node, sp.Mul) and len(node.args) == 2 and node.args[0].is_Number
                     and node.args[1] in a)
        ops_c += scaled * sizes[-2]
    if small.weight_decay != 0:
        # + (λ/2) Σ w²: a square and a product per weight, one addition each, and the factor λ/2
        weights = sum(n * previous for previous, n in zip(sizes, sizes[1:]))
        ops_c += 3 * weights
    return ops_c * parameter_count(sizes)


def _layer_symbols(l: int, sizes: Sequence[int]) -> dict:
    return {ix.L: len(sizes), **{ix.n[k + 1]: width for k, width in enumerate(sizes)}}


def _with_activation(expr: sp.Expr, activation, layer: int) -> sp.Expr:
    # a(z^l_j) of the generic rules becomes this layer's activation, a'(z) its derivative
    def slope(derivative):
        point = derivative.variables[0]
        return activation.derivative(point)

    expr = expr.replace(lambda e: isinstance(e, sp.Derivative) and e.expr.func == generic_a, slope)
    return expr.replace(generic_a, activation.function)


def large_network_derivation(
    sizes: Sequence[int],
    activation="sigmoid",
    cost="squared",
    weight_decay: object = 0,
    *,
    samples: int = 2,
    seed: int = 0,
) -> Derivation:
    """The δ route of a fully connected network of any size, checked at random points."""
    sizes = list(sizes)
    P = parameter_count(sizes)
    if P > SAMPLED_PARAMETER_LIMIT:
        raise SizeLimitError(
            f"the {'-'.join(map(str, sizes))} network has {P:,} parameters; its δ route is checked at random "
            f"points for at most {SAMPLED_PARAMETER_LIMIT:,} (784-100-10 has 79,510): choose narrower layers "
            "(the rules in index form are the same for every width)"
        )
    depth = len(sizes)
    small = Network([1] * depth, activation=activation, cost=cost, weight_decay=weight_decay)
    rules = index_rules()
    L = depth
    widths = {ix.n[k + 1]: width for k, width in enumerate(sizes)}
    decay = small.weight_decay
    out_act = small.output_layer.activation

    model_rows = [(ix.n[k + 1], sp.Integer(width)) for k, width in enumerate(sizes)]
    model_rows += [
        (ix.z[ix.l, ix.j], ix.weighted_input(ix.l, ix.j, ix.i)),
        (ix.a[ix.l, ix.j], generic_a(ix.z[ix.l, ix.j])),
        (COST, sp.Sum(small.cost.term(ix.a[ix.L, ix.k], ix.t[ix.k]), (ix.k, 1, ix.n[ix.L]))
         + (ix.weight_decay_sum().subs(ix.LAMBDA, decay) if decay != 0 else 0)),
    ]
    activations = ", ".join(dict.fromkeys(layer.activation.name for layer in small.layers))
    weight_rule = rules["decayed weight"] if decay != 0 else rules["weight"]
    steps = [
        Step("The network", f"widths $n_1, …, n_{{{L}}}$; activation {activations}; {small.cost.name} cost; "
             f"{P:,} parameters", model_rows),
        Step(
            "The rules of every layer",
            "derived once in index form, for every width: the unit error, the gradients read off from it, "
            "the output layer and the recurrence",
            [
                (rules["definition"].lhs, rules["definition"].chain),
                (weight_rule.lhs, weight_rule.result.subs(ix.LAMBDA, decay) if decay != 0 else weight_rule.result),
                (rules["bias"].lhs, rules["bias"].result),
                (rules["output"].lhs, rules["output"].chain),
                (rules["recurrence"].lhs, rules["recurrence"].result),
                (matrix_form().lhs, matrix_form().rhs),
            ],
        ),
    ]
    # The output layer L: δ^L_j = ∂c/∂a^L_j · a'(z^L_j) with this cost and activation.
    aL, zL = ix.a[L, ix.j], ix.z[L, ix.j]
    own = sp.diff(small.cost.term(aL, ix.t[ix.j]), aL) * out_act.derivative(zL)
    own = own.xreplace({out_act(zL): aL}) if not out_act.is_generic else own
    weight = weight_rule.result.subs(ix.LAMBDA, decay).subs(ix.l, L).subs(widths)
    steps.append(Step(
        f"The output layer, $L = {L}$",
        f"the rules with this network's cost and output activation; j = 1, …, {sizes[-1]}; "
        f"i = 1, …, {sizes[-2]}",
        [(ix.delta[L, ix.j], own), (Partial(COST, ix.w[L, ix.j, ix.i]), weight),
         (Partial(COST, ix.b[L, ix.j]), ix.delta[L, ix.j])],
    ))
    if depth > 2:
        first = small.layers[0].activation
        recurrence = rules["recurrence"].result.subs(ix.l, 2).subs(widths)
        recurrence = _with_activation(recurrence, first, 2)
        recurrence = recurrence.xreplace({first(ix.z[2, ix.i]): ix.a[2, ix.i]}) if not first.is_generic else recurrence
        weight = weight_rule.result.subs(ix.LAMBDA, decay).subs(ix.l, 2).subs(widths)
        steps.append(Step(
            "The first layer, $l = 2$",
            f"the recurrence from layer 3 with this layer's activation; i = 1, …, {sizes[1]}; "
            f"$a^1$ is the input x, i = 1, …, {sizes[0]}",
            [(ix.delta[2, ix.i], recurrence), (Partial(COST, ix.w[2, ix.j, ix.i]), weight),
             (Partial(COST, ix.b[2, ix.j]), ix.delta[2, ix.j])],
        ))
    arrays = derive_arrays(small)
    matrix_rows = []
    for line in arrays.latex():
        lhs, _, rhs = line.partition(" = ")
        matrix_rows.append((lhs, rhs))
    steps.append(Step(
        "The matrix form",
        "the same derivation entry by entry over a batch of m examples (columns), widths symbolic; u is "
        "the row of m ones, so $\\delta^l u^T$ sums over the examples",
        matrix_rows,
    ))
    work = direct_work(sizes, small)
    report = sampled_check(sizes, small.layers[0].activation if depth == 2 else
                           [layer.activation for layer in small.layers], small.cost, decay,
                           samples=samples, batch=1, seed=seed)
    found: dict[sp.Symbol, list[str]] = {}
    for c in report.checks:
        verdict = {True: "agrees", False: "DIFFERS", None: "inconclusive"}[c.agrees]
        found.setdefault(c.parameter, []).append(f"{c.method} {c.difference:.1e} ({verdict})")
    listing = "; ".join(f"${book_latex(p)}$: {', '.join(v)}" for p, v in found.items())
    steps.append(Step(
        "Verdict at random points",
        "not the exact identity: checked numerically at one random point, for a sample of parameters",
        [],
        note=(
            f"The direct route — C written out and differentiated by each of the {P:,} parameters — would "
            f"take about {work:.2g} operations, so the exact identity of the two routes is not attempted "
            "for this network (it is proved for every width by the index-form derivation above, and exactly "
            "for small networks by 'symbackprop verify --exact'). Instead, at a random point: "
            + _verdict(report)
            + " (50-digit numeric: the array form at 70 working digits against the central difference "
            "of $C_T$ with step $10^{-20}$; finite differences: the compiled floats against float central "
            f"differences.) Relative differences: {listing}."
        ),
    ))
    return Derivation(
        f"Backpropagation for the {'-'.join(map(str, sizes))} network (δ route only)",
        steps,
        intro=(
            f"Layers 1 (input) to L = {L}, {P:,} parameters: too many for the direct route, so this document "
            "derives the δ route alone — in index form for every layer, instantiated for this network's "
            "first and last layers, and in matrix form — and checks it at random points."
        ),
        book_order=True,
    )


def _verdict(report) -> str:
    if report.ok:
        return (f"the δ route agrees with the central differences for all {len(report.by_parameter())} "
                f"parameters checked ({', '.join(report.methods)}).")
    return f"the δ route does NOT agree with the central differences: {report.summary()}."
