"""Exact solving within a time budget, and Newton's method when the budget runs out.

The minimum condition (∇f = 0) and the Lagrange system are solved exactly by
SymPy, which can run for minutes on a short function. The exact solution gets
``seconds`` (:data:`SOLVE_SECONDS` unless the caller says otherwise); past
that, the answer is a :class:`~symbackprop.errors.NoSolutionError` that says
what Newton's method finds from :data:`NUMERIC_STARTS`.

>>> x, y = sp.symbols("x y", real=True)
>>> within(budget(1), lambda: real_solutions([x + y, x - y - 2], (x, y), "the system"))
(True, [{x: 1, y: -1}])
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

import sympy as sp

from ..errors import DataError, NoSolutionError

#: Seconds the exact solution (solving ∇f = 0 or the Lagrange system, and classifying) may take.
SOLVE_SECONDS = 10.0
#: A second chance for the alarm, in case the first one fell where Python drops exceptions (a __del__).
_RETRY_SECONDS = 1.0

T = TypeVar("T")


class _OutOfTime(BaseException):
    # A BaseException, so that no `except Exception` inside SymPy can swallow it.
    pass


def within(seconds: float, compute: Callable[[], T]) -> tuple[bool, T | None]:
    """``(True, compute())``, or ``(False, None)`` when it is still running after ``seconds``.

    SymPy's solvers are pure Python, so a SIGALRM raised into them stops them
    at the next bytecode: no cost when they are fast, where a worker process
    would add the start-up of Python and SymPy (about a second) to every
    call. Python delivers signals to the main thread only; elsewhere (or
    without SIGALRM, on Windows) ``compute`` runs without a limit.

    >>> within(1, lambda: 6 * 7)
    (True, 42)
    >>> within(0.01, lambda: sum(1 for _ in iter(int, 1)))
    (False, None)
    """
    usable = (
        hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGALRM) is not None  # a handler set outside Python cannot be put back
    )
    if not usable:
        return True, compute()
    # The alarm may fall on any line from here on. It raises only while
    # `inside`, which is set and cleared inside the try below, so the exception
    # always starts where the `except` catches it; a caller's alarm that falls
    # before the try is not lost: it is re-armed, already due, at the end.
    inside = False

    def stop(signum, frame):
        if inside:
            signal.setitimer(signal.ITIMER_REAL, _RETRY_SECONDS)
            raise _OutOfTime

    outer_delay, outer_interval = signal.getitimer(signal.ITIMER_REAL)
    started = time.monotonic()
    previous = signal.signal(signal.SIGALRM, stop)
    try:
        try:
            inside = True
            signal.setitimer(signal.ITIMER_REAL, seconds)
            return True, compute()
        finally:
            inside = False
    except _OutOfTime:
        return False, None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer_delay:  # a caller's own alarm keeps its time
            remaining = max(outer_delay - (time.monotonic() - started), 1e-3)
            signal.setitimer(signal.ITIMER_REAL, remaining, outer_interval)


#: Seconds the exact values of a function and its derivatives at one point may take.
POINT_SECONDS = 10.0


def values_within(what: str, compute: Callable[[], T], seconds: float | None = None) -> T:
    """``compute()``, or a :class:`~symbackprop.errors.DataError` when it is still
    running after ``seconds`` (:data:`POINT_SECONDS` unless given): exact values at a far point (``exp(exp(x))`` at
    ``x = 10^23``) have more digits than any computer holds, and SymPy would
    try to compute them for ever.

    >>> values_within("f at x = 1", lambda: 6 * 7)
    42
    >>> values_within("f at x = 1", lambda: sum(1 for _ in iter(int, 1)), seconds=0.01)
    Traceback (most recent call last):
    ...
    symbackprop.errors.DataError: f at x = 1 cannot be computed exactly within 0.01 s: its numbers are too large to write out; choose a point nearer 0
    """
    seconds = POINT_SECONDS if seconds is None else seconds
    try:
        done, value = within(seconds, compute)
    except OverflowError:  # mpmath's integers may outgrow Python's before the time is up
        done = False
    if not done:
        raise DataError(
            f"{what} cannot be computed exactly within {seconds:g} s: its numbers are too large to write out; "
            "choose a point nearer 0"
        )
    return value


def budget(seconds: float) -> float:
    """The time budget for an exact solution, checked: a positive, finite number of seconds.

    >>> budget(0)
    Traceback (most recent call last):
    ...
    symbackprop.errors.DataError: the time for the exact solution must be a positive number of seconds, got 0 (--seconds)
    """
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 < seconds < float("inf"):
        raise DataError(f"the time for the exact solution must be a positive number of seconds, got {seconds!r} (--seconds)")
    return float(seconds)


def real_solutions(equations: list[sp.Expr], unknowns: Sequence[sp.Symbol], what: str) -> list[dict]:
    """The distinct real solutions of ``equations``, sorted; ``what`` names the system when SymPy cannot solve it.

    A solution that leaves an unknown out leaves it free: a whole line (plane, …) of solutions.

    >>> x, y = sp.symbols("x y", real=True)
    >>> real_solutions([x**2 - 1], (x,), "x² = 1"), real_solutions([x**2 + 1], (x,), "x² = −1")
    ([{x: -1}, {x: 1}], [])
    >>> real_solutions([x + y], (x, y), "x + y = 0")
    [{x: -y}]
    """
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


def numeric_roots(
    equations: list[sp.Expr], unknowns: Sequence[sp.Symbol], starts: dict[sp.Symbol, sp.Expr] | None = None
) -> list[dict]:
    """Distinct real roots found by Newton's method (SymPy's nsolve) from :data:`NUMERIC_STARTS`.

    ``starts`` fixes the start of some unknowns, the same from every start.

    >>> x = sp.Symbol("x", real=True)
    >>> [rounded(root[x]) for root in numeric_roots([x**2 - 2], (x,))]
    [1.41421, -1.41421]
    """
    found: list[dict] = []
    fixed = starts or {}

    def search() -> bool:
        for c in NUMERIC_STARTS:
            start = [fixed.get(u, c) for u in unknowns]
            try:
                root = sp.nsolve(equations, list(unknowns), start, dict=True)[0]
            except (ValueError, ArithmeticError, TypeError):  # no convergence, a singular Jacobian
                continue
            if all(v.is_real for v in root.values()) and not any(
                all(abs(root[u] - other[u]) < 1e-8 for u in unknowns) for other in found
            ):
                found.append(root)
        return True

    within(NUMERIC_SECONDS, search)
    return found


def rounded(value: sp.Expr) -> sp.Expr:
    """A numeric answer as shown: six digits, and rounding noise around 0 as 0.

    >>> rounded(sp.Float("0.8547514")), rounded(sp.Float("1e-15"))
    (0.854751, 0)
    """
    return sp.Integer(0) if abs(value) < 1e-12 else sp.Float(value, 6)


def out_of_time(what: str, seconds: float, numeric: list[str], hint: str) -> NoSolutionError:
    """The answer when the exact solution of ``what`` took longer than ``seconds``.

    It says what Newton's method found (``numeric``, one text per root) and
    ends with ``hint``, what to try next.

    >>> print(out_of_time("x = 0", 1, [], "try again"))
    could not solve x = 0 exactly within 1 s (--seconds allows more); Newton's method found no solution either from the starts 0, 1, -1, 1/2, 2; try again
    """
    found = (
        f"numerically (Newton's method from {', '.join(map(str, NUMERIC_STARTS))} in each coordinate; "
        "approximate): " + "; ".join(numeric)
        if numeric
        else f"Newton's method found no solution either from the starts {', '.join(map(str, NUMERIC_STARTS))}"
    )
    return NoSolutionError(f"could not solve {what} exactly within {seconds:g} s (--seconds allows more); {found}; {hint}")
