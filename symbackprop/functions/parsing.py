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
import re
from collections.abc import Callable, Mapping

import sympy as sp

from ..errors import ArgumentError, ExpressionError
from .elementary import sigmoid

MAX_LENGTH = 5000
MAX_EXPONENT = 1000
MAX_DEPTH = 200

#: The spelling of a number: digits with an optional decimal point and exponent, or a fraction a/b.
NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE](?P<exponent>[+-]?\d+))?(/\d+)?")


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
    be infinite) and ``0.10000000000000000001`` is not 1/10.

    >>> parse_number("153.3"), parse_number("-1/3"), parse_number("1e400") == 10**400
    (1533/10, -1/3, True)
    >>> parse_number("inf")
    Traceback (most recent call last):
    ...
    symbackprop.errors.ExpressionError: 'inf' is not a number
    """
    cell = text.strip()
    match = NUMBER.fullmatch(cell)
    if not match:
        raise ExpressionError(f"{cell!r} is not a number")
    # An exponent is spelled out digit by digit, so its size is limited as for powers.
    if match["exponent"] and abs(int(match["exponent"])) > MAX_EXPONENT:
        raise ExpressionError(f"the exponent of {cell!r} is too large (at most {MAX_EXPONENT} in size)")
    try:
        return sp.Rational(cell)
    except ZeroDivisionError:
        raise ExpressionError(f"{cell!r} divides by zero") from None


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
        raise ArgumentError(f"names must be a dictionary of names or a function of a name; got {names!r:.60}")
    if functions is not None and not isinstance(functions, Mapping):
        raise ArgumentError(f"functions must be a dictionary of names and callables; got {functions!r:.60}")
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
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"cannot parse {what} {text!r}: {exc.msg}") from None
    except ValueError as exc:  # e.g. a NUL character, which Python's parser refuses
        raise ExpressionError(f"cannot parse {what} {text!r}: {exc}") from None
    except (RecursionError, MemoryError):
        raise ExpressionError(f"{what} {text[:40]!r}… is nested too deeply") from None
    allowed = dict(FUNCTIONS)
    if functions:
        allowed.update({k.replace("'", "_prime_"): v for k, v in functions.items()})
    builder = _Builder(text, source, names, allowed, tokens, what)
    result = builder.build(tree.body, 0)
    if not isinstance(result, sp.Expr):
        raise ExpressionError(f"{what} {text!r} is not a mathematical expression")
    if result.has(sp.zoo, sp.nan):
        raise ExpressionError(f"{what} {text!r} is undefined (a division by zero or log 0)")
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

    _BINARY = {
        ast.Add: lambda a, b: a + b,
        ast.Sub: lambda a, b: a - b,
        ast.Mult: lambda a, b: a * b,
        ast.Div: lambda a, b: a / b,
    }

    def __init__(self, text, source, names, functions, tokens, what):
        self.text = text
        # The text as parsed (book tokens replaced, ^ turned into **): node positions refer to it.
        self.source = source
        self.names = names
        self.functions = functions
        self.tokens = tokens
        self.what = what

    def fail(self, message: str, hint: str = "") -> ExpressionError:
        return ExpressionError(f"{message} in {self.text!r}" + (f"; {hint}" if hint else ""))

    def build(self, node: ast.AST, depth: int) -> sp.Expr:
        if depth > MAX_DEPTH:
            raise self.fail(f"{self.what} is nested too deeply")
        if isinstance(node, ast.Constant):
            return self.number(node)
        if isinstance(node, ast.Name):
            return self.name(node.id)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            operand = self.build(node.operand, depth + 1)
            return -operand if isinstance(node.op, ast.USub) else operand
        if isinstance(node, ast.BinOp):
            left = self.build(node.left, depth + 1)
            right = self.build(node.right, depth + 1)
            if isinstance(node.op, ast.Pow):
                if right.is_Number and abs(right) > MAX_EXPONENT:
                    raise self.fail(f"exponent {right} is too large (at most {MAX_EXPONENT} in size)")
                return left**right
            operation = self._BINARY.get(type(node.op))
            if operation is None:
                raise self.fail(f"operator {type(node.op).__name__} is not allowed")
            return operation(left, right)
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
        raise ExpressionError(f"{self.what} {self.text!r}: {construct} is not allowed")

    def number(self, node: ast.Constant) -> sp.Expr:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(f"{value!r} is not a number")
        if isinstance(value, int):
            return sp.Integer(value)
        # Read what was typed, not the float Python made of it: 0.1 means 1/10,
        # and 1e400 is a number although its float is infinite.
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
