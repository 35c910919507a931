"""A function of several variables, typed by the user: f(x, y, …) in SymPy.

Chapter 2 of the book works with functions such as ``z = x² + y²``. Here such
a function is parsed (only through :func:`~symbackprop.functions.parsing.parse_expression`,
with an allow-list of variable names), its variables are the allowed names it
uses, and its gradient ∇f and Hessian are derived by SymPy. Variables are
real, so that equations such as ∇f = 0 are solved over the real numbers.
The pieces the chapter's derivations show it with (its points, vectors,
Hessians and partial derivatives) are made here too.

>>> f = parse_function("x**2 + 3*x*y")
>>> f.variables
(x, y)
>>> f.gradient
[2*x + 3*y, 3*x]
"""

from __future__ import annotations

import keyword
import math
from collections.abc import Sequence
from dataclasses import dataclass

import sympy as sp

from ..errors import ExpressionError, NotDifferentiableError, echo
from ..functions.parsing import CONSTANTS, FUNCTIONS, parse_expression
from ..guards import check_sequence
from ..notation.latex import SYMBOL_LATEX, book_latex
from ..notation.symbols import Partial

#: Variable names a typed function may use unless the caller names others.
DEFAULT_VARIABLES: tuple[str, ...] = ("x", "y", "z")

# Atoms whose appearance in f or ∇f means f has a kink or a jump somewhere.
_NOT_SMOOTH = (sp.Abs, sp.sign, sp.Heaviside, sp.DiracDelta, sp.Max, sp.Min, sp.Piecewise)


@dataclass(frozen=True)
class MultivariableFunction:
    """``expr`` as a function of ``variables`` (real SymPy symbols), with ∇f and the Hessian."""

    expr: sp.Expr
    variables: tuple[sp.Symbol, ...]

    @property
    def gradient(self) -> list[sp.Expr]:
        """∇f = (∂f/∂x, ∂f/∂y, …).

        >>> parse_function("x*y").gradient
        [y, x]
        """
        return [sp.diff(self.expr, v) for v in self.variables]

    @property
    def hessian(self) -> sp.Matrix:
        """The matrix of second partial derivatives ∂²f/∂x_i∂x_j.

        >>> parse_function("x**2 + x*y").hessian
        Matrix([
        [2, 1],
        [1, 0]])
        """
        return sp.hessian(self.expr, self.variables)

    def at(self, point: Sequence) -> dict[sp.Symbol, sp.Expr]:
        """The substitution ``{x: a, y: b, …}`` for a point given as numbers.

        >>> parse_function("x + y").at([1, "0.5"])
        {x: 1, y: 1/2}
        """
        point = check_sequence(point, "the point (one number per variable)")
        if len(point) != len(self.variables):
            names = ", ".join(str(v) for v in self.variables)
            raise ExpressionError(
                f"the point has {len(point)} coordinates but f has {len(self.variables)} "
                f"variables ({names}); give one number per variable"
            )
        return {v: exact_number(c, what=f"coordinate {v}") for v, c in zip(self.variables, point)}


def notation(name: str, latex: str) -> sp.Symbol:
    """A symbol that prints as ``name`` in text and as ``latex`` in LaTeX (e.g. Δx, ∂z/∂x).

    >>> from symbackprop.notation.latex import book_latex
    >>> book_latex(notation("Δx", r"\\Delta x"))
    '\\\\Delta x'
    """
    SYMBOL_LATEX[name] = latex
    return sp.Symbol(name)


def math_prose(expr: sp.Basic) -> str:
    r"""``expr`` as inline math for prose (titles, notes): ``$…$`` in the book's LaTeX.

    Python's ``x**2`` in a Markdown heading would turn into bold text, and in
    LaTeX prose into stray asterisks. Parentheses are plain, not
    ``\left(…\right)``, so the terminal's reading of prose shows them as such.

    >>> import sympy as sp
    >>> x, y = sp.symbols("x y")
    >>> math_prose(x**2 + y**2), math_prose((x - 1)**2)
    ('$x^{2} + y^{2}$', '$(x - 1)^{2}$')
    """
    latex = book_latex(expr)
    for sized, plain in ((r" \right)", ")"), (r"\right)", ")"), (r"\left(", "(")):
        latex = latex.replace(sized, plain)
    return f"${latex}$"


def prose_number(value: float | sp.Expr, digits: int = 3) -> str:
    r"""A number for prose: ``0.00893`` as it is, ``1e-10`` as ``$1 \cdot 10^{-10}$``.

    A SymPy number may lie beyond the range of floats (a condition number of 10⁴⁰⁰).

    >>> prose_number(0.008931), prose_number(1e-10), prose_number(2.1e7)
    ('0.00893', '$1 \\cdot 10^{-10}$', '$2.1 \\cdot 10^{7}$')
    >>> prose_number(sp.Float("3e400"))
    '$3 \\cdot 10^{400}$'
    """
    number = float(value)
    if math.isfinite(number):
        text = f"{number:.{digits}g}"
    else:
        mantissa, exponent = format(sp.Float(value, digits + 2), f".{digits - 1}e").split("e")
        text = f"{mantissa.rstrip('0').rstrip('.')}e{exponent}"
    if "e" not in text:
        return text
    mantissa, exponent = text.split("e")
    return f"${mantissa} \\cdot 10^{{{int(exponent)}}}$"


def shown_vector(items: Sequence) -> sp.Expr:
    """A point or gradient as shown: a tuple, or for one variable the single value (not ``(x,)``).

    >>> import sympy as sp
    >>> shown_vector([1, 2]), shown_vector([sp.Symbol("x")])
    ((1, 2), x)
    """
    return sp.sympify(items[0]) if len(items) == 1 else sp.Tuple(*items)


def shown_matrix(matrix: sp.Matrix) -> sp.Expr:
    """A Hessian as shown: for one variable the single second derivative, not a 1×1 matrix.

    >>> import sympy as sp
    >>> shown_matrix(sp.Matrix([[6]])), shown_matrix(sp.eye(2)).shape
    (6, (2, 2))
    """
    return matrix[0, 0] if matrix.shape == (1, 1) else matrix


def shown_point(point: dict[sp.Symbol, sp.Expr], variables: Sequence[sp.Symbol]) -> sp.Expr:
    """A point ``{x: a, …}`` as shown, in the order of ``variables``; a variable it leaves free shows itself.

    >>> x, y = sp.symbols("x y")
    >>> shown_point({x: 1, y: 2}, (x, y)), shown_point({x: -y}, (x, y))
    ((1, 2), (-y, y))
    """
    return shown_vector([point.get(v, v) for v in variables])


def function_of(f: MultivariableFunction, name: str = "f") -> sp.Expr:
    """``f(x, y, …)``: the function named ``name`` of f's variables, for the left side of an equation.

    >>> function_of(parse_function("x*y"), "z")
    z(x, y)
    """
    return sp.Function(name)(*f.variables)


def partial_symbols(f: MultivariableFunction, name: str = "f") -> list[Partial]:
    """The names ∂f/∂x, ∂f/∂y, … of f's partial derivatives, for the left side of an equation.

    >>> partial_symbols(parse_function("x*y"), "z")
    [∂z/∂x, ∂z/∂y]
    """
    # The project's ∂/∂ object keeps the book's order ∂z/∂x Δx when printed.
    return [Partial(sp.Symbol(name), v) for v in f.variables]


def exact_number(value: object, *, what: str = "number") -> sp.Expr:
    """A number typed by the user as an exact SymPy number (``"0.1"`` is 1/10).

    >>> exact_number("0.1"), exact_number(3), exact_number("-2/3")
    (1/10, 3, -2/3)
    """
    if isinstance(value, sp.Expr) and value.is_number:
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = repr(value)
    if not isinstance(value, str):
        raise ExpressionError(f"{what} must be a number, got {value!r}")
    number = parse_expression(value, {}, what=what)
    if not number.is_number or not number.is_finite or not number.is_real:
        raise ExpressionError(f"{what} must be a finite real number, got {value!r}")
    return number


def parse_function(
    text: str | sp.Expr, variables: Sequence[str] = DEFAULT_VARIABLES, *, what: str = "f"
) -> MultivariableFunction:
    """Parse ``text`` as a function of the allowed ``variables`` it uses.

    A SymPy expression is taken as it is, its free symbols being its variables.

    >>> parse_function("x**2 + y**2").expr
    x**2 + y**2
    >>> parse_function("x + k")
    Traceback (most recent call last):
    ...
    symbackprop.errors.ExpressionError: unknown variable 'k' in f = 'x + k'; the allowed variables are x, y, z (name others with --vars)
    """
    _check_names(variables)
    symbols = {name: sp.Symbol(name, real=True) for name in variables}
    if isinstance(text, sp.Expr):
        expr = text.xreplace({s: sp.Symbol(s.name, real=True) for s in text.free_symbols})
    else:
        unknown: list[str] = []

        def resolve(name: str) -> sp.Expr | None:
            if name not in symbols and name not in CONSTANTS:
                unknown.append(name)
            return symbols.get(name)

        try:
            expr = parse_expression(text, resolve, what=what)
        except ExpressionError:
            if unknown:
                raise ExpressionError(
                    f"unknown variable {echo(unknown[0])} in {what} = {echo(text)}; the allowed variables are "
                    f"{', '.join(variables)} (name others with --vars)"
                ) from None
            raise
    # log(-1) is I*pi: a function with a non-real number in it takes non-real values, where
    # "smallest" and "descent" mean nothing.
    unreal = next((a for a in sp.preorder_traversal(expr) if a.is_number and a.is_extended_real is False), None)
    if unreal is not None:
        raise ExpressionError(
            f"{what} = {text} is not real: it contains {unreal}, which is not a real number; "
            "chapter 2 needs a real function of real variables"
        )
    order = {name: n for n, name in enumerate(variables)}
    used = tuple(sorted(expr.free_symbols, key=lambda s: (order.get(s.name, len(order)), s.name)))
    if not used:
        raise ExpressionError(f"{what} = {text} uses no variable; write a function of {', '.join(variables)}")
    return MultivariableFunction(expr, used)


def _check_names(variables: Sequence[str]) -> None:
    """Refuse variable names that could never appear in f, or appear twice.

    >>> _check_names(["x", "1x"])
    Traceback (most recent call last):
    ...
    symbackprop.errors.ExpressionError: variable name '1x' is not a name: use letters, digits and _, starting with a letter (--vars)
    """
    seen = set()
    for name in check_sequence(variables, "the variables"):
        if not isinstance(name, str):
            raise ExpressionError(f"variable names are text such as 'x'; got {echo(name)} (--vars)")
        if not name.isidentifier() or name.startswith("_") or keyword.iskeyword(name):
            raise ExpressionError(
                f"variable name {name!r} is not a name: use letters, digits and _, starting with a letter (--vars)"
            )
        if name in FUNCTIONS or name in CONSTANTS:
            raise ExpressionError(f"variable name {name!r} is taken by a function or constant; choose another (--vars)")
        if name in seen:
            raise ExpressionError(f"variable {name!r} is named twice; name each variable once (--vars)")
        seen.add(name)


def require_smooth(f: MultivariableFunction, *, what: str = "f") -> None:
    """Refuse a function with kinks or jumps: its gradient does not exist everywhere.

    >>> require_smooth(parse_function("abs(x) + y**2"))
    Traceback (most recent call last):
    ...
    symbackprop.errors.NotDifferentiableError: f = y**2 + Abs(x) is not differentiable everywhere (it contains Abs); the methods of chapter 2 need a smooth function such as x**2 instead of abs(x)
    """
    found = [a for a in _NOT_SMOOTH if f.expr.has(a) or any(g.has(a) for g in f.gradient)]
    if found:
        raise NotDifferentiableError(
            f"{what} = {f.expr} is not differentiable everywhere (it contains {found[0].__name__}); "
            "the methods of chapter 2 need a smooth function such as x**2 instead of abs(x)"
        )
