"""A wrong gradient formula located and explained, not just refuted.

:func:`diagnose` compares a claimed ``∂C/∂p`` with the derived one. When they
differ it gives a point of exact rationals where they do, with both values,
and tries the usual mistakes in a fixed order:

1. a constant factor (−1: the sign; 2: the ½ of the cost; ½ …);
2. one factor missing (or one too many) that is a local derivative:
   ``a'(z^l_j)``, a weight, an input or a unit's output;
3. a transposed weight, ``w^l_{ij}`` for ``w^l_{ji}``;
4. the gradient of another parameter;
5. another activation's derivative (sigmoid's ``a(1 − a)`` where tanh's
   ``1 − a²`` belongs);
6. a chain-rule path left out (one path, or every path through one edge);

A pattern is named only when it is *proved*: the claim, corrected by the
pattern, is an exact SymPy identity with the gradient (:func:`prove_equal`;
with the generic activation, for every activation). Random points only
choose which pattern to try. Otherwise the report lists the terms that the
claim and the gradient do not share, in layer quantities.

>>> net = Network([2, 2, 1])
>>> d = diagnose(net, "w^3_11", "-(a^3_1 - t_1)*a^3_1*(1 - a^3_1)*a^2_1")
>>> d.verdict, d.diagnosis.pattern
('wrong', 'constant factor')
>>> print(d.diagnosis.text)
the sign is wrong: the claim is −1 × ∂C/∂w^3_11
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import sympy as sp

from ..engine.network import LayeredModel, check_model
from ..errors import UnknownNameError
from ..functions.activations import BUILTIN, generic_a
from ..functions.formula_text import plain_formula
from ..functions.parsing import parse_expression
from ..guards import check_expression, require_seed
from ..notation.latex import book_latex
from ..notation.symbols import index_text, parse_symbol_name, split_indices
from ..notation.text import book_text
from .mistakes import PATTERNS, Case, Diagnosis, transposed, unshared

RIGHT, WRONG, UNDECIDED = "right", "wrong", "undecided"


@dataclass
class ClaimDiagnosis:
    """The verdict on one claim and, when wrong, where and how.

    ``point`` is a point of exact rationals (inputs, targets, parameters)
    where the claim and the gradient differ, ``claimed_value`` and
    ``true_value`` their values there (50-digit evaluation); all three are
    None for the generic activation, which has no values.
    """

    model: LayeredModel
    parameter: sp.Symbol
    claim: sp.Expr
    verdict: str
    gradient: sp.Expr
    diagnosis: Diagnosis | None = None
    point: dict[sp.Symbol, sp.Rational] | None = None
    claimed_value: sp.Float | None = None
    true_value: sp.Float | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.verdict == RIGHT

    def text(self) -> str:
        """The report in plain text, in the book's notation.

        >>> print(diagnose(Network([1, 1]), "b^2_1", "(a^2_1 - t_1)*a^2_1*(1 - a^2_1)").text())
        ∂C/∂b^2_1 = a^2_1*(1 - a^2_1)*(a^2_1 - t_1): right
        """
        head = f"∂C/∂{book_text(self.parameter)} = {book_text(self.claim)}: {self.verdict}"
        lines = [head]
        if self.point is not None:
            lines.append(f"  at {self.point_text()}:")
            lines.append(f"  the claim is {_short(self.claimed_value)}, the gradient {_short(self.true_value)}")
        if self.diagnosis is not None:
            lines.append(f"  {self.diagnosis.pattern}: {self.diagnosis.text}")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def point_text(self, full: bool = False) -> str:
        """The point where claim and gradient differ: the values of the
        quantities the claim names and how many more there are, or with
        ``full`` every value.

        >>> d = diagnose(Network([1, 1]), "b^2_1", "a^2_1 - t_1")
        >>> d.point_text(full=True)
        'x_1 = 3/16, t_1 = 1/2, w^2_11 = 13/16, b^2_1 = -3/4'
        """
        named = [s for s in self.point if full or s in self.claim.free_symbols]
        shown = ", ".join(f"{book_text(s)} = {self.point[s]}" for s in named)
        rest = len(self.point) - len(named)
        more = f"{rest} more inputs, targets and parameters of exact rationals" if rest else ""
        return ", ".join(part for part in (shown, more) if part)

    def latex(self) -> str:
        """The report as LaTeX: the claim, the verdict, the point and the
        diagnosis with the identity that proves it.

        >>> "\\\\text{right}" in diagnose(Network([1, 1]), "b^2_1", "(a^2_1 - t_1)*a^2_1*(1 - a^2_1)").latex()
        True
        """
        partial = r"\frac{\partial C}{\partial %s}" % book_latex(self.parameter)
        rows = [r"%s &\overset{?}{=} %s \quad \text{%s}" % (partial, book_latex(self.claim), self.verdict)]
        if self.point is not None:
            rows.append(r"&\text{at a point where they differ: claim } %s,\ \text{gradient } %s" % (
                _short(self.claimed_value), _short(self.true_value)))
        if self.diagnosis is not None:
            rows.append(r"&\text{%s: } %s" % (self.diagnosis.pattern, self.diagnosis.latex))
        return "\\begin{aligned}" + r" \\ ".join(rows) + "\\end{aligned}"

    def _repr_latex_(self) -> str:
        return "$$" + self.latex() + "$$"


def _short(value) -> str:
    return "?" if value is None else sp.sstr(sp.Float(value, 15))


# --- reading a claim ---------------------------------------------------------------

_XI = sp.Symbol("xi")


def claim_functions(model: LayeredModel) -> dict[str, Callable]:
    """The functions a claim may call: the generic ``a``, ``a'`` and the
    activations' names with their derivatives (``sigmoid'(z^2_1)``, ``σ'``).

    >>> functions = claim_functions(Network([1, 1]))
    >>> functions["tanh'"](sp.Symbol("z"))
    1 - tanh(z)**2
    """
    functions: dict[str, Callable] = {
        "a": generic_a, "a'": lambda z: sp.Subs(sp.Derivative(generic_a(_XI), _XI), _XI, z).doit(),
    }
    for name, act in BUILTIN.items():
        if act.is_generic or act.not_trainable_because:
            continue
        functions[name] = act.function
        functions[name + "'"] = act.derivative
    functions["σ"], functions["σ'"] = functions["sigmoid"], functions["sigmoid'"]
    functions["sigma"], functions["sigma'"] = functions["sigmoid"], functions["sigmoid'"]
    return functions


def parse_claim_tolerant(model: LayeredModel, text: str) -> tuple[sp.Expr, dict[sp.Symbol, sp.Symbol]]:
    """The claim in the model's quantities, and the weights it names that the
    network lacks but whose transpose it has (``w^3_31`` in a 12-3-2
    network, where ``w^3_13`` exists): each such name becomes a symbol of its
    own, mapped to the weight it may stand for.

    >>> net = Network([12, 3, 2])
    >>> parse_claim_tolerant(net, "delta^3_1*w^3_31")
    (delta^3_1*w^3_31, {w^3_31: w^3_13})
    """
    stand_ins: dict[sp.Symbol, sp.Symbol] = {}

    def resolve(name: str) -> sp.Symbol | None:
        found = model.find_symbol(name)
        if found is not None:
            return found
        parsed = parse_symbol_name(name)
        if parsed is None or parsed[0] != "w":
            return None
        indices = split_indices(parsed[2], 2)
        if indices is None:
            return None
        transpose = model.find_symbol(f"w^{parsed[1]}_{index_text(indices[::-1])}")
        if transpose is None or transpose not in model.parameters:
            return None
        symbol = sp.Symbol(f"w^{parsed[1]}_{index_text(indices)}")
        stand_ins[symbol] = transpose
        return symbol

    claimed = parse_expression(plain_formula(text), resolve, functions=claim_functions(model), what="claimed gradient")
    return claimed, stand_ins


# --- the diagnosis ---------------------------------------------------------------------------

def diagnose(model: LayeredModel, parameter, claim: str | sp.Expr, *, seed: int = 0,
             force: bool = False) -> ClaimDiagnosis:
    """Check a claimed ``∂C/∂p`` and, when it is wrong, find a point where it
    differs and the mistake, proved (see the module's text).

    >>> net = Network([12, 3, 2])
    >>> d = diagnose(net, "w^3_11", "(a^3_1 - t_1)*a^2_1")
    >>> print(d.diagnosis.text)
    the factor sigmoid'(z^3_1) = a^3_1*(1 - a^3_1) is missing
    >>> diagnose(net, "w^3_11", "(a^3_1 - t_1)*a^3_1*(1 - a^3_1)*a^2_1").verdict
    'right'
    """
    check_model(model, "diagnose")
    require_seed(seed)
    p = model.parameter(parameter)
    if isinstance(claim, str):
        claimed, stand_ins = parse_claim_tolerant(model, claim)
    else:
        claimed, stand_ins = check_expression(claim, "the claim"), {}
    case = Case.build(model, p, claimed, stand_ins, seed=seed, force=force)
    report = ClaimDiagnosis(model, p, claimed, WRONG, case.route.gradients[p])
    if stand_ins:
        # A weight the network lacks: only its transpose can make sense of the claim.
        found = transposed(case)
        if found is None:
            names = ", ".join(f"{s} (the network has {t})" for s, t in stand_ins.items())
            raise UnknownNameError(f"the claim names weights this {model.describe()} network lacks: {names}")
        report.diagnosis = found
        report.notes.append(f"{', '.join(map(str, stand_ins))} {'is not a weight' if len(stand_ins) == 1 else 'are not weights'} "
                            f"of the {model.describe()} network, so the claim has no value at any point")
        return report
    if case.proves(case.written, case.truth):
        report.verdict = RIGHT
        return report
    differing = case.differing_point(seed)
    if differing is None:
        if not case.generic:
            report.verdict = UNDECIDED
            report.notes.append("the claim and the gradient agree at 5 random points to 30 digits, "
                                "but the identity could not be proved")
            return report
    else:
        report.point, report.claimed_value, report.true_value = differing
    if case.generic:
        report.notes.append("the generic activation a(z) has no values: the point and values use "
                            "a(z) = tanh(z) + z²/5; the diagnosis holds for every activation")
    for pattern in PATTERNS:
        found = pattern(case)
        if found is not None:
            report.diagnosis = found
            return report
    report.diagnosis = unshared(case)
    return report

