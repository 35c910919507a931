"""Backpropagation through time as a document: a recurrent layer unrolled over T steps.

Every formula is the engine's: the unit errors through time and the shared
weights' gradients are derived by :func:`~symbackprop.engine.routes.delta_route`
from the unrolled layer's local equations and compared, in the text, with the
recurrence as it is taught; the product of Jacobians that makes gradients
vanish or explode is derived from one step's equations.

>>> doc = recurrent_derivation(RecurrentNetwork(3, 1, 2, 1, activation="generic"))
>>> doc.steps[0].title
'Notation'
"""

from __future__ import annotations

import sympy as sp

from ..engine.recurrent import (
    RecurrentNetwork,
    step_jacobian,
    through_time_gradients,
    through_time_unit_errors,
)
from ..engine.routes import chain_rule_expansion, delta_route
from ..layers.protocol import named, step_symbol
from ..notation.latex import book_latex
from ..notation.symbols import COST, Partial
from ..proof.verify import verify
from .derivation import Derivation, Step


def _same(left: sp.Expr, right: sp.Expr) -> bool:
    return sp.expand(left - right) == 0


def _matches(derived: sp.Expr, taught: sp.Expr, what: str) -> str:
    verdict = "is" if _same(derived, taught) else "is NOT"
    return f"The derived {what} {verdict} the taught formula (their difference expands to 0)."


def recurrent_derivation(model: RecurrentNetwork) -> Derivation:
    """The derivation for a recurrent network (with the generic activation it proves
    the result for every activation), with a one-unit copy for the paths through time
    and a many-to-many copy for the error an output at step t adds.

    >>> doc = recurrent_derivation(RecurrentNetwork(2, 1, 1, 1, activation="tanh", every_step=True))
    >>> doc.steps[1].title, doc.steps[-1].note.endswith("all agree.")
    ('Output layer and cost', True)
    """
    route = delta_route(model)
    rnn, out = model.recurrent, model.output
    T = rnn.steps
    taught_d, taught_g = through_time_unit_errors(model), through_time_gradients(model)
    d_last, d_first = step_symbol("delta", T, 1), step_symbol("delta", 1, 1)
    u11, w11, w12, b1 = rnn.U[0, 0], rnn.W[0, 0], rnn.W[0, min(1, rnn.width - 1)], rnn.b[0]
    z1, h1 = rnn.z[0][0], rnn.h[1][0]
    zt = rnn.z[1][0] if T > 1 else z1
    dO = sp.Symbol("delta" + out.z[0][0].name[1:])

    narrow = RecurrentNetwork(T, 1, 1, 1, activation=model.activation, output_activation=out.activation)
    paths = chain_rule_expansion(narrow, narrow.symbol("w_11"))
    ordered = sp.Add(*(sp.Mul(*p, evaluate=False) for p in paths.paths), evaluate=False)

    every = RecurrentNetwork(T, 1, rnn.width, 1, activation=model.activation,
                             output_activation=out.activation, every_step=True)
    every_route = delta_route(every)
    every_d = through_time_unit_errors(every)
    d1_every = every_route.deltas[d_first]

    report = verify(model, exact=True)
    J = named("∂h^(t)/∂h^(t-1)", r"\frac{\partial h^{(t)}}{\partial h^{(t-1)}}")
    jac = step_jacobian(model, T)
    h_first = named("∂C/∂h^(1)", r"\frac{\partial C}{\partial h^{(1)}}")
    h_last = named(f"∂C/∂h^({T})", r"\frac{\partial C}{\partial h^{(%d)}}" % T)
    chain = sp.Mul(*(named(f"(∂h^({t})/∂h^({t - 1}))ᵀ", r"\left(\frac{\partial h^{(%d)}}{\partial h^{(%d)}}\right)^{T}"
                           % (t, t - 1)) for t in range(2, T + 1)), h_last, evaluate=False)

    steps = [
        Step("Notation", "the book has no recurrent network; this document adds, in its pattern: step $t$ reads "
             "the input $x^{(t)}_i$ and the previous state $h^{(t-1)}_i$ ($h^{(0)}$ given); $u_{ji}$ are the input "
             "weights, $w_{ji}$ the recurrent weights, $b_j$ the biases, the same at every step; "
             "$z^{(t)}_j$ is the weighted input and $h^{(t)}_j = a(z^{(t)}_j)$ the state; "
             "$\\delta^{(t)}_j = \\partial C/\\partial z^{(t)}_j$ is the unit error of step $t$",
             [(z1, model.definitions[z1]), (h1, model.definitions[h1]), (zt, model.definitions[zt])]),
        Step("Output layer and cost", "many-to-many: a dense output layer reads every state, and the cost sums "
             "the steps" if model.every_step else f"many-to-one: a dense output layer reads the last state "
             f"$h^{{({T})}}$",
             [(out.z[0][0], model.definitions[out.z[0][0]]), (out.a[0][0], model.definitions[out.a[0][0]]),
              (COST, model.cost_expression)]),
        Step("Paths through time", f"with one unit, $w_{{11}}$ is used once at each of the {T} steps; "
             "each use reaches $C$ along its own path through the later steps",
             [(Partial(COST, narrow.symbol("w_11")), ordered)],
             note=f"{paths.term_count} paths, one per step: a shared weight's gradient is a sum over time."),
        Step("Unit error at the last step", "derived by the engine from the local equations",
             [(dO, route.deltas[dO]), (d_last, route.deltas[d_last])],
             note=_matches(route.deltas[d_last], taught_d[d_last], "unit error")),
        Step("Unit errors through time", "each earlier step receives the next step's errors back through $W$: "
             "$\\delta^{(t)} = (W^{T} \\delta^{(t+1)}) \\odot a'(z^{(t)})$",
             [(d, route.deltas[d]) for d in (step_symbol("delta", t, 1) for t in range(T - 1, 0, -1))],
             note=" ".join(_matches(route.deltas[d], taught_d[d], f"${book_latex(d)}$")
                           for t, d in ((t, step_symbol("delta", t, 1)) for t in range(T - 1, 0, -1)))),
        Step("Many-to-many: an output at every step", "with a dense output on every state and "
             "$C = \\sum_t C^{(t)}$, each step's error also receives what its own output sends back: "
             "$\\delta^{(t)} = (W^{T} \\delta^{(t+1)} + W^{O\\,T} \\delta^{O(t)}) \\odot a'(z^{(t)})$",
             [(COST, every.cost_expression), (d_first, d1_every)],
             note=_matches(d1_every, every_d[d_first], "unit error")),
        Step("Shared weights: the sum over steps", "every use of a shared parameter contributes, so its gradient "
             "sums the steps",
             [(Partial(COST, p), route.gradients[p]) for p in (u11, w12, b1)],
             note=" ".join(_matches(route.gradients[p], taught_g[p], f"gradient of ${book_latex(p)}$") for p in (u11, w11, b1))),
        Step("The product of Jacobians", "one step's Jacobian, derived from its equations, is $D^{(t)} W$ with "
             "$D^{(t)}$ the diagonal matrix of the $a'(z^{(t)}_j)$; the error of the first state is the product "
             "of all of them",
             [(J, jac.xreplace({rnn.z[T - 1][j]: sp.Symbol(f"z^(t)_{j + 1}") for j in range(rnn.width)})),
              (h_first, chain)],
             note="Each factor multiplies the error's length by at most the largest $|a'|$ times the largest "
             "stretch of $W$: with the identity and W = ρ$Q$ ($Q$ orthogonal) by exactly ρ per step, so the "
             "length of $\\partial C/\\partial h^{(1)}$ shrinks geometrically for ρ < 1 (vanishing) and grows "
             "for ρ > 1 (exploding); "
             "$\\tanh' \\le 1$ shrinks it further and $\\sigma' \\le 1/4$ at least fourfold per step. "
             "`symbackprop vanishing` measures it."),
        Step("Verdict", "the δ route against the direct derivative of the unrolled network",
             [], note=f"Checked for all {len(report.by_parameter())} parameters ({', '.join(report.methods)}) "
             + ("with the generic activation $a$, so for every activation"
                if model.activation.is_generic else f"with the activation {model.activation.name}")
             + f": {'all agree' if report.ok else 'SOME DIFFER'}."),
    ]
    for t in range(1, rnn.width + 1):
        named(f"z^(t)_{t}", f"z^{{(t)}}_{{{t}}}")
    return Derivation(
        f"Backpropagation through time: the {model.describe()} network",
        steps,
        intro="A recurrent layer unrolled over its steps is one more layered model: the same engine derives "
        "the unit errors through time from the local equations, and `symbackprop verify --recurrent "
        f"{T} --activation generic --exact` proves that they give the direct derivative.",
        book_order=True,
    )


def documents() -> dict[str, Derivation]:
    """Backpropagation through time, by file stem.

    >>> sorted(documents())
    ['recurrent-bptt']
    """
    return {"recurrent-bptt": recurrent_derivation(RecurrentNetwork(3, 1, 2, 1, activation="generic"))}
