"""Plain Unicode text in the book's notation, for terminals.

SymPy's ``str`` spells names as they are stored (``delta^3_1``,
``sigmoid(z)``, ``Derivative(a(z), z)``); a reader of the book expects
``δ^3_1``, ``σ(z)`` and ``a'(z)``.

>>> import sympy as sp
>>> from symbackprop.functions.activations import generic_a, sigmoid
>>> z = sp.Symbol("z^2_1")
>>> book_text(sp.Symbol("delta^3_1") * generic_a(z).diff(z) + sigmoid(z))
"δ^3_1*a'(z^2_1) + σ(z^2_1)"
"""

from __future__ import annotations

import sympy as sp
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.str import StrPrinter

from .latex import BookOrder, compact_indices, is_slope
from .symbols import Partial

_GREEK = {"delta": "δ", "eta": "η", "sigma": "σ", "theta": "θ", "xi": "ξ", "lambda": "λ"}


def _name(name: str) -> str:
    for word, letter in _GREEK.items():
        if name.startswith(word):
            return letter + name[len(word):]
    return name


class BookTextPrinter(BookOrder, StrPrinter):
    """SymPy's ``str`` printer, speaking the book's notation in Unicode."""

    # Indexed and friends bring their own ``_sympystr``, which would win.
    printmethod = "_book_text"
    _default_settings = {**StrPrinter._default_settings, "book_order": False}

    def _print_Symbol(self, expr):
        return _name(expr.name)

    def _print_MatrixSymbol(self, expr):
        return _name(expr.name)

    def _print_AppliedUndef(self, expr):
        return "%s(%s)" % (_name(expr.func.__name__), self.stringify(expr.args, ", "))

    def _print_sigmoid(self, expr):
        return "σ(%s)" % self._print(expr.args[0])

    def _print_DiracDelta(self, expr):
        return "δ(%s)" % self._print(expr.args[0])

    def _print_Abs(self, expr):
        return "|%s|" % self._print(expr.args[0])

    def _print_Max(self, expr):
        return "max(%s)" % self.stringify(expr.args, ", ")

    def _print_Heaviside(self, expr):
        return "u(%s)" % self._print(expr.args[0])

    def _print_Derivative(self, expr):
        inner = expr.expr
        if is_slope(expr):
            name = self._print(inner.func(sp.Symbol("z"))).rsplit("(", 1)[0]
            return "%s'(%s)" % (name, self._print(inner.args[0]))
        return super()._print_Derivative(expr)

    def _print_Subs(self, expr):
        derivative, (var,), (point,) = expr.args
        if isinstance(derivative, sp.Derivative) and derivative.variables == (var,):
            return "%s'(%s)" % (derivative.expr.func.__name__, self._print(point))
        return super()._print_Subs(expr)

    def _print_Indexed(self, expr):
        base = _name(expr.base.label.name)
        # l - 1, not -1 + l, whatever order the formula around it is printed in
        indices = [BookTextPrinter()._print(i) for i in expr.indices]
        if len(indices) == 1:
            return f"{base}_{indices[0]}" if expr.indices[0].is_Atom else f"{base}_({indices[0]})"
        up = indices[0] if expr.indices[0].is_Atom else f"({indices[0]})"
        joiner = "" if compact_indices(expr.indices[1:]) else ","
        return f"{base}^{up}_{joiner.join(indices[1:])}"

    def parenthesize(self, item, level, strict=False):
        # ∂C/∂a is a fraction: bare in a product, ∂C/∂a*∂a/∂z would read as ((∂C/∂a)*∂a)/∂z.
        if isinstance(item, Partial) and level >= PRECEDENCE["Mul"]:
            return "(%s)" % self._print(item)
        return super().parenthesize(item, level, strict)

    def _print_Partial(self, expr):
        return "∂%s/∂%s" % (self._print(expr.numerator), self._print(expr.denominator))

    def _print_Sum(self, expr):
        # Sum(f, inner, …, outer): the outermost sign is written first.
        text = self.parenthesize(expr.function, PRECEDENCE["Mul"])
        for k, lo, hi in expr.limits:
            text = "Σ_{%s=%s}^{%s} %s" % (self._print(k), self._print(lo), self._print(hi), text)
        return text

    def _print_HadamardProduct(self, expr):
        return " ⊙ ".join(self.parenthesize(a, PRECEDENCE["Mul"]) for a in expr.args)

    def _print_Transpose(self, expr):
        inner = self._print(expr.arg)
        return f"({inner})^T" if "^" in inner or not expr.arg.is_symbol else f"{inner}^T"

    def _print_MatrixBase(self, expr):
        if expr.cols == 1:
            return "(%s)^T" % ", ".join(self._print(e) for e in expr)
        return "[%s]" % ", ".join("[%s]" % ", ".join(self._print(e) for e in row) for row in expr.tolist())

    _print_ImmutableDenseMatrix = _print_MutableDenseMatrix = _print_MatrixBase


def book_text(expr: sp.Basic) -> str:
    """``expr`` as one line of Unicode text in the book's notation.

    >>> import sympy as sp
    >>> w, d = sp.IndexedBase("w"), sp.IndexedBase("delta")
    >>> l, i, j = sp.symbols("l i j")
    >>> book_text(d[l + 1, j] * w[l + 1, j, i])
    'δ^(l + 1)_j*w^(l + 1)_ji'
    >>> from symbackprop.notation.symbols import COST, Partial
    >>> a, z = sp.symbols("a^3_1 z^3_1")
    >>> book_text(Partial(COST, a) * Partial(a, z))
    '(∂C/∂a^3_1)*(∂a^3_1/∂z^3_1)'
    """
    return BookTextPrinter().doprint(expr)
