"""Numerically stable forms for compiled code: ``log σ(z)`` without ``log 0``.

Cross-entropy takes ``log a`` and ``log(1 − a)`` of a sigmoid output. For
``|z|`` beyond about 37 the float ``σ(z)`` is exactly 0 or 1 and the logs are
infinite, although ``C`` itself is a perfectly ordinary number. Written as
``log σ(z) = −log(1 + e^{−z})`` and ``log(1 − σ(z)) = log σ(−z)`` they are
finite for every z (NumPy's ``logaddexp``). Likewise the categorical
cross-entropy's ``log a^L_j`` of a softmax output is computed as
``z^L_j − log Σ_k e^{z^L_k}`` (log-sum-exp).

>>> import numpy as np, sympy as sp
>>> a, z = sp.symbols("a z")
>>> cost = -sp.log(1 - a)
>>> stable_logs(cost, {a: sigmoid(z)})
-log_sigmoid(-z)
>>> float(-NUMPY_FUNCTIONS["log_sigmoid"](-800.0))
800.0
"""

from __future__ import annotations

from collections.abc import Mapping

import mpmath
import numpy as np
import sympy as sp

from ..functions.elementary import sigmoid
from ..functions.softmax import log_softmax, softmax


class log_sigmoid(sp.Function):
    """``log σ(z)``, computed without overflow (``−log(1 + e^{−z})``).

    >>> log_sigmoid(sp.Symbol("z")).diff(sp.Symbol("z"))
    1 - sigmoid(z)
    """

    def fdiff(self, argindex=1):
        return 1 - sigmoid(self.args[0])

    def _latex(self, printer):
        return r"\log\sigma\left(%s\right)" % printer._print(self.args[0])


NUMPY_FUNCTIONS = {"log_sigmoid": lambda z: -np.logaddexp(0.0, -z)}
MPMATH_FUNCTIONS = {"log_sigmoid": lambda z: -mpmath.log(1 + mpmath.exp(-z))}


def stable_logs(expr: sp.Expr, outputs: Mapping[sp.Expr, sp.Expr]) -> sp.Expr:
    """``log a`` and ``log(1 − a)`` rewritten as ``log σ(±z)`` for each sigmoid
    output ``a = σ(z)`` in ``outputs`` (``{a: σ(z)}``), and ``log a`` as
    ``log_softmax(j, z_1, …)`` for each softmax output ``a = softmax(j, z_1, …)``;
    also ``log σ(u)`` and ``log(1 − σ(u))`` written with the sigmoid itself.

    >>> a, z, u = sp.symbols("a z u")
    >>> stable_logs(sp.log(a) + sp.log(1 - sigmoid(u)), {a: sigmoid(z)})
    log_sigmoid(-u) + log_sigmoid(z)
    >>> stable_logs(-u * sp.log(a), {a: softmax(1, z, u)})
    -u*log_softmax(1, z, u)
    """
    def rewrite(arg):
        for a, value in outputs.items():
            if arg == a:
                arg = value
                break
            if isinstance(value, sigmoid) and sp.expand(arg - (1 - a)) == 0:
                return log_sigmoid(-value.args[0])
        if isinstance(arg, softmax):
            return log_softmax(*arg.args)
        if isinstance(arg, sigmoid):
            return log_sigmoid(arg.args[0])
        complement = 1 - arg
        if isinstance(complement, sigmoid):
            return log_sigmoid(-complement.args[0])
        return sp.log(arg)

    return expr.replace(sp.log, rewrite)
