"""Batch normalisation as a document: the staged backward pass, proved equal to the compact formula.

Every formula is the engine's: the backward pass through ``μ`` and ``σ²`` is
the chain rule over the normalisation's local equations (each factor a local
derivative), the unit errors are derived by
:func:`~symbackprop.engine.routes.delta_route`, and the compact formula is
proved equal to them exactly by :func:`~symbackprop.engine.batchnorm.staged_equals_compact`.

>>> sorted(documents())
['batch-normalisation']
"""

from __future__ import annotations

import sympy as sp

from ..engine.batchnorm import BatchNormNetwork, compact_unit_error, shift_invariance, staged_equals_compact
from ..engine.routes import delta_route, local_derivative
from ..layers.protocol import named
from ..notation.symbols import COST, Partial
from ..proof.verify import verify
from .derivation import Derivation, Step


def batch_norm_derivation(model: BatchNormNetwork) -> Derivation:
    """The derivation for a batch-normalised network whose first hidden layer has one unit.

    >>> doc = batch_norm_derivation(BatchNormNetwork([1, 1, 1], batch=3, activation="generic",
    ...                             epsilon=sp.Symbol("epsilon", positive=True)))
    >>> [s.title for s in doc.steps][:2]
    ['Notation', 'Normalisation over the batch']
    """
    route = delta_route(model)
    dense, norm = model.layers[0], model.layers[1]
    m = norm.batch
    mu, var, gamma, beta = norm.mu[0], norm.var[0], norm.gamma[0], norm.beta[0]
    z = [dense.z[k][0] for k in range(m)]
    zhat = [norm.zhat[k][0] for k in range(m)]
    y = [norm.y[k][0] for k in range(m)]
    g = [norm.g[k][0] for k in range(m)]
    delta = [sp.Symbol("delta" + zk.name[1:]) for zk in z]
    C = COST

    # The staged pass, one adjoint at a time, each a sum of (adjoint of a consumer) × (local derivative).
    d_zhat = {k: g[k] * local_derivative(model, y[k], zhat[k]) for k in range(m)}
    d_var = sp.Add(*(d_zhat[k] * local_derivative(model, zhat[k], var) for k in range(m)))
    dvar, dmu = named("dC/dvar", r"\frac{\partial C}{\partial (\sigma^{2}_{1})^{2}}"), named(
        "dC/dmu", r"\frac{\partial C}{\partial \mu^{2}_{1}}")
    d_mu = sp.Add(*(d_zhat[k] * local_derivative(model, zhat[k], mu) for k in range(m))) + dvar * local_derivative(
        model, var, mu)
    first = (d_zhat[0] * local_derivative(model, zhat[0], z[0]) + dvar * local_derivative(model, var, z[0])
             + dmu * local_derivative(model, mu, z[0]))
    compact = compact_unit_error(norm, 0, 0)
    proved = staged_equals_compact(model, route)
    shifted = shift_invariance(model, route)
    report = verify(model, exact=True)

    steps = [
        Step("Notation", "the book has no batch normalisation; this document adds, in its pattern: example $k$ "
             f"of a batch of $m = {m}$ is a superscript $(k)$; μ and σ² are the batch's mean and "
             "variance of a unit's weighted input, $\\hat{z}$ the normalised value, $y = \\gamma \\hat{z} + \\beta$ "
             "with learned γ and β, and ε > 0 a constant; "
             "$g = \\partial C/\\partial y$ and $\\delta = \\partial C/\\partial z$",
             [(z[0], model.definitions[z[0]])],
             note="The hidden layer has no bias: β takes its place (a bias would get the gradient "
             "$\\sum_k \\delta^{2(k)}_1 = 0$, see below)."),
        Step("Normalisation over the batch", "the mean and the variance read every example of the batch, so the "
             "examples are coupled: the model's example is the whole batch",
             [(mu, model.definitions[mu]), (var, model.definitions[var]), (zhat[0], model.definitions[zhat[0]]),
              (y[0], model.definitions[y[0]]), (norm.a[0][0], model.definitions[norm.a[0][0]])]),
        Step("Cost", "the cost of the batch is the sum of its examples' costs, $C_T = \\sum_k C_k$",
             [(C, model.cost_expression)]),
        Step("Backward, staged: through $\\hat{z}$", "each $\\hat{z}$ is read by its own $y$ only",
             [(Partial(C, zhat[k]), d_zhat[k]) for k in range(m)]),
        Step("Backward, staged: through $\\sigma^2$", "every $\\hat{z}$ reads the variance",
             [(dvar, d_var)]),
        Step("Backward, staged: through $\\mu$", "every $\\hat{z}$ reads the mean, and so does the variance",
             [(dmu, d_mu)],
             note="The variance's term is a multiple of $\\sum_k (z^{2(k)}_1 - \\mu^{2}_1)$, which is 0: only the "
             "$\\hat{z}$ terms remain."),
        Step("Backward, staged: the unit error", "the weighted input of example 1 is read by its $\\hat{z}$, by "
             "the variance and by the mean",
             [(delta[0], first)]),
        Step("The compact formula", "the form people use, with $g_k = \\partial C/\\partial y_k$",
             [(delta[0], compact)],
             note=f"The engine's staged unit errors (the δ route through μ and σ² as a graph) equal the compact "
             f"formula for every example of the batch of {m}, exactly, as rational functions of the z's, the g's, "
             f"γ and √(σ² + ε): {'proved' if proved else 'NOT equal'}. The g's are symbols, so this holds "
             "for every cost and every layer above."),
        Step("The gradient is orthogonal to a shift of the batch", "adding the same number to every $z_k$ leaves "
             "every $\\hat{z}_k$, so $C$, unchanged; the unit errors sum to 0",
             [(sp.Add(*delta), sp.S.Zero)],
             note=f"Proved from the derived unit errors: {'yes' if shifted else 'NO'}."),
        Step("Scale and shift", "derived by the engine",
             [(Partial(C, gamma), route.gradients[gamma]), (Partial(C, beta), route.gradients[beta])]),
        Step("Verdict", "the δ route against the direct derivative of the whole network over the batch", [],
             note=f"Checked for all {len(report.by_parameter())} parameters ({', '.join(report.methods)}) "
             + ("with the generic activation $a$, so for every activation"
                if model.activation.is_generic else f"with the activation {model.activation.name}")
             + f": {'all agree' if report.ok else 'SOME DIFFER'}."),
    ]
    return Derivation(
        f"Batch normalisation: the {model.describe()}",
        steps,
        intro="Batch normalisation in training mode couples the examples of a batch through its mean and "
        "variance. The engine derives the backward pass through them as a graph and proves it equal to the "
        "compact formula; `symbackprop verify --batch-norm 3 --layers 1,1,1 --exact` with "
        "`--activation generic` proves the whole network's gradient.",
        book_order=True,
    )


def documents() -> dict[str, Derivation]:
    """Batch normalisation, by file stem."""
    epsilon = sp.Symbol("varepsilon", positive=True)
    return {"batch-normalisation": batch_norm_derivation(
        BatchNormNetwork([1, 1, 1], batch=3, activation="generic", epsilon=epsilon))}
