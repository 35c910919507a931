"""Growth laws: exponential, power or straight-line laws fitted to the figures
of a sweep by least squares."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import NetworkSpecError


@dataclass(frozen=True)
class GrowthLaw:
    """A law fitted to one route's figure over a sweep, by least squares.

    ``kind`` is ``exponential`` (``y ∝ rate^v``), ``power`` (``y ∝ v^rate``),
    both fitted in log space, or ``linear`` (``y = intercept + rate·v``), in
    the variable ``variable``. ``r_squared`` is None for fewer than three
    points (two points fit any law exactly).
    """

    route: str
    figure: str
    kind: str
    variable: str
    rate: float
    intercept: float
    r_squared: float | None
    points: int

    def predict(self, v: float) -> float:
        """The law's value at ``v`` (``inf`` past the range of floats).

        >>> round(fit_growth("direct", "tree_ops", "exponential", "depth", [(1, 2.0), (2, 4.0)]).predict(10), 6)
        1024.0
        """
        if self.kind == "linear":
            return self.intercept + self.rate * v
        exponent = self.intercept + (math.log(self.rate) * v if self.kind == "exponential" else self.rate * math.log(v))
        return math.exp(exponent) if exponent < 700 else math.inf

    def describe(self) -> str:
        """``∝ 4.1^depth``, ``∝ width^1.80`` or ``≈ 107 + 4.75·parameters``.

        >>> fit_growth("array", "tree_ops", "linear", "parameters", [(9, 46), (17, 46.0)]).describe()
        '≈ 46 + 0·parameters'
        """
        if self.kind == "exponential":
            return f"∝ {self.rate:.2f}^{self.variable}"
        if self.kind == "power":
            return f"∝ {self.variable}^{self.rate:.2f}"
        # A slope lost in rounding noise (the array form's constant size) reads 0.
        rate = 0.0 if abs(self.rate) < 1e-12 * abs(self.intercept) else self.rate
        sign = "+" if rate >= 0 else "−"
        return f"≈ {self.intercept:.3g} {sign} {abs(rate):.3g}·{self.variable}".replace("-", "−")


#: The kinds of law :func:`fit_growth` fits.
LAW_KINDS = ("exponential", "power", "linear")


def fit_growth(route: str, figure: str, kind: str, variable: str, points: Sequence[tuple[float, float]]) -> GrowthLaw | None:
    """Fit a law of ``kind`` to ``(v, y)`` points; None with fewer than two
    distinct v. Exponential and power laws are fitted in log space (and
    need positive values), so that every point weighs alike.

    >>> law = fit_growth("direct", "ops", "exponential", "depth", [(1, 3.0), (2, 12.0), (3, 48.0)])
    >>> round(law.rate, 6), round(law.r_squared, 6)
    (4.0, 1.0)
    >>> round(fit_growth("delta", "ops", "power", "width", [(2, 8.0), (4, 32.0)]).rate, 6)
    2.0
    >>> fit_growth("delta", "ops", "linear", "depth", [(1, 164), (2, 221), (3, 278)]).describe()
    '≈ 107 + 57·depth'
    """
    if kind not in LAW_KINDS:
        raise NetworkSpecError(f"unknown kind of law {kind!r}; use {', '.join(LAW_KINDS)}")
    logs = kind != "linear"
    usable = [(v, y) for v, y in points if y is not None and (not logs or (y > 0 and v > 0))]
    if len({v for v, _ in usable}) < 2:
        return None
    vs = np.array([math.log(v) if kind == "power" else v for v, _ in usable], dtype=float)
    ys = np.array([math.log(y) if logs else y for _, y in usable], dtype=float)
    slope, intercept = np.polyfit(vs, ys, 1)
    residual = float(np.sum((ys - (slope * vs + intercept)) ** 2))
    total = float(np.sum((ys - ys.mean()) ** 2))
    r_squared = (1.0 - residual / total if total > 0 else 1.0) if len(usable) > 2 else None
    rate = math.exp(slope) if kind == "exponential" else float(slope)
    return GrowthLaw(route, figure, kind, variable, rate, float(intercept), r_squared, len(usable))


__all__ = ["GrowthLaw", "fit_growth"]
