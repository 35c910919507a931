"""Chapter 2 in symbols: the minimum condition, Lagrange multipliers, the
multivariable approximation formula and why gradient descent steps along −∇f.

Each function takes a function typed by the user (or a SymPy expression),
solves its problem exactly, and returns the answer together with a
:class:`~symbackprop.documents.derivation.Derivation` that shows every step in the
book's notation. :func:`documents` collects one derivation per topic of
chapter 2, on the book's examples (gradient descent and regression live in
:mod:`symbackprop.calculus.descent` and :mod:`symbackprop.calculus.regression`).

>>> minimum("(x-1)**2 + 2*(y+1)**2 + x*y").minima[0].point
{x: 12/7, y: -10/7}
>>> lagrange("x*y", "x + y = 1").solutions[0].point
{x: 1/2, y: 1/2}
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import sympy as sp

from ..documents.derivation import Derivation, Step
from ..errors import DataError, ExpressionError, NoSolutionError
from ..guards import check_sequence
from ..notation.latex import book_latex
from ..notation.symbols import Partial
from .descent import book_gradient_descent
from .multivariable import (
    DEFAULT_VARIABLES,
    MultivariableFunction,
    exact_number,
    math_prose,
    notation,
    parse_function,
    require_smooth,
    shown_matrix,
    shown_vector,
)
from .regression import book_regression

LAMBDA = sp.Symbol("lambda", real=True)
#: The multiplier at a point where ∇g = 0: every λ solves the system there, or none does.
ANY_LAMBDA, NO_LAMBDA = notation("any", r"\text{any}"), notation("none", r"\text{none}")

#: Seconds the exact solution (solving ∇f = 0 or the Lagrange system, and classifying) may take.
SOLVE_SECONDS = 10.0
#: A second chance for the alarm, in case the first one fell where Python drops exceptions (a __del__).
_RETRY_SECONDS = 1.0

T = TypeVar("T")


class _OutOfTime(BaseException):
    # A BaseException, so that no `except Exception` inside SymPy can swallow it.
    pass


def _within(seconds: float, compute: Callable[[], T]) -> tuple[bool, T | None]:
    """``(True, compute())``, or ``(False, None)`` when it is still running after ``seconds``.

    SymPy's solvers are pure Python, so a SIGALRM raised into them stops them
    at the next bytecode: no cost when they are fast, where a worker process
    would add the start-up of Python and SymPy (about a second) to every
    call. Python delivers signals to the main thread only; elsewhere (or
    without SIGALRM, on Windows) ``compute`` runs without a limit.

    >>> _within(1, lambda: 6 * 7)
    (True, 42)
    >>> _within(0.01, lambda: sum(1 for _ in iter(int, 1)))
    (False, None)
    """
    usable = (
        hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGALRM) is not None  # a handler set outside Python cannot be put back
    )
    if not usable:
        return True, compute()
    inside = True

    def stop(signum, frame):
        if inside:
            signal.setitimer(signal.ITIMER_REAL, _RETRY_SECONDS)
            raise _OutOfTime

    previous = signal.signal(signal.SIGALRM, stop)
    outer_delay, outer_interval = signal.setitimer(signal.ITIMER_REAL, seconds)
    started = time.monotonic()
    try:
        return True, compute()
    except _OutOfTime:
        return False, None
    finally:
        inside = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer_delay:  # a caller's own alarm keeps its time
            remaining = max(outer_delay - (time.monotonic() - started), 1e-3)
            signal.setitimer(signal.ITIMER_REAL, remaining, outer_interval)


def _budget(seconds: float) -> float:
    """The time budget for an exact solution, checked: a positive, finite number of seconds.

    >>> _budget(0)
    Traceback (most recent call last):
    ...
    symbackprop.errors.DataError: the time for the exact solution must be a positive number of seconds, got 0 (--seconds)
    """
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 < seconds < float("inf"):
        raise DataError(f"the time for the exact solution must be a positive number of seconds, got {seconds!r} (--seconds)")
    return float(seconds)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _f_of(f: MultivariableFunction, name: str = "f") -> sp.Expr:
    return sp.Function(name)(*f.variables)


def _partials(f: MultivariableFunction, name: str = "f") -> list[Partial]:
    # The project's ∂/∂ object keeps the book's order ∂z/∂x Δx when printed.
    return [Partial(sp.Symbol(name), v) for v in f.variables]


def _book_sum(factors: Sequence[sp.Expr], steps: Sequence[sp.Expr]) -> sp.Expr:
    # ∂z/∂x Δx + ∂z/∂y Δy in the book's order; an evaluated product would sort Δx first.
    return sp.Add(*[sp.Mul(c, s, evaluate=False) for c, s in zip(factors, steps)], evaluate=False)


def _point(point: dict[sp.Symbol, sp.Expr], variables: Sequence[sp.Symbol]) -> sp.Expr:
    return shown_vector([point.get(v, v) for v in variables])


def _at(name: str, point: dict[sp.Symbol, sp.Expr], variables: Sequence[sp.Symbol]) -> sp.Symbol:
    # H evaluated at a point, written H(1, 2) in text and H\left(1, 2\right) in LaTeX.
    values = [point.get(v, v) for v in variables]
    return notation(
        f"{name}({', '.join(str(v) for v in values)})",
        rf"{name}\left({', '.join(sp.latex(v) for v in values)}\right)",
    )


def _real_solutions(equations: list[sp.Expr], unknowns: Sequence[sp.Symbol], what: str) -> list[dict]:
    try:
        found = sp.solve(equations, list(unknowns), dict=True)
    except NotImplementedError:
        raise NoSolutionError(
            f"SymPy cannot solve {what} exactly; try 'calc gd' to approach a minimum numerically"
        ) from None
    real = [s for s in found if all(value.is_real is not False for value in s.values())]
    # Different branches of the solver can return the same solution.
    distinct = [s for n, s in enumerate(real) if s not in real[:n]]
    return sorted(distinct, key=lambda s: [sp.default_sort_key(s.get(u, u)) for u in unknowns])


#: Newton's method starts from each of these values in every coordinate, when no exact solution comes in time.
NUMERIC_STARTS = (0, 1, -1, sp.Rational(1, 2), 2)
#: Seconds Newton's method may take over all its starts (it usually needs well under one).
NUMERIC_SECONDS = 5.0


def _numeric_roots(equations: list[sp.Expr], unknowns: Sequence[sp.Symbol]) -> list[dict]:
    """Distinct real roots found by Newton's method (SymPy's nsolve) from :data:`NUMERIC_STARTS`."""
    found: list[dict] = []

    def search() -> bool:
        for c in NUMERIC_STARTS:
            # λ starts at 1: at λ = 0 the Lagrange system is ∇f = 0, which need not meet g = 0.
            start = [1 if u == LAMBDA else c for u in unknowns]
            try:
                root = sp.nsolve(equations, list(unknowns), start, dict=True)[0]
            except (ValueError, ArithmeticError, TypeError):  # no convergence, a singular Jacobian
                continue
            if all(v.is_real for v in root.values()) and not any(
                all(abs(root[u] - other[u]) < 1e-8 for u in unknowns) for other in found
            ):
                found.append(root)
        return True

    _within(NUMERIC_SECONDS, search)
    return found


def _approx(value: sp.Expr) -> sp.Expr:
    # Six digits for a numeric answer; rounding noise around 0 is shown as 0.
    return sp.Integer(0) if abs(value) < 1e-12 else sp.Float(value, 6)


def _out_of_time(what: str, seconds: float, numeric: list[str], hint: str) -> NoSolutionError:
    found = (
        f"numerically (Newton's method from {', '.join(map(str, NUMERIC_STARTS))} in each coordinate; "
        "approximate): " + "; ".join(numeric)
        if numeric
        else f"Newton's method found no solution either from the starts {', '.join(map(str, NUMERIC_STARTS))}"
    )
    return NoSolutionError(f"could not solve {what} exactly within {seconds:g} s (--seconds allows more); {found}; {hint}")


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


def _bound_kind(f: sp.Expr, value: sp.Expr) -> str:
    """"global minimum" if SymPy proves f ≥ value everywhere, "global maximum" for ≤, else ""."""
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
    return _bound_kind(f.expr, value) or "undecided (the Hessian is singular along a set of stationary points)"


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
    where = f"{_point(c.point, variables)}"
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
    seconds = _budget(seconds)
    f = parse_function(text, variables)
    require_smooth(f)
    condition = " = ".join(f"∂f/∂{v}" for v in f.variables) + " = 0"
    done, result = _within(seconds, lambda: _minimum(f, condition))
    if done:
        return result
    hessian = f.hessian
    numeric = []
    for root in _numeric_roots(f.gradient, f.variables):
        kind = classify(hessian.subs(root).evalf())
        numeric.append(
            f"∇f = 0 at {_point({v: _approx(root[v]) for v in f.variables}, f.variables)}, "
            f"f ≈ {_approx(f.expr.subs(root).evalf())}, a {kind} by its Hessian"
        )
    raise _out_of_time(condition, seconds, numeric, "'calc gd' follows −∇f numerically from a start you choose")


def _minimum(f: MultivariableFunction, condition: str) -> MinimumResult:
    gradient, hessian, names = f.gradient, f.hessian, _partials(f)
    # A partial derivative that is identically 0 (f = x² + (y+1)² − y² − 2y in y) sets no
    # condition; the variables no condition fixes stay free.
    conditions = [g for g in gradient if not _identically_zero(g)]
    if not conditions:
        return _constant(f, gradient, condition)
    solutions = _real_solutions(conditions, f.variables, condition)
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
    F = _f_of(f)
    isolated = sum(1 for c in candidates if not c.free)
    count = " and ".join(
        part
        for part in (
            _plural(isolated, "stationary point") if isolated else "",
            _plural(len(candidates) - isolated, "set") + " of stationary points" if sets else "",
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
            [(shown_vector(f.variables), _point(c.point, f.variables)) for c in candidates],
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
    F = _f_of(f)
    steps = [
        Step("The function", "the function to minimise", [(F, f.expr)]),
        Step(
            "Partial derivatives",
            "differentiate f with respect to each variable, the others held fixed: each is identically 0",
            [(n, sp.simplify(g)) for n, g in zip(_partials(f), gradient)],
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
        else f"{_plural(solved, 'real solution')} with {'its multiplier' if solved == 1 else 'their multipliers'} λ"
    ]
    if solved < len(solutions):
        parts.append(f"{_plural(len(solutions) - solved, 'point')} of the constraint where ∇g = 0, which no λ "
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
        kind = _bound_kind(f.expr, value) or "undecided (∇g = 0 here, so the bordered Hessian test does not apply)"
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
    seconds = _budget(seconds)
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
    done, result = _within(seconds, lambda: _lagrange(f, g, L, stationary))
    if done:
        return result
    bordered = _bordered(f, g, L)
    numeric = []
    for root in _numeric_roots(stationary, (*unknowns, LAMBDA)):
        kind = _bordered_kind(bordered.subs(root).evalf(), len(unknowns))
        numeric.append(
            f"{_point({v: _approx(root[v]) for v in unknowns}, unknowns)} with λ ≈ {_approx(root[LAMBDA])}, "
            f"f ≈ {_approx(f.expr.subs(root).evalf())}, {kind}"
        )
    raise _out_of_time("the Lagrange system", seconds, numeric, "the points are approximate and need not be all")


def _bordered(f: MultivariableFunction, g: MultivariableFunction, L: sp.Expr) -> sp.Matrix:
    # ∇g bordering the second derivatives of L.
    unknowns = f.variables
    return sp.Matrix(
        [[0, *[sp.diff(g.expr, v) for v in unknowns]]]
        + [[sp.diff(g.expr, u), *[sp.diff(L, u, v) for v in unknowns]] for u in unknowns]
    )


def _lagrange(f: MultivariableFunction, g: MultivariableFunction, L: sp.Expr, stationary: list) -> LagrangeResult:
    unknowns = f.variables
    found = _real_solutions(stationary, (*unknowns, LAMBDA), "the Lagrange system")
    # Where ∇g = 0 on g = 0 the constraint has no tangent, and Lagrange's condition ∇f = λ∇g
    # need not hold at an extreme: those points are candidates whatever the system says.
    singular = _real_solutions([g.expr, *g.gradient], unknowns, "g = 0 with ∇g = 0")
    if not found and not singular:
        raise NoSolutionError(
            f"the Lagrange system of f = {f.expr} under {g.expr} = 0 has no real solution: "
            "the constraint set is empty or f has no extreme value on it"
        )
    if sets := [s for s in found + singular if any(v not in s for v in unknowns)]:
        shown = _point(sets[0], unknowns)
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
    F = _f_of(f)
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
            note="; ".join(f"at {_point(s.point, unknowns)}: {s.kind}{_why(s)}" for s in solutions)
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
    gradient = [sp.simplify(g.subs(point)) for g in f.gradient]
    if any(not g.is_finite for g in gradient):
        raise ExpressionError(f"f = {f.expr} has no finite gradient at {_point(point, f.variables)}")
    z0 = f.expr.subs(point)
    name = "f" if sp.Symbol("z", real=True) in f.variables else "z"
    dz = notation(f"Δ{name}", rf"\Delta {name}")
    dvars = [notation(f"Δ{v}", rf"\Delta {sp.latex(v)}") for v in f.variables]
    partials = _partials(f, name)
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
    where = _point(point, f.variables)
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
            [(_f_of(f, name), f.expr)]
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
    a = _partials(f)
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
    grad = [g.subs(point) for g in f.gradient]
    size = sp.sqrt(sum(g**2 for g in grad))
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
            f"At the point {_point(point, f.variables)} of f = {math_prose(f.expr)}",
            "the steepest descent direction and the rate of decrease per unit step",
            [(shown_vector(a), shown_vector(grad)), (notation("|∇f|", r"\left|\nabla f\right|"), size),
             (shown_vector(d), shown_vector([-eta * g for g in grad])), (dz, -eta * size**2, "≈")],
        ),
    ]
    return Derivation("Why gradient descent steps along −∇f", steps,
                      intro="Chapter 2: vectors, the inner product and the Cauchy–Schwarz inequality.")


def documents() -> dict[str, Derivation]:
    """One derivation per topic of chapter 2, on the book's examples (file stem → derivation).

    >>> sorted(documents())[:2]
    ['approximation-formula', 'gradient-descent']
    """
    return {
        "minimum-condition": minimum("(x-1)**2 + 2*(y+1)**2 + x*y").derivation,
        "lagrange-multipliers": lagrange("x + y", "x**2 + y**2 = 1").derivation,
        "approximation-formula": approximation("exp(x)*sin(y) + x**2", at=[0, 1]).derivation,
        "why-minus-gradient": steepest_descent(),
        "gradient-descent": book_gradient_descent(),
        "regression": book_regression().derivation,
    }
