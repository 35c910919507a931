"""User text becomes SymPy only through the allow-list; nothing is evaluated."""

from __future__ import annotations

import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from symbackprop import ExpressionError, Network, parse_expression
from symbackprop.proof.verify import parse_claim

x, y = sp.symbols("x y")
NAMES = {"x": x, "y": y}


@pytest.mark.parametrize(
    "text,expected",
    [
        ("x^2 + y**2", x**2 + y**2),
        ("2*x*y - 3/4", 2 * x * y - sp.Rational(3, 4)),
        ("0.1*x", x / 10),
        ("exp(-x)/(1+exp(-x))", sp.exp(-x) / (1 + sp.exp(-x))),
        ("max(x, 0) + Abs(y)", sp.Max(x, 0) + sp.Abs(y)),
        ("-x + pi", -x + sp.pi),
        ("sigmoid(x)", sp.Function("sigmoid")(x)),
    ],
)
def test_accepted(text, expected):
    got = parse_expression(text, NAMES)
    if text.startswith("sigmoid"):
        assert got.func.__name__ == "sigmoid" and got.args == (x,)
    else:
        assert got == expected


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os')",
        "x.__class__",
        "x if y else 1",
        "(lambda: 1)()",
        "[x]",
        "x[0]",
        "'text'",
        "exp(x=1)",
        "f(x)",
        "z",
        "x and y",
        "x < y",
        "9**9**9",
        "x +",
        "",
        "   ",
        "True",
        "a" * 6000,
        "x; import os",
        "x == y",
        "{x}",
        "x @ y",
        "\x00",
        "x\x00+1",
        "-" * 5000 + "x",
        "1/0",
        "x/(1-1)",
        "log(0)",
        "2**-1001",
    ],
)
def test_rejected(text):
    with pytest.raises(ExpressionError):
        parse_expression(text, NAMES)


def test_numbers_are_read_from_their_text():
    # A float would make 1e400 infinite and 0.1 + 10⁻²⁰ equal to 0.1.
    assert parse_expression("1e400", {}) == sp.Integer(10) ** 400
    assert parse_expression("0.10000000000000000001", {}) == sp.Rational(1, 10) + sp.Rational(1, 10**20)
    # After a book token and ^ are rewritten, the number is still read from its own text.
    w = sp.Symbol("w^2_11")
    assert parse_expression("w^2_11^2 + 2.5e1", {"w^2_11": w}) == w**2 + 25


def test_not_text():
    with pytest.raises(ExpressionError):
        parse_expression(42, NAMES)


@given(st.text(max_size=40))
def test_any_text_either_parses_or_raises_expression_error(text):
    try:
        result = parse_expression(text, NAMES)
    except ExpressionError:
        return
    assert isinstance(result, sp.Expr)
    assert result.free_symbols <= {x, y}


def test_book_tokens_in_claims():
    net = Network([12, 3, 2], activation="generic")
    claim = parse_claim(net, "delta^{2}_{1} * a^1_{12} + w^2_{1,12} * a'(z^2_1)")
    d, x12, w, z = (net.symbol(n) for n in ("delta^2_1", "x_12", "w^2_1,12", "z^2_1"))
    assert claim == d * x12 + w * sp.Derivative(sp.Function("a")(z), z)
