"""Lagrange multipliers: the extremes of f on the set where g = 0.

:func:`lagrange` forms L = f − λg, solves its stationary system exactly within
the time budget of :mod:`symbackprop.calculus.solving`, adds the points of the
constraint where ∇g = 0 (where Lagrange's condition need not hold), and
classifies every candidate by the bordered Hessian.

>>> lagrange("x*y", "x + y = 1").solutions[0].point
{x: 1/2, y: 1/2}
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sympy as sp

from ..documents.derivation import Derivation, Step, counted
from ..errors import ExpressionError, NoSolutionError
from .minimum import bound_kind
from .multivariable import (
    DEFAULT_VARIABLES,
    MultivariableFunction,
    function_of,
    math_prose,
    notation,
    parse_function,
    require_smooth,
    shown_point,
)
from .solving import SOLVE_SECONDS, budget, numeric_roots, out_of_time, real_solutions, rounded, within

LAMBDA = sp.Symbol("lambda", real=True)
#: The multiplier at a point where ∇g = 0: every λ solves the system there, or none does.
ANY_LAMBDA, NO_LAMBDA = notation("any", r"\text{any}"), notation("none", r"\text{none}")


@dataclass
class ConstrainedPoint:
    """A solution of the Lagrange system: the point, λ, the value of f and its kind.

    At a point of the constraint where ∇g = 0 the multiplier is :data:`ANY_LAMBDA`
    (∇f = 0 there too, so every λ solves the system) or :data:`NO_LAMBDA` (none does,
    yet f may be extreme there: Lagrange's condition assumes ∇g ≠ 0).
    """

    point: dict[sp.Symbol, sp.Expr]
    multiplier: sp.Expr
    value: sp.Expr
    kind: str


@dataclass
class LagrangeResult:
    """The Lagrangian, the exact solutions of its stationary system, and the derivation."""

    f: MultivariableFunction
    constraint: sp.Expr
    lagrangian: sp.Expr
    solutions: list[ConstrainedPoint]
    derivation: Derivation

    def largest(self) -> ConstrainedPoint:
        """The candidate with the largest value of f.

        >>> lagrange("x", "x**2 + y**2 = 4").largest().point
        {x: 2, y: 0}
        """
        return max(self.solutions, key=lambda s: s.value)

    def smallest(self) -> ConstrainedPoint:
        """The candidate with the smallest value of f.

        >>> lagrange("x", "x**2 + y**2 = 4").smallest().point
        {x: -2, y: 0}
        """
        return min(self.solutions, key=lambda s: s.value)


def _constraint_text(text: str) -> str:
    sides = text.split("=")
    if len(sides) == 1:
        return text
    if len(sides) != 2 or not all(s.strip() for s in sides):
        raise ExpressionError(f"constraint {text!r} must be g or 'left = right' with a single '='")
    return f"({sides[0]}) - ({sides[1]})"


def _lagrange_count(solutions: list[ConstrainedPoint]) -> str:
    solved = sum(1 for s in solutions if s.multiplier != NO_LAMBDA)
    parts = [
        "no real solution of the system" if not solved
        else f"{counted(solved, 'real solution')} with {'its multiplier' if solved == 1 else 'their multipliers'} λ"
    ]
    if solved < len(solutions):
        parts.append(f"{counted(len(solutions) - solved, 'point')} of the constraint where ∇g = 0, which no λ "
                     "solves (λ = none), yet where f may be extreme")
    if any(s.multiplier == ANY_LAMBDA for s in solutions):
        parts.append("λ = any where ∇g = 0 and ∇f = 0, so that every λ solves the system")
    return "; ".join(parts)


def _constrained(f: MultivariableFunction, s: dict, multiplier: sp.Expr, bordered: sp.Matrix) -> ConstrainedPoint:
    point = {v: s[v] for v in f.variables}
    value = sp.simplify(f.expr.subs(point))
    if multiplier in (ANY_LAMBDA, NO_LAMBDA):
        # ∇g = 0: the bordered Hessian's border vanishes and decides nothing; f ≥ f(point)
        # everywhere (or ≤) still decides, on the constraint as anywhere.
        kind = bound_kind(f.expr, value) or "undecided (∇g = 0 here, so the bordered Hessian test does not apply)"
    else:
        kind = _bordered_kind(bordered.subs({**point, LAMBDA: multiplier}), len(f.variables))
    return ConstrainedPoint(point, multiplier, value, kind)


def _why(s: ConstrainedPoint) -> str:
    if s.multiplier not in (ANY_LAMBDA, NO_LAMBDA) or s.kind.startswith("undecided"):
        return ""
    bound = "≥" if s.kind == "global minimum" else "≤"
    return f" (∇g = 0 there, so the bordered Hessian decides nothing, but f {bound} {s.value} everywhere)"


def _bordered_kind(bordered: sp.Matrix, n: int) -> str:
    """Local min/max under one constraint from the last n − 1 leading minors of the bordered Hessian."""
    minors = [sp.simplify(bordered[:k, :k].det()) for k in range(3, n + 2)]
    if any(m.is_zero is not False for m in minors):
        return "undecided (a bordered minor is 0)"
    if all(m.is_negative for m in minors):
        return "local minimum"
    if all(sp.sign(m) == (-1) ** (k - 1) for k, m in zip(range(3, n + 2), minors)):
        return "local maximum"
    return "neither (a saddle on the constraint)"


def lagrange(
    text: str | sp.Expr,
    constraint: str | sp.Expr,
    variables: Sequence[str] = DEFAULT_VARIABLES,
    *,
    seconds: float = SOLVE_SECONDS,
) -> LagrangeResult:
    """Extremes of f under g = 0: L = f − λg, solve ∇L = 0 exactly, classify each solution.

    The constraint may be written ``g`` (meaning g = 0) or ``left = right``.
    Points of the constraint where ∇g = 0 are candidates too (Lagrange's
    condition assumes ∇g ≠ 0). The exact solution may take ``seconds``; beyond
    that the answer is a :class:`NoSolutionError` saying what Newton's method
    finds numerically.

    >>> r = lagrange("x + y", "x**2 + y**2 = 1")
    >>> r.largest().value, r.largest().kind, r.smallest().value
    (sqrt(2), 'local maximum', -sqrt(2))
    >>> r = lagrange("x**2 + y**2", "x*y = 0")
    >>> [(s.point, s.multiplier, s.kind) for s in r.solutions]
    [({x: 0, y: 0}, any, 'global minimum')]
    """
    seconds = budget(seconds)
    if isinstance(text, str):
        text = text.strip()
    if isinstance(constraint, str):
        constraint = _constraint_text(constraint)
    fg = parse_function(text, variables)
    gf = parse_function(constraint, variables, what="constraint")
    order = {name: n for n, name in enumerate(variables)}
    unknowns = tuple(
        sorted(set(fg.variables) | set(gf.variables), key=lambda s: (order.get(s.name, len(order)), s.name))
    )
    f = MultivariableFunction(fg.expr, unknowns)
    g = MultivariableFunction(gf.expr, unknowns)
    require_smooth(f)
    require_smooth(g, what="g")
    L = f.expr - LAMBDA * g.expr
    stationary = [sp.diff(L, v) for v in unknowns] + [g.expr]
    done, result = within(seconds, lambda: _lagrange(f, g, L, stationary))
    if done:
        return result
    bordered = _bordered(f, g, L)
    numeric = []
    # λ starts at 1: at λ = 0 the Lagrange system is ∇f = 0, which need not meet g = 0.
    for root in numeric_roots(stationary, (*unknowns, LAMBDA), {LAMBDA: 1}):
        kind = _bordered_kind(bordered.subs(root).evalf(), len(unknowns))
        numeric.append(
            f"{shown_point({v: rounded(root[v]) for v in unknowns}, unknowns)} with λ ≈ {rounded(root[LAMBDA])}, "
            f"f ≈ {rounded(f.expr.subs(root).evalf())}, {kind}"
        )
    raise out_of_time("the Lagrange system", seconds, numeric, "the points are approximate and need not be all")


def _bordered(f: MultivariableFunction, g: MultivariableFunction, L: sp.Expr) -> sp.Matrix:
    # ∇g bordering the second derivatives of L.
    unknowns = f.variables
    return sp.Matrix(
        [[0, *[sp.diff(g.expr, v) for v in unknowns]]]
        + [[sp.diff(g.expr, u), *[sp.diff(L, u, v) for v in unknowns]] for u in unknowns]
    )


def _lagrange(f: MultivariableFunction, g: MultivariableFunction, L: sp.Expr, stationary: list) -> LagrangeResult:
    unknowns = f.variables
    found = real_solutions(stationary, (*unknowns, LAMBDA), "the Lagrange system")
    # Where ∇g = 0 on g = 0 the constraint has no tangent, and Lagrange's condition ∇f = λ∇g
    # need not hold at an extreme: those points are candidates whatever the system says.
    singular = real_solutions([g.expr, *g.gradient], unknowns, "g = 0 with ∇g = 0")
    if not found and not singular:
        raise NoSolutionError(
            f"the Lagrange system of f = {f.expr} under {g.expr} = 0 has no real solution: "
            "the constraint set is empty or f has no extreme value on it"
        )
    if sets := [s for s in found + singular if any(v not in s for v in unknowns)]:
        shown = shown_point(sets[0], unknowns)
        free = ", ".join(str(v) for v in unknowns if v not in sets[0])
        value = sp.simplify(f.expr.subs(sets[0]))
        raise NoSolutionError(
            f"the Lagrange system of f = {f.expr} under {g.expr} = 0 has infinitely many solutions, "
            f"{shown} for every real {free}, and f = {value} at all of them; no single point to single out"
        )
    bordered = _bordered(f, g, L)
    solutions = [
        _constrained(f, s, s.get(LAMBDA, ANY_LAMBDA), bordered)
        for s in found
    ] + [
        _constrained(f, s, NO_LAMBDA, bordered)
        for s in singular
        if not any(all(s[v] == t[v] for v in unknowns) for t in found)
    ]
    Lsym = sp.Function("L")(*unknowns, LAMBDA)
    F = function_of(f)
    values = [s.value for s in solutions]
    steps = [
        Step(
            "The problem",
            "find the extreme values of f on the set where g = 0",
            [(F, f.expr), (sp.Function("g")(*unknowns), g.expr)],
        ),
        Step(
            "The Lagrangian",
            "one multiplier λ for the constraint; at a constrained extreme ∇f is parallel to ∇g",
            [(Lsym, L)],
        ),
        Step(
            "Its stationary system",
            "every partial derivative of L vanishes; ∂L/∂λ = 0 gives back the constraint",
            [(sp.diff(L, v), sp.Integer(0)) for v in unknowns] + [(g.expr, sp.Integer(0))],
        ),
        Step(
            "Solved exactly",
            _lagrange_count(solutions),
            [(sp.Tuple(*unknowns, LAMBDA), sp.Tuple(*[s.point[v] for v in unknowns], s.multiplier)) for s in solutions],
        ),
        Step(
            "Which is a minimum, which a maximum",
            "the bordered Hessian H_b (∇g bordering the second derivatives of L) at each solution: under one constraint, "
            "a local minimum when its last leading minors are all negative, a local maximum when they "
            "alternate starting with + (for two variables: det > 0 maximum, det < 0 minimum)",
            [(sp.Symbol("H_b"), bordered)]
            + [(F.subs(s.point), s.value) for s in solutions],
            note="; ".join(f"at {shown_point(s.point, unknowns)}: {s.kind}{_why(s)}" for s in solutions)
            + (
                f". Among the candidates f is largest ({max(values)}) and smallest ({min(values)}) as shown"
                if len(solutions) > 1
                else ""
            ),
        ),
    ]
    result = Derivation(
        f"Extremes of f = {math_prose(f.expr)} under {math_prose(sp.Eq(g.expr, 0))}",
        steps,
        intro="Chapter 2: the method of Lagrange multipliers.",
    )
    return LagrangeResult(f, g.expr, L, solutions, result)
