"""The minimum condition: where ∇f = 0, and what the Hessian says of each stationary point.

:func:`minimum` takes a function typed by the user (or a SymPy expression),
solves ∂f/∂x = ∂f/∂y = … = 0 exactly within the time budget of
:mod:`symbackprop.calculus.solving`, classifies every stationary point, and
returns the answer together with a
:class:`~symbackprop.documents.derivation.Derivation` that shows every step in
the book's notation.

>>> minimum("(x-1)**2 + 2*(y+1)**2 + x*y").minima[0].point
{x: 12/7, y: -10/7}
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import sympy as sp

from ..documents.derivation import Derivation, Step, counted
from ..errors import NoSolutionError
from .multivariable import (
    DEFAULT_VARIABLES,
    MultivariableFunction,
    function_of,
    math_prose,
    notation,
    parse_function,
    partial_symbols,
    require_smooth,
    shown_matrix,
    shown_point,
    shown_vector,
)
from .solving import SOLVE_SECONDS, budget, numeric_roots, out_of_time, real_solutions, rounded, within


def _at(name: str, point: dict[sp.Symbol, sp.Expr], variables: Sequence[sp.Symbol]) -> sp.Symbol:
    # H evaluated at a point, written H(1, 2) in text and H\left(1, 2\right) in LaTeX.
    values = [point.get(v, v) for v in variables]
    return notation(
        f"{name}({', '.join(str(v) for v in values)})",
        rf"{name}\left({', '.join(sp.latex(v) for v in values)}\right)",
    )


def _unbounded_below(f: MultivariableFunction, through: dict[sp.Symbol, sp.Expr]) -> str:
    """How f → −∞ along a coordinate line through ``through``, or "" if no such line."""
    if not f.expr.is_polynomial(*f.variables):
        return ""
    for v in f.variables:
        line = f.expr.subs({u: through.get(u, 0) for u in f.variables if u != v})
        for end, shown in ((sp.oo, "∞"), (-sp.oo, "−∞")):
            if sp.limit(line, v, end) == -sp.oo:
                fixed = ", ".join(f"{u} = {through.get(u, 0)}" for u in f.variables if u != v)
                return f"f → −∞ as {v} → {shown}" + (f" (with {fixed})" if fixed else "")
    return ""


@dataclass
class StationaryPoint:
    """A solution of ∇f = 0, the value of f there and what the Hessian test says.

    When ∇f = 0 does not fix every variable, the solution is a whole set of
    stationary points (a line, a curve, a plane, …): ``free`` names the
    variables that stay free, and ``point`` may depend on them.
    """

    point: dict[sp.Symbol, sp.Expr]
    value: sp.Expr
    hessian: sp.Matrix
    kind: str
    free: tuple[sp.Symbol, ...] = field(default=())


#: The kinds of a stationary point (or set) at which f is smallest nearby.
MINIMUM_KINDS = ("local minimum", "global minimum")


def classify(hessian: sp.Matrix) -> str:
    """The Hessian test: local minimum, local maximum, saddle point, or undecided.

    >>> classify(sp.Matrix([[2, 1], [1, 4]])), classify(sp.Matrix([[2, 0], [0, -2]]))
    ('local minimum', 'saddle point')
    >>> classify(sp.zeros(2, 2))
    'undecided (the Hessian is singular)'
    """
    if hessian.is_positive_definite:
        return "local minimum"
    if hessian.is_negative_definite:
        return "local maximum"
    if hessian.is_indefinite:
        return "saddle point"
    if hessian.det() == 0:
        return "undecided (the Hessian is singular)"
    return "undecided (SymPy cannot tell the signs of the Hessian's eigenvalues)"


def bound_kind(f: sp.Expr, value: sp.Expr) -> str:
    """"global minimum" if SymPy proves f ≥ value everywhere, "global maximum" for ≤, else "".

    >>> x, y, zero = *sp.symbols("x y", real=True), sp.Integer(0)
    >>> bound_kind(x**2 + y**2, zero), bound_kind(-x**2, zero), bound_kind(x**3, zero)
    ('global minimum', 'global maximum', '')
    """
    if value.free_symbols:
        return ""
    gap = sp.simplify(f - value)
    if gap.is_nonnegative:
        return "global minimum"
    if gap.is_nonpositive:
        return "global maximum"
    return ""


def _set_kind(f: MultivariableFunction, value: sp.Expr, hessian: sp.Matrix) -> str:
    """What can honestly be said of a set of stationary points.

    Along the set the Hessian is singular (f does not change along it), so the
    Hessian test only shows saddles (an eigenvalue of each sign); a minimum or
    maximum needs a proof that f ≥ value (or ≤) everywhere.
    """
    if hessian.is_indefinite:
        return "saddle point"
    return bound_kind(f.expr, value) or "undecided (the Hessian is singular along a set of stationary points)"


def _identically_zero(g: sp.Expr) -> bool:
    # Expanding decides for a polynomial; simplify (slower) is needed for sin² + cos² − 1 and the like.
    return sp.expand(g) == 0 if g.is_polynomial() else sp.simplify(g) == 0


def _periods(f: MultivariableFunction) -> dict[sp.Symbol, sp.Expr]:
    # The variables in which f repeats: solve returns one period's solutions of such equations.
    # Only trigonometric functions repeat here (exp has real arguments); periodicity is slow.
    if not f.expr.has(sp.sin, sp.cos, sp.tan):
        return {}
    periods = {v: sp.periodicity(f.expr, v) for v in f.variables}
    return {v: t for v, t in periods.items() if t}


def _stationary_set(c: StationaryPoint, variables: Sequence[sp.Symbol]) -> str:
    where = f"{shown_point(c.point, variables)}"
    return f"{where} for every real {', '.join(map(str, c.free))}" if c.free else where


@dataclass
class MinimumResult:
    """Every stationary point of f, classified, and the derivation that found them."""

    f: MultivariableFunction
    candidates: list[StationaryPoint]
    derivation: Derivation

    @property
    def minima(self) -> list[StationaryPoint]:
        """The candidates shown to be minima: local by the Hessian test, or global by f ≥ f(point).

        >>> [c.point for c in minimum("x**4 - 2*x**2").minima]
        [{x: -1}, {x: 1}]
        >>> [(c.point, c.free, c.kind) for c in minimum("(x + y)**2").minima]
        [({x: -y}, (y,), 'global minimum')]
        """
        return [c for c in self.candidates if c.kind in MINIMUM_KINDS]


def minimum(
    text: str | sp.Expr, variables: Sequence[str] = DEFAULT_VARIABLES, *, seconds: float = SOLVE_SECONDS
) -> MinimumResult:
    """Find where f is smallest: solve ∂f/∂x = ∂f/∂y = … = 0 exactly, classify by the Hessian.

    The exact solution may take ``seconds``; beyond that the answer is a
    :class:`NoSolutionError` saying what Newton's method finds numerically.

    >>> r = minimum("x**2 + y**2")
    >>> [(c.point, c.value, c.kind) for c in r.candidates]
    [({x: 0, y: 0}, 0, 'local minimum')]
    >>> minimum("x + y")
    Traceback (most recent call last):
    ...
    symbackprop.errors.NoSolutionError: f = x + y has no minimum: ∂f/∂x = ∂f/∂y = 0 has no real solution, so f has no stationary point; f → −∞ as x → −∞ (with y = 0)
    """
    seconds = budget(seconds)
    f = parse_function(text, variables)
    require_smooth(f)
    condition = " = ".join(f"∂f/∂{v}" for v in f.variables) + " = 0"
    done, result = within(seconds, lambda: _minimum(f, condition))
    if done:
        return result
    hessian = f.hessian
    numeric = []
    for root in numeric_roots(f.gradient, f.variables):
        kind = classify(hessian.subs(root).evalf())
        numeric.append(
            f"∇f = 0 at {shown_point({v: rounded(root[v]) for v in f.variables}, f.variables)}, "
            f"f ≈ {rounded(f.expr.subs(root).evalf())}, a {kind} by its Hessian"
        )
    raise out_of_time(condition, seconds, numeric, "'calc gd' follows −∇f numerically from a start you choose")


def _minimum(f: MultivariableFunction, condition: str) -> MinimumResult:
    gradient, hessian, names = f.gradient, f.hessian, partial_symbols(f)
    # A partial derivative that is identically 0 (f = x² + (y+1)² − y² − 2y in y) sets no
    # condition; the variables no condition fixes stay free.
    conditions = [g for g in gradient if not _identically_zero(g)]
    if not conditions:
        return _constant(f, gradient, condition)
    solutions = real_solutions(conditions, f.variables, condition)
    if not solutions:
        unbounded = _unbounded_below(f, {})
        raise NoSolutionError(
            f"f = {f.expr} has no minimum: {condition} has no real solution, so f has no stationary point"
            + (f"; {unbounded}" if unbounded else "")
        )
    candidates = []
    for s in solutions:
        free = tuple(v for v in f.variables if v not in s)
        value = sp.simplify(f.expr.subs(s))
        at = hessian.subs(s)
        kind = _set_kind(f, value, at) if free else classify(at)
        candidates.append(StationaryPoint(s, value, at, kind, free))
    if not any(c.kind in MINIMUM_KINDS or c.kind.startswith("undecided") for c in candidates):
        unbounded = _unbounded_below(f, candidates[0].point)
        kinds = "; ".join(f"{_stationary_set(c, f.variables)} is a {c.kind}" for c in candidates)
        raise NoSolutionError(
            f"f = {f.expr} has no minimum: its stationary points are no minima ({kinds})"
            + (f"; {unbounded}" if unbounded else "")
        )
    periods = _periods(f)
    periodic = (
        "f repeats with period " + ", ".join(f"{t} in {v}" for v, t in periods.items())
        + ": these are the solutions SymPy finds in one period, and shifting them by whole periods "
        "gives infinitely many more, with the same values and kinds"
        if periods
        else ""
    )
    sets = "; ".join(
        f"{_stationary_set(c, f.variables)}: ∇f = 0 leaves {', '.join(map(str, c.free))} free, "
        "so this is a whole set of stationary points"
        for c in candidates
        if c.free
    )
    F = function_of(f)
    isolated = sum(1 for c in candidates if not c.free)
    count = " and ".join(
        part
        for part in (
            counted(isolated, "stationary point") if isolated else "",
            counted(len(candidates) - isolated, "set") + " of stationary points" if sets else "",
        )
        if part
    )
    steps = [
        Step("The function", "the function to minimise", [(F, f.expr)]),
        Step(
            "Partial derivatives",
            "differentiate f with respect to each variable, the others held fixed",
            [(n, g) for n, g in zip(names, gradient)],
        ),
        Step(
            "The minimum condition",
            "at a minimum the graph is flat in every direction, so every partial derivative "
            "vanishes (necessary, not sufficient)",
            [(g, sp.Integer(0)) for g in gradient],
        ),
        Step(
            "Solved exactly",
            f"the real solutions of the system: {count}" + (" in one period" if periods else ""),
            [(shown_vector(f.variables), shown_point(c.point, f.variables)) for c in candidates],
            note="; ".join(n for n in (sets, periodic) if n),
        ),
        Step(
            "The Hessian test",
            "the matrix of second derivatives at each candidate: positive definite (all leading "
            "minors > 0) means a local minimum, negative definite a maximum, indefinite a saddle",
            [(sp.Symbol("H"), shown_matrix(hessian))]
            + [
                (_at("H", c.point, f.variables), shown_matrix(c.hessian))
                for c in candidates
            ],
            note="; ".join(_hessian_verdict(c, f.variables) for c in candidates),
        ),
    ]
    best = [c for c in candidates if c.kind in MINIMUM_KINDS]
    convex = hessian.free_symbols == set() and hessian.is_positive_definite
    local = [c for c in best if c.kind == "local minimum"]
    unbounded = _unbounded_below(f, local[0].point) if local and not convex else ""
    note = (
        "the Hessian is the same positive-definite matrix everywhere, so f is convex and this is "
        "the global minimum"
        if convex
        else f"only a local minimum: {unbounded}"
        if unbounded
        else ""
    )
    if periods and best:
        note = "; ".join(n for n in (note, "the same at every shift of these points by whole periods") if n)
    steps.append(
        Step(
            "Conclusion",
            "the value of f at each minimum" if best else "the Hessian test decides no candidate",
            [(F.subs(c.point), c.value) for c in best or candidates],
            note=note,
        )
    )
    result = Derivation(f"The minimum of f = {math_prose(f.expr)}", steps, intro="Chapter 2: the minimum condition.")
    return MinimumResult(f, candidates, result)


def _hessian_verdict(c: StationaryPoint, variables: Sequence[sp.Symbol]) -> str:
    minors = ", ".join(str(sp.simplify(c.hessian[:k, :k].det())) for k in range(1, len(variables) + 1))
    verdict = f"at {_stationary_set(c, variables)}: leading minors {minors}"
    if not c.free:
        return f"{verdict} → {c.kind}"
    why = {
        "saddle point": "the Hessian has eigenvalues of both signs",
        "global minimum": f"f ≥ {c.value} everywhere",
        "global maximum": f"f ≤ {c.value} everywhere",
    }.get(c.kind, "")
    return f"{verdict}; the Hessian is singular along a set of stationary points" + (
        f", but {why} → each point is a {c.kind}" if why else f" → {c.kind.split(' (')[0]}"
    )


def _constant(f: MultivariableFunction, gradient: list[sp.Expr], condition: str) -> MinimumResult:
    """Every partial derivative is identically 0: f is constant, every point is stationary."""
    value = sp.simplify(f.expr)
    everywhere = StationaryPoint({}, value, sp.zeros(len(f.variables)), "global minimum", f.variables)
    F = function_of(f)
    steps = [
        Step("The function", "the function to minimise", [(F, f.expr)]),
        Step(
            "Partial derivatives",
            "differentiate f with respect to each variable, the others held fixed: each is identically 0",
            [(n, sp.simplify(g)) for n, g in zip(partial_symbols(f), gradient)],
        ),
        Step(
            "Conclusion",
            f"{condition} holds everywhere, so f is constant and every point is stationary: each is a "
            "minimum and a maximum of f (not strict)",
            [(F, value)],
        ),
    ]
    result = Derivation(f"The minimum of f = {math_prose(f.expr)}", steps, intro="Chapter 2: the minimum condition.")
    return MinimumResult(f, [everywhere], result)
