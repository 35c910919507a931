"""The scalar path: one compiled expression per parameter, equal to the symbolic
gradient it came from and to finite differences."""

from __future__ import annotations

import random

import numpy as np
import pytest
import sympy as sp

from symbackprop import Network, compile_scalar, delta_route, direct_route
from symbackprop.errors import DataError, NetworkSpecError, NotDifferentiableError, UnknownNameError
from symbackprop.numeric.scalar import ScalarModel


def _point(net: Network, batch: int, seed: int):
    rng = random.Random(seed)
    params = {p: sp.Rational(rng.randint(-20, 20), 10) for p in net.parameters}
    examples = [
        ({x: sp.Rational(rng.randint(-10, 10), 10) for x in net.inputs},
         {t: sp.Rational(rng.randint(0, 10), 10) for t in net.targets})
        for _ in range(batch)
    ]
    X = np.array([[float(e[0][x]) for x in net.inputs] for e in examples])
    T = np.array([[float(e[1][t]) for t in net.targets] for e in examples])
    return params, examples, X, T


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "softsign"])
@pytest.mark.parametrize("route_name", ["delta", "direct"])
def test_compiled_gradient_equals_the_symbolic_gradient(activation, route_name):
    net = Network([2, 2, 1], activation=activation)
    route = delta_route(net) if route_name == "delta" else direct_route(net)
    compiled = compile_scalar(net, route)
    assert compiled.route == route_name
    params, examples, X, T = _point(net, 3, seed=7)
    cost, gradient = compiled({p: float(v) for p, v in params.items()}, X, T)
    reference = delta_route(net)
    for p in net.parameters:
        # the symbolic ∂C/∂p written out in inputs and parameters, summed over the examples
        formula = reference.expanded(p)
        exact = sum(formula.xreplace({**params, **x, **t}) for x, t in examples)
        assert gradient[p] == pytest.approx(float(sp.N(exact, 30)), rel=1e-12, abs=1e-14)
    exact_cost = sum(net.cost_substituted().xreplace({**params, **x, **t}) for x, t in examples)
    assert cost == pytest.approx(float(sp.N(exact_cost, 30)), rel=1e-12)


def test_compiled_gradient_equals_finite_differences():
    net = Network([3, 3, 2])
    compiled = compile_scalar(net)
    params, _, X, T = _point(net, 4, seed=11)
    values = {p: float(v) for p, v in params.items()}
    _, gradient = compiled(values, X, T)
    h = 1e-6
    for p in net.parameters:
        up, down = dict(values), dict(values)
        up[p] += h
        down[p] -= h
        numeric = (compiled(up, X, T)[0] - compiled(down, X, T)[0]) / (2 * h)
        assert gradient[p] == pytest.approx(numeric, rel=1e-6, abs=1e-9)


def test_mpmath_backend_agrees_with_numpy():
    net = Network([2, 2, 1])
    params, examples, X, T = _point(net, 1, seed=3)
    values = {p: float(v) for p, v in params.items()}
    fast = compile_scalar(net)(values, X, T)
    precise = compile_scalar(net, backend="mpmath")(values, X[0], T[0])
    assert float(precise[0]) == pytest.approx(fast[0], rel=1e-13)
    for p in net.parameters:
        assert float(precise[1][p]) == pytest.approx(fast[1][p], rel=1e-12, abs=1e-15)


def test_compiled_function_keeps_its_expressions():
    net = Network([12, 3, 2])
    compiled = compile_scalar(net)
    w = net.symbol("w^2_11")
    assert compiled.gradient_expressions[w] == net.symbol("delta^2_1") * net.symbol("x_1")
    assert compiled.latex("w^2_11") == r"\delta^{2}_{1} x_{1}"


def test_scalar_model_arrays_follow_the_book_subscripts():
    # W2[j-1, i-1] is w^2_ji: a bump in input 2 only moves hidden unit 1 through w^2_12.
    model = ScalarModel([2, 1], activation="identity")
    params = {"W2": np.array([[0.0, 1.0]]), "b2": np.zeros(1)}
    _, gradient = model.cost_and_gradient(params, np.array([[0.0, 2.0]]), np.array([[0.0]]))
    # C = ½ (w^2_12 x_2)² → ∂C/∂w^2_12 = w^2_12 x_2² = 4, ∂C/∂w^2_11 = 0
    assert gradient["W2"].tolist() == [[0.0, 4.0]]
    assert gradient["b2"].tolist() == [2.0]


def test_bad_data_and_untrainable_activations():
    net = Network([2, 1])
    compiled = compile_scalar(net)
    params = {p: 0.0 for p in net.parameters}
    with pytest.raises(DataError, match="inputs must be an array of shape"):
        compiled(params, np.zeros((3, 3)), np.zeros((3, 1)))
    with pytest.raises(DataError, match="targets must be an array of shape"):
        compiled(params, np.zeros((3, 2)), np.zeros((2, 1)))
    with pytest.raises(NotDifferentiableError):
        compile_scalar(Network([2, 1], activation="generic"))
    with pytest.raises(NotDifferentiableError):
        ScalarModel([2, 1], activation="step")
    with pytest.raises(UnknownNameError, match="unknown backend 'llvm'"):
        ScalarModel([2, 1], backend="llvm")
    # the cross-entropy's log a^L needs outputs in (0, 1); tanh gives (−1, 1)
    with pytest.raises(NetworkSpecError, match="output activation tanh can leave"):
        ScalarModel([2, 1], activation="tanh", cost="cross-entropy")


@pytest.mark.parametrize("activation,cost", [("sigmoid", "squared"), ("tanh", "squared"), ("sigmoid", "cross-entropy")])
def test_symengine_backend_agrees_with_numpy(activation, cost):
    pytest.importorskip("symengine", reason="SymEngine is an optional backend (extra 'symengine'); not installed")
    net = Network([3, 3, 2], activation=activation, cost=cost)
    params, _, X, T = _point(net, 5, seed=2)
    values = {p: float(v) for p, v in params.items()}
    for route in (delta_route(net).cancelled(), direct_route(net)):
        fast = compile_scalar(net, route, backend="symengine")(values, X, T)
        reference = compile_scalar(net, route)(values, X, T)
        assert fast[0] == pytest.approx(reference[0], rel=1e-12)
        for p in net.parameters:
            assert fast[1][p] == pytest.approx(reference[1][p], rel=1e-10, abs=1e-13)


def test_symengine_backend_refuses_what_it_cannot_compile():
    pytest.importorskip("symengine", reason="SymEngine is an optional backend (extra 'symengine'); not installed")
    with pytest.raises(NotDifferentiableError, match="symengine backend cannot compile"):
        compile_scalar(Network([2, 1], activation="relu"), backend="symengine")


@pytest.mark.parametrize("cost", ["squared", "cross-entropy"])
def test_scalar_path_has_no_overflow_at_large_z(cost):
    import warnings

    model = ScalarModel([2, 2, 2], cost=cost)
    params = {"W2": np.array([[900.0, -900.0], [-800.0, 700.0]]), "b2": np.zeros(2),
              "W3": np.array([[60.0, -60.0], [-50.0, 50.0]]), "b3": np.zeros(2)}
    X = np.array([[1.0, 0.0], [0.0, 1.0]])
    T = np.array([[0.0, 1.0], [1.0, 0.0]])  # confidently wrong: C is large but finite
    with warnings.catch_warnings(), np.errstate(over="raise", divide="raise", invalid="raise"):
        warnings.simplefilter("error")
        value, gradient = model.cost_and_gradient(params, X, T)
    assert np.isfinite(value) and all(np.all(np.isfinite(g)) for g in gradient.values())
    if cost == "cross-entropy":
        # a^2 is (1, 0) or (0, 1), so z^3 = ±(60, −50), each unit confidently wrong:
        # −log σ(−60) ≈ 60 and −log σ(−50) ≈ 50 per example
        assert value == pytest.approx(2 * (60.0 + 50.0), rel=1e-12)
