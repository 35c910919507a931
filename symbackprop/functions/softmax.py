"""The softmax ``a_j = e^{z_j} / Σ_k e^{z_k}``: a vector activation, each output
reading every weighted input of its layer.

Like the sigmoid, it is a SymPy function whose value is an *atom* and whose
derivative is written in its outputs: ``∂a_j/∂z_k = a_j(δ_jk − a_k)``
(``δ_jk`` the Kronecker delta), so the routes stay polynomial in the atoms
``a_j``. Numerically it is computed from ``z_j − max_k z_k``, and its log
as ``z_j − log Σ_k e^{z_k}`` (log-sum-exp), both finite for every ``z``.

>>> import sympy as sp
>>> z = sp.symbols("z1:4")
>>> softmax(1, *z).diff(z[0]), softmax(1, *z).diff(z[1])
((1 - softmax(1, z1, z2, z3))*softmax(1, z1, z2, z3), -softmax(1, z1, z2, z3)*softmax(2, z1, z2, z3))
>>> softmax(2, 0, 0)
1/2
"""

from __future__ import annotations

import mpmath
import numpy as np
import sympy as sp

from ..errors import ArgumentError
from .activations import Activation


class softmax(sp.Function):
    """``softmax(j, z_1, …, z_n) = e^{z_j} / Σ_k e^{z_k}``, the j-th output of a
    softmax over ``z_1…z_n``; its derivative by ``z_k`` is ``a_j(δ_jk − a_k)``.

    >>> import sympy as sp
    >>> z = sp.symbols("z1:3")
    >>> softmax(1, *z).rewrite(sp.exp)
    exp(z1)/(exp(z1) + exp(z2))
    """

    @classmethod
    def eval(cls, j, *z):
        if not z or not (j.is_Integer and 1 <= j <= len(z)):
            raise ArgumentError(f"softmax(j, z_1, …, z_n) needs an index j in 1..n; got {j} of {len(z)}")
        if all(v.is_number for v in z):
            return sp.exp(z[int(j) - 1]) / sp.Add(*(sp.exp(v) for v in z))
        return None

    def fdiff(self, argindex=1):
        if argindex == 1:  # the index j is a constant
            return sp.S.Zero
        k = argindex - 1
        j, *z = self.args
        return self * ((1 if int(j) == k else 0) - softmax(k, *z))

    def _eval_rewrite_as_exp(self, j, *z, **kwargs):
        return sp.exp(z[int(j) - 1]) / sp.Add(*(sp.exp(v) for v in z))

    def _eval_evalf(self, prec):
        return self.rewrite(sp.exp)._eval_evalf(prec)

    def _latex(self, printer):
        return r"\operatorname{softmax}_{%s}\left(%s\right)" % (
            printer._print(self.args[0]), ", ".join(printer._print(v) for v in self.args[1:])
        )


class log_softmax(sp.Function):
    """``log softmax(j, z_1, …, z_n) = z_j − log Σ_k e^{z_k}``, for compiled code
    (its derivative by ``z_k`` is ``δ_jk − a_k``).

    >>> import sympy as sp
    >>> z = sp.symbols("z1:3")
    >>> log_softmax(2, *z).diff(z[0])
    -softmax(1, z1, z2)
    """

    def fdiff(self, argindex=1):
        if argindex == 1:
            return sp.S.Zero
        j, *z = self.args
        return (1 if int(j) == argindex - 1 else 0) - softmax(argindex - 1, *z)

    def _latex(self, printer):
        return r"\log\operatorname{softmax}_{%s}\left(%s\right)" % (
            printer._print(self.args[0]), ", ".join(printer._print(v) for v in self.args[1:])
        )


def _np_log_softmax(j, *z):
    z = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in z))
    top = np.maximum.reduce(z)
    # log Σ_k e^{z_k} = m + log Σ_k e^{z_k − m}: no e^{1000} overflows
    return z[j - 1] - top - np.log(sum(np.exp(v - top) for v in z))


def _np_softmax(j, *z):
    return np.exp(_np_log_softmax(j, *z))


def _mp_softmax(j, *z):
    return mpmath.exp(z[j - 1]) / mpmath.fsum(mpmath.exp(v) for v in z)


def _mp_log_softmax(j, *z):
    return z[j - 1] - mpmath.log(mpmath.fsum(mpmath.exp(v) for v in z))


#: The softmax as an output layer's activation: what compiled code evaluates
#: it with, and its bounds (each output in (0, 1), all of them summing to 1).
SOFTMAX = Activation(
    "softmax",
    softmax,
    numpy_functions={"softmax": _np_softmax, "log_softmax": _np_log_softmax},
    mpmath_functions={"softmax": _mp_softmax, "log_softmax": _mp_log_softmax},
    bounds=(0.0, 1.0),
)
