"""The δ route checked at random points, for a network too large to prove.

The exact identity needs the direct route, which for 784-100-10 would be
about 10¹¹ operations. What is checked instead, at a random point (fan-in
scaled weights, inputs and targets in (0, 1)), for a sample of parameters:

* ``50-digit numeric``: the array form of the δ route (derived with
  symbolic widths) evaluated in high-precision arithmetic (70 working
  digits), against the central difference of ``C_T`` itself at the same
  precision with step 10⁻²⁰, whose truncation error is about 10⁻⁴⁰ and
  rounding error 10⁻⁵⁰: they must agree to 30 digits;
* ``finite differences``: the array form compiled to NumPy, against the
  central difference of the compiled ``C_T`` in floats; a gap that the
  difference's own error (the change from step h to 2h) can explain is
  *inconclusive*, not a disagreement.

Neither needs the network built as SymPy expressions, so the size of the
network costs only arithmetic.

>>> report = sampled_check([3, 2, 2], samples=3, seed=1)
>>> report.ok, sorted({c.method for c in report.checks})
(True, ['50-digit numeric', 'finite differences'])
"""

from __future__ import annotations

from collections.abc import Sequence

import mpmath
import numpy as np
import sympy as sp

from ..engine.network import Network
from ..notation.symbols import index_text
from ..numeric.array_form import ONES, ArrayDerivation, derive_arrays
from ..numeric.arrays import compile_arrays
from ..numeric.scalar import lambdify_modules
from .verify import FINITE, NUMERIC, Check, VerificationReport

#: Working digits of the high-precision check, and its difference step.
DIGITS = 70
STEP = mpmath.mpf(10) ** -20
#: Agreement: relative differences below these count as equal.
NUMERIC_TOLERANCE = 1e-30
FLOAT_TOLERANCE = 1e-5


class _Evaluator:
    """The derivation's steps evaluated on object arrays of mpmath numbers."""

    def __init__(self, derivation: ArrayDerivation, small: Network) -> None:
        self.derivation = derivation
        self.modules = lambdify_modules("mpmath", small)
        self._entrywise: dict[sp.Expr, tuple] = {}

    def matrix(self, expr: sp.Basic, env: dict) -> np.ndarray:
        if isinstance(expr, sp.MatrixSymbol):
            return env[expr.name]
        if isinstance(expr, sp.Transpose):
            return self.matrix(expr.arg, env).T
        if isinstance(expr, sp.MatAdd):
            return sum(self.matrix(a, env) for a in expr.args)
        if isinstance(expr, sp.MatMul):
            scalars = [f for f in expr.args if not f.is_Matrix]
            factors = [f for f in expr.args if f.is_Matrix]
            scale = self.entrywise(sp.Mul(*scalars), env) if scalars else 1
            if factors[-1] == ONES:  # b u: the bias copied to every example
                return scale * self.matrix(sp.MatMul(*factors[:-1]), env) * np.ones((1, env["m"]), dtype=object)
            if factors[-1] == ONES.T:  # δ uᵀ: summed over the examples
                inner = self.matrix(sp.MatMul(*factors[:-1]), env)
                return scale * inner.sum(axis=1, keepdims=True)
            out = self.matrix(factors[0], env)
            for f in factors[1:]:
                out = out @ self.matrix(f, env)
            return scale * out
        raise TypeError(f"no 50-digit evaluation for {expr!r}")

    def entrywise(self, expr: sp.Expr, env: dict):
        if expr not in self._entrywise:
            names = sorted(expr.free_symbols, key=lambda s: s.name)
            f = sp.lambdify(names, expr, modules=self.modules)
            self._entrywise[expr] = (names, np.frompyfunc(f, len(names), 1) if names else f)
        names, f = self._entrywise[expr]
        return f(*(env[s.name] for s in names)) if names else mpmath.mpf(f())

    def value(self, expr: sp.Basic, env: dict):
        return self.matrix(expr, env) if getattr(expr, "is_Matrix", False) else self.entrywise(expr, env)

    def forward(self, env: dict) -> None:
        for name, value in self.derivation.forward:
            env[name.name] = self.value(value, env)

    def cost(self, env: dict):
        self.forward(env)
        total = np.sum(self.entrywise(self.derivation.cost_entry, env))
        for entry in self.derivation.decay_entries:
            total += env["m"] * np.sum(self.entrywise(entry, env))
        return total

    def gradients(self, env: dict) -> dict[str, np.ndarray]:
        self.forward(env)
        for layer in reversed(self.derivation.layers):
            value = self.derivation.deltas[layer.delta]
            for product in value.atoms(sp.Symbol) & set(self.derivation.products):
                env[product.name] = self.matrix(self.derivation.products[product], env)
            env[layer.delta.name] = self.entrywise(value, env)
        return {name: self.matrix(g, env) for name, g in self.derivation.gradients.items()}


def _book_name(name: str, row: int, col: int) -> str:
    indices = (row + 1, col + 1) if name[0] == "W" else (row + 1,)
    return f"{name[0].lower()}^{name[1:]}_{index_text(indices)}"


def sampled_check(
    sizes: Sequence[int],
    activation="sigmoid",
    cost="squared",
    weight_decay: object = 0,
    *,
    samples: int = 4,
    batch: int = 2,
    seed: int = 0,
) -> VerificationReport:
    """Check ``samples`` parameters of each ``W^l`` and ``b^l`` (always ``w^l_11``
    and ``b^l_1`` among them) at one random point, both ways described above.

    >>> sampled_check([4, 3, 2], "tanh", samples=1).summary().startswith("all 8 checks agree")
    True
    """
    sizes = list(sizes)
    small = Network([1] * len(sizes), activation=activation, cost=cost, weight_decay=weight_decay)
    derivation = derive_arrays(small)
    rng = np.random.default_rng(seed)
    params = {}
    for l in range(2, len(sizes) + 1):
        params[f"W{l}"] = rng.standard_normal((sizes[l - 1], sizes[l - 2])) / np.sqrt(sizes[l - 2])
        params[f"b{l}"] = rng.standard_normal((sizes[l - 1], 1)) / 2
    a1 = rng.uniform(0, 1, (sizes[0], batch))
    t = rng.uniform(0.05, 0.95, (sizes[-1], batch))
    chosen = []
    for name, array in params.items():
        cells = {(0, 0)} | {tuple(int(i) for i in rng.integers(0, array.shape)) for _ in range(samples - 1)}
        chosen += [(name, cell) for cell in sorted(cells)]

    report = VerificationReport(
        f"∂C_T/∂p at a random point of the {'-'.join(map(str, sizes))} network: δ route (array form) "
        "vs the central difference of C_T"
    )
    with mpmath.workdps(DIGITS):
        def high(array: np.ndarray) -> np.ndarray:
            return np.frompyfunc(lambda v: mpmath.mpf(float(v)), 1, 1)(array)

        evaluator = _Evaluator(derivation, small)
        base = {"a^1": high(a1), "t": high(t), "m": batch}
        base.update({f"{n[0]}^{n[1:]}": high(v) for n, v in params.items()})
        gradient = evaluator.gradients(dict(base))
        for name, (r, c) in chosen:
            key = f"{name[0]}^{name[1:]}"
            values = []
            for sign in (1, -1):
                env = dict(base)
                env[key] = base[key].copy()
                env[key][r, c] += sign * STEP
                values.append(evaluator.cost(env))
            difference = (values[0] - values[1]) / (2 * STEP)
            derived = gradient[name][r, c]
            gap = abs(derived - difference) / max(abs(derived), mpmath.mpf(10) ** -10)
            report.checks.append(Check(sp.Symbol(_book_name(name, r, c)), NUMERIC,
                                       bool(gap <= NUMERIC_TOLERANCE), float(gap)))

    compiled = compile_arrays(derivation)
    order = [params[f"{kind}{l}"] for l in range(2, len(sizes) + 1) for kind in "Wb"]
    names = [f"{kind}{l}" for l in range(2, len(sizes) + 1) for kind in "Wb"]
    floats = dict(zip(names[::1], compiled.gradient(a1, t, *order)[1:]))

    def central(name: str, r: int, c: int, h: float) -> float:
        values = []
        for sign in (1, -1):
            shifted = [p.copy() for p in order]
            shifted[names.index(name)][r, c] += sign * h
            values.append(compiled.gradient(a1, t, *shifted)[0])
        return (values[0] - values[1]) / (2 * h)

    for name, (r, c) in chosen:
        h = 1e-5 * max(1.0, abs(params[name][r, c]))
        difference = central(name, r, c, h)
        own_error = abs(difference - central(name, r, c, 2 * h))
        derived = floats[name][r, c]
        gap = abs(derived - difference)
        agrees = True if gap <= FLOAT_TOLERANCE * abs(derived) else (None if gap <= 2 * own_error else False)
        report.checks.append(Check(sp.Symbol(_book_name(name, r, c)), FINITE, agrees,
                                   float(gap / max(abs(derived), 1e-300))))
    return report



