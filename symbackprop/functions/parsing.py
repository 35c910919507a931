"""Safe parsing of user text into SymPy expressions.

User text never reaches ``eval`` (nor SymPy's ``parse_expr``, which evaluates
Python code). It is parsed by Python's :mod:`ast` module and every node is
checked against an allow-list: numbers, the four operations and powers, the
names the caller allows and the mathematical functions in
:data:`FUNCTIONS`. Anything else is rejected before a SymPy object is built.

Book notation for network quantities (``w^2_11``, ``w^{2}_{1,12}``,
``delta^3_1``) is accepted: such tokens are handed to the caller's name
resolver whole. ``^`` outside such a token means a power, as on paper.

>>> import sympy as sp
>>> x, y = sp.symbols("x y")
>>> parse_expression("x^2 + 2*x*y", {"x": x, "y": y})
x**2 + 2*x*y
>>> parse_expression("0.1*exp(-x)", {"x": x})
exp(-x)/10
>>> parse_expression('__import__("os")', {"x": x})
Traceback (most recent call last):
...
symbackprop.errors.ExpressionError: unknown function '__import__' in '__import__("os")'; allowed functions: Abs, Heaviside, Max, Min, abs, acos, asin, atan, cos, cosh, exp, ln, log, max, min, sigmoid, sin, sinh, sqrt, tan, tanh
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable, Mapping

import sympy as sp

from ..errors import ArgumentError, ExpressionError, echo
from .elementary import sigmoid

MAX_LENGTH = 5000
MAX_EXPONENT = 1000
MAX_DEPTH = 200
#: The most decimal digits a number may have, typed or computed (Python prints at most 4300).
MAX_DIGITS = 1200
#: The highest degree an expression may reach when its powers are multiplied out.
MAX_DEGREE = 1000

#: The spelling of a number: ASCII digits with an optional decimal point and exponent, or a fraction a/b.
NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE](?P<exponent>[+-]?[0-9]+))?(/[0-9]+)?")
# A run of digits that Python would read as one integer literal.
_DIGIT_RUN = re.compile(r"(?<![\w.])[0-9]+")


#: The mathematical functions user text may call.
FUNCTIONS: dict[str, Callable[..., sp.Expr]] = {
    "exp": sp.exp,
    "log": sp.log,
    "ln": sp.log,
    "sqrt": sp.sqrt,
    "sin": sp.sin,
    "cos": sp.cos,
    "tan": sp.tan,
    "asin": sp.asin,
    "acos": sp.acos,
    "atan": sp.atan,
    "sinh": sp.sinh,
    "cosh": sp.cosh,
    "tanh": sp.tanh,
    "Abs": sp.Abs,
    "abs": sp.Abs,
    "Max": sp.Max,
    "max": sp.Max,
    "Min": sp.Min,
    "min": sp.Min,
    "Heaviside": sp.Heaviside,
    "sigmoid": sigmoid,
}

#: Constants user text may name.
CONSTANTS: dict[str, sp.Expr] = {"pi": sp.pi, "E": sp.E, "e": sp.E}

# A book-notation quantity: kind ^ layer _ indices, braces optional, e.g.
# w^2_11, w^{2}_{1,12}, delta^3_1, z^F1_12.
_BOOK_TOKEN = re.compile(
    r"(?P<kind>[A-Za-z]+)\^\{?(?P<sup>[A-Za-z0-9]+)\}?_\{?(?P<sub>[0-9]+(?:,[0-9]+)*)\}?"
)
_PRIME_CALL = re.compile(r"\b([A-Za-z_]\w*)'\s*\(")

def parse_number(text: str) -> sp.Rational:
    """A number as typed, e.g. ``"45.5"`` or ``"-1/3"``, as an exact rational.

    The text itself is read, never a float: ``1e400`` is 10⁴⁰⁰ (a float would
    be infinite) and ``0.10000000000000000001`` is not 1/10. Every number the
    user types (options, data files, literals in expressions) is read here.

    >>> parse_number("153.3"), parse_number("-1/3"), parse_number("1e400") == 10**400
    (1533/10, -1/3, True)
    >>> parse_number("inf")
    Traceback (most recent call last):
    ...
    symbackprop.errors.ExpressionError: 'inf' is not a number
    >>> parse_number("３")
    Traceback (most recent call last):
    ...
    symbackprop.errors.ExpressionError: '３' is not a number: write its digits as ASCII 0-9
    """
    cell = text.strip()
    match = NUMBER.fullmatch(cell)
    if not match:
        # str.isdigit() holds for Arabic-Indic or fullwidth digits too, which Python's int() would accept.
        hint = ": write its digits as ASCII 0-9" if any(c.isdigit() and not c.isascii() for c in cell) else ""
        raise ExpressionError(f"{echo(cell)} is not a number{hint}")
    # Sizes are checked on the text before any conversion: int() refuses more than 4300 digits.
    exponent = match["exponent"] or "0"
    if len(exponent.lstrip("+-0")) > len(str(MAX_EXPONENT)) or abs(int(exponent)) > MAX_EXPONENT:
        raise ExpressionError(f"the exponent of {echo(cell)} is too large (at most {MAX_EXPONENT} in size)")
    written = sum(c.isdigit() for c in cell) - sum(c.isdigit() for c in match["exponent"] or "")
    if written > MAX_DIGITS:
        raise ExpressionError(f"{echo(cell)} has {written:,} digits; a number may have at most {MAX_DIGITS}")
    try:
        value = sp.Rational(cell)
    except ZeroDivisionError:
        raise ExpressionError(f"{echo(cell)} divides by zero") from None
    if _magnitude(value) >= MAX_DIGITS:
        raise ExpressionError(f"{echo(cell)} is too large or too fine: a number may have at most {MAX_DIGITS} digits")
    return value


def _magnitude(number: sp.Rational) -> float:
    """log₁₀ of the larger of |numerator| and denominator: one less than its digits."""
    largest = max(abs(number.p), number.q)
    return math.log10(largest) if largest else 0.0


NameResolver = Mapping[str, sp.Expr] | Callable[[str], "sp.Expr | None"]


def parse_expression(
    text: str,
    names: NameResolver,
    *,
    functions: Mapping[str, Callable[..., sp.Expr]] | None = None,
    what: str = "expression",
) -> sp.Expr:
    """Parse ``text`` into a SymPy expression using only allowed names.

    ``names`` maps each variable name the text may use to its SymPy object,
    or is a function returning the object (or ``None`` for unknown names).
    ``functions`` adds callables to :data:`FUNCTIONS` (e.g. a generic
    activation ``a`` and its derivative ``a'``, written ``a'(z)``).

    >>> import sympy as sp
    >>> z = sp.Symbol("z")
    >>> parse_expression("z/(1+exp(-z))", {"z": z})
    z/(1 + exp(-z))
    >>> parse_expression("z +", {"z": z})
    Traceback (most recent call last):
    ...
    symbackprop.errors.ExpressionError: cannot parse expression 'z +': invalid syntax
    """
    if not isinstance(text, str):
        raise ExpressionError(f"{what} must be text, got {type(text).__name__}")
    if not (isinstance(names, Mapping) or callable(names)):
        raise ArgumentError(f"names must be a dictionary of names or a function of a name; got {echo(names)}")
    if functions is not None and not isinstance(functions, Mapping):
        raise ArgumentError(f"functions must be a dictionary of names and callables; got {echo(functions)}")
    source = text.strip()
    if not source:
        raise ExpressionError(f"{what} is empty")
    if len(source) > MAX_LENGTH:
        raise ExpressionError(f"{what} is longer than {MAX_LENGTH} characters")
    tokens: dict[str, str] = {}

    def placeholder(match: re.Match[str]) -> str:
        key = f"_book_{len(tokens)}"
        tokens[key] = match.group(0)
        return key

    source = _BOOK_TOKEN.sub(placeholder, source)
    source = _PRIME_CALL.sub(lambda m: f"{m.group(1)}_prime_(", source)
    source = source.replace("^", "**")
    # Python reads Arabic-Indic or fullwidth digits in names; numbers are ASCII everywhere (see parse_number).
    foreign = next((c for c in source if c.isdigit() and not c.isascii()), None)
    if foreign:
        raise ExpressionError(f"{what} {echo(text)} has the digit {foreign!r}: write digits as ASCII 0-9")
    # Python's parser itself refuses integer literals over 4300 digits, with advice meant for programmers.
    longest = max((len(run) for run in _DIGIT_RUN.findall(source)), default=0)
    if longest > MAX_DIGITS:
        raise ExpressionError(
            f"{what} {echo(text)} has a number of {longest:,} digits; a number may have at most {MAX_DIGITS}"
        )
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"cannot parse {what} {echo(text)}: {exc.msg}") from None
    except ValueError as exc:  # e.g. a NUL character, which Python's parser refuses
        raise ExpressionError(f"cannot parse {what} {echo(text)}: {exc}") from None
    except (RecursionError, MemoryError):
        raise ExpressionError(f"{what} {echo(text)} is nested too deeply") from None
    allowed = dict(FUNCTIONS)
    if functions:
        allowed.update({k.replace("'", "_prime_"): v for k, v in functions.items()})
    builder = _Builder(text, source, names, allowed, tokens, what)
    result = builder.build(tree.body, 0)
    if not isinstance(result, sp.Expr):
        raise ExpressionError(f"{what} {echo(text)} is not a mathematical expression")
    # Products can grow numbers and degrees as powers do: x**600*x**600 is x**1200.
    builder.check_size(*builder.size(result))
    if result.has(sp.zoo, sp.nan):
        raise ExpressionError(f"{what} {echo(text)} is undefined (a division by zero or log 0)")
    return result


#: How a rejected piece of Python syntax is named in an error message.
_CONSTRUCTS = {
    ast.Attribute: "an attribute (a.b)",
    ast.Subscript: "indexing (a[b])",
    ast.Compare: "a comparison",
    ast.BoolOp: "and/or",
    ast.Lambda: "lambda",
    ast.List: "a list",
    ast.Tuple: "a tuple",
    ast.Dict: "a dictionary",
    ast.Set: "a set",
}


class _Builder:
    """Turns an allow-listed Python AST into SymPy objects, node by node."""

    #: Operators that chain without nesting: a + b − c is one sum, a·b/c one product.
    _SUM = (ast.Add, ast.Sub)
    _PRODUCT = (ast.Mult, ast.Div)

    def __init__(self, text, source, names, functions, tokens, what):
        self.text = text
        # The text as parsed (book tokens replaced, ^ turned into **): node positions refer to it.
        self.source = source
        self.names = names
        self.functions = functions
        self.tokens = tokens
        self.what = what
        self.sizes: dict[sp.Basic, tuple[float, float]] = {}

    def fail(self, message: str, hint: str = "") -> ExpressionError:
        return ExpressionError(f"{message} in {echo(self.text)}" + (f"; {hint}" if hint else ""))

    def build(self, node: ast.AST, depth: int) -> sp.Expr:
        if depth > MAX_DEPTH:
            raise self.fail(f"{self.what} is nested too deeply (at most {MAX_DEPTH} levels)")
        if isinstance(node, ast.Constant):
            return self.number(node)
        if isinstance(node, ast.Name):
            return self.name(node.id)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            operand = self.build(node.operand, depth + 1)
            return -operand if isinstance(node.op, ast.USub) else operand
        if isinstance(node, ast.BinOp) and isinstance(node.op, self._SUM + self._PRODUCT):
            return self.chain(node, depth)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            left = self.build(node.left, depth + 1)
            right = self.build(node.right, depth + 1)
            if right.is_Number:
                if abs(right) > MAX_EXPONENT:
                    raise self.fail(f"exponent {right} is too large (at most {MAX_EXPONENT} in size)")
                # Refused before SymPy computes it: (9**999)**999 has 950,000 digits.
                magnitude, degree = self.size(left)
                self.check_size(magnitude * abs(float(right)), degree * abs(float(right)))
            return left**right
        if isinstance(node, ast.BinOp):
            raise self.fail(f"operator {type(node.op).__name__} is not allowed")
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name):
                raise self.fail("only plain function names can be called")
            name = node.func.id
            if name not in self.functions:
                shown = name.replace("_prime_", "'")
                raise self.fail(
                    f"unknown function {shown!r}",
                    "allowed functions: " + ", ".join(sorted(FUNCTIONS)),
                )
            if node.keywords:
                raise self.fail(f"keyword arguments to {name} are not allowed")
            args = [self.build(arg, depth + 1) for arg in node.args]
            try:
                return self.functions[name](*args)
            except (TypeError, ValueError) as exc:
                raise self.fail(f"bad arguments to {name}: {exc}") from None
        construct = _CONSTRUCTS.get(type(node), type(node).__name__)
        raise ExpressionError(f"{self.what} {echo(self.text)}: {construct} is not allowed")

    def chain(self, node: ast.BinOp, depth: int) -> sp.Expr:
        """A sum or product, read as one level however many operands it has.

        Python's ast nests a + b + c as ((a + b) + c); a 300-term sum would
        otherwise count as 300 levels deep and recurse once per term."""
        kinds = self._SUM if isinstance(node.op, self._SUM) else self._PRODUCT
        operands: list[tuple[ast.operator, ast.AST]] = []
        while isinstance(node, ast.BinOp) and isinstance(node.op, kinds):
            operands.append((node.op, node.right))
            node = node.left
        values = [self.build(node, depth + 1)]
        for op, operand in reversed(operands):
            value = self.build(operand, depth + 1)
            if isinstance(op, ast.Sub):
                value = -value
            elif isinstance(op, ast.Div):
                value = sp.S.One / value
            values.append(value)
        return sp.Add(*values) if kinds is self._SUM else sp.Mul(*values)

    def size(self, expr: sp.Basic) -> tuple[float, float]:
        """``(m, d)`` for ``expr`` multiplied out: its numbers are below 10^m, its degree at most d.

        m bounds the coefficients of the expansion: (x + 1)^e has binomials up
        to 2^e, so a sum of n terms adds log₁₀ n; powers multiply m and d by
        their exponent. A function of the variables counts as one variable."""
        if expr in self.sizes:
            return self.sizes[expr]
        if expr.is_Rational:
            found = (_magnitude(expr), 0.0)
        elif not expr.args:
            found = (0.0, 1.0 if expr.free_symbols else 0.0)
        else:
            parts = [self.size(arg) for arg in expr.args]
            magnitudes = [m for m, _ in parts]
            if expr.is_Add:
                found = (max(magnitudes) + math.log10(len(parts)), max(d for _, d in parts))
            elif expr.is_Mul:
                found = (sum(magnitudes), sum(d for _, d in parts))
            elif expr.is_Pow and expr.exp.is_Rational:
                power = abs(float(expr.exp))
                found = (parts[0][0] * power, parts[0][1] * power)
            else:
                found = (max(magnitudes), 1.0 if expr.free_symbols else 0.0)
        self.sizes[expr] = found
        return found

    def check_size(self, magnitude: float, degree: float) -> None:
        if degree > MAX_DEGREE:
            raise self.fail(
                f"{self.what} is too large: multiplied out it has degree {degree:,.0f} "
                f"(at most {MAX_DEGREE} is allowed; powers of powers multiply their exponents)"
            )
        if magnitude >= MAX_DIGITS:
            raise self.fail(
                f"{self.what} is too large: multiplied out it holds numbers of about {magnitude + 1:,.0f} "
                f"digits (at most {MAX_DIGITS} are allowed; powers of powers multiply their exponents)"
            )

    def number(self, node: ast.Constant) -> sp.Expr:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(f"{value!r} is not a number")
        # Read what was typed, not the number Python made of it: 0.1 means 1/10,
        # 1e400 is a number although its float is infinite, and 0x10 is no number on paper.
        typed = ast.get_source_segment(self.source, node).replace("_", "")
        try:
            return parse_number(typed)
        except ExpressionError as exc:
            raise self.fail(str(exc)) from None

    def name(self, identifier: str) -> sp.Expr:
        shown = self.tokens.get(identifier, identifier)
        if identifier in CONSTANTS and not self.lookup(identifier):
            return CONSTANTS[identifier]
        found = self.lookup(shown)
        if found is None:
            raise self.fail(f"unknown name {shown!r}")
        return found

    def lookup(self, name: str) -> sp.Expr | None:
        if callable(self.names):
            return self.names(name)
        return self.names.get(name)
