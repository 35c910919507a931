"""LaTeX in the book's notation.

Symbols are named as the book writes them (``w^2_11`` prints as
``w^{2}_{11}``); the generic activation's derivative prints as ``a'(z)``,
the sigmoid as ``σ``, and chain-rule factors as ``∂C/∂a^{3}_{1}``.

>>> import sympy as sp
>>> from symbackprop.activations import generic_a, sigmoid
>>> z = sp.Symbol("z^2_1")
>>> book_latex(generic_a(z).diff(z))
"a'\\\\left(z^{2}_{1}\\\\right)"
>>> book_latex(sigmoid(z) * (1 - sigmoid(z)))
'\\\\left(1 - \\\\sigma\\\\left(z^{2}_{1}\\\\right)\\\\right) \\\\sigma\\\\left(z^{2}_{1}\\\\right)'
"""

from __future__ import annotations

import sympy as sp
from sympy.printing.latex import LatexPrinter

#: LaTeX forms for symbol names the default printer cannot spell (e.g. the
#: CNN's ``w^{F_1}_{12}``); filled in by whoever creates such symbols.
SYMBOL_LATEX: dict[str, str] = {}


class BookLatexPrinter(LatexPrinter):
    """SymPy's LaTeX printer, speaking the book's notation."""

    def _print_Symbol(self, expr, style="plain"):
        if expr.name in SYMBOL_LATEX:
            return SYMBOL_LATEX[expr.name]
        return super()._print_Symbol(expr, style=style)

    def _print_Derivative(self, expr):
        # d a(z)/dz of an undefined function of one variable: the book's a'(z).
        inner = expr.expr
        if (
            isinstance(inner, sp.core.function.AppliedUndef)
            and len(inner.args) == 1
            and expr.variables == inner.args
            and expr.derivative_count == 1
        ):
            return r"%s'\left(%s\right)" % (inner.func.__name__, self._print(inner.args[0]))
        return super()._print_Derivative(expr)

    def _print_Subs(self, expr):
        # Subs(Derivative(a(ξ), ξ), ξ, z) is a'(z) evaluated at a compound z.
        derivative, (var,), (point,) = expr.args[0], expr.args[1], expr.args[2]
        if isinstance(derivative, sp.Derivative) and derivative.variables == (var,):
            inner = derivative.expr
            if isinstance(inner, sp.core.function.AppliedUndef) and inner.args == (var,):
                return r"%s'\left(%s\right)" % (inner.func.__name__, self._print(point))
        return super()._print_Subs(expr)

    def _print_Heaviside(self, expr, exp=None):
        tex = r"u\left(%s\right)" % self._print(expr.args[0])
        return tex if exp is None else r"%s^{%s}" % (tex, exp)


def book_latex(expr: sp.Basic, **settings) -> str:
    """LaTeX for ``expr`` in the book's notation.

    >>> import sympy as sp
    >>> book_latex(sp.Symbol("w^2_11") * sp.Symbol("delta^3_1"))
    '\\\\delta^{3}_{1} w^{2}_{11}'
    """
    return BookLatexPrinter(settings).doprint(expr)
