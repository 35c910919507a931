"""A network's backpropagation as a step-by-step :class:`Derivation`.

Four parts, as the book tells it: the model; the direct route (the chain
rule path by path, "derivative hell"); the δ route (the unit error, its
rules, the recurrence and this network's instance of it); the verdict.
Every formula is an object the engine produced: the network's equations,
the chain-rule expansion, the derived δ route, the general rules derived in
index notation (:mod:`symbackprop.engine.index_rules`) and the verification report.

>>> from symbackprop import Network
>>> doc = network_derivation(Network([2, 2, 1]), "w^2_11")
>>> [step.title for step in doc.steps][:4]
['Weighted inputs', 'Activations', 'Cost (squared)', 'Paths from $w^{2}_{11}$ to $C$']
"""

from __future__ import annotations

import sympy as sp

from ..engine import index_rules as index_form
from ..engine.index_rules import index_rules, matrix_form
from ..engine.network import Network
from ..engine.routes import (
    COST,
    DIRECT_ROUTE_LIMIT,
    ChainRuleExpansion,
    DeltaRoute,
    ExpressionSize,
    Partial,
    chain_rule_expansion,
    delta_route,
    direct_route,
    estimate_direct_work,
    expression_size,
    local_derivative,
)
from ..errors import ArgumentError, SizeLimitError, UnknownNameError, echo
from ..notation.latex import book_latex
from ..proof.verify import VerificationReport, verify
from .derivation import Derivation, Step, counted

#: More chain-rule paths than this are summarised, not listed (a reader
#: cannot follow them anyway); ``force=True`` lists them all.
PATH_DISPLAY_LIMIT = 64
#: ``expand=True`` refuses to print written-out formulas larger than this
#: many operations in all, unless forced.
EXPAND_LIMIT = 5_000
#: The verdict lists every parameter's gradient up to this many parameters.
GRADIENT_TABLE_LIMIT = 50


def _ordered(path) -> sp.Expr:
    # The book writes a path from C down to the parameter; a plain Mul would sort it.
    return sp.Mul(*path, evaluate=False)


def choose_parameter(model: Network, parameter=None) -> sp.Symbol:
    """The parameter to derive: ``parameter`` by name, or the book's ``w^2_11``.

    >>> from symbackprop import Network
    >>> choose_parameter(Network([2, 1])), choose_parameter(Network([2, 1]), "b2_1")
    (w^2_11, b^2_1)
    >>> choose_parameter(Network([2, 1]), "a^2_1")
    Traceback (most recent call last):
    ...
    symbackprop.errors.UnknownNameError: a^2_1 is not a parameter of the 2-1 network; weights are w^l_ji with l = 2..2, j a unit of layer l, i a unit of layer l-1 (e.g. w^2_11), biases b^l_j
    """
    if parameter is None:
        return model.parameters[0]
    symbol = model.symbol(parameter)
    if symbol not in model.parameters:
        raise UnknownNameError(
            f"{symbol} is not a parameter of the {model.describe()} network; {model.naming_hint()}, biases b^l_j"
        )
    return symbol


def model_steps(model: Network) -> list[Step]:
    """Part 1: weighted inputs, activations (with their derivatives) and the cost.

    >>> from symbackprop import Network
    >>> model_steps(Network([2, 1], activation="tanh"))[1].equations[-1]
    (Derivative(tanh(z), z), 1 - tanh(z)**2)
    """
    general_z = (index_form.z[index_form.l, index_form.j], index_form.weighted_input(index_form.l, index_form.j, index_form.i))
    zs = [(s, d) for s, d in model.definitions.items() if s in {u for la in model.layers for u in la.units}]
    activations = [(s, d) for s, d in model.definitions.items() if (s, d) not in zs]
    slopes = []
    for layer in {layer.activation.name: layer for layer in model.layers}.values():
        first, own = layer.outputs[0], layer.units[0]
        if model.definitions[first].free_symbols != {own}:
            # a softmax: each output reads every z, so its slope is a Jacobian, in outputs
            slopes += [(Partial(first, z), local_derivative(model, first, z)) for z in layer.units[:2]]
            continue
        zeta = sp.Symbol("z")
        slopes.append((sp.Derivative(layer.activation(zeta), zeta), layer.activation.derivative(zeta)))
    k = sp.Symbol("k")
    total = sp.Sum(sp.Indexed("C", k), (k, 1, sp.Symbol("N")))
    return [
        Step(
            "Weighted inputs",
            "each unit sums its weighted inputs and adds its bias; layer 1 is the input, $a^1_i = x_i$",
            [general_z, *zs],
        ),
        Step(
            "Activations",
            "each unit's output is the activation of its weighted input; its derivative, in terms of "
            "the output where the book writes it so",
            [*activations, *slopes],
        ),
        Step(
            f"Cost ({model.cost.name})",
            "the cost of one example, and over $N$ training examples the total $C_T$",
            [(COST, model.cost_expression), (sp.Symbol("C_T"), total)],
            note="$C_T$ is a plain sum, so its gradient is the sum of the examples' gradients.",
        ),
    ]


def direct_steps(
    model: Network, parameter: sp.Symbol, *, expand: bool = False, force: bool = False
) -> tuple[list[Step], ChainRuleExpansion]:
    """Part 2: the chain rule path by path, the local derivatives, the result and its size.

    >>> from symbackprop import Network
    >>> net = Network([1, 1, 1])
    >>> steps, expansion = direct_steps(net, net.symbol("w^2_11"))
    >>> expansion.term_count, steps[-1].equations[0][1]
    (1, a^2_1*a^3_1*w^3_11*x_1*(1 - a^2_1)*(1 - a^3_1)*(a^3_1 - t_1))
    """
    expansion = chain_rule_expansion(model, parameter, force=force)
    written_out = direct_route(model, [parameter], force=force).gradients[parameter]
    size = expression_size([written_out])
    target = Partial(COST, parameter)
    listed = expansion.term_count <= PATH_DISPLAY_LIMIT or force
    paths = sp.Add(*(_ordered(p) for p in expansion.paths), evaluate=False)
    steps = [Step(
        f"Paths from ${book_latex(parameter)}$ to $C$",
        "the chain rule: every path from the parameter to the cost contributes the product of "
        "the local derivatives along it",
        [(target, paths)] if listed else [],
        note=f"{counted(expansion.term_count, 'path')}."
        if listed
        else f"{expansion.term_count} paths: too many to list here (force=True lists them).",
    )]
    factors = {f: expansion.values[f] for path in expansion.paths for f in path}
    steps.append(Step(
        "Local derivatives",
        "each factor differentiates one local equation, so it is written in the named quantities",
        list(factors.items()),
    ))
    rows = [(target, expansion.evaluate())]
    if expand:
        _check_expandable([written_out], force)
        rows.append((target, written_out))
    steps.append(Step(
        "The direct derivative",
        "multiply along each path and add the paths",
        rows,
        note=(
            f"Size: {counted(expansion.term_count, 'term')} in the named quantities; written out in the inputs "
            f"and parameters it has {size.tree_ops} operations ({size.graph_nodes} distinct "
            "subexpressions). This growth with every layer is the book's derivative hell."
        ),
    ))
    return steps, expansion


def _check_expandable(exprs, force: bool) -> None:
    size = expression_size(exprs)
    if size.tree_ops > EXPAND_LIMIT and not force:
        raise SizeLimitError(
            f"written out, these formulas have {size.tree_ops} operations (limit {EXPAND_LIMIT}): "
            "too long to print. Leave out expand=True (CLI: --expand), or force it with force=True "
            "(CLI: --force)"
        )


def delta_steps(
    model: Network, route: DeltaRoute, parameter: sp.Symbol, *, expand: bool = False, force: bool = False
) -> list[Step]:
    """Part 3: the unit error, its rules (derived in index notation), the
    recurrence and its matrix form, and this network's instance (derived by the engine).

    >>> from symbackprop import Network, delta_route
    >>> net = Network([1, 1, 1])
    >>> steps = delta_steps(net, delta_route(net), net.symbol("b^2_1"))
    >>> steps[-1].equations
    [(∂C/∂b^2_1, delta^2_1)]
    """
    rules = index_rules()
    output_layer = model.output_layer
    last = [(d, route.deltas[d]) for d in output_layer.unit_errors]
    if model.cost.name == "cross-entropy":
        cancelled = route.cancelled()
        last += [(d, cancelled.deltas[d]) for d in output_layer.unit_errors if cancelled.deltas[d] != route.deltas[d]]
    if model.target_constraint is not None:
        constrained = route.constrained()
        last += [(model.target_constraint.lhs, model.target_constraint.rhs)]
        last += [(d, constrained.deltas[d]) for d in output_layer.unit_errors]
    output_rule = rules["output"]
    general_output = (
        (output_rule.lhs, output_rule.result) if model.cost.name == "squared" else (output_rule.lhs, output_rule.chain)
    )
    output_reaches = "$z^L_j$ reaches $C$ only through $a^L_j$"
    first, own = output_layer.outputs[0], output_layer.units[0]
    if model.definitions[first].free_symbols != {own}:
        # a softmax: every a^L_k reads z^L_j
        L, j, k, a, z = index_form.L, index_form.j, index_form.k, index_form.a, index_form.z
        general_output = (output_rule.lhs, sp.Sum(Partial(COST, a[L, k]) * Partial(a[L, k], z[L, j]), (k, 1, index_form.n[L])))
        output_reaches = "$z^L_j$ reaches $C$ through every output $a^L_k$ of the softmax"
    hidden = [(d, route.deltas[d]) for layer in reversed(model.layers[:-1]) for d in layer.unit_errors]
    if model.weight_decay != 0:
        weight_rule = rules["decayed weight"]
        reaches = ("a bias reaches C only through the weighted input of its unit; a weight also directly, "
                   f"through the weight decay (λ/2) Σ w² in C (here λ = {model.weight_decay})")
    else:
        weight_rule = rules["weight"]
        reaches = "a weight or bias reaches C only through the weighted input of its unit"
    steps = [
        Step(
            "Unit error",
            "the book's way out: name the derivative of the cost by each weighted input",
            [(rules["definition"].lhs, rules["definition"].chain)],
        ),
        Step(
            "Gradients from unit errors",
            reaches,
            [
                (weight_rule.lhs, weight_rule.chain),
                (weight_rule.lhs, weight_rule.result),
                (rules["bias"].lhs, rules["bias"].result),
            ],
        ),
        Step(
            "Output layer",
            f"{output_reaches}; then this network's output layer and cost"
            + ("; the targets are assumed to sum to 1 (a one-hot class), which turns the derived "
               "$\\delta^L$ into $a^L - t$" if model.target_constraint is not None else ""),
            [general_output, *last],
        ),
        Step(
            "The recurrence",
            "$z^l_i$ reaches $C$ through every $z^{l+1}_j$ of the layer above; in matrix form, with ⊙ "
            "the Hadamard product",
            [
                (rules["recurrence"].lhs, rules["recurrence"].chain),
                (rules["recurrence"].lhs, rules["recurrence"].result),
                (matrix_form().lhs, matrix_form().rhs),
            ],
        ),
    ]
    if hidden:
        steps.append(Step(
            "The recurrence for this network",
            "derived backwards through the network's own equations, output layer first",
            hidden + matrix_instances(model, route),
        ))
    gradient = route.gradients[parameter]
    rows = [(Partial(COST, parameter), gradient)]
    if expand:
        written_out = route.expanded(parameter)
        full = route.full_substitution()
        deltas_out = [(d, full[d]) for d in route.deltas]
        _check_expandable([written_out, *(e for _, e in deltas_out)], force)
        rows += deltas_out + [(Partial(COST, parameter), written_out)]
    size = route.size()
    steps.append(Step(
        f"The gradient by ${book_latex(parameter)}$",
        "read off from the unit error of the parameter's unit",
        rows,
        note=(
            f"The whole δ route — {len(route.deltas)} unit errors and {len(route.gradients)} gradients — "
            f"has {size.tree_ops} operations."
        ),
    ))
    return steps


def matrix_instances(model: Network, route: DeltaRoute) -> list[tuple]:
    """``δ^l = ((W^{l+1})^T δ^{l+1}) ⊙ a'(z^l)`` with this network's matrices,
    one row per hidden layer; ``a'(z^l)`` from the layer's local equations.

    >>> from symbackprop import Network, delta_route
    >>> net = Network([1, 1, 1])
    >>> (lhs, rhs), = matrix_instances(net, delta_route(net))
    >>> rhs.doit()
    Matrix([[a^2_1*delta^3_1*w^3_11*(1 - a^2_1)]])
    """
    rows = []
    for below, above in zip(model.layers[:-1], model.layers[1:]):
        slopes = sp.ImmutableMatrix([local_derivative(model, a, z) for a, z in zip(below.a, below.z)])
        product = sp.MatMul(above.W.T, sp.ImmutableMatrix(above.unit_errors), evaluate=False)
        rows.append((
            sp.ImmutableMatrix(below.unit_errors),
            sp.HadamardProduct(product, slopes, evaluate=False),
        ))
    return rows


def verdict_step(
    report: VerificationReport, route: DeltaRoute, parameter: sp.Symbol, direct_size: ExpressionSize | None = None
) -> Step:
    """Part 4: what the engine's verification found, and (given the direct
    route's size) what the δ route saves.

    >>> from symbackprop import Network, delta_route, verify
    >>> net = Network([1, 1])
    >>> report = verify(net, exact=True, numeric=False, finite_differences=False)
    >>> verdict_step(report, delta_route(net), net.symbol("w^2_11")).equations[0]
    (∂C/∂w^2_11, delta^2_1*x_1)
    """
    model = route.model
    shown = model.parameters if len(model.parameters) <= GRADIENT_TABLE_LIMIT else (parameter,)
    note = verdict_sentence(report)
    if direct_size is not None:
        note += (
            f" Written out, the direct route's {len(route.gradients)} derivatives have {direct_size.tree_ops:,} "
            f"operations; the δ route computes them all with {route.size().tree_ops:,}."
        )
    return Step(
        "Verdict",
        "the engine's verification of the δ route against the direct derivative",
        [(Partial(COST, p), route.gradients[p]) for p in shown],
        note=note,
    )


def verdict_sentence(report: VerificationReport) -> str:
    """The verification's outcome as one sentence for a document.

    >>> from symbackprop import Network, verify
    >>> verdict_sentence(verify(Network([1, 1]), exact=True, numeric=False, finite_differences=False))
    'The two routes agree: for all 2 parameters the written-out direct derivative equals the δ route (exact).'
    """
    if report.ok:
        return (
            f"The two routes agree: for all {len(report.by_parameter())} parameters the written-out direct "
            f"derivative equals the δ route ({', '.join(report.methods)})."
        )
    return f"The two routes do NOT agree: {report.summary()}."


def network_derivation(
    model: Network, parameter=None, *, expand: bool = False, force: bool = False
) -> Derivation:
    """The whole derivation for ``model`` and one parameter (default ``w^2_11``).

    Named quantities (``z``, ``a``, ``δ``) stay atoms; ``expand=True`` adds the
    written-out forms, refusing (:class:`SizeLimitError`) above
    :data:`EXPAND_LIMIT` operations unless ``force=True``.

    >>> from symbackprop import Network
    >>> doc = network_derivation(Network([1, 1], activation="identity"))
    >>> doc.steps[-1].note.split(". ")[0]
    'The two routes agree: for all 2 parameters the written-out direct derivative equals the δ route (exact)'
    >>> network_derivation(Network([1, 1]), "w^3_11")
    Traceback (most recent call last):
    ...
    symbackprop.errors.UnknownNameError: this 1-1 network has no quantity 'w^3_11'; weights are w^l_ji with l = 2..2, j a unit of layer l, i a unit of layer l-1 (e.g. w^2_11)
    >>> network_derivation(Network([64, 32, 10]))
    Traceback (most recent call last):
    ...
    symbackprop.errors.SizeLimitError: this derivation writes out the direct route beside the δ route, and for the 64-32-10 network that would take about 1e+08 operations (limit 5e+05). Derive a smaller network (the δ rules are the same for every size: 'symbackprop derivations --out FOLDER' writes them as delta-recurrence.md), or force it with force=True (CLI: --force)
    """
    if not isinstance(model, Network):
        # The convolutional network has its own document: cnn.documents().
        raise ArgumentError(f"network_derivation derives a fully connected Network such as Network([2, 2, 1]); got {echo(model)}")
    p = choose_parameter(model, parameter)
    work = estimate_direct_work(model)
    if work > DIRECT_ROUTE_LIMIT and not force:
        # The generic message says "use the δ route"; here the δ route is half of what is asked for.
        raise SizeLimitError(
            f"this derivation writes out the direct route beside the δ route, and for the {model.describe()} "
            f"network that would take about {work:.2g} operations (limit {DIRECT_ROUTE_LIMIT:.0e}). Derive a "
            "smaller network (the δ rules are the same for every size: 'symbackprop derivations --out FOLDER' "
            "writes them as delta-recurrence.md), or force it with force=True (CLI: --force)"
        )
    route = delta_route(model)
    direct, _ = direct_steps(model, p, expand=expand, force=force)
    report = verify(model, exact=True, numeric=False, finite_differences=False, force=force)
    activations = ", ".join(dict.fromkeys(layer.activation.name for layer in model.layers))
    return Derivation(
        f"Backpropagation for the {model.describe()} network",
        [
            *model_steps(model),
            *direct,
            *delta_steps(model, route, p, expand=expand, force=force),
            verdict_step(report, route, p, direct_route(model, force=force).size()),
        ],
        intro=(
            f"Layers 1 (input) to L = {model.depth}, activation {activations}, {model.cost.name} cost, "
            f"{model.parameter_count} parameters. The gradient of $C$ by ${book_latex(p)}$ is derived "
            "two ways: directly by the chain rule, and by the unit errors δ and their recurrence."
        ),
        book_order=True,
    )
