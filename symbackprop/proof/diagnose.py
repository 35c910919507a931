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

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction

import sympy as sp

from ..engine.network import LayeredModel, Network, check_model, replace_quantities
from ..engine.routes import (
    DeltaRoute,
    chain_rule_expansion,
    count_paths,
    delta_route,
    direct_route,
    local_derivative,
)
from ..errors import ExpressionError, UnknownNameError
from ..functions.activations import BUILTIN, generic_a
from ..functions.parsing import parse_expression
from ..guards import check_expression, check_seed
from ..layers.dense import Dense
from ..layers.softmax import Softmax
from ..notation.latex import book_latex
from ..notation.symbols import index_text, parse_symbol_name, split_indices
from ..notation.text import book_text
from .verify import DIGITS, prove_equal

RIGHT, WRONG, UNDECIDED = "right", "wrong", "undecided"
CONSTANT = "constant factor"
MISSING = "missing factor"
EXTRA = "extra factor"
TRANSPOSED = "transposed weight"
OTHER_PARAMETER = "other parameter"
OTHER_ACTIVATION = "other activation"
DROPPED_PATH = "dropped path"
UNSHARED = "terms not shared"

#: Two 50-digit values this close (relative) are taken as equal by the filters.
_CLOSE = sp.Float(10, DIGITS) ** -30
#: Chain-rule paths beyond this many are not tried one by one.
_PATHS_TRIED = 64
#: Terms listed by the "terms not shared" answer, each side.
_TERMS_SHOWN = 8
#: A function standing in for the generic activation when the filters need
#: values: an identity for every a(z) holds for this one too.
_STAND_IN = lambda z: sp.tanh(z) + z**2 / 5  # noqa: E731


@dataclass(frozen=True)
class Diagnosis:
    """What kind of mistake: ``pattern`` (one of the names above), the
    explanation in words (``text``, ``latex``) and the identity that proves it
    (``identity``: left and right side in layer quantities, or None for the
    terms not shared)."""

    pattern: str
    text: str
    latex: str
    identity: tuple[sp.Expr, sp.Expr] | None = None


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

    claimed = parse_expression(text, resolve, functions=claim_functions(model), what="claimed gradient")
    return claimed, stand_ins


# --- values at points ------------------------------------------------------------------

def rational_point(model: LayeredModel, seed: int) -> dict[sp.Symbol, sp.Rational]:
    """A point of small exact rationals: inputs and targets in 1/16..15/16,
    parameters in −15/16..15/16 (never 0, where a term could vanish by
    chance); targets that must sum to 1 are divided by their sum.

    >>> rational_point(Network([1, 1]), seed=3) == rational_point(Network([1, 1]), seed=3)
    True
    """
    rng = random.Random(seed)
    point = {s: sp.Rational(rng.randint(1, 15), 16) for s in model.inputs + model.targets}
    if model.target_constraint is not None:
        total = sum(point[t] for t in model.targets)
        point.update({t: point[t] / total for t in model.targets})
    point.update({p: sp.Rational(rng.choice([-1, 1]) * rng.randint(1, 15), 16) for p in model.parameters})
    return point


class _Values:
    """Every quantity's value at one point: inputs, targets, parameters, then
    each definition and each δ in the order they are computed."""

    def __init__(self, model: LayeredModel, route: DeltaRoute, point: dict, concrete: Callable):
        self.concrete = concrete
        self.values: dict[sp.Symbol, sp.Expr] = dict(point)
        for symbol, definition in model.definitions.items():
            self.values[symbol] = self(definition)
        for delta, equation in route.deltas.items():
            self.values[delta] = self(equation)

    def __call__(self, expr: sp.Expr) -> sp.Expr:
        return sp.N(self.concrete(expr).xreplace(self.values), DIGITS)


def _close(x, y) -> bool:
    if not (x.is_number and y.is_number and x.is_finite is not False and y.is_finite is not False):
        return False
    try:
        return bool(abs(x - y) <= _CLOSE * max(1, abs(x), abs(y)))
    except TypeError:  # a complex or undefined value: no filter passes it
        return False


# --- the diagnosis ------------------------------------------------------------------------------

@dataclass
class _Case:
    """What every pattern needs: the claim and the gradient in layer
    quantities and written out, and their values at two points."""

    model: LayeredModel
    parameter: sp.Symbol
    claim: sp.Expr
    written: sp.Expr
    truth: sp.Expr
    route: DeltaRoute
    points: list[_Values]
    stand_ins: dict[sp.Symbol, sp.Symbol]

    def write_out(self, expr: sp.Expr) -> sp.Expr:
        return replace_quantities(expr, self.route.full_substitution())

    def proves(self, left: sp.Expr, right: sp.Expr) -> bool:
        m = self.model
        return prove_equal(m.under_target_constraint(left), m.under_target_constraint(right)) is True

    def everywhere(self, test: Callable[[_Values], bool]) -> bool:
        """The filter: ``test`` holds at both random points."""
        return all(test(v) for v in self.points)

    def claim_at(self, v: _Values) -> sp.Expr:
        return v(self.claim)

    def truth_at(self, v: _Values) -> sp.Expr:
        return v(self.route.gradients[self.parameter])


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
    check_seed(seed)
    p = model.parameter(parameter)
    if isinstance(claim, str):
        claimed, stand_ins = parse_claim_tolerant(model, claim)
    else:
        claimed, stand_ins = check_expression(claim, "the claim"), {}
    route = delta_route(model)
    written = replace_quantities(claimed, route.full_substitution())
    known = set(model.inputs + model.targets + model.parameters) | set(stand_ins)
    stray = written.free_symbols - known
    if stray:
        raise ExpressionError(
            f"the claim uses {', '.join(sorted(map(str, stray)))}, which the {model.describe()} network does not define"
        )
    truth = direct_route(model, [p], force=force).gradients[p]
    generic = any(getattr(layer, "activation", None) is not None and layer.activation.is_generic
                  for layer in model.layers)
    concrete = _stand_in if generic else (lambda e: e)
    points = [_Values(model, route, rational_point(model, seed + k), concrete) for k in range(2)]
    case = _Case(model, p, claimed, written, truth, route, points, stand_ins)
    report = ClaimDiagnosis(model, p, claimed, WRONG, route.gradients[p])
    if stand_ins:
        # A weight the network lacks: only its transpose can make sense of the claim.
        found = _transposed(case)
        if found is None:
            names = ", ".join(f"{s} (the network has {t})" for s, t in stand_ins.items())
            raise UnknownNameError(f"the claim names weights this {model.describe()} network lacks: {names}")
        report.diagnosis = found
        return report
    if case.proves(written, truth):
        report.verdict = RIGHT
        return report
    differing = _differing_point(case, seed)
    if differing is None:
        if not generic:
            report.verdict = UNDECIDED
            report.notes.append("the claim and the gradient agree at 5 random points to 30 digits, "
                                "but the identity could not be proved")
            return report
    else:
        report.point, report.claimed_value, report.true_value = differing
    if generic:
        report.notes.append("the generic activation a(z) has no values: the point and values use "
                            "a(z) = tanh(z) + z²/5; the diagnosis holds for every activation")
    for pattern in PATTERNS:
        found = pattern(case)
        if found is not None:
            report.diagnosis = found
            return report
    report.diagnosis = _unshared(case)
    return report


def _stand_in(expr: sp.Expr) -> sp.Expr:
    # a(s) and a'(s) of the generic activation replaced by the stand-in's.
    derivatives = {d: sp.diff(_STAND_IN(_XI), _XI).subs(_XI, d.variables[0])
                   for d in expr.atoms(sp.Derivative) if d.expr.func == generic_a}
    derivatives.update({s: sp.diff(_STAND_IN(_XI), _XI).subs(_XI, s.point[0])
                        for s in expr.atoms(sp.Subs) if s.expr.has(generic_a)})
    values = expr.xreplace(derivatives)
    return values.xreplace({f: _STAND_IN(f.args[0]) for f in values.atoms(generic_a)})


def _differing_point(case: _Case, seed: int):
    for k in range(5):
        point = rational_point(case.model, seed + 100 + k)
        v = _Values(case.model, case.route, point, case.points[0].concrete)
        got, want = case.claim_at(v), case.truth_at(v)
        if not _close(got, want):
            return point, got, want
    return None


def _ratio_candidates(case: _Case) -> Iterator[sp.Rational]:
    ratios = []
    for v in case.points:
        got, want = case.claim_at(v), case.truth_at(v)
        if not want.is_number or want == 0 or not got.is_number:
            return
        ratios.append(got / want)
    if not _close(ratios[0], ratios[1]):
        return
    k = Fraction(float(ratios[0])).limit_denominator(1000)
    k = sp.Rational(k.numerator, k.denominator)
    if k != 0 and k != 1 and _close(k, ratios[0]):
        yield k


def _constant_factor(case: _Case) -> Diagnosis | None:
    for k in _ratio_candidates(case):
        if case.proves(case.written, k * case.truth):
            target = f"∂C/∂{book_text(case.parameter)}"
            if k == -1:
                text = f"the sign is wrong: the claim is −1 × {target}"
            elif k == 2 and case.model.cost.name == "squared":
                text = (f"the claim is 2 × {target}: the ½ of the cost C = ½ Σ (a^L_j − t_j)² was not "
                        "differentiated with the square (d/da ½(a − t)² = a − t)")
            elif k == sp.Rational(1, 2):
                text = f"the claim is ½ × {target}: a factor 2 is missing"
            else:
                text = f"the claim is {k} × {target}"
            latex = r"\text{claim} = %s \cdot \frac{\partial C}{\partial %s}" % (
                sp.latex(k), book_latex(case.parameter))
            return Diagnosis(CONSTANT, text, latex, (case.claim, k * case.route.gradients[case.parameter]))
    return None


def local_factors(model: LayeredModel) -> list[tuple[str, sp.Expr]]:
    """The factors a product of local derivatives is made of, each with its
    description: every ``a'(z^l_j)`` (as the activation writes it), weight,
    input and hidden unit's output.

    >>> [d for d, _ in local_factors(Network([1, 1]))]
    ["sigmoid'(z^2_1) = a^2_1*(1 - a^2_1)", 'the weight w^2_11', 'the input x_1']
    """
    slopes, outputs = [], []
    for layer in model.layers:
        if not isinstance(layer, Dense):
            continue
        for z, a in zip(layer.z, layer.a):
            slope = local_derivative(model, a, z)
            if not slope.is_number:
                slope_name = f"{layer.activation.name}'({book_text(z)})"
                described = book_text(slope) if layer.activation.is_generic else f"{slope_name} = {book_text(slope)}"
                slopes.append((described, slope))
            if layer is not model.output_layer:
                outputs.append((f"the output {book_text(a)}", a))
    weights = [(f"the weight {book_text(w)}", w) for w in model.weights]
    inputs = [(f"the input {book_text(x)}", x) for x in model.inputs]
    return slopes + weights + inputs + outputs


def _missing_factor(case: _Case) -> Diagnosis | None:
    target = book_latex(case.parameter)
    for description, factor in local_factors(case.model):
        def missing(v, f=factor):
            return _close(case.claim_at(v) * v(f), case.truth_at(v))

        def extra(v, f=factor):
            return _close(case.claim_at(v), case.truth_at(v) * v(f))

        full = case.write_out(factor)
        if case.everywhere(missing) and case.proves(case.written * full, case.truth):
            latex = r"\text{claim} \cdot %s = \frac{\partial C}{\partial %s}" % (book_latex(factor), target)
            return Diagnosis(MISSING, f"the factor {description} is missing", latex,
                             (case.claim * factor, case.route.gradients[case.parameter]))
        if case.everywhere(extra) and case.proves(case.written, case.truth * full):
            latex = r"\text{claim} = %s \cdot \frac{\partial C}{\partial %s}" % (book_latex(factor), target)
            return Diagnosis(EXTRA, f"the claim has one factor too many: {description}", latex,
                             (case.claim, factor * case.route.gradients[case.parameter]))
    return None


def _transposed(case: _Case) -> Diagnosis | None:
    model = case.model
    used = case.claim.free_symbols
    for layer in model.layers:
        if not isinstance(layer, Dense):
            continue
        rows, cols = layer.W.shape
        swap: dict[sp.Symbol, sp.Symbol] = {}
        for j in range(rows):
            for i in range(cols):
                w = layer.W[j, i]
                transpose = sp.Symbol(f"w^{layer.index}_{index_text((i + 1, j + 1))}")
                if w in used:
                    swap[w] = model.find_symbol(transpose.name) or transpose
        swap.update({s: t for s, t in case.stand_ins.items() if s.name.startswith(f"w^{layer.index}_")})
        swapped_pairs = {w: t for w, t in swap.items() if w in used and w != t}
        if not swapped_pairs or set(swap.values()) - set(model.parameters):
            continue
        corrected = case.claim.xreplace(swap)
        if case.stand_ins.keys() - swap.keys():
            continue
        if not case.everywhere(
                lambda v, c=corrected: _close(v(c), case.truth_at(v))):
            continue
        if case.proves(case.write_out(corrected), case.truth):
            pairs = ", ".join(f"{book_text(w)} where {book_text(t)} belongs" for w, t in swapped_pairs.items())
            latex_pairs = ", ".join(f"{book_latex(w)} \\to {book_latex(t)}" for w, t in swapped_pairs.items())
            text = f"the claim uses w^{layer.index}_ij for w^{layer.index}_ji ({pairs})"
            latex = r"\text{claim with } %s \text{ is } \frac{\partial C}{\partial %s}" % (
                latex_pairs, book_latex(case.parameter))
            return Diagnosis(TRANSPOSED, text, latex, (corrected, case.route.gradients[case.parameter]))
    return None


def _other_parameter(case: _Case) -> Diagnosis | None:
    for q in case.model.parameters:
        if q == case.parameter:
            continue
        gradient = case.route.gradients[q]
        if not case.everywhere(lambda v, g=gradient: _close(case.claim_at(v), v(g))):
            continue
        if case.proves(case.written, case.route.expanded(q)):
            layer_p, layer_q = _layer_of(case.model, case.parameter), _layer_of(case.model, q)
            where = f" (layer {layer_q} instead of {layer_p})" if layer_p != layer_q else ""
            text = f"the claim is ∂C/∂{book_text(q)}, the gradient of another parameter{where}"
            if _transpose_of(case.parameter) == q:
                text = f"the claim is ∂C/∂{book_text(q)}, the gradient of the transposed weight"
            latex = r"\text{claim} = \frac{\partial C}{\partial %s}" % book_latex(q)
            pattern = TRANSPOSED if _transpose_of(case.parameter) == q else OTHER_PARAMETER
            return Diagnosis(pattern, text, latex, (case.claim, gradient))
    return None


def _layer_of(model: LayeredModel, p: sp.Symbol) -> int | None:
    for l, layer in enumerate(model.layers, start=2):
        if p in layer.parameters:
            return l
    return None


def _transpose_of(p: sp.Symbol) -> sp.Symbol | None:
    parsed = parse_symbol_name(p.name)
    if parsed is None or parsed[0] != "w":
        return None
    indices = split_indices(parsed[2], 2)
    return None if indices is None else sp.Symbol(f"w^{parsed[1]}_{index_text(indices[::-1])}")


def generic_gradient(model: Network, parameter) -> sp.Expr:
    """``∂C/∂p`` of the same network with the generic activation, in layer
    quantities with every δ written out: each ``a'(z^l_j)`` stands as
    itself, ready to be replaced by any activation's derivative.

    >>> generic_gradient(Network([1, 1, 1]), "b^2_1")
    w^3_11*(a^3_1 - t_1)*Derivative(a(z^2_1), z^2_1)*Derivative(a(z^3_1), z^3_1)
    """
    twin = Network(model.sizes, activation="generic", cost=model.cost, weight_decay=model.weight_decay,
                   output="softmax" if isinstance(model.output_layer, Softmax) else None)
    route = delta_route(twin)
    written: dict[sp.Symbol, sp.Expr] = {}
    for delta, equation in route.deltas.items():
        written[delta] = equation.xreplace(written)
    return route.gradients[twin.parameter(parameter)].xreplace(written)


def _slope_in_a(activation, a: sp.Symbol, z: sp.Symbol) -> sp.Expr:
    # a'(z) as a person writes it: in the unit's output where the activation allows (σ' = a(1 − a)).
    return activation.derivative(z).xreplace({activation(z): a})


def _other_activation(case: _Case) -> Diagnosis | None:
    model = case.model
    if not isinstance(model, Network):
        return None
    generic = generic_gradient(model, case.parameter)
    # A softmax layer has no a'(z) of its own to swap for another.
    dense = [layer for layer in model.layers if type(layer) is Dense]
    slopes = {layer.index: {
        sp.Derivative(generic_a(z), z): (a, z) for z, a in zip(layer.z, layer.a)} for layer in dense}
    if not any(generic.has(d) for table in slopes.values() for d in table):
        return None
    own = {d: _slope_in_a(layer.activation, *slopes[layer.index][d]) for layer in dense for d in slopes[layer.index]}
    # One layer with another activation's derivative, then every layer with it.
    choices = [[layer] for layer in dense] + ([dense] if len(dense) > 1 else [])
    for chosen in choices:
        layer = chosen[0]
        if any(c.activation.is_generic for c in chosen):
            continue
        for name, other in BUILTIN.items():
            if other.is_generic or other.not_trainable_because or any(name == c.activation.name for c in chosen):
                continue
            mutated = {d: _slope_in_a(other, a, z) for c in chosen for d, (a, z) in slopes[c.index].items()}
            if sum(generic.has(d) for c in chosen for d in slopes[c.index]) == 0 or not all(
                    any(generic.has(d) for d in slopes[c.index]) for c in chosen):
                continue
            wrong = generic.xreplace({**own, **mutated})
            if not case.everywhere(lambda v, w=wrong: _close(case.claim_at(v), v(w))):
                continue
            if case.proves(case.written, case.write_out(wrong)):
                z, a = layer.z[0], layer.a[0]
                text = (f"the claim uses {name}'s derivative {book_text(_slope_in_a(other, a, z))} where "
                        f"{layer.activation.name}'s, {book_text(_slope_in_a(layer.activation, a, z))}, belongs "
                        f"(layer{'s' if len(chosen) > 1 else ''} {', '.join(str(c.index) for c in chosen)})")
                latex = r"\text{claim} = \frac{\partial C}{\partial %s} \text{ with } %s \text{ for } %s" % (
                    book_latex(case.parameter), book_latex(_slope_in_a(other, a, z)),
                    book_latex(_slope_in_a(layer.activation, a, z)))
                return Diagnosis(OTHER_ACTIVATION, text, latex, (case.claim, wrong))
    return None


def _softmax_as_sigmoid(case: _Case) -> Diagnosis | None:
    """The sigmoid's derivative used for a softmax layer: ``∂a^L_j/∂z^L_k``
    taken as 0 for ``j ≠ k`` (it is ``−a^L_j a^L_k``), i.e. every chain-rule
    path that crosses from ``z^L_k`` to another unit's ``a^L_j`` left out."""
    model = case.model
    layer = model.output_layer
    if not isinstance(layer, Softmax) or count_paths(model, case.parameter) > _PATHS_TRIED:
        return None
    crossing = {(a, z) for j, a in enumerate(layer.a) for k, z in enumerate(layer.z) if j != k}
    expansion = chain_rule_expansion(model, case.parameter)
    crossed = [path for path in expansion.paths
               if any(tuple(f.args) in crossing for f in path)]
    if not crossed:
        return None
    dropped = sp.Add(*(sp.Mul(*(expansion.values[f] for f in path)) for path in crossed))
    if not case.everywhere(lambda v: _close(case.claim_at(v) + v(dropped), case.truth_at(v))):
        return None
    if not case.proves(case.written + case.write_out(dropped), case.truth):
        return None
    a = layer.a[0]
    text = (f"the claim uses the sigmoid's derivative {book_text(a * (1 - a))} for the softmax of layer "
            f"{layer.index}: it leaves out ∂a^{layer.index}_j/∂z^{layer.index}_k = −a^{layer.index}_j "
            f"a^{layer.index}_k for j ≠ k, the {len(crossed)} path{'s' if len(crossed) > 1 else ''} across units")
    latex = r"\text{claim} + %s = \frac{\partial C}{\partial %s}" % (book_latex(dropped), book_latex(case.parameter))
    return Diagnosis(OTHER_ACTIVATION, text, latex, (case.claim + dropped, case.route.gradients[case.parameter]))


def _dropped_path(case: _Case) -> Diagnosis | None:
    model = case.model
    if count_paths(model, case.parameter) > _PATHS_TRIED:
        return None
    expansion = chain_rule_expansion(model, case.parameter)
    paths = expansion.paths
    if len(paths) < 2:
        return None
    value = [sp.Mul(*(expansion.values[f] for f in path)) for path in paths]
    groups: dict[frozenset[int], str] = {}
    for k, path in enumerate(paths):
        groups.setdefault(frozenset([k]), "the chain-rule path " + _path_text(case.parameter, path))
    for path in paths:
        for factor in path:
            members = frozenset(i for i, other in enumerate(paths) if factor in other)
            if 1 < len(members) < len(paths):
                of, wrt = factor.args
                groups.setdefault(members, f"every path from {book_text(wrt)} through {book_text(of)} "
                                           f"({len(members)} paths)")
    for members, description in sorted(groups.items(), key=lambda item: (len(item[0]), sorted(item[0]))):
        dropped = sp.Add(*(value[i] for i in members))
        if not case.everywhere(lambda v, d=dropped: _close(case.claim_at(v) + v(d), case.truth_at(v))):
            continue
        if case.proves(case.written + case.write_out(dropped), case.truth):
            latex = r"\text{claim} + %s = \frac{\partial C}{\partial %s}" % (
                book_latex(dropped), book_latex(case.parameter))
            return Diagnosis(DROPPED_PATH, f"the claim leaves out {description}", latex,
                             (case.claim + dropped, case.route.gradients[case.parameter]))
    return None


def _path_text(p: sp.Symbol, path) -> str:
    # The book lists a path's factors from C down; read it from p up.
    names = [book_text(p)] + [book_text(f.args[0]) for f in reversed(path)]
    return " → ".join(names)


def _in_layer_quantities(case: _Case, expr: sp.Expr) -> sp.Expr:
    written: dict[sp.Symbol, sp.Expr] = {}
    for delta, equation in case.route.deltas.items():
        written[delta] = equation.xreplace(written)
    return sp.expand(expr.xreplace(written))


def _unshared(case: _Case) -> Diagnosis:
    claim = _in_layer_quantities(case, case.claim)
    truth = _in_layer_quantities(case, case.route.gradients[case.parameter])
    only_claim = sp.Add.make_args(sp.expand(claim - truth))
    extra = [t for t in only_claim if t != 0]
    # The difference claim − truth, split by the sign each term has in it.
    truth_terms = set(sp.Add.make_args(truth))
    missing = [-t for t in extra if -t in truth_terms]
    added = [t for t in extra if -t not in truth_terms]

    def listed(terms):
        shown = book_text(sp.Add(*terms[:_TERMS_SHOWN]))
        return shown + (f" + … ({len(terms)} terms)" if len(terms) > _TERMS_SHOWN else "")

    parts = []
    if added:
        parts.append(f"the claim has {listed(added)}, which the gradient lacks")
    if missing:
        parts.append(f"the gradient has {listed(missing)}, which the claim lacks")
    text = "; ".join(parts) + " (no single mistake explains the difference)"
    latex = r"\text{claim} - \frac{\partial C}{\partial %s} = %s" % (
        book_latex(case.parameter), book_latex(sp.Add(*extra)) if len(extra) <= 2 * _TERMS_SHOWN
        else r"\dots\ (%d\ \text{terms})" % len(extra))
    return Diagnosis(UNSHARED, text, latex)


#: The patterns, in the order they are tried.
PATTERNS: tuple[Callable[[_Case], Diagnosis | None], ...] = (
    _constant_factor, _missing_factor, _transposed, _other_parameter, _other_activation, _softmax_as_sigmoid,
    _dropped_path,
)
