"""Derivations for models built from layer specifications: the network as a
graph (a residual connection) and a layer the user states by its equations.

The δ route reads only each layer's local equations, so these documents
are built like the dense network's: the equations, the chain rule path by
path, the δ route, and the proof that both agree. Where a quantity has
more than one consumer — ``a^{l−2}`` feeding both ``z^{l−1}`` and the skip
into ``a^l`` — the paths show the two ways the error reaches it, and the
δ route sums over both.

>>> sorted(documents())
['residual-connection', 'user-layer']
"""

from __future__ import annotations

import sympy as sp

from ..engine.model import Model
from ..engine.routes import consumers, delta_route, direct_route, local_derivative
from ..errors import ArgumentError, echo
from ..notation.latex import book_latex
from ..notation.symbols import COST, Partial
from ..proof.verify import verify
from .backprop import choose_parameter, direct_steps, verdict_step
from .derivation import Derivation, Step


def model_steps(model: Model) -> list[Step]:
    """Part 1: every layer's equations, its outputs' local derivatives, and the cost.

    >>> model = Model(1, [{"kind": "equations", "width": 1, "output": "z*sigmoid(z)"}])
    >>> model_steps(model)[1].equations
    [(∂a^2_1/∂z^2_1, z^2_1*(1 - sigmoid(z^2_1))*sigmoid(z^2_1) + sigmoid(z^2_1))]
    """
    equations = [(s, d) for s, d in model.definitions.items()]
    slopes = []
    for layer in model.layers:
        first = layer.outputs[0]
        for s in sorted(model.definitions[first].free_symbols & set(model.definitions) | (
                model.definitions[first].free_symbols & set(model.inputs)), key=sp.default_sort_key):
            slopes.append((Partial(first, s), local_derivative(model, first, s)))
    return [
        Step(
            "The layers' equations",
            "each layer as its kind states it; layer 1 is the input, $a^1_i = x_i$",
            equations,
        ),
        Step(
            "Local derivatives of the outputs",
            "each output differentiated by every quantity its own equation reads (the first unit of each layer)",
            slopes,
        ),
        Step(f"Cost ({model.cost.name})", "the cost of one example", [(COST, model.cost_expression)]),
    ]


def delta_steps(model: Model, parameter: sp.Symbol) -> list[Step]:
    """Part 3: the δ route, derived backwards through the same equations.

    >>> model = Model(1, [{"kind": "dense", "width": 1, "activation": "identity"}])
    >>> delta_steps(model, model.symbol("b^2_1"))[-1].equations
    [(∂C/∂b^2_1, delta^2_1)]
    """
    route = delta_route(model)
    users = consumers(model)
    layer_of = {q: layer.index for layer in model.layers for q in layer.equations}
    # Read by two layers (not only by the next one): the quantities a skip connection makes shared.
    shared = [q for q in model.definitions if len({layer_of.get(u) for u in users.get(q, [])}) > 1]
    note = ""
    if shared:
        names = ", ".join(f"${book_latex(q)}$" for q in shared[:4])
        note = (
            f"{names}{' …' if len(shared) > 4 else ''} each are read by two layers, so their adjoint "
            "$\\partial C/\\partial q = \\sum_d \\partial C/\\partial d \\cdot \\partial d/\\partial q$ has a term for each: "
            "the error reaches them by more than one path."
        )
    deltas = list(route.deltas.items())
    if model.target_constraint is not None:
        constrained = route.constrained()
        deltas += [(model.target_constraint.lhs, model.target_constraint.rhs)]
        deltas += [(d, constrained.deltas[d]) for d in model.output_layer.unit_errors]
    return [
        Step(
            "The unit errors",
            "$\\delta = \\partial C/\\partial z$ for every weighted input, derived backwards, output layer first; "
            "each quantity sums $\\partial C/\\partial d \\cdot \\partial d/\\partial q$ over every $d$ whose equation reads it",
            deltas,
            note=note,
        ),
        Step(
            f"The gradient by ${book_latex(parameter)}$",
            "read off from the unit error of the parameter's unit",
            [(Partial(COST, parameter), route.gradients[parameter])],
        ),
    ]


def model_derivation(model: Model, parameter=None, *, expand: bool = False, force: bool = False) -> Derivation:
    """The derivation for a :class:`~symbackprop.engine.model.Model` and one parameter.

    >>> model = Model(1, [{"kind": "dense", "width": 1, "activation": "identity"}])
    >>> model_derivation(model).steps[-1].note.split(":")[0]
    'The two routes agree'
    >>> model_derivation([1, 1])
    Traceback (most recent call last):
    ...
    symbackprop.errors.ArgumentError: model_derivation derives a Model built from layer specifications or a model file; got [1, 1]
    """
    if not isinstance(model, Model):
        raise ArgumentError(f"model_derivation derives a Model built from layer specifications or a model file; got {echo(model)}")
    p = choose_parameter(model, parameter)
    direct, _ = direct_steps(model, p, expand=expand, force=force)
    report = verify(model, exact=True, numeric=False, finite_differences=False, force=force)
    return Derivation(
        f"Backpropagation for the {model.describe()} model",
        [*model_steps(model), *direct, *delta_steps(model, p),
         verdict_step(report, delta_route(model), p, direct_route(model, force=force).size())],
        intro=(
            f"Layers 1 (input) to L = {model.depth}: "
            + ", ".join(f"{spec['kind']}" for spec in model.specs)
            + f"; {model.cost.name} cost, {model.parameter_count} parameters. The gradient of $C$ by "
            f"${book_latex(p)}$ is derived two ways: directly by the chain rule, and by the unit errors δ."
        ),
        book_order=True,
    )


#: The residual block of the document, two units wide: a^4 = a(z^4) + a^2, skipping layer 3.
RESIDUAL_EXAMPLE = [
    {"kind": "dense", "width": 2, "activation": "generic"},
    {"kind": "dense", "width": 2, "activation": "generic"},
    {"kind": "residual", "skip": 2, "activation": "generic"},
    {"kind": "dense", "width": 1, "activation": "generic"},
]
#: The README's user-written layer: a gated unit a_j = z_j σ(z'_j).
USER_LAYER_EXAMPLE = [
    {"kind": "equations", "width": 2, "output": "z*sigmoid(z')"},
    {"kind": "dense", "width": 1, "activation": "generic"},
]


def residual_document() -> Derivation:
    """A residual block ``a^4_j = a(z^4_j) + a^2_j``: the error reaches ``a^2`` by two paths,
    through layers 3 and 4 and along the skip.

    >>> doc = residual_document()
    >>> doc.steps[2].equations[0][0]
    ∂C/∂a^2_1
    >>> from symbackprop.engine.routes import chain_rule_expansion
    >>> chain_rule_expansion(Model(2, RESIDUAL_EXAMPLE), "w^2_11").term_count  # 2 × 2 through layers 3, 4; 1 by the skip
    5
    """
    model = Model(2, RESIDUAL_EXAMPLE)
    doc = model_derivation(model, "w^2_11")
    a2 = model.symbol("a^2_1")
    two = [(Partial(COST, a2), sp.Add(*(sp.Mul(Partial(COST, u), Partial(u, a2), evaluate=False)
                                        for u in consumers(model)[a2]), evaluate=False))]
    doc.steps.insert(2, Step(
        "Two routes out of $a^2_1$",
        "the skip makes $a^2_1$ both an input of layer 3 (through $w^3$) and a term of $a^4_1$ itself; "
        "the chain rule sums over every consumer",
        two,
        note="So the error reaches layer 2 by two paths: back through layers 4 and 3, their weights and "
        "activations, and straight along the skip, where $\\partial a^4_1/\\partial a^2_1 = 1$. The δ route "
        "below sums the same two: $\\delta^2_j$ reads $\\delta^3$ and, through $a^4$, $\\delta^5$.",
    ))
    doc.title = "A residual connection: a^4 = a(z^4) + a^2"
    return doc


def user_layer_document() -> Derivation:
    """A layer stated in text, ``a_j = z_j σ(z'_j)``: two weighted inputs, two unit errors.

    >>> doc = user_layer_document()
    >>> doc.title
    "A layer stated by its equations: a_j = z_j σ(z'_j)"
    """
    model = Model(2, USER_LAYER_EXAMPLE)
    doc = model_derivation(model, "w'^2_11")
    doc.title = "A layer stated by its equations: a_j = z_j σ(z'_j)"
    return doc


def documents() -> dict[str, Derivation]:
    """The documents this module contributes to ``derivations/``."""
    return {"residual-connection": residual_document(), "user-layer": user_layer_document()}
