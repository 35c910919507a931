"""The network in the book's notation: symbols, equations, sizes, bad input."""

from __future__ import annotations

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from symbackprop import (
    ExpressionError,
    Network,
    NetworkSpecError,
    NotDifferentiableError,
    SymbackpropError,
    UnknownNameError,
    compile_scalar,
    get_activation,
    get_cost,
)
from symbackprop.functions.elementary import sigmoid


def test_book_network_has_47_parameters():
    assert Network([12, 3, 2]).parameter_count == 12 * 3 + 3 + 3 * 2 + 2 == 47


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(1, 6), min_size=2, max_size=5))
def test_parameter_count_is_sum_of_weights_and_biases(sizes):
    net = Network(sizes)
    assert net.parameter_count == sum(sizes[l] * (sizes[l - 1] + 1) for l in range(1, len(sizes)))
    assert len(set(net.parameters)) == net.parameter_count


def test_weight_subscripts_are_to_then_from():
    net = Network([3, 2, 1])
    layer = net.layer(2)
    # w^2_{ji}: to unit j of layer 2 from unit i of layer 1
    assert layer.W[1, 2] == net.symbol("w^2_23")
    assert net.definition("z^2_2").coeff(net.symbol("x_3")) == net.symbol("w^2_23")


def test_layer_local_and_fully_substituted_forms():
    net = Network([2, 2, 1], activation="generic")
    a = sp.Function("a")
    local = net.definition("z^3_1")
    assert local.free_symbols == {net.symbol(n) for n in ("a^2_1", "a^2_2", "w^3_11", "w^3_12", "b^3_1")}
    full = net.definition("a^3_1", substituted=True)
    assert full.free_symbols <= set(net.inputs) | set(net.parameters)
    z2 = [net.definition(f"z^2_{j}", substituted=True) for j in (1, 2)]
    expected = a(net.symbol("w^3_11") * a(z2[0]) + net.symbol("w^3_12") * a(z2[1]) + net.symbol("b^3_1"))
    assert full == expected


def test_matrix_view_agrees_with_the_equations():
    net = Network([3, 2, 2])
    for l in (2, 3):
        eq = net.layer(l).matrix_equation()
        product = eq.rhs.doit()
        for j, z in enumerate(net.layer(l).z):
            assert sp.expand(product[j] - net.definition(z)) == 0


@pytest.mark.parametrize("spelling", ["w^2_{1,12}", "w^{2}_{1,12}", "w2_1,12", "w^2_1,12"])
def test_symbol_spellings(spelling):
    assert Network([12, 3, 2]).symbol(spelling).name == "w^2_1,12"


def test_input_is_a1():
    net = Network([12, 3, 2])
    assert net.symbol("a^1_5") == net.symbol("x_5") == net.symbol("x5")


@pytest.mark.parametrize("sizes", [[3], [], [2, 0], [2, -1], [2, 1.5], [2, "3"], "12,3,2", [2, True]])
def test_bad_sizes(sizes):
    with pytest.raises(NetworkSpecError):
        Network(sizes)


def test_wrong_number_of_activations():
    with pytest.raises(NetworkSpecError, match="one per layer"):
        Network([2, 2, 1], activation=["sigmoid"] * 3)


@pytest.mark.parametrize("name", ["w^4_11", "w^2_99", "q^2_1", "nonsense"])
def test_unknown_parameter(name):
    with pytest.raises(UnknownNameError, match="no quantity"):
        Network([12, 3, 2]).symbol(name)


def test_activation_derivatives_are_the_true_derivatives():
    z = sp.Symbol("z")
    explicit = {
        "sigmoid": 1 / (1 + sp.exp(-z)),
        "tanh": sp.tanh(z),
        "identity": z,
        "z/(1+exp(-z))": z / (1 + sp.exp(-z)),
    }
    for name, formula in explicit.items():
        act = get_activation(name)
        derivative = act.derivative(z).rewrite(sp.exp)
        for value in (-3, sp.Rational(-1, 2), sp.Rational(1, 4), 2):
            assert float((derivative - sp.diff(formula, z)).subs(z, value).evalf(30)) == pytest.approx(0, abs=1e-25)
    assert get_activation("sigmoid").derivative(z) == sigmoid(z) * (1 - sigmoid(z))
    assert get_activation("tanh").derivative(z) == 1 - sp.tanh(z) ** 2


def test_softsign_and_relu_derivatives_away_from_zero():
    z = sp.Symbol("z")
    for value in (-2.5, -0.3, 0.7, 4):
        soft = get_activation("softsign").derivative(z).subs(z, value).evalf(30)
        assert float(soft) == pytest.approx(1 / (1 + abs(value)) ** 2, rel=1e-14)
        relu = get_activation("relu").derivative(z).subs(z, value)
        assert relu == (1 if value > 0 else 0)


def test_step_cannot_be_trained():
    with pytest.raises(NotDifferentiableError, match="Dirac"):
        get_activation("step").require_trainable()
    with pytest.raises(NotDifferentiableError, match="Dirac"):
        compile_scalar(Network([2, 1], activation="step"))
    assert get_activation("step").derivative(sp.Symbol("z")) == sp.DiracDelta(sp.Symbol("z"))


def test_costs():
    a, t = sp.symbols("a t")
    assert get_cost("squared").term(a, t) == (t - a) ** 2 / 2
    ce = get_cost("cross-entropy").term(a, t)
    assert sp.simplify(sp.diff(ce, a) - (a - t) / (a * (1 - a))) == 0
    assert get_cost("(t - a)**2").term(a, t) == (t - a) ** 2


@pytest.mark.parametrize("bad", ["hinge", "a +", "t", "__import__('os').system('x')", "open('f')"])
def test_bad_costs(bad):
    with pytest.raises(SymbackpropError):
        get_cost(bad)


@pytest.mark.parametrize("bad", ["sigmod", "z +", "y*2", "3", "z.real", "(lambda q: q)(z)", "[z][0]"])
def test_bad_activations(bad):
    with pytest.raises((UnknownNameError, ExpressionError)):
        get_activation(bad)


def test_substitute_never_evaluates_strings():
    with pytest.raises(sp.SympifyError):
        Network([1, 1]).substitute("__import__('os').getpid()")


@pytest.mark.parametrize("activation", [5, None, 1.5])
def test_activation_of_the_wrong_type(activation):
    with pytest.raises(NetworkSpecError, match="activation must be"):
        Network([2, 1], activation=activation)


@pytest.mark.parametrize("n", [0, -1, 2.5, True])
def test_total_cost_needs_a_positive_number_of_examples(n):
    with pytest.raises(NetworkSpecError, match="positive integer"):
        Network([1, 1]).total_cost(n)


def test_cross_entropy_needs_outputs_in_zero_one_wherever_a_network_is_built():
    from symbackprop.cli import main
    from symbackprop.engine.cnn import ConvolutionalNetwork
    from symbackprop.errors import NetworkSpecError
    from symbackprop.numeric.cnn_arrays import CNNArrays

    # log a^L with tanh's a^L < 0 is NaN: every way of building refuses it
    for build in (
        lambda: Network([2, 1], activation="tanh", cost="cross-entropy"),
        lambda: ConvolutionalNetwork(activation="tanh", cost="cross-entropy"),
        lambda: CNNArrays(activation="tanh", cost="cross-entropy"),
    ):
        with pytest.raises(NetworkSpecError, match="output activation tanh can leave"):
            build()
    for command in ("verify", "derive", "compare"):
        assert main([command, "--layers", "2,1", "--activation", "tanh", "--cost", "cross-entropy"]) == 2
    # only the output layer's values go into the logs; the generic a(z) stays
    # allowed, since what is derived with it is a formal identity
    Network([2, 2, 1], activation=["tanh", "sigmoid"], cost="cross-entropy")
    Network([2, 1], activation="generic", cost="cross-entropy")
    ConvolutionalNetwork(activation="generic", cost="cross-entropy")
