"""User text becomes SymPy only through the allow-list; nothing is evaluated."""

from __future__ import annotations

import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from symbackprop import DataError, ExpressionError, Network, parse_expression
from symbackprop.calculus.regression import read_data
from symbackprop.cli import main
from symbackprop.functions.parsing import parse_number
from symbackprop.notation.symbols import COST, Partial
from symbackprop.notation.text import book_text
from symbackprop.proof.verify import parse_claim

x, y = sp.symbols("x y")
w3 = sp.Symbol("w^3_11")
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


@pytest.mark.parametrize(
    "text",
    [
        "((9**999)**999)**999*x",  # each exponent is allowed; together 950,000 digits
        "((x+1)**1000)**1000",  # degree 10⁶ once multiplied out
        "(10**999)**5*x",  # 4996 digits: more than Python prints
        "10**999*10**999*10**999*10**999*10**999*x",  # products grow numbers too
        "(2*x + 3*y)**1000 * (x + y)**1000",
        "x**600*x**600",  # x**1200
    ],
)
def test_what_an_expression_expands_to_is_bounded(text):
    with pytest.raises(ExpressionError, match=r"too large: multiplied out .*at most"):
        parse_expression(text, NAMES)


def test_large_but_allowed_powers_still_parse():
    assert parse_expression("(x+1)**1000", NAMES) == (x + 1) ** 1000
    assert parse_expression("2**1000*x + 9**999", NAMES) == 2**1000 * x + 9**999
    assert parse_expression("1e1000*x", NAMES) == 10**1000 * x


@pytest.mark.parametrize(
    "text",
    [
        "1" * 4900,  # beyond Python's 4300-digit limit for int()
        "0." + "1" * 4400,
        "1/" + "3" * 4400,
        "1" * 1300,
        "1e" + "9" * 4400,
        "12" * 600 + "e5",
    ],
)
def test_numbers_with_too_many_digits_are_refused_by_their_size(text):
    with pytest.raises(ExpressionError, match="digits|exponent"):
        parse_number(text)
    with pytest.raises(ExpressionError, match="digits|exponent"):
        parse_expression(text + "*x", NAMES)


@pytest.mark.parametrize("text", ["٣", "３", "1٣", "0.５", "1e٣"])
def test_only_ascii_digits_are_numbers(text):
    # int() and float() accept these, and so did the regular expression's \d.
    with pytest.raises(ExpressionError, match="ASCII"):
        parse_number(text)


def test_a_long_flat_sum_or_product_is_not_deep():
    assert parse_expression("+".join(["x**2"] * 300), NAMES) == 300 * x**2
    assert parse_expression("-".join(["x"] * 1000), NAMES) == -998 * x
    assert parse_expression("*".join(["x"] * 500) + "/y", NAMES) == x**500 / y
    assert parse_expression("x - y + x/y*2/x", NAMES) == x - y + 2 / y
    with pytest.raises(ExpressionError, match="nested too deeply"):
        parse_expression("-(" * 50 + "-" * 200 + "x" + ")" * 50, NAMES)


def test_errors_quote_long_text_briefly():
    with pytest.raises(ExpressionError) as caught:
        parse_expression("x+" * 2000 + "?", NAMES)
    assert len(str(caught.value)) < 200 and "4,001 characters" in str(caught.value)


@pytest.mark.parametrize(
    "args,fragment",
    [
        (["verify", "--layers", ""], "--layers is empty"),
        (["derive", "--layers", " "], "--layers is empty"),
        (["verify", "--layers", "-1,2"], "layer 1 has width -1"),  # not argparse's 'expected one argument'
        (["verify", "--layers", "３,2"], "ASCII 0-9"),
        (["verify", "--layers", "2,٣"], "ASCII 0-9"),
        (["verify", "--points", "٣"], "ASCII 0-9"),
        (["train", "digits01", "--eta", "３"], "ASCII 0-9"),
        (["train", "digits01", "--epochs", "2.5"], "not a whole number"),
        (["calc", "gd", "x**2", "--eta", "0." + "1" * 4400], "at most 1200"),
        (["calc", "approx", "x**2", "--at", "1" * 4400], "at most 1200"),
        (["verify", "--layers", "2,2,1", "--activation", "(10**999)**5*z"], "at most 1200"),
    ],
)
def test_numbers_in_options_are_read_as_typed(args, fragment, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert fragment in err and err.count("\n") == 1 and len(err) < 400


def test_numbers_in_data_files_are_ascii(tmp_path):
    data = tmp_path / "data.csv"
    data.write_text("x,y\n1,2\n٣,4\n", encoding="utf-8")
    with pytest.raises(DataError, match="line 3 .*ASCII 0-9"):
        read_data(data)


LONG = "k" * 120_000


@pytest.mark.parametrize(
    "args",
    [
        ["verify", "--layers", "1" * 120_000],
        ["verify", "--layers", "2,2,1", "--param", LONG],
        ["verify", "--cnn", LONG],
        ["train", LONG],
        ["verify", "--activation", LONG],
        ["calc", "minimum", "x+" + "+".join(["k"] * 2400)],
    ],
)
def test_a_long_option_is_quoted_briefly(args, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert len(err) < 300 and err.count("\n") == 1


def test_products_of_partial_derivatives_print_unambiguously():
    # ∂C/∂a*∂a/∂z reads as ((∂C/∂a)*∂a)/∂z; each fraction of a chain-rule product is grouped.
    a, z = sp.symbols("a^3_1 z^3_1")
    assert book_text(Partial(COST, a) * Partial(a, z) * w3) == "w^3_11*(∂C/∂a^3_1)*(∂a^3_1/∂z^3_1)"
    assert book_text(Partial(COST, a) ** 2) == "(∂C/∂a^3_1)**2"
    assert book_text(sp.Eq(Partial(COST, z), Partial(COST, a))) == "Eq(∂C/∂z^3_1, ∂C/∂a^3_1)"


@pytest.mark.parametrize("text", ["٣*x", "x**３", "x٣"])
def test_expressions_take_ascii_digits_only(text):
    with pytest.raises(ExpressionError, match="ASCII 0-9"):
        parse_expression(text, NAMES)


def test_compare_points_are_read_as_typed(capsys):
    assert main(["compare", "--sweep", "depth", "--points", "1,٣"]) == 2
    assert "ASCII 0-9" in capsys.readouterr().err
