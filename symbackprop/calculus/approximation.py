"""The multivariable approximation formula, and why steepest descent steps along −∇f.

Near a point, Δz ≈ ∂z/∂x Δx + ∂z/∂y Δy (:func:`approximation`, with its error
measured for shrinking steps). So Δz is the inner product of ∇f and the step,
and by the Cauchy–Schwarz inequality the step of a given length that lowers f
the most is −η∇f (:func:`steepest_descent`).

>>> approximation("x*y", at=[1, 2]).gradient
[2, 1]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import mpmath
import sympy as sp

from ..documents.derivation import Derivation, Step
from ..errors import ExpressionError
from ..guards import check_sequence
from ..notation.latex import book_latex
from .multivariable import (
    DEFAULT_VARIABLES,
    MultivariableFunction,
    exact_number,
    function_of,
    math_prose,
    notation,
    parse_function,
    partial_symbols,
    require_smooth,
    shown_point,
    shown_vector,
)
from .solving import values_within


def _book_sum(factors: Sequence[sp.Expr], steps: Sequence[sp.Expr]) -> sp.Expr:
    # ∂z/∂x Δx + ∂z/∂y Δy in the book's order; an evaluated product would sort Δx first.
    return sp.Add(*[sp.Mul(c, s, evaluate=False) for c, s in zip(factors, steps)], evaluate=False)


@dataclass
class ApproximationResult:
    """The linear approximation of Δz at a point and its measured error for shrinking steps."""

    f: MultivariableFunction
    point: dict[sp.Symbol, sp.Expr]
    gradient: list[sp.Expr]
    steps: list[sp.Expr]
    errors: list[sp.Float]
    limit: sp.Expr
    derivation: Derivation


def approximation(
    text: str | sp.Expr,
    at: Sequence,
    direction: Sequence | None = None,
    variables: Sequence[str] = DEFAULT_VARIABLES,
    steps: Sequence = ("0.1", "0.01", "0.001", "0.0001"),
) -> ApproximationResult:
    """Δz ≈ ∂z/∂x Δx + ∂z/∂y Δy at a point, and its error for steps h·direction.

    The error divided by h² tends to ½ dᵀHd (H the Hessian, d the direction):
    the error shrinks like the square of the step.

    >>> r = approximation("x*y", at=[1, 2])
    >>> r.gradient, r.limit, [float(e) for e in r.errors[:2]]
    ([2, 1], 1, [0.01, 0.0001])
    """
    f = parse_function(text, variables)
    require_smooth(f)
    point = f.at(at)
    d = [exact_number(c, what="direction") for c in (
        [1] * len(f.variables) if direction is None else check_sequence(direction, "the direction")
    )]
    if len(d) != len(f.variables) or all(c == 0 for c in d):
        raise ExpressionError(f"the direction needs {len(f.variables)} numbers, not all 0")
    hs = [exact_number(h, what="step") for h in check_sequence(steps, "the steps h")]
    return values_within(
        f"f = {f.expr} and its derivatives at {shown_point(point, f.variables)}",
        lambda: _approximation_at(f, point, d, hs),
    )


def _approximation_at(f: MultivariableFunction, point: dict[sp.Symbol, sp.Expr], d: list[sp.Expr],
                      hs: list[sp.Expr]) -> ApproximationResult:
    gradient = [sp.simplify(g.subs(point)) for g in f.gradient]
    if any(not g.is_finite for g in gradient):
        raise ExpressionError(f"f = {f.expr} has no finite gradient at {shown_point(point, f.variables)}")
    z0 = f.expr.subs(point)
    name = "f" if sp.Symbol("z", real=True) in f.variables else "z"
    dz = notation(f"Δ{name}", rf"\Delta {name}")
    dvars = [notation(f"Δ{v}", rf"\Delta {sp.latex(v)}") for v in f.variables]
    partials = partial_symbols(f, name)
    error_, ratio_ = notation("error", r"\text{error}"), notation("error/h²", r"\text{error}/h^{2}")
    errors, rows = [], []
    for h in hs:
        moved = {v: point[v] + h * c for v, c in zip(f.variables, d)}
        exact = f.expr.subs(moved) - z0
        linear = h * sum(g * c for g, c in zip(gradient, d))
        error = sp.N(sp.Abs(exact - linear), 30)
        errors.append(error)
        rows.append(
            (
                sp.Tuple(sp.Symbol("h"), dz, error_, ratio_),
                sp.Tuple(h, sp.Float(sp.N(exact, 30), 8), sp.Float(error, 6), sp.Float(error / h**2, 6)),
            )
        )
    limit = sp.simplify(sp.Abs(sp.Rational(1, 2) * (sp.Matrix(d).T * f.hessian.subs(point) * sp.Matrix(d))[0]))
    where = shown_point(point, f.variables)
    steps_ = [
        Step(
            "The approximation formula",
            "near a point, a smooth function is its tangent plane: the gradient is the best linear "
            "approximation",
            [(dz, _book_sum(partials, dvars), "≈")],
        ),
        Step(
            f"At the point {where}",
            "the partial derivatives evaluated there",
            [(function_of(f, name), f.expr)]
            + [(p, g) for p, g in zip(partials, f.gradient)]
            + [
                (notation(f"{p}{where}", rf"\left.{book_latex(p)}\right|_{{{sp.latex(where)}}}"), g)
                for p, g in zip(partials, gradient)
            ],
        ),
        Step(
            "The formula there",
            "the linear approximation of the change of the function at this point",
            [(dz, _book_sum(gradient, dvars), "≈")],
        ),
        Step(
            "Numeric check",
            f"take steps h·{sp.Tuple(*d)} for shrinking h: the error |Δ{name} − ∇{name}·Δx| shrinks like h² "
            "(error/h² settles), so the formula is exact to first order",
            rows,
        ),
        Step(
            "The limit of error/h²",
            "by Taylor's formula the error is h²/2 times d·Hd plus smaller terms, H the Hessian at the point and d the direction",
            [(notation("lim error/h² (h → 0)", r"\lim_{h \to 0} \text{error}/h^{2}"), limit)],
        ),
    ]
    result = Derivation(
        f"The approximation formula for {name} = {math_prose(f.expr)} at {where}",
        steps_,
        intro="Chapter 2: the multivariable approximation formula.",
    )
    return ApproximationResult(f, point, gradient, hs, errors, limit, result)


def steepest_descent(text: str | sp.Expr = "x**2 + y**2", at: Sequence = (3, 2),
                     variables: Sequence[str] = DEFAULT_VARIABLES) -> Derivation:
    """Why gradient descent steps along −∇f: the Cauchy–Schwarz argument, proved by SymPy.

    >>> d = steepest_descent()
    >>> d.steps[1].equations[0][1].expand() == d.steps[1].equations[0][0].expand()
    True
    """
    f = parse_function(text, variables)
    require_smooth(f)
    n = len(f.variables)
    a = partial_symbols(f)
    d = [notation(f"Δ{v}", rf"\Delta {sp.latex(v)}") for v in f.variables]
    dz = notation("Δz", r"\Delta z")
    eta = sp.Symbol("eta", positive=True)
    dot = sum(ai * di for ai, di in zip(a, d))
    norm_a, norm_d = sp.sqrt(sum(ai**2 for ai in a)), sp.sqrt(sum(di**2 for di in d))
    gap = norm_a**2 * norm_d**2 - dot**2
    # With one variable there is no pair i < j: the sum is SymPy's 0, and both sides are 0.
    squares = sp.Add(*[(a[i] * d[j] - a[j] * d[i]) ** 2 for i in range(n) for j in range(i + 1, n)])
    along = {di: -eta * ai for di, ai in zip(d, a)}
    # The steps below are claims; SymPy proves each before it is shown.
    assert sp.expand(gap - squares) == 0
    assert sp.simplify(dot.subs(along) + norm_a * norm_d.subs(along)) == 0
    point = f.at(at)

    def values() -> tuple[list[sp.Expr], sp.Expr]:
        grad = [_shown_value(g.subs(point)) for g in f.gradient]
        return grad, _shown_value(sp.sqrt(sp.Add(*(g**2 for g in grad)), evaluate=False))

    grad, size = values_within(f"the gradient of f = {f.expr} at {shown_point(point, f.variables)}", values)
    steps = [
        Step(
            "The change of f is an inner product",
            "the approximation formula: Δz is the inner product of ∇f and the step Δx",
            [(dz, _book_sum(a, d), "≈")],
        ),
        Step(
            "Lagrange's identity",
            "expanding both sides shows they are equal (checked by SymPy), so the left side is never "
            "negative; this is the Cauchy–Schwarz inequality",
            [(gap, squares)],
            note="hence (∇f·Δx)² ≤ |∇f|²|Δx|², with equality exactly when every bracket on the right is 0, "
            "i.e. when Δx is parallel to ∇f"
            if n > 1
            else "with one variable both sides are 0: every step Δx is parallel to ∇f, so (∇f·Δx)² = |∇f|²|Δx|²",
        ),
        Step(
            "Cauchy–Schwarz",
            "the inner product of two vectors of given lengths is smallest when they point in "
            "opposite directions",
            [(dot, -norm_a * norm_d, "≥")],
        ),
        Step(
            "Attained by Δx = −η∇f",
            "substituting Δx = −η∇f (η > 0) makes the two sides equal, so this step decreases f the "
            "most among all steps of its length: this is gradient descent",
            [(shown_vector(d), shown_vector([-eta * ai for ai in a])), (dot.subs(along), -eta * norm_a**2)],
            note="and −η|∇f|² = −|∇f||Δx| because |Δx| = η|∇f|",
        ),
        Step(
            f"At the point {shown_point(point, f.variables)} of f = {math_prose(f.expr)}",
            "the steepest descent direction and the rate of decrease per unit step",
            [(shown_vector(a), shown_vector(grad)), (notation("|∇f|", r"\left|\nabla f\right|"), size),
             (shown_vector(d), shown_vector([-eta * g for g in grad])), (dz, -eta * size**2, "≈")],
        ),
    ]
    return Derivation("Why gradient descent steps along −∇f", steps,
                      intro="Chapter 2: vectors, the inner product and the Cauchy–Schwarz inequality.")


#: An exact number longer than this is shown to 15 significant digits.
EXACT_BITS = 166  # about 50 decimal digits


def _is_long(value: sp.Expr) -> bool:
    return value.is_Rational and max(abs(value.p).bit_length(), value.q.bit_length()) > EXACT_BITS


def _as_mpf(value: sp.Rational) -> mpmath.mpf:
    # Through binary, not decimal text: Python refuses to print an int of over 4,300 digits.
    with mpmath.workprec(80):
        return mpmath.mpf(value.p) / value.q


def _shown_value(value: sp.Expr) -> sp.Expr:
    """``value`` exactly while its numbers are short, else as a 15-digit float.

    At a far point such as x = 10^23 the gradient of x^999 has 22,966 digits:
    printing it is unreadable, and the exact root |∇f| = √(Σ ∂f²) makes SymPy
    try to factor a 46,000-digit number (minutes). Neither is needed to show
    a direction and a rate.

    >>> _shown_value(sp.Rational(3, 4)), _shown_value(sp.Integer(10)**60)
    (3/4, 1.00000000000000e+60)
    >>> _shown_value(sp.sqrt(sp.Integer(10)**120 + 1, evaluate=False))
    1.00000000000000e+60
    """
    if isinstance(value, sp.Pow) and value.exp == sp.S.Half and _is_long(value.base):
        return sp.Float(mpmath.sqrt(_as_mpf(value.base)), 15)
    if _is_long(value):
        return sp.Float(_as_mpf(value), 15)
    return sp.sqrt(value.base) if isinstance(value, sp.Pow) and value.exp == sp.S.Half else value
