"""LaTeX in the book's notation.

Symbols are named as the book writes them (``w^2_11`` prints as
``w^{2}_{11}``); the generic activation's derivative prints as ``a'(z)``,
the sigmoid as ``σ``, and chain-rule factors as ``∂C/∂a^{3}_{1}``.
Index notation reads the same way: ``w[l + 1, j, i]`` (an ``Indexed``)
prints as ``w^{l + 1}_{j i}`` (layer up, units down: *to* j, *from* i), and
the Hadamard product as ``⊙``.

>>> import sympy as sp
>>> from symbackprop.functions.activations import generic_a, sigmoid
>>> z = sp.Symbol("z^2_1")
>>> book_latex(generic_a(z).diff(z))
"a'\\\\left(z^{2}_{1}\\\\right)"
>>> book_latex(sigmoid(z) * (1 - sigmoid(z)))
'\\\\left(1 - \\\\sigma\\\\left(z^{2}_{1}\\\\right)\\\\right) \\\\sigma\\\\left(z^{2}_{1}\\\\right)'
"""

from __future__ import annotations

import re

import sympy as sp
from sympy.printing.latex import LatexPrinter

from .symbols import Partial

#: LaTeX forms for symbol names the default printer cannot spell (e.g. the
#: CNN's ``w^{F_1}_{12}``); filled in by whoever creates such symbols.
SYMBOL_LATEX: dict[str, str] = {}


class BookOrder:
    """Printer mix-in: with the setting ``book_order=True``, sums and products
    are written in the book's order (see :func:`book_term_key` and
    :func:`book_factor_order`) instead of SymPy's canonical one. Shared by the
    LaTeX and the plain-text printers, so both read alike."""

    def _as_ordered_terms(self, expr, order=None):
        if self._settings["book_order"] and order is None and self.order is None:
            return sorted(expr.args, key=book_term_key)
        return super()._as_ordered_terms(expr, order=order)

    def _print_Mul(self, expr):
        if not self._settings["book_order"] or self.order in ("old", "none"):
            return super()._print_Mul(expr)
        factors = expr.as_ordered_factors()
        ordered = book_factor_order(factors)
        if ordered == factors:
            return super()._print_Mul(expr)
        return super()._print_Mul(KeptOrder(*ordered, evaluate=False))


class BookLatexPrinter(BookOrder, LatexPrinter):
    """SymPy's LaTeX printer, speaking the book's notation.

    With ``book_order=True`` sums and products are written as the book
    writes them (:class:`BookOrder`).
    """

    _default_settings = {**LatexPrinter._default_settings, "book_order": False}

    def _print_Symbol(self, expr, style="plain"):
        if expr.name in SYMBOL_LATEX:
            return SYMBOL_LATEX[expr.name]
        return super()._print_Symbol(expr, style=style)

    def _print_Derivative(self, expr):
        # d a(z)/dz of a function of one variable: the book's a'(z), σ'(z).
        inner = expr.expr
        if isinstance(inner, sp.core.function.AppliedUndef) and len(inner.args) == 1 and is_slope(expr):
            return r"%s'\left(%s\right)" % (inner.func.__name__, self._print(inner.args[0]))
        if is_slope(expr):
            value = self._print(inner)
            cut = value.find(r"{\left(") if r"{\left(" in value else value.find(r"\left(")
            if cut > 0:
                return value[:cut] + "'" + value[cut:]
        return super()._print_Derivative(expr)

    def _print_Indexed(self, expr):
        # The book puts the layer up and the units down: w^{l+1}_{ji}; an index
        # reads l - 1 whatever order the formula around it is printed in.
        plain = BookLatexPrinter()
        base = self._print(sp.Symbol(expr.base.label.name))
        indices = [plain._print(i) for i in expr.indices]
        if len(indices) == 1:
            return "%s_{%s}" % (base, indices[0])
        joiner = "" if compact_indices(expr.indices[1:]) else ","
        return "%s^{%s}_{%s}" % (base, indices[0], joiner.join(indices[1:]))

    def _print_Pow(self, expr, **kwargs):
        # w^{p}_{qr} squared: an indexed quantity already has a superscript,
        # so its power needs parentheses, as a symbol such as w^{2}_{11} gets.
        if isinstance(expr.base, sp.Indexed) and expr.exp.is_Integer and expr.exp > 1:
            return r"\left(%s\right)^{%s}" % (self._print(expr.base), self._print(expr.exp))
        return super()._print_Pow(expr, **kwargs)

    def _print_Subs(self, expr):
        # Subs(Derivative(a(ξ), ξ), ξ, z) is a'(z) evaluated at a compound z.
        derivative, (var,), (point,) = expr.args[0], expr.args[1], expr.args[2]
        if isinstance(derivative, sp.Derivative) and derivative.variables == (var,):
            inner = derivative.expr
            if isinstance(inner, sp.core.function.AppliedUndef) and inner.args == (var,):
                return r"%s'\left(%s\right)" % (inner.func.__name__, self._print(point))
        return super()._print_Subs(expr)

    def _print_MatrixSymbol(self, expr):
        # Named like any quantity: "delta^{l+1}" prints as \delta^{l+1}.
        return self._print_Symbol(sp.Symbol(expr.name))

    def _print_HadamardProduct(self, expr):
        return r" \odot ".join(
            self.parenthesize(arg, sp.printing.precedence.PRECEDENCE["Mul"]) for arg in expr.args
        )

    def _print_Heaviside(self, expr, exp=None):
        tex = r"u\left(%s\right)" % self._print(expr.args[0])
        return tex if exp is None else r"%s^{%s}" % (tex, exp)


def is_slope(expr: sp.Basic) -> bool:
    """Whether ``expr`` is ``f'(z)``: a first derivative of a function of one
    variable by that variable.

    >>> import sympy as sp
    >>> z = sp.Symbol("z")
    >>> is_slope(sp.Derivative(sp.tanh(z), z)), is_slope(sp.Derivative(sp.tanh(2 * z), z))
    (True, False)
    """
    if not isinstance(expr, sp.Derivative) or expr.derivative_count != 1:
        return False
    inner, (variable,) = expr.expr, expr.variables
    # Extra arguments that are constants (Heaviside's value at 0) do not count.
    return (
        isinstance(inner, sp.Function)
        and bool(inner.args)
        and inner.args[0] == variable
        and not any(arg.has(variable) for arg in inner.args[1:])
    )


def _symbol_key(symbol: sp.Basic) -> tuple:
    from .symbols import parse_symbol_name, split_indices

    parsed = parse_symbol_name(symbol.name) if isinstance(symbol, sp.Symbol) else None
    if parsed is None:
        return (str(symbol), (), ())
    kind, sup, sub = parsed
    indices = split_indices(sub, 2 if kind == "w" else 1) or (sub,)
    layer = (0, int(sup), "") if sup.isdigit() else (1, 0, sup)
    return (kind, layer, tuple((0, i, "") if isinstance(i, int) else (1, 0, i) for i in indices))


def book_term_key(term: sp.Expr) -> tuple:
    """Where a term goes in a sum written as the book writes it: numbers first,
    then products, then lone quantities (``Σ_i w_{ji} x_i + b_j``), terms with
    a minus sign last (``t_j − a_j``); among equals by their quantities'
    indices read as numbers (``w_{1,2}`` before ``w_{1,10}``).

    >>> import sympy as sp
    >>> w, x, b = sp.Symbol("w^2_1,10"), sp.Symbol("x_10"), sp.Symbol("b^2_1")
    >>> terms = [b, w * x, sp.Symbol("w^2_12") * sp.Symbol("x_2")]
    >>> sorted(terms, key=book_term_key)
    [w^2_12*x_2, w^2_1,10*x_10, b^2_1]
    """
    kind = 0 if term.is_Number else (2 if term.is_Symbol else 1)
    quantities = sorted(_symbol_key(s) for s in term.free_symbols)
    return (term.could_extract_minus_sign(), kind, quantities, sp.default_sort_key(term))


class KeptOrder(sp.Mul):
    """A product that prints its factors in the order it was given.

    >>> str(KeptOrder(sp.Symbol("w"), sp.Symbol("a"), evaluate=False))
    'w*a'
    """

    def as_ordered_factors(self, order=None):
        return list(self.args)


def _kind(factor: sp.Basic) -> str:
    if isinstance(factor, sp.Indexed):
        return factor.base.label.name
    return _symbol_key(factor)[0] if isinstance(factor, sp.Symbol) else ""


def book_factor_order(factors: list) -> list:
    """Factors of a product as the book writes them: a weight before the
    activation or input it multiplies (``w^l_{ji} a^{l−1}_i``), and a function
    value before a bracket that contains it (``σ(z)(1 − σ(z))``); otherwise as given.

    >>> import sympy as sp
    >>> z = sp.Symbol("z")
    >>> book_factor_order([sp.Symbol("a^1_1"), sp.Symbol("w^2_11")])
    [w^2_11, a^1_1]
    >>> book_factor_order([1 - sp.tanh(z), sp.tanh(z)])
    [tanh(z), 1 - tanh(z)]
    """
    def key(n_factor):
        n, factor = n_factor
        if isinstance(factor, sp.Add):
            inside = [m for m, f in enumerate(factors) if f is not factor and factor.has(f)]
            n = max([n, *(m + 0.5 for m in inside)])
        if _kind(factor) == "w":
            firsts = [m for m, f in enumerate(factors) if _kind(f) in ("a", "x")]
            n = min([n, *firsts]) - 0.5
        return n

    return [f for _, f in sorted(enumerate(factors), key=key)]


def compact_indices(indices) -> bool:
    """Whether subscripts can be written side by side (``ji``, ``11``) unambiguously.

    >>> import sympy as sp
    >>> compact_indices(sp.symbols("j i")), compact_indices([sp.Integer(1), sp.Integer(12)])
    (True, False)
    """
    return all(i.is_Symbol or (i.is_Integer and 0 <= i < 10) for i in indices)


def book_latex(expr: sp.Basic, **settings) -> str:
    """LaTeX for ``expr`` in the book's notation.

    >>> import sympy as sp
    >>> book_latex(sp.Symbol("w^2_11") * sp.Symbol("delta^3_1"))
    '\\\\delta^{3}_{1} w^{2}_{11}'
    """
    return BookLatexPrinter(settings).doprint(expr)


# --- long formulas -----------------------------------------------------------

_TOKEN = re.compile(r"\\(?:left|right)(?:\\[A-Za-z]+|\\.|.)|\\(?:begin|end)\{[^}]*\}|\\[A-Za-z]+|\\.|\s+|.")
#: Tokens after which a line may not end, and those before which it may not begin.
#: Binary operators: a line may end before one (not after it).
_OPERATORS = {"+", "-", r"\cdot", r"\odot", r"\times", r"\star", r"\circ", r"\otimes", r"\pm", r"\mp"}
#: Relations: a formula is not cut on either side of one (``[x = y]`` stays whole).
_RELATIONS = {"=", "<", ">", r"\approx", r"\le", r"\ge", r"\ne", r"\leq", r"\geq", r"\neq", r"\to", r"\in"}
_NO_BREAK_AFTER = _OPERATORS | _RELATIONS | {"&", "(", "[", ","}
_BIG_OPERATORS = {r"\sum", r"\prod", r"\int", r"\lim"}
#: Markup that takes no room on the line.
_INVISIBLE = {"{", "}", "^", "_", "&", r"\frac", r"\operatorname", r"\mathrm", r"\text"}


def _width(token: str) -> int:
    if token.isspace() or token in _INVISIBLE or token.startswith((r"\begin", r"\end", r"\left.", r"\right.")):
        return 0
    return 1 if token.startswith("\\") else len(token)


def printed_width(tex: str) -> int:
    """Roughly how many symbols ``tex`` prints on one line (a fraction's
    stacking not counted away: an upper bound; a matrix by its first row).

    >>> printed_width(r"w^{2}_{11} \\left(1 - a\\right)")
    9
    >>> printed_width(r"\\begin{matrix}x & y\\\\z & t\\end{matrix}")
    2
    """
    return sum(_widths(_TOKEN.findall(tex)))


def _widths(tokens: list[str]) -> list[int]:
    # Within an environment only its first row counts: the rows stack.
    widths, environments, later_row = [], 0, False
    for token in tokens:
        if token.startswith(r"\begin"):
            environments += 1
        elif token.startswith(r"\end"):
            environments -= 1
            later_row = later_row and environments > 0
        elif token == "\\\\" and environments:
            later_row = True
        widths.append(0 if later_row else _width(token))
    return widths


def break_latex(tex: str, width: int) -> list[str]:
    """``tex`` cut into lines of at most about ``width`` printed symbols, for
    the rows of an ``align*``.

    A line ends before a ``+``, ``−`` or other binary operator, or else between two factors
    (the next line then starts with ``\\cdot``), never inside braces or an
    environment and never between a big operator and its summand. A cut
    inside ``\\left( … \\right)`` closes the open delimiters with
    ``\\right.`` and opens the next line with ``\\left.``, so every line
    typesets on its own.

    >>> break_latex(r"a \\left(b + c\\right) d", 5)
    ['a \\\\left(b \\\\right.', '\\\\left.{} + c\\\\right) d']
    >>> break_latex(r"a \\left(b + c\\right) d", 3)
    ['a \\\\left(b \\\\right.', '\\\\left.{} + c\\\\right)', '\\\\cdot d']
    >>> break_latex(r"\\frac{x + y}{2}", 1)
    ['\\\\frac{x + y}{2}']
    """
    tokens = _TOKEN.findall(tex)
    widths = _widths(tokens)
    # Where a line may end: (token index, delimiters open there, a product break, printed width so far).
    breaks, opened, braces, environments, printed = [], [], 0, 0, 0
    blocked: set[int] = set()
    previous = None
    for n, token in enumerate(tokens):
        if token.isspace() and braces == 0 and environments == 0 and previous not in _NO_BREAK_AFTER:
            following = next((t for t in tokens[n + 1:] if not t.isspace()), None)
            if following is not None and following not in _RELATIONS and not following.startswith((r"\right", "}", "&")):
                product = following not in _OPERATORS
                if not (product and len(opened) in blocked):
                    breaks.append((n, list(opened), product, printed))
        if token == "{":
            braces += 1
        elif token == "}":
            braces -= 1
        elif token.startswith(r"\begin"):
            environments += 1
        elif token.startswith(r"\end"):
            environments -= 1
        elif braces == 0 and environments == 0:
            if token.startswith(r"\left"):
                opened.append(token)
            elif token.startswith(r"\right"):
                blocked.discard(len(opened))
                opened.pop()
            elif token in _BIG_OPERATORS:
                blocked.add(len(opened))
            elif token in ("+", "-"):
                blocked.discard(len(opened))
        printed += widths[n]
        if not token.isspace():
            previous = token
    chosen, start = [], 0
    while printed - start > width:
        later = [b for b in breaks if b[3] > start]
        if not later:
            break
        # The last break that keeps the line within the width (the first one
        # if none does); a sum is better cut between terms than a product.
        fitting = [b for b in later if b[3] - start <= width] or later[:1]
        sums = [b for b in fitting if not b[2] and b[3] - start >= width // 2]
        chosen.append((sums or fitting)[-1])
        start = chosen[-1][3]
    lines, begin, reopen = [], 0, ""
    for index, opened_there, product, _ in chosen:
        closing = "".join(r"\right." for _ in opened_there)
        lines.append(reopen + "".join(tokens[begin:index]).strip() + (" " + closing if closing else ""))
        # After \left. an operator needs an empty atom before it to keep its spacing.
        reopen = "".join(r"\left." for _ in opened_there) + (r"\cdot " if product else "{} " if opened_there else " ")
        begin = index + 1
    lines.append((reopen + "".join(tokens[begin:]).strip()).strip() if lines else tex)
    return [line.strip() for line in lines]


def printing_settings(obj: sp.Basic, book_order: bool = False) -> dict:
    """The printer settings for one formula of a derivation.

    >>> printing_settings(Partial(sp.Symbol("C"), sp.Symbol("a^3_1"))), printing_settings(sp.Symbol("x"), True)
    ({'order': 'none'}, {'book_order': True})
    """
    # A chain-rule product keeps the order it was built in: from C down to
    # the parameter, as in the book. Everything else prints canonically, or
    # in the book's order of terms when the derivation asks for it.
    return {"order": "none"} if obj.has(Partial) else {"book_order": book_order}


def formula_latex(obj: sp.Basic | str, book_order: bool = False) -> str:
    r"""One side of an equation as LaTeX; a string is taken as LaTeX already.

    >>> print(formula_latex(Partial(sp.Symbol("C"), sp.Symbol("w^2_11"))), formula_latex(r"\alpha"))
    \frac{\partial C}{\partial w^{2}_{11}} \alpha
    """
    return obj if isinstance(obj, str) else book_latex(obj, **printing_settings(obj, book_order))


#: Relations as LaTeX; anything else is written as given.
RELATION_LATEX = {"=": "=", "≈": r"\approx", "≤": r"\le", "≥": r"\ge", "≠": r"\ne", "⇒": r"\Rightarrow"}


def equation_latex(lhs: sp.Basic | str, relation: str, rhs: sp.Basic | str, book_order: bool = False) -> str:
    r"""``lhs relation rhs`` as one LaTeX formula.

    >>> print(equation_latex(sp.Symbol("C_T"), "≈", sp.Symbol("C_1") + sp.Symbol("C_2")))
    C_{T} \approx C_{1} + C_{2}
    """
    rel = RELATION_LATEX.get(relation, relation)
    return f"{formula_latex(lhs, book_order)} {rel} {formula_latex(rhs, book_order)}"


#: A notebook shows this much LaTeX of one object before it summarises the rest.
DISPLAY_LIMIT = 20_000


def display_math(formulas: list[str], limit: int | None = None, more: str = "") -> str:
    r"""Display math for Jupyter: one aligned block (MathJax and KaTeX both know ``aligned``).

    With ``limit``, formulas are shown while their LaTeX stays within that many
    characters, and a last row says how many were left out (and ``more``, where
    to find them): a notebook stays usable when an object is large.

    >>> print(display_math(["x = 1", "y = 2"]))
    $$\begin{aligned}x &= 1 \\ y &= 2\end{aligned}$$
    >>> print(display_math(["x = 1", "y = 2", "z = 3"], limit=12, more="see .latex()"))
    $$\begin{aligned}x &= 1 \\ y &= 2 \\ \text{... 1 more formula not shown; see .latex()}\end{aligned}$$
    """
    shown, used = [], 0
    for f in formulas:
        used += len(f)
        if limit is not None and shown and used > limit:
            break
        shown.append(f)
    rows = [f if f.startswith(r"\text") else f.replace(" = ", " &= ", 1) for f in shown]
    hidden = len(formulas) - len(shown)
    if hidden:
        note = f"... {hidden} more formula{'' if hidden == 1 else 's'} not shown"
        rows.append(r"\text{%s}" % (f"{note}; {more}" if more else note))
    return "$$\\begin{aligned}" + r" \\ ".join(rows) + "\\end{aligned}$$"
