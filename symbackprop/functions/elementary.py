"""The book's activation functions as SymPy functions: σ, softsign and ReLU; and |u| of a real u.

Each is a function whose value is an *atom* of the algebra and whose
derivative is written, as in the book, in terms of its output
(``σ' = σ(1 − σ)``), so that identities between gradients stay polynomial
in those atoms. The safe parser knows ``sigmoid`` by this class, and the
activations are built from them.
"""

from __future__ import annotations

from collections.abc import Callable

import sympy as sp


class sigmoid(sp.Function):
    """The sigmoid ``σ(z) = 1/(1 + e^{−z})`` with ``σ' = σ(1 − σ)``.

    >>> import sympy as sp
    >>> sigmoid(sp.Symbol("z")).diff(sp.Symbol("z"))
    (1 - sigmoid(z))*sigmoid(z)
    >>> sigmoid(0)
    1/2
    """

    @classmethod
    def eval(cls, arg):
        if arg.is_zero:
            return sp.S.Half

    def fdiff(self, argindex=1):
        return self * (1 - self)

    def _eval_rewrite_as_exp(self, arg, **kwargs):
        return 1 / (1 + sp.exp(-arg))

    def _eval_evalf(self, prec):
        return self.rewrite(sp.exp)._eval_evalf(prec)

    def _latex(self, printer):
        return r"\sigma\left(%s\right)" % printer._print(self.args[0])


class softsign(sp.Function):
    """The softsign ``z/(1 + |z|)``, whose derivative is ``(1 − |a|)²``.

    >>> import sympy as sp
    >>> softsign(sp.Symbol("z")).diff(sp.Symbol("z"))
    (1 - Abs(softsign(z)))**2
    """

    @classmethod
    def eval(cls, arg):
        if arg.is_zero:
            return sp.S.Zero

    def fdiff(self, argindex=1):
        # 1/(1+|z|)² = (1 − |z|/(1+|z|))² = (1 − |a|)²
        return (1 - sp.Abs(self)) ** 2

    def _eval_rewrite_as_Abs(self, arg, **kwargs):
        return arg / (1 + sp.Abs(arg))

    def _eval_evalf(self, prec):
        return self.rewrite(sp.Abs)._eval_evalf(prec)

    def _latex(self, printer):
        return r"\operatorname{softsign}\left(%s\right)" % printer._print(self.args[0])


class relu(sp.Function):
    """ReLU ``max(0, z)``; its derivative is the step ``u(z)`` with ``u(0) = 0``.

    >>> import sympy as sp
    >>> relu(sp.Symbol("z")).diff(sp.Symbol("z"))
    Heaviside(z, 0)
    """

    @classmethod
    def eval(cls, arg):
        if arg.is_number and arg.is_real:
            return sp.Max(arg, 0)

    def fdiff(self, argindex=1):
        # The convention at the kink: ReLU'(0) = 0, as in the numeric code.
        return sp.Heaviside(self.args[0], 0)

    def _eval_rewrite_as_Max(self, arg, **kwargs):
        return sp.Max(arg, 0)

    def _eval_evalf(self, prec):
        return self.rewrite(sp.Max)._eval_evalf(prec)

    def _latex(self, printer):
        return r"\operatorname{ReLU}\left(%s\right)" % printer._print(self.args[0])


class RealAbs(sp.Abs):
    """``|u|`` of a real ``u``: what ``abs`` means in an activation or a cost.

    The network's quantities are real, but their symbols do not say so, and
    SymPy differentiates ``|u|`` of a possibly complex ``u`` through ``re`` and
    ``im``. For a real ``u``, ``d|u|/du = sign(u)``; at ``u = 0``, the kink,
    ``sign(0) = 0`` is taken (a subgradient), as ``ReLU'(0) = 0`` is.

    >>> import sympy as sp
    >>> u = sp.Symbol("u")
    >>> RealAbs(u).diff(u), RealAbs(-u).diff(u), RealAbs(sp.Integer(-3))
    (sign(u), sign(u), 3)
    """

    @classmethod
    def eval(cls, arg):
        # Abs.eval would treat arg as complex (|e^u| = e^{re u}), and turning |a − t| into
        # |t − a| where a is later replaced would give the two routes different atoms.
        if arg.is_number:
            return sp.Abs(arg)

    def _eval_derivative(self, x):
        return sp.diff(self.args[0], x) * sp.sign(self.args[0])

    # SymPy's printers ignore a parent's method for a renamed subclass; on paper it is |u|.
    def _latex(self, printer):
        return printer._print_Abs(self)

    def _book_text(self, printer):
        return printer._print_Abs(self)


#: ``abs`` in activations and costs, whose arguments are real.
REAL_FUNCTIONS: dict[str, Callable[..., sp.Expr]] = {"abs": RealAbs, "Abs": RealAbs}
