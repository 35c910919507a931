"""The usual mistakes in a gradient formula, each a pattern that is named
only when an exact identity proves it.

A pattern takes the :class:`Case` (the claim and the gradient in layer
quantities and written out, with their values at two random points) and
returns a :class:`Diagnosis` or None. The random points only filter: a
pattern that fails at them is not tried; one that holds at them is then
proved with :func:`~symbackprop.proof.verify.prove_equal`, with the generic
activation for every activation. :data:`PATTERNS` lists them in the order
:func:`~symbackprop.proof.diagnose.diagnose` tries them.

>>> [p.__name__ for p in PATTERNS][:3]
['constant_factor', 'missing_factor', 'transposed']
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction

import sympy as sp

from ..engine.network import LayeredModel, Network, replace_quantities
from ..engine.routes import (
    DeltaRoute,
    chain_rule_expansion,
    count_paths,
    delta_route,
    direct_route,
    local_derivative,
)
from ..errors import ExpressionError
from ..functions.activations import BUILTIN, generic_a
from ..layers.dense import Dense
from ..layers.softmax import Softmax
from ..notation.latex import book_latex
from ..notation.symbols import index_text, parse_symbol_name, split_indices
from ..notation.text import book_text
from .verify import DIGITS, prove_equal

_XI = sp.Symbol("xi")

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
    (``identity``: left and right side in layer quantities; for the terms not
    shared, claim − gradient and those terms)."""

    pattern: str
    text: str
    latex: str
    identity: tuple[sp.Expr, sp.Expr] | None = None


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
class Case:
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
    generic: bool

    @classmethod
    def build(cls, model: LayeredModel, parameter, claim: sp.Expr, stand_ins: dict | None = None, *,
              seed: int = 0, force: bool = False) -> Case:
        """The case of ``claim`` (an expression in the model's quantities) for
        ``∂C/∂parameter``; ``stand_ins`` maps names of weights the network
        lacks to their transposes (see :func:`~symbackprop.proof.diagnose.parse_claim_tolerant`).

        >>> net = Network([1, 1])
        >>> case = Case.build(net, "b^2_1", -net.symbol("delta^2_1"))
        >>> constant_factor(case).text
        'the sign is wrong: the claim is −1 × ∂C/∂b^2_1'
        """
        p = model.parameter(parameter)
        stand_ins = stand_ins or {}
        route = delta_route(model)
        written = replace_quantities(claim, route.full_substitution())
        stray = written.free_symbols - set(model.inputs + model.targets + model.parameters) - set(stand_ins)
        if stray:
            raise ExpressionError(f"the claim uses {', '.join(sorted(map(str, stray)))}, which the "
                                  f"{model.describe()} network does not define")
        truth = direct_route(model, [p], force=force).gradients[p]
        generic = any(getattr(layer, "activation", None) is not None and layer.activation.is_generic
                      for layer in model.layers)
        concrete = _stand_in if generic else _unchanged
        points = [_Values(model, route, rational_point(model, seed + k), concrete) for k in range(2)]
        return cls(model, p, claim, written, truth, route, points, stand_ins, generic)

    def differing_point(self, seed: int, tries: int = 5):
        """A point of exact rationals where claim and gradient differ, with
        both values; None when they agree at ``tries`` points.

        >>> net = Network([1, 1])
        >>> point, claimed, true = Case.build(net, "b^2_1", net.symbol("a^2_1")).differing_point(0)
        >>> abs(claimed - true) > 0.01
        True
        """
        for k in range(tries):
            point = rational_point(self.model, seed + 100 + k)
            v = _Values(self.model, self.route, point, self.points[0].concrete)
            got, want = self.claim_at(v), self.truth_at(v)
            if not _close(got, want):
                return point, got, want
        return None

    def write_out(self, expr: sp.Expr) -> sp.Expr:
        """``expr`` in inputs, targets and parameters only."""
        return replace_quantities(expr, self.route.full_substitution())

    def proves(self, left: sp.Expr, right: sp.Expr) -> bool:
        """``left == right`` proved (for targets that meet the model's constraint)."""
        m = self.model
        return prove_equal(m.under_target_constraint(left), m.under_target_constraint(right)) is True

    def everywhere(self, test: Callable[[_Values], bool]) -> bool:
        """The filter: ``test`` holds at both random points."""
        return all(test(v) for v in self.points)

    def claim_at(self, v: _Values) -> sp.Expr:
        """The claim's value at one of the points."""
        return v(self.claim)

    def truth_at(self, v: _Values) -> sp.Expr:
        """The gradient's value at one of the points."""
        return v(self.route.gradients[self.parameter])


def _unchanged(expr: sp.Expr) -> sp.Expr:
    return expr


def _stand_in(expr: sp.Expr) -> sp.Expr:
    # a(s) and a'(s) of the generic activation replaced by the stand-in's.
    derivatives = {d: sp.diff(_STAND_IN(_XI), _XI).subs(_XI, d.variables[0])
                   for d in expr.atoms(sp.Derivative) if d.expr.func == generic_a}
    derivatives.update({s: sp.diff(_STAND_IN(_XI), _XI).subs(_XI, s.point[0])
                        for s in expr.atoms(sp.Subs) if s.expr.has(generic_a)})
    values = expr.xreplace(derivatives)
    return values.xreplace({f: _STAND_IN(f.args[0]) for f in values.atoms(generic_a)})


def _ratio_candidates(case: Case) -> Iterator[sp.Rational]:
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


def constant_factor(case: Case) -> Diagnosis | None:
    """The claim is ``k ∂C/∂p`` for a constant ``k`` (read off the random
    points as a fraction, then proved).

    >>> net = Network([1, 1])
    >>> constant_factor(Case.build(net, "b^2_1", net.symbol("delta^2_1") / 2)).text
    'the claim is ½ × ∂C/∂b^2_1: a factor 2 is missing'
    """
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


def missing_factor(case: Case) -> Diagnosis | None:
    """The claim times one local factor is ``∂C/∂p`` (missing), or the claim
    is ``∂C/∂p`` times one (extra); the factors of :func:`local_factors`.

    >>> net = Network([1, 1])
    >>> missing_factor(Case.build(net, "w^2_11", net.symbol("delta^2_1"))).text
    'the factor the input x_1 is missing'
    """
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


def transposed(case: Case) -> Diagnosis | None:
    """The claim with the weights of one layer transposed, ``w^l_ij`` for
    ``w^l_ji``, is ``∂C/∂p``.

    >>> net = Network([1, 2, 2])
    >>> w, d = net.symbol, net.symbol
    >>> claim = (d("delta^3_1") * w("w^3_11") + d("delta^3_2") * w("w^3_12")) * net.symbol("a^2_1") \\
    ...     * (1 - net.symbol("a^2_1")) * net.symbol("x_1")
    >>> transposed(Case.build(net, "w^2_11", claim)).pattern
    'transposed weight'
    """
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


def other_parameter(case: Case) -> Diagnosis | None:
    """The claim is the gradient of another parameter.

    >>> net = Network([1, 1, 1])
    >>> other_parameter(Case.build(net, "b^2_1", net.symbol("delta^3_1"))).text
    'the claim is ∂C/∂b^3_1, the gradient of another parameter (layer 3 instead of 2)'
    """
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


def other_activation(case: Case) -> Diagnosis | None:
    """The claim is ``∂C/∂p`` with another activation's derivative, written
    in the unit's output as people write it, at one layer or at every layer.

    >>> net = Network([1, 1], activation="tanh")
    >>> a, t = net.symbol("a^2_1"), net.symbol("t_1")
    >>> other_activation(Case.build(net, "b^2_1", (a - t) * a * (1 - a))).text
    "the claim uses sigmoid's derivative a^2_1*(1 - a^2_1) where tanh's, 1 - a^2_1**2, belongs (layer 2)"
    """
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


def softmax_as_sigmoid(case: Case) -> Diagnosis | None:
    """The sigmoid's derivative used for a softmax layer: ``∂a^L_j/∂z^L_k``
    taken as 0 for ``j ≠ k`` (it is ``−a^L_j a^L_k``), i.e. every chain-rule
    path that crosses from ``z^L_k`` to another unit's ``a^L_j`` left out.

    >>> net = Network([1, 2], output="softmax", cost="categorical-cross-entropy")
    >>> t, a = net.symbol("t_1"), net.symbol("a^2_1")
    >>> softmax_as_sigmoid(Case.build(net, "b^2_1", -t * (1 - a))).pattern
    'other activation'
    """
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


def dropped_path(case: Case) -> Diagnosis | None:
    """The claim plus one chain-rule path (or every path through one edge) is ``∂C/∂p``.

    >>> net = Network([1, 1, 2])
    >>> claim = net.symbol("delta^3_1") * net.symbol("w^3_11") * net.symbol("a^2_1") \\
    ...     * (1 - net.symbol("a^2_1")) * net.symbol("x_1")
    >>> dropped_path(Case.build(net, "w^2_11", claim)).text
    'the claim leaves out the chain-rule path w^2_11 → z^2_1 → a^2_1 → z^3_2 → a^3_2 → C'
    """
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


def _in_layer_quantities(case: Case, expr: sp.Expr) -> sp.Expr:
    written: dict[sp.Symbol, sp.Expr] = {}
    for delta, equation in case.route.deltas.items():
        written[delta] = equation.xreplace(written)
    return sp.expand(expr.xreplace(written))


def unshared(case: Case) -> Diagnosis:
    """The honest answer when no pattern is proved: the terms of claim and
    gradient (in layer quantities, δs written out, multiplied out) that the
    other lacks.

    >>> net = Network([1, 1], activation="identity")
    >>> unshared(Case.build(net, "b^2_1", net.symbol("t_1"))).text
    'the claim has t_1, which the gradient lacks; the gradient has a^2_1 - t_1, which the claim lacks (no single mistake explains the difference)'
    """
    claim = _in_layer_quantities(case, case.claim)
    truth = _in_layer_quantities(case, case.route.gradients[case.parameter])
    claim_terms = sp.Add.make_args(sp.expand(claim))
    truth_terms = sp.Add.make_args(sp.expand(truth))
    added = [t for t in claim_terms if t not in set(truth_terms) and t != 0]
    missing = [t for t in truth_terms if t not in set(claim_terms) and t != 0]
    difference = sp.Add(*added) - sp.Add(*missing)

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
        book_latex(case.parameter), book_latex(difference) if len(added) + len(missing) <= 2 * _TERMS_SHOWN
        else r"\dots\ (%d\ \text{terms})" % (len(added) + len(missing)))
    return Diagnosis(UNSHARED, text, latex, (case.claim - case.route.gradients[case.parameter], difference))


#: The patterns, in the order they are tried.
PATTERNS: tuple[Callable[[Case], Diagnosis | None], ...] = (
    constant_factor, missing_factor, transposed, other_parameter, other_activation, softmax_as_sigmoid,
    dropped_path,
)
