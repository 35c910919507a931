"""Gradient descent Δx = −η∇f on a function typed by the user (the book's section 2-11).

∇f is derived by SymPy and compiled to plain floats; the path is recorded
step by step. A run ends in one of four states: ``converged`` (|∇f| below the
tolerance), ``converging`` (f still falling, the steps shrinking),
``diverging`` (f rising at every one of the last steps, or the point running
off to infinity — detected before any overflow) or ``not converging``
(neither: bouncing between two points, or f falling ever faster as if
unbounded below). For a quadratic f with a minimum the outcome is exact: each
step multiplies the distance to the minimum along an eigenvector of the Hessian
by 1 − ηλ, so |1 − ηλ| = 1 oscillates and > 1 diverges even while f still
falls; the bound 0 < η < 2/λ_max is derived too.

>>> run = gradient_descent("x**2 + y**2", start=[3, 2], eta="0.1", steps=30)
>>> run.status, [round(c, 6) for c in run.points[1]]
('converging', [2.4, 1.6])
>>> gradient_descent("x**2 + y**2", start=[3, 2], eta="1.1", steps=30).status
'diverging'
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources

import sympy as sp

from ..documents.derivation import Derivation, Step
from ..errors import DataError
from ..guards import MAX_STEPS, check_count, check_sequence
from .multivariable import (
    DEFAULT_VARIABLES,
    MultivariableFunction,
    exact_number,
    math_prose,
    notation,
    parse_function,
    prose_number,
    require_smooth,
    shown_matrix,
    shown_vector,
)

#: Beyond this many times the start's size (plus one) the path counts as running off to infinity.
ESCAPE = 1e12
#: How many consecutive rises of f count as diverging.
RISES = 3
#: A step counts as shorter than the one before only if shorter by this fraction (rounding aside).
SHRINK = 1e-9
#: η is called too small (or too large) when each step removes less than this fraction
#: of what the best fixed η removes from the distance to the minimum.
SLOW = sp.Rational(1, 10)
#: Without a quadratic to analyse: steps shrinking by less than this fraction each is slow.
SLOW_SHRINK = 0.1
#: Rows of the path shown in a derivation before the middle is left out.
SHOWN_ROWS = 40


def _sigmoid(z: float) -> float:
    # Stable on both sides: exp never sees a large positive argument.
    return 1 / (1 + math.exp(-z)) if z >= 0 else math.exp(z) / (1 + math.exp(z))


def positive_eta(eta: object) -> sp.Expr:
    """η as an exact positive number, or a :class:`DataError` saying what to do.

    >>> positive_eta("0.1")
    1/10
    >>> positive_eta(0)
    Traceback (most recent call last):
    ...
    symbackprop.errors.DataError: the learning rate η must be positive, got 0; try a small value such as 0.1
    """
    value = exact_number(eta, what="η")
    if not value.is_positive:
        raise DataError(f"the learning rate η must be positive, got {value}; try a small value such as 0.1")
    return value


@dataclass
class DescentPath:
    """The points and values of a gradient-descent run and how it ended."""

    f: MultivariableFunction
    eta: sp.Expr
    points: list[tuple[float, ...]]
    values: list[float]
    status: str
    reason: str

    @property
    def final(self) -> tuple[float, ...]:
        """The last point reached.

        >>> gradient_descent("x**2", [1], "0.25", 1).final
        (0.5,)
        """
        return self.points[-1]

    @property
    def derivation(self) -> Derivation:
        """The update rule, the path table and the outcome, step by step.

        >>> gradient_descent("x**2", [1], "0.1", 3).derivation.title
        'Gradient descent on f = $x^{2}$ with η = 1/10'
        """
        return Derivation(
            f"Gradient descent on f = {math_prose(self.f.expr)} with η = {self.eta}",
            descent_steps(self),
            intro="Chapter 2: gradient descent, section 2-11.",
        )


def gradient_descent(
    text: str | sp.Expr,
    start: Sequence,
    eta: object = "0.1",
    steps: int = 30,
    *,
    variables: Sequence[str] = DEFAULT_VARIABLES,
    tol: float = 1e-10,
) -> DescentPath:
    """Run Δx = −η∇f from ``start`` for ``steps`` steps (fewer if |∇f| ≤ ``tol`` or it escapes).

    >>> run = gradient_descent("(x-1)**2", start=[0], eta="0.5", steps=5)
    >>> run.status, run.final
    ('converged', (1.0,))
    """
    f = parse_function(text, variables)
    require_smooth(f)
    rate = positive_eta(eta)
    steps = check_count(steps, "the number of steps", 1, MAX_STEPS)
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not 0 <= tol < math.inf:
        raise DataError(f"the tolerance on |∇f| must be a number ≥ 0, got {tol!r}")
    origin = f.at(start)
    modules = [{"sigmoid": _sigmoid}, "math"]
    value = sp.lambdify(f.variables, f.expr, modules)
    gradient = sp.lambdify(f.variables, f.gradient, modules)
    x = [_as_float(origin[v], f"the start coordinate {v}") for v in f.variables]
    step_size = _as_float(rate, "the learning rate η")
    bound = ESCAPE * (1 + math.hypot(*x))
    points, values = [tuple(x)], [_evaluate(value, x, 0)]
    status, reason = "", ""
    for k in range(1, steps + 1):
        g = _evaluate(gradient, x, k - 1)
        if math.hypot(*g) <= tol:
            break
        x = [c - step_size * gc for c, gc in zip(x, g)]
        if not all(math.isfinite(c) for c in x) or math.hypot(*x) > bound:
            status = "diverging"
            reason = (
                f"the point ran off to infinity at step {k} while f kept falling: f is unbounded below, "
                "so there is no minimum to find"
                if len(values) > 1 and values[-1] < values[-2]
                else f"the point ran off to infinity at step {k} (its size passed {prose_number(bound)})"
            )
            break
        points.append(tuple(x))
        values.append(_evaluate(value, x, k))
    if not status:
        status, reason = _judge(points, values, tol, gradient)
    if status != "converged":
        status, reason = _quadratic_outcome(f, origin, rate) or (status, reason)
    return DescentPath(f, rate, points, values, status, reason)


def _excited(f: MultivariableFunction, start: dict) -> list[tuple[sp.Expr, list[sp.Matrix]]] | None:
    """For f quadratic with a positive-definite Hessian H: the eigenvalues λ of H (with their
    eigenvectors) along which the start is away from the minimum; ``None`` for any other f.

    Only these directions ever move: the error x_k − x* along the others stays 0.
    """
    hessian = f.hessian
    if hessian.free_symbols or not hessian.is_positive_definite:
        return None
    # ∇f(x) = H x + ∇f(0), so the minimum is x* = −H⁻¹∇f(0).
    at_zero = sp.Matrix([g.subs({v: 0 for v in f.variables}) for g in f.gradient])
    error = sp.Matrix([start[v] for v in f.variables]) + hessian.solve(at_zero)
    return [(lam, vectors) for lam, _, vectors in hessian.eigenvects()
            if any((v.T * error)[0] != 0 for v in vectors)]


def _quadratic_outcome(f: MultivariableFunction, start: dict, rate: sp.Expr) -> tuple[str, str] | None:
    """The exact outcome when f is quadratic with a positive-definite Hessian H and η makes a
    step stop shrinking; ``None`` when the path's own judgement stands.

    Each step multiplies the error x_k − x* along an eigenvector of H for λ by 1 − ηλ, so the
    path oscillates for ever when |1 − ηλ| = 1 and diverges when it is larger, for every λ
    whose eigenvector the start's error has a component along; the path's first steps can
    hide either (f falls while the other directions shrink).
    """
    excited = _excited(f, start)
    if not excited:
        return None
    lam, vectors = max(excited, key=lambda lv: abs(1 - rate * lv[0]))
    factor = 1 - rate * lam
    along = (
        f"along the eigenvector {shown_vector(list(vectors[0]))} of the Hessian (λ = {lam})"
        if len(vectors) == 1
        else f"in every direction (the Hessian is {lam} times the identity)"
        if len(vectors) == len(f.variables)
        else f"along the eigenvectors of the Hessian for λ = {lam}"
    )
    if abs(factor) == 1:
        return "not converging", (
            f"{along} each step multiplies the distance to the minimum by 1 − ηλ = {factor}: "
            "the point jumps back and forth across the minimum for ever"
        )
    if abs(factor) > 1:
        return "diverging", (
            f"{along} each step multiplies the distance to the minimum by 1 − ηλ = {factor}: "
            "the point moves ever further away"
        )
    return None


def _as_float(value: sp.Expr, what: str) -> float:
    # The path is computed in floats; an exact number beyond their range (1e400) cannot start it.
    number = float(value)
    if not math.isfinite(number) or (value != 0 and number == 0):
        raise DataError(f"{what} = {sp.N(value, 6)!s} is out of the range of floats (about 1e-308 to 1e308 in size), "
                        "which the descent computes in")
    return number


def _evaluate(function, x: list[float], k: int):
    try:
        result = function(*x)
    except (OverflowError, ZeroDivisionError, ValueError) as exc:
        raise DataError(
            f"step {k} reached {tuple(round(c, 6) for c in x)} where f or ∇f cannot be evaluated ({exc}); "
            "try a smaller η or another start"
        ) from None
    if isinstance(result, complex) or (isinstance(result, list) and any(isinstance(r, complex) for r in result)):
        raise DataError(f"step {k} left the real domain of f at {tuple(x)}; try a smaller η or another start")
    return result if isinstance(result, list) else float(result)


def _judge(points: list[tuple], values: list[float], tol: float, gradient) -> tuple[str, str]:
    size = math.hypot(*_evaluate(gradient, list(points[-1]), len(points) - 1))
    if size <= tol:
        return "converged", f"the gradient vanishes: |∇f| = {prose_number(size)} ≤ {prose_number(tol)} after {len(points) - 1} steps"
    recent = values[-(RISES + 1):]
    changes = [b - a for a, b in zip(recent, recent[1:])]
    last = points[-(RISES + 1):]
    lengths = [math.dist(a, b) for a, b in zip(last, last[1:])]
    if len(changes) == RISES and all(c > 0 for c in changes):
        return "diverging", f"the value of f rose at each of the last {RISES} steps"
    falling = bool(changes) and all(c < 0 for c in changes)
    # A path that settles takes ever shorter steps; equal steps (f = x) or growing ones
    # (f = −x²) mean f may fall for ever. The margin keeps rounding from faking a shrink.
    shrinking = all(b < a * (1 - SHRINK) for a, b in zip(lengths, lengths[1:]))
    if falling and shrinking:
        return "converging", f"the value of f fell and the steps shrank at each of the last steps; |∇f| = {prose_number(size)} is not yet below {prose_number(tol)}"
    if falling:
        return "not converging", (
            "the value of f keeps falling but the steps do not shrink: f may be unbounded below along the path "
            "(run more steps to see)"
        )
    return "not converging", f"the value of f neither keeps falling nor keeps rising (|∇f| = {prose_number(size)}); try a smaller η"


def eta_verdict(path: DescentPath) -> str:
    """Whether η was too small, right or too large for this f, and why.

    For a quadratic f with positive-definite Hessian the answer is exact: each
    step multiplies the distance to the minimum by at most ρ(η) = max|1 − ηλ|
    over the eigenvalues λ (those along which the start is away from the
    minimum: the others never move), and the best fixed η = 2/(λ_min + λ_max)
    gives the smallest ρ. η is too small (or too large) when a step removes less than a
    tenth (:data:`SLOW`) of the share of the distance the best η removes.
    Otherwise the path is judged: steps shrinking by less than 10% each
    (:data:`SLOW_SHRINK`) mean slow, a diverging path a too large η.

    >>> eta_verdict(gradient_descent("x**2 + y**2", [3, 2], "0.01", 30))
    'too small (slow: each step removes only 2% of the distance to the minimum; the best η = 1/2 removes 100%)'
    >>> eta_verdict(gradient_descent("x**2 + y**2", [3, 2], "0.1", 30))
    'right (each step removes 20% of the distance to the minimum; the best η = 1/2 removes 100%)'
    """
    excited = _excited(path.f, path.f.at(path.points[0]))
    if excited is not None:
        eigenvalues = [lam for lam, _ in excited] or list(path.f.hessian.eigenvals())
        low, high = min(eigenvalues), max(eigenvalues)
        best = 2 / (low + high)
        factor = max(abs(1 - path.eta * lam) for lam in eigenvalues)
        best_factor = (high - low) / (high + low)
        shares = f"{_percent(1 - factor)} of the distance to the minimum; the best η = {best} removes {_percent(1 - best_factor)}"
        if factor >= 1:
            return f"too large (|1 − ηλ_max| = {factor} ≥ 1: the steps do not shrink)"
        if 1 - factor >= SLOW * (1 - best_factor):
            return f"right (each step removes {shares})"
        if path.eta < best:
            return f"too small (slow: each step removes only {shares})"
        return f"too large (it zigzags: each step removes only {shares})"
    if path.status == "diverging":
        # A path that runs off while f falls finds f unbounded below: no η would help.
        return "too large (the path diverges)" if path.values[-1] > path.values[0] else ""
    lengths = [math.dist(a, b) for a, b in zip(path.points, path.points[1:])]
    if path.status == "not converging" or len(lengths) < 2 or not lengths[0]:
        return ""
    shrink = 1 - (lengths[-1] / lengths[0]) ** (1 / (len(lengths) - 1))
    judged = "too small (slow: " if shrink < SLOW_SHRINK else "right ("
    return judged + f"the steps shrink by {shrink:.0%} each on average; f is not quadratic, so this is judged from the path)"


def _percent(share: sp.Expr) -> str:
    return f"{float(share) * 100:.3g}%"


def _number(value: float, digits: int = 6) -> sp.Float:
    rounded = float(f"{value:.{digits}g}")
    # One digit after the point at least: 732518.0, not 732518. (which reads like the end of a sentence).
    whole = len(str(int(abs(rounded)))) if math.isfinite(rounded) and abs(rounded) < 1e15 else 0
    return sp.Float(rounded, max(digits, whole + 1))


def _rows(path: DescentPath) -> list[tuple]:
    names = [str(v) for v in path.f.variables]
    indices = list(range(len(path.points)))
    if len(indices) > SHOWN_ROWS:
        indices = indices[: SHOWN_ROWS - 10] + indices[-10:]
    rows = []
    for k in indices:
        labels = [sp.Symbol(f"{n}_{k}") for n in names] + [sp.Symbol(f"f_{k}")]
        numbers = [_number(c) for c in path.points[k]] + [_number(path.values[k])]
        rows.append((sp.Tuple(*labels), sp.Tuple(*numbers)))
    return rows


def descent_steps(path: DescentPath) -> list[Step]:
    """The steps of a gradient-descent derivation (rule, path table, outcome, η bound).

    >>> [s.title for s in descent_steps(gradient_descent("x**2", [1], "0.1", 3))]
    ['The function and its gradient', 'The update rule', 'The path', 'Outcome: converging', 'How large η may be']
    """
    f, eta = path.f, sp.Symbol("eta")
    dvars = [notation(f"Δ{v}", rf"\Delta {sp.latex(v)}") for v in f.variables]
    shown = len(_rows(path))
    steps = [
        Step(
            "The function and its gradient",
            "the gradient ∇f collects the partial derivatives",
            [(sp.Function("f")(*f.variables), f.expr), (notation("∇f", r"\nabla f"), shown_vector(f.gradient))],
        ),
        Step(
            "The update rule",
            f"step against the gradient, Δx = −η∇f, here with η = {path.eta}",
            [(dv, -eta * g) for dv, g in zip(dvars, f.gradient)]
            + [(dv, (-path.eta * g).expand()) for dv, g in zip(dvars, f.gradient)],
        ),
        Step(
            "The path",
            f"{len(path.points) - 1} steps from {', '.join(f'{c:g}' for c in path.points[0])}"
            + ("" if shown == len(path.points) else f"; the middle rows are left out ({shown} of {len(path.points)} shown)"),
            _rows(path),
        ),
        Step(
            f"Outcome: {path.status}",
            path.reason,
            [
                (shown_vector(f.variables), shown_vector([_number(c, 10) for c in path.final])),
                (sp.Function("f")(*f.variables), _number(path.values[-1], 10)),
            ],
            note=f"η = {path.eta} is {verdict}" if (verdict := eta_verdict(path)) else "",
        ),
    ]
    hessian = f.hessian
    if not hessian.free_symbols:
        largest = max(hessian.eigenvals())
        if largest.is_positive:
            steps.append(
                Step(
                    "How large η may be",
                    "since f is quadratic, each step multiplies the distance to the minimum along the "
                    "eigenvector of the Hessian H for the eigenvalue λ by 1 − ηλ: it converges exactly "
                    "when |1 − ηλ| < 1 for every λ, i.e. 0 < η < 2/λ_max",
                    [(sp.Symbol("H"), shown_matrix(hessian)), (sp.Symbol("lambda_max"), largest),
                     (eta, 2 / largest, "<")],
                    note=f"η = {path.eta} is inside this range"
                    if path.eta < 2 / largest
                    else f"η = {path.eta} is outside this range"
                    + (", but this start is away from the minimum only along eigenvectors with |1 − ηλ| < 1, "
                       "so its path converges all the same"
                       if path.status in ("converged", "converging") else ""),
                )
            )
    return steps


def learning_rate_effect(
    text: str | sp.Expr,
    start: Sequence,
    etas: Sequence = ("0.01", "0.1", "1.1"),
    steps: int = 30,
    *,
    variables: Sequence[str] = DEFAULT_VARIABLES,
) -> Derivation:
    """The same descent with several η: too small creeps, right converges, too large diverges.

    >>> d = learning_rate_effect("x**2 + y**2", [3, 2])
    >>> [s.title for s in d.steps]
    ['η = 1/100 (too small): converging', 'η = 1/10 (right): converging', 'η = 11/10 (too large): diverging']
    """
    etas = check_sequence(etas, "the learning rates η")
    if not etas:
        raise DataError("give at least one learning rate η to compare")
    runs = [gradient_descent(text, start, eta, steps, variables=variables) for eta in etas]
    f = runs[0].f
    return Derivation(
        f"The effect of η on gradient descent for f = {math_prose(f.expr)}",
        [
            Step(
                f"η = {run.eta}" + (f" ({verdict.split(' (')[0]})" if (verdict := eta_verdict(run)) else "")
                + f": {run.status}",
                run.reason + (f"; η is {verdict}" if verdict else ""),
                [
                    (shown_vector(f.variables), shown_vector([_number(c) for c in run.final])),
                    (sp.Function("f")(*f.variables), _number(run.values[-1])),
                ],
                note=f"after {len(run.points) - 1} steps",
            )
            for run in runs
        ],
    )


def book_example() -> dict:
    """The book's gradient-descent example (section 2-11), as shipped with the package.

    >>> book_example()["function"], book_example()["start"]
    ('x**2 + y**2', [3, 2])
    """
    with resources.files("symbackprop").joinpath("data/book_gd_2_11.json").open(encoding="utf-8") as fh:
        return json.load(fh, parse_float=str)


def book_gradient_descent() -> Derivation:
    """The book's example: the path table, then the effect of η on the same start.

    >>> len(book_gradient_descent().steps)
    8
    """
    book = book_example()
    run = gradient_descent(book["function"], book["start"], book["eta"], book["steps"])
    effect = learning_rate_effect(book["function"], book["start"], steps=book["steps"])
    return Derivation(
        run.derivation.title,
        run.derivation.steps + effect.steps,
        intro=f"Chapter 2: gradient descent, section 2-11. Source: {book['source']}.",
    )
