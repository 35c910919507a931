"""Regression analysis, the book's optimisation example (section 2-12).

Fit ``y = p x + q`` to data ``(x_k, y_k)`` by least squares: minimise
``C_T = ½ Σ_k (y_k − (p x_k + q))²``. The normal equations
``∂C_T/∂p = ∂C_T/∂q = 0`` are derived by SymPy and solved exactly — data typed
as decimals are read as exact decimals (``45.5`` is 91/2), so p and q come
out as exact rationals. The same fit is then found by gradient descent.

Gradient descent on the raw data is slow: the Hessian of C_T,
``[[Σx², Σx], [Σx, n]]``, is badly conditioned when the x are far from 0
(the book's heights near 160 cm give a condition number near 2·10⁷, and the
number of steps grows with it). So the descent runs on standardised data
``u_k = (x_k − x̄)/s`` (s the standard deviation), where the model is
``y = a u + c`` and the Hessian is ``n·I``: with η = 1/(2n) every step halves
the distance to the minimum. Then ``p = a/s`` and ``q = c − a x̄/s``.

>>> fit = regression([1, 2, 3], [2, 4, 7])
>>> fit.p, fit.q
(5/2, -2/3)
>>> abs(fit.descent.p - 2.5) < 1e-8 and fit.descent.status
'converged'
"""

from __future__ import annotations

import csv
import json
import numbers
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from importlib import resources
from pathlib import Path

import sympy as sp

from ..documents.derivation import Derivation, Step
from ..errors import DataError, ExpressionError
from ..files import parse_json, read_text
from ..functions.parsing import NUMBER, parse_number
from ..notation.symbols import Partial
from .descent import DescentPath, eta_verdict, gradient_descent, positive_eta
from .multivariable import notation, prose_number

#: The gradient descent runs in floats: data beyond these sizes would make sums
#: of squares overflow (or tiny spreads vanish) although the exact fit is fine.
FLOAT_RANGE = (sp.Rational(1, 10**150), sp.Integer(10**150))

#: Data pairs listed in a derivation before the middle is left out.
SHOWN_PAIRS = 20

P, Q = sp.symbols("p q", real=True)
A, C = sp.symbols("a c", real=True)


def exact_decimal(text: str, where: str) -> sp.Rational:
    """A typed number as an exact rational: ``"45.5"`` → 91/2.

    It must also fit the floats of the gradient descent (see :data:`FLOAT_RANGE`).

    >>> exact_decimal("153.3", "x"), exact_decimal("-1/3", "x")
    (1533/10, -1/3)
    >>> exact_decimal("abc", "line 3, column 2")
    Traceback (most recent call last):
    ...
    symbackprop.errors.DataError: line 3, column 2: 'abc' is not a number
    >>> exact_decimal("1e400", "line 4, column x")
    Traceback (most recent call last):
    ...
    symbackprop.errors.DataError: line 4, column x: 1e400 is too large for the gradient descent, which computes in floats; use values from 1e-150 to 1e150 in size (rescale the unit)
    """
    cell = text.strip()
    if not cell:
        raise DataError(f"{where}: the cell is empty; every row needs an x and a y value")
    try:
        value = parse_number(cell)
    except ExpressionError as exc:
        raise DataError(f"{where}: {exc}") from None
    low, high = FLOAT_RANGE
    # low ≤ |p/q| ≤ high in integers: comparing SymPy rationals would dominate reading a large file.
    size = abs(int(value.p)) * low.q < low.p * int(value.q), abs(int(value.p)) * high.q > high.p * int(value.q)
    if value and any(size):
        size = "large" if size[1] else "small"
        raise DataError(
            f"{where}: {cell} is too {size} for the gradient descent, which computes in floats; "
            "use values from 1e-150 to 1e150 in size (rescale the unit)"
        )
    return value


def parse_numbers(text: str, what: str) -> list[sp.Rational]:
    """A comma-separated list typed on the command line, e.g. ``--x 1,2,3``.

    >>> parse_numbers("1, 2.5, 3", "--x")
    [1, 5/2, 3]
    """
    return [exact_decimal(cell, f"{what} value {n}") for n, cell in enumerate(text.split(","), start=1)]


def read_data(path: str | Path) -> tuple[list[sp.Rational], list[sp.Rational]]:
    """Pairs (x_k, y_k) from a CSV file (two columns, optional header) or a JSON file ``{"x": […], "y": […]}``.

    >>> import tempfile, os
    >>> with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as fh:
    ...     _ = fh.write("height,weight\\n153.3,45.5\\n164.9,\\n")
    >>> read_data(fh.name)
    Traceback (most recent call last):
    ...
    symbackprop.errors.DataError: line 3 of ...: the y cell is empty; every row needs an x and a y value
    >>> os.remove(fh.name)
    """
    path = Path(path)
    text = read_text(path, "data file", DataError)
    if path.suffix.lower() == ".json":
        return _from_json(text, str(path))
    return _from_csv(text, str(path))


def _from_json(text: str, name: str) -> tuple[list, list]:
    data = parse_json(text, name, "data file", DataError, parse_float=str, parse_int=str)
    if not isinstance(data, dict) or not isinstance(data.get("x"), list) or not isinstance(data.get("y"), list):
        raise DataError(f'{name} must hold {{"x": [numbers], "y": [numbers]}}')
    columns = []
    for key in ("x", "y"):
        columns.append(
            [exact_decimal(str(v), f"{name}: {key}[{n}]") if isinstance(v, str) else _not_number(name, key, n, v)
             for n, v in enumerate(data[key])]
        )
    return columns[0], columns[1]


def _not_number(name: str, key: str, n: int, value: object):
    raise DataError(f"{name}: {key}[{n}] = {value!r} is not a number")


def _from_csv(text: str, name: str) -> tuple[list, list]:
    xs, ys = [], []
    first = True
    for line, row in enumerate(csv.reader(text.splitlines()), start=1):
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != 2:
            raise DataError(f"line {line} of {name} has {len(row)} cells; the file needs two columns, x and y")
        # Only the first row may be a header such as "x,y" or "height,weight"; any later
        # row without numbers is bad data, reported with its line.
        header, first = first and not any(NUMBER.fullmatch(cell.strip()) for cell in row), False
        if header:
            continue
        for cell, column, kind in zip(row, (xs, ys), "xy"):
            where = f"line {line} of {name}"
            if not cell.strip():
                raise DataError(f"{where}: the {kind} cell is empty; every row needs an x and a y value")
            column.append(exact_decimal(cell, f"{where}, column {kind}"))
    return xs, ys


def book_data() -> tuple[list[sp.Rational], list[sp.Rational], str]:
    """The book's 7 students (height x in cm, weight y in kg) and where the data come from.

    >>> x, y, source = book_data()
    >>> len(x), x[0], y[0]
    (7, 1533/10, 91/2)
    """
    with resources.files("symbackprop").joinpath("data/book_regression_2_12.json").open(encoding="utf-8") as fh:
        raw = json.load(fh, parse_float=str, parse_int=str)
    x, y = _from_json(json.dumps({"x": raw["x"], "y": raw["y"]}), "the book's data")
    return x, y, raw["source"]


@dataclass
class DescentFit:
    """The fit found by gradient descent on standardised data, mapped back to p and q."""

    p: float
    q: float
    path: DescentPath
    mean: sp.Expr
    spread: sp.Expr

    @property
    def status(self) -> str:
        """How the descent ended (see :mod:`symbackprop.calculus.descent`)."""
        return self.path.status

    @property
    def steps(self) -> int:
        """How many steps were taken."""
        return len(self.path.points) - 1


@dataclass
class Regression:
    """The exact least-squares line, the cost it minimises, and the same fit by gradient descent."""

    x: list[sp.Expr]
    y: list[sp.Expr]
    p: sp.Expr
    q: sp.Expr
    cost: sp.Expr
    descent: DescentFit
    derivation: Derivation


def _exact(value: object, where: str) -> sp.Rational:
    if isinstance(value, sp.Rational):
        return value
    if isinstance(value, sp.Expr):
        # The fit is exact in rationals; an irrational datum (sqrt(2)) has no exact decimal.
        raise DataError(f"{where} = {value} is not a rational number; give decimals or fractions such as 1.414 or 7/5")
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return sp.Integer(int(value))
    if isinstance(value, numbers.Real):
        # The float's shortest decimal spelling, as if it had been typed: 0.1 is 1/10.
        return exact_decimal(repr(float(value)), where)
    return exact_decimal(str(value), where)


def _checked(x: Sequence, y: Sequence) -> tuple[list, list]:
    xs = [_exact(v, f"x value {n}") for n, v in enumerate(x, start=1)]
    ys = [_exact(v, f"y value {n}") for n, v in enumerate(y, start=1)]
    if len(xs) != len(ys):
        raise DataError(f"there are {len(xs)} x values but {len(ys)} y values; give one y per x")
    if len(xs) < 2:
        raise DataError(f"a line needs at least 2 data pairs, got {len(xs)}")
    if len(set(xs)) == 1:
        raise DataError(f"every x equals {xs[0]}, so no line y = p x + q is determined; vary x")
    return xs, ys


def regression(
    x: Sequence, y: Sequence, *, eta: object = None, steps: int = 10_000, source: str = ""
) -> Regression:
    """Least squares for ``y = p x + q``: exact p, q from the normal equations, then gradient descent.

    ``eta`` is the learning rate of the descent on the standardised cost
    (default 1/(2n); it converges for 0 < η < 2/n). The work grows linearly
    with the number of pairs: C_T and its normal equations depend on the data
    only through n, Σx, Σy, Σx², Σxy and Σy², summed once as exact fractions.

    >>> r = regression(["1", "2", "4"], ["1", "3", "3"])
    >>> r.p, r.q, r.descent.steps < 100
    (4/7, 1, True)
    """
    xs, ys = _checked(x, y)
    n = len(xs)
    rate = sp.Rational(1, 2 * n) if eta is None else positive_eta(eta)
    sums = _Sums.of(xs, ys)
    sx, sy, sxx, sxy, syy = (sp.Rational(v.numerator, v.denominator) for v in
                             (sums.x, sums.y, sums.xx, sums.xy, sums.yy))
    # C_T = ½ Σ_k (y_k − (p x_k + q))², expanded: its coefficients are the sums.
    cost = sp.Rational(1, 2) * (sxx * P**2 + 2 * sx * P * Q + n * Q**2 - 2 * sxy * P - 2 * sy * Q + syy)
    normal = [sp.expand(sp.diff(cost, v)) for v in (P, Q)]
    # ∂C_T/∂p = Σx² p + Σx q − Σxy = 0 and ∂C_T/∂q = Σx p + n q − Σy = 0, by Cramer's rule;
    # the determinant n Σx² − (Σx)² = n Σ(x_k − x̄)² is positive because the x differ.
    det = n * sxx - sx**2
    p = (n * sxy - sx * sy) / det
    q = (sy - p * sx) / n

    mean = sx / n
    spread = sp.sqrt(det) / n
    # On u_k = (x_k − x̄)/s: Σu = 0 and Σu² = n, so ½ Σ (y_k − (a u_k + c))² needs only Σuy.
    suy = (sxy - mean * sy) / spread
    standard_cost = sp.Rational(1, 2) * (n * A**2 + n * C**2 - 2 * suy * A - 2 * sy * C + syy)
    path = gradient_descent(sp.expand(standard_cost), [0, 0], rate, steps, tol=1e-11)
    a, c = path.final
    fit = DescentFit(a / float(spread), c - a * float(mean / spread), path, mean, spread)

    # The Hessian of C_T is [[Σx², Σx], [Σx, n]]; κ = λ_max/λ_min = λ_max²/det, since λ_min = det/λ_max:
    # the small eigenvalue as a difference of two nearly equal numbers would lose every digit.
    high = (sxx + n + sp.sqrt((sxx + n) ** 2 - 4 * det)) / 2
    kappa = high**2 / det
    # Steps for the best fixed η on raw data to shrink the error by 1e-12: ln(1e-12)/ln((κ−1)/(κ+1)),
    # written ln(10¹²)/(2 artanh(1/κ)) and at least one step. Not in floats: for x near 1e-150, κ passes
    # 10³⁰⁰ and (κ−1)/(κ+1) rounds to 1.
    raw_steps = max(sp.Integer(1), sp.N(sp.log(10**12) / (2 * sp.atanh(1 / sp.N(kappa, 30))), 15))
    derivation = _derivation(xs, ys, cost, normal, p, q, fit, rate, sp.N(kappa, 15), raw_steps, source)
    return Regression(xs, ys, p, q, cost, fit, derivation)


@dataclass(frozen=True)
class _Sums:
    """n, Σx, Σy, Σx², Σxy, Σy² of the data, exact: Python's Fraction, one pass."""

    n: int
    x: Fraction
    y: Fraction
    xx: Fraction
    xy: Fraction
    yy: Fraction

    @classmethod
    def of(cls, xs: Sequence[sp.Rational], ys: Sequence[sp.Rational]) -> _Sums:
        # Each sum is kept as integer numerators per denominator, and made one Fraction at the
        # end: data typed as decimals have few denominators (10, 100, …), so the pass is integer
        # additions, without a gcd per datum as Fraction (or SymPy) addition would take.
        sums: list[dict[int, int]] = [defaultdict(int) for _ in range(5)]
        sx, sy, sxx, sxy, syy = sums
        for xk, yk in zip(xs, ys):
            a, b, c, d = int(xk.p), int(xk.q), int(yk.p), int(yk.q)
            sx[b] += a
            sy[d] += c
            sxx[b * b] += a * a
            sxy[b * d] += a * c
            syy[d * d] += c * c
        totals = [sum((Fraction(n, q) for q, n in s.items()), Fraction(0)) for s in sums]
        return cls(len(xs), *totals)


def _derivation(xs, ys, cost, normal, p, q, fit: DescentFit, rate, kappa, raw_steps, source) -> Derivation:
    k, n = sp.Symbol("k", integer=True), sp.Symbol("n", integer=True, positive=True)
    X, Y = sp.IndexedBase("x"), sp.IndexedBase("y")
    CT = sp.Symbol("C_T")
    general = sp.Rational(1, 2) * sp.Sum((Y[k] - (P * X[k] + Q)) ** 2, (k, 1, n))
    dp, dq = Partial(CT, P), Partial(CT, Q)
    xbar, s = notation("x̄", r"\bar{x}"), sp.Symbol("s")
    u = sp.IndexedBase("u")
    error_p, error_q = abs(fit.p - float(p)), abs(fit.q - float(q))
    steps = [
        Step(
            "The model and the data",
            f"fit the line y = p x + q to {len(xs)} pairs (x_k, y_k), read as exact numbers"
            + (f"; the first {SHOWN_PAIRS - 5} and the last 5 are shown" if len(xs) > SHOWN_PAIRS else ""),
            [(sp.Tuple(X[i], Y[i]), sp.Tuple(xs[i - 1], ys[i - 1])) for i in _shown(len(xs))],
        ),
        Step(
            "The cost",
            "half the sum of squared errors over all data (least squares)",
            [(CT, general), (CT, sp.expand(cost))],
        ),
        Step(
            "The normal equations",
            "C_T is smallest where both partial derivatives vanish (the minimum condition)",
            [(dp, sp.diff(general, P)), (dq, sp.diff(general, Q))]
            + [(eq, sp.Integer(0)) for eq in normal],
        ),
        Step(
            "Solved exactly",
            "two linear equations in p and q; the Hessian of C_T is positive definite, so this is "
            "the minimum",
            [(P, p), (Q, q), (P, sp.Float(p, 12)), (Q, sp.Float(q, 12))],
        ),
        Step(
            "Gradient descent, standardised",
            f"on the raw data the Hessian of C_T has condition number {prose_number(kappa)}, so even the best "
            f"fixed η would need about {prose_number(raw_steps, 2)} step{'' if raw_steps == 1 else 's'}; on u_k = (x_k − mean)/s the model "
            f"y = a u + c has Hessian n·I, and the descent converges when 0 < η < 2/n (here η = {rate})",
            [(xbar, fit.mean), (s, fit.spread), (u[k], (X[k] - xbar) / s),
             (sp.Tuple(A, C), sp.Tuple(*[sp.Float(v, 12) for v in fit.path.final]))],
            note=f"{fit.status}: {fit.path.reason}" + (f"; η = {rate} is {v}" if (v := eta_verdict(fit.path)) else ""),
        ),
        Step(
            "Back to p and q",
            "undo the standardisation, p = a/s and q = c − a·mean/s: "
            + ("the descent agrees with the exact solution" if fit.status == "converged"
               else f"the descent ended {fit.status}, so it need not agree with the exact solution"),
            [(P, sp.Float(fit.p, 12), "≈"), (Q, sp.Float(fit.q, 12), "≈")],
            note=f"|p_GD − p| = {prose_number(error_p, 2)}, |q_GD − q| = {prose_number(error_q, 2)}",
        ),
    ]
    intro = "Chapter 2: regression analysis, section 2-12." + (f" Source: {source}." if source else "")
    return Derivation("Regression by least squares: y = p x + q", steps, intro=intro)


def _shown(n: int) -> list[int]:
    if n <= SHOWN_PAIRS:
        return list(range(1, n + 1))
    return list(range(1, SHOWN_PAIRS - 4)) + list(range(n - 4, n + 1))


def book_regression() -> Regression:
    """The book's example: 7 students' heights and weights.

    >>> r = book_regression()
    >>> r.p, r.q
    (62417/152234, -4588863/380585)
    """
    x, y, source = book_data()
    return regression(x, y, source=source)
