"""Three typical wrong claims for the book's 12-3-2 network, each diagnosed.

Every claim is put to :func:`~symbackprop.proof.diagnose.diagnose`; the
document shows the claim, the identity that proves the diagnosis (as the
diagnosis holds it) and a point of exact rationals where the claim fails.

>>> doc = documents()["wrong-claims-12-3-2"]
>>> [step.title for step in doc.steps][1:]
['A missing activation derivative', 'A transposed weight', 'A dropped chain-rule path']
"""

from __future__ import annotations

import sympy as sp

from ..engine.network import Network
from ..engine.routes import delta_route
from ..errors import NotDifferentiableError
from ..notation.latex import book_latex
from ..notation.symbols import COST, Partial
from ..proof.diagnose import ClaimDiagnosis, diagnose
from ..proof.mistakes import DROPPED_PATH, MISSING, TRANSPOSED
from .derivation import Derivation, Step

#: (title, parameter, the claim as a student writes it, why one writes it, the pattern, what it means)
CLAIMS = (
    ("A missing activation derivative", "w^3_11", "(a^3_1 - t_1)*a^2_1",
     "the cost's derivative times the input of the weight, forgetting that $a^3_1 = \\sigma(z^3_1)$",
     MISSING, "the factor $\\sigma'(z^3_1) = a^3_1(1 - a^3_1)$ is missing"),
    ("A transposed weight", "w^2_11", "(delta^3_1*w^3_11 + delta^3_2*w^3_12)*a^2_1*(1 - a^2_1)*x_1",
     "the recurrence with $w^3_{ij}$ where $w^3_{ji}$ belongs: the weights from unit 1 of layer 2 "
     "are $w^3_{11}$ and $w^3_{21}$",
     TRANSPOSED, "the claim has $w^3_{12}$ where $w^3_{21}$ belongs"),
    ("A dropped chain-rule path", "w^2_11", "delta^3_1*w^3_11*a^2_1*(1 - a^2_1)*x_1",
     "only the path through output unit 1, as if $a^2_1$ fed one unit of layer 3",
     DROPPED_PATH, "the claim leaves out the path "
     "$w^2_{11} \\to z^2_1 \\to a^2_1 \\to z^3_2 \\to a^3_2 \\to C$"),
)


def _step(net: Network, title: str, parameter: str, claim: str, why: str, pattern: str, meaning: str) -> Step:
    d: ClaimDiagnosis = diagnose(net, parameter, claim)
    if d.diagnosis is None or d.diagnosis.pattern != pattern:
        # The prose says what the pattern means; it must be the pattern found.
        raise NotDifferentiableError(f"{claim} is diagnosed as {d.diagnosis and d.diagnosis.pattern}, not {pattern}")
    p = net.parameter(parameter)
    left, right = d.diagnosis.identity
    named = [s for s in d.point if s in d.claim.free_symbols]
    values = ", ".join(f"${book_latex(s)} = {sp.latex(d.point[s])}$" for s in named)
    note = (
        f"Diagnosis ({pattern}): {meaning}, proved by the second identity, which holds exactly. "
        f"At a point of exact rationals ({values} and the other inputs, targets and parameters in "
        f"sixteenths) the claim is {float(d.claimed_value):.6f} and the gradient {float(d.true_value):.6f}."
    )
    return Step(title, why, [(Partial(COST, p), d.claim, "≠"), (left, right)], note)


def wrong_claims() -> Derivation:
    """The document: the true gradients, then the three claims.

    >>> doc = wrong_claims()
    >>> doc.steps[1].equations[0][2]
    '≠'
    """
    net = Network([12, 3, 2])
    route = delta_route(net)
    truths = [(Partial(COST, net.parameter(p)), route.gradients[net.parameter(p)]) for p in ("w^3_11", "w^2_11")]
    truths += [(d, route.deltas[d]) for d in (net.symbol("delta^3_1"), net.symbol("delta^2_1"))]
    steps = [Step("The gradients", "derived by the δ route of the 12-3-2 network (sigmoid, squared cost)", truths)]
    steps += [_step(net, *claim) for claim in CLAIMS]
    return Derivation(
        "Wrong claims for the 12-3-2 network, located and explained",
        steps,
        intro="A claim that is wrong is not only refuted: `symbackprop verify --claims FILE` names the "
        "mistake when an exact identity proves it, and shows a point where claim and gradient differ.",
    )


def documents() -> dict[str, Derivation]:
    """This module's document, by file stem."""
    return {"wrong-claims-12-3-2": wrong_claims()}
