"""The δ recurrence equals the direct derivative: exactly, numerically, by paths."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symbackprop import (
    Network,
    SizeLimitError,
    chain_rule_expansion,
    compile_scalar,
    count_paths,
    delta_route,
    direct_route,
    prove_equal,
    verify,
)
from symbackprop.functions.activations import generic_a

SMOOTH = ["sigmoid", "tanh", "softsign", "identity", "z/(1+exp(-z))"]


@pytest.mark.parametrize("sizes", [[2, 2, 1], [12, 3, 2], [3, 2, 2, 2]])
def test_generic_activation_proves_the_routes_equal_for_every_activation(sizes):
    report = verify(Network(sizes, activation="generic"), exact=True)
    assert report.methods == ["exact"]
    assert report.ok, report.summary()
    assert len(report.checks) == Network(sizes).parameter_count


@pytest.mark.parametrize("activation", SMOOTH + ["relu", "step"])
@pytest.mark.parametrize("cost", ["squared", "cross-entropy", "(t - a)**4/4"])
def test_each_activation_and_cost_exactly_and_at_50_digits(activation, cost):
    activations = activation
    if cost == "cross-entropy" and activation != "sigmoid":
        # log a^L needs 0 < a^L < 1: the activation goes into the hidden layer
        activations = [activation, "sigmoid"]
    net = Network([2, 2, 1], activation=activations, cost=cost)
    if activation == "step":
        # Every gradient through a step carries a Dirac delta a'(z) = δ(z): 0 at
        # any random point, so numbers would only compare 0 with 0. The exact
        # identity, with δ(z) an atom, compares the two routes' formulas.
        report = verify(net, exact=True, numeric=False, finite_differences=False)
        direct = direct_route(net)
        assert all(direct.gradients[p].has(sp.DiracDelta) for p in net.layer(2).parameters)
        assert len(report.checks) == net.parameter_count
    else:
        report = verify(net, exact=True)
        assert {"exact", "50-digit numeric", "finite differences"} == set(report.methods)
    assert report.ok, report.summary()


TOWER = "exp(exp(exp(exp(z))))"


def test_finite_differences_allow_for_their_own_step_error():
    # ∂³C/∂p³ of e^(e^(e^(e^z))) is so large that the h² term of a central
    # difference alone is 1e-10 of the gradient, where the 50-digit check agrees
    report = verify(Network([2, 1], activation=TOWER))
    assert report.ok, report.summary()
    assert all(c.agrees is True for c in report.checks)
    # sin(10^10 z) turns many times within a step of the differences: they
    # cannot decide, which is inconclusive, not a disagreement
    for sizes in ([2, 1], [2, 2, 1]):
        report = verify(Network(sizes, activation="sin(10**10*z)"))
        fd = [c for c in report.checks if c.method == "finite differences"]
        assert {c.status for c in fd} >= {"inconclusive"} and not any(c.agrees is False for c in fd)
        assert report.ok, report.summary()
    assert " differ " not in report.summary() and "inconclusive" in report.summary()


def test_finite_differences_still_find_a_wrong_gradient(monkeypatch):
    import importlib

    verify_module = importlib.import_module("symbackprop.proof.verify")

    def wrong_route(model):
        route = delta_route(model)
        # off by one part in a million: far beyond the differences' error
        route.gradients[model.symbol("b^2_1")] *= 1 + sp.Rational(1, 10**6)
        return route

    monkeypatch.setattr(verify_module, "delta_route", wrong_route)
    report = verify(Network([2, 1], activation=TOWER), numeric=False)
    verdicts = {str(c.parameter): c.status for c in report.checks}
    assert verdicts == {"w^2_11": "agrees", "w^2_12": "agrees", "b^2_1": "DIFFERS"}
    assert not report.ok and report.summary().startswith("2 of 3 checks agree, 1 differ (b^2_1)")


def test_disagreement_is_detected():
    # A deliberately wrong δ route must fail every check that looks at it.
    net = Network([2, 2, 1])
    route = delta_route(net)
    w = net.symbol("w^2_11")
    wrong = route.expanded(w) * 2
    assert prove_equal(direct_route(net, [w]).gradients[w], wrong) is None


def _book_delta(net: Network, l: int, i: int) -> sp.Expr:
    """δ^l_i as the book types it: (Σ_j δ^{l+1}_j w^{l+1}_{ji}) a'(z^l_i)."""
    upper = net.layer(l + 1)
    z = net.layer(l).z[i]
    a_prime = net.layer(l).activation.derivative(z)
    total = sum(d * upper.W[j, i] for j, d in enumerate(upper.unit_errors))
    return total * a_prime


@pytest.mark.parametrize("sizes", [[2, 3, 2], [4, 3, 3, 2]])
def test_derived_recurrence_is_the_books_formula(sizes):
    net = Network(sizes, activation="generic")
    route = delta_route(net)
    L = net.depth
    out = net.layer(L)
    for j, delta in enumerate(out.unit_errors):
        # δ^L_j = (a^L_j − t_j) a'(z^L_j) for the squared error
        book = (out.a[j] - net.targets[j]) * out.activation.derivative(out.z[j])
        assert sp.expand(route.deltas[delta] - book) == 0
    for l in range(2, L):
        for i, delta in enumerate(net.layer(l).unit_errors):
            assert sp.expand(route.deltas[delta] - _book_delta(net, l, i)) == 0
    for l in range(2, L + 1):
        layer = net.layer(l)
        for j in range(layer.width):
            assert route.gradients[layer.b[j]] == layer.unit_errors[j]
            for i, a_prev in enumerate(layer.inputs):
                assert route.gradients[layer.W[j, i]] == layer.unit_errors[j] * a_prev


def test_sigmoid_derivative_is_written_in_outputs():
    net = Network([2, 1])
    route = delta_route(net)
    a, t = net.symbol("a^2_1"), net.symbol("t_1")
    assert sp.expand(route.deltas[net.symbol("delta^2_1")] - (a - t) * a * (1 - a)) == 0


def test_cross_entropy_cancels_the_sigmoid_derivative():
    net = Network([3, 2], cost="cross-entropy")
    cancelled = delta_route(net).cancelled()
    for j in (1, 2):
        assert cancelled.deltas[net.symbol(f"delta^2_{j}")] == net.symbol(f"a^2_{j}") - net.symbol(f"t_{j}")


@pytest.mark.parametrize("sizes,name", [([12, 3, 2], "w^2_11"), ([12, 3, 2], "w^3_21"),
                                        ([2, 3, 4, 2], "w^2_12"), ([2, 3, 4, 2], "b^3_1")])
def test_chain_rule_paths_count_and_value(sizes, name):
    net = Network(sizes, activation="generic")
    p = net.symbol(name)
    layer = int(name[2])
    # Book: a parameter of layer l reaches C through one unit of every later layer.
    expected_paths = math.prod(sizes[layer:])
    expansion = chain_rule_expansion(net, p)
    assert expansion.term_count == count_paths(net, p) == expected_paths
    assert all(len(path) == 2 * (len(sizes) - layer + 1) + 1 for path in expansion.paths)
    direct = direct_route(net, [p]).gradients[p]
    assert prove_equal(net.substitute(expansion.evaluate()), direct)


def test_direct_route_refuses_derivative_hell_before_starting():
    with pytest.raises(SizeLimitError, match="force"):
        direct_route(Network([64, 32, 10]))


def test_chain_rule_refuses_too_many_paths():
    net = Network([1, 30, 30, 30, 30, 1])
    with pytest.raises(SizeLimitError, match="27000 paths"):
        chain_rule_expansion(net, "w^2_11")


def test_delta_route_is_linear_in_network_size():
    small = delta_route(Network([16, 8, 4])).size().tree_ops
    large = delta_route(Network([32, 16, 8])).size().tree_ops
    params_small = Network([16, 8, 4]).parameter_count
    params_large = Network([32, 16, 8]).parameter_count
    # operations per parameter stay constant when the network grows
    assert large / params_large < 1.2 * small / params_small


def test_direct_route_grows_faster_than_delta_route():
    for sizes in ([2, 2, 1], [3, 3, 3, 2]):
        net = Network(sizes)
        assert direct_route(net).size().tree_ops > delta_route(net).expanded_size().tree_ops / 10
        assert delta_route(net).size().tree_ops < direct_route(net).size().tree_ops


def _numpy_backprop(sizes, params, x, t):
    """Nielsen-style hand-written backprop for a sigmoid net, squared error."""
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    Ws, bs = params
    activations, zs = [x.T], []
    for W, b in zip(Ws, bs):
        zs.append(W @ activations[-1] + b[:, None])
        activations.append(sig(zs[-1]))
    delta = (activations[-1] - t.T) * activations[-1] * (1 - activations[-1])
    grads_W, grads_b = [None] * len(Ws), [None] * len(Ws)
    for l in range(len(Ws) - 1, -1, -1):
        grads_W[l] = delta @ activations[l].T
        grads_b[l] = delta.sum(axis=1)
        if l:
            delta = (Ws[l].T @ delta) * activations[l] * (1 - activations[l])
    cost = 0.5 * np.sum((t.T - activations[-1]) ** 2)
    return cost, grads_W, grads_b


@pytest.mark.parametrize("route_kind", ["delta", "direct"])
def test_compiled_gradient_matches_independent_numpy_backprop(route_kind):
    sizes = [4, 3, 2]
    net = Network(sizes)
    rng = np.random.default_rng(1)
    Ws = [rng.normal(size=(sizes[l + 1], sizes[l])) for l in range(len(sizes) - 1)]
    bs = [rng.normal(size=sizes[l + 1]) for l in range(len(sizes) - 1)]
    values = {}
    for l, (W, b) in enumerate(zip(Ws, bs), start=2):
        layer = net.layer(l)
        values.update({layer.W[j, i]: W[j, i] for j in range(W.shape[0]) for i in range(W.shape[1])})
        values.update({layer.b[j]: b[j] for j in range(b.size)})
    x, t = rng.random((7, 4)), rng.random((7, 2))
    route = delta_route(net) if route_kind == "delta" else direct_route(net)
    cost, grads = compile_scalar(net, route)(values, x, t)
    want_cost, want_W, want_b = _numpy_backprop(sizes, (Ws, bs), x, t)
    assert cost == pytest.approx(want_cost, rel=1e-12)
    for l in range(2, 4):
        layer = net.layer(l)
        got_W = np.array([[grads[layer.W[j, i]] for i in range(layer.W.cols)] for j in range(layer.W.rows)])
        np.testing.assert_allclose(got_W, want_W[l - 2], rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose([grads[b] for b in layer.b], want_b[l - 2], rtol=1e-10, atol=1e-13)


def test_compiled_gradient_matches_float_finite_differences():
    net = Network([3, 2, 2], activation=["tanh", "sigmoid"], cost="cross-entropy")
    f = compile_scalar(net)
    rng = np.random.default_rng(5)
    params = {p: rng.normal() for p in net.parameters}
    x, t = rng.random((4, 3)), rng.integers(0, 2, (4, 2)).astype(float)
    _, grads = f(params, x, t)
    h = 1e-6
    for p in net.parameters:
        up = {**params, p: params[p] + h}
        down = {**params, p: params[p] - h}
        numeric = (f(up, x, t)[0] - f(down, x, t)[0]) / (2 * h)
        assert grads[p] == pytest.approx(numeric, rel=1e-6, abs=1e-8)


def test_total_cost_gradient_is_the_sum_over_examples():
    net = Network([1, 1], activation="sigmoid")
    total = net.total_cost(3)
    w = net.symbol("w^2_11")
    per_example = direct_route(net, [w]).gradients[w]
    summed = sum(
        per_example.xreplace({s: sp.Symbol(f"{s.name}^({k})") for s in net.inputs + net.targets})
        for k in (1, 2, 3)
    )
    assert prove_equal(sp.diff(total, w), summed)


activation_names = st.sampled_from(SMOOTH + ["relu"])


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    widths=st.lists(st.integers(1, 3), min_size=2, max_size=4),
    activations=st.lists(activation_names, min_size=3, max_size=3),
    seed=st.integers(0, 10_000),
)
def test_property_routes_agree_for_random_shapes(widths, activations, seed):
    net = Network(widths, activation=activations[: len(widths) - 1])
    report = verify(net, points=1, seed=seed)
    assert report.ok, report.summary()


@settings(max_examples=8, deadline=None)
@given(widths=st.lists(st.integers(1, 3), min_size=2, max_size=4))
def test_property_generic_proof_for_random_shapes(widths):
    net = Network(widths, activation="generic")
    route = delta_route(net)
    direct = direct_route(net)
    for p in net.parameters:
        assert prove_equal(direct.gradients[p], route.expanded(p))
        assert route.expanded(p).has(generic_a)


@pytest.mark.parametrize("name", ["x_1", "a^2_1", "z^3_1", "delta^2_1", "t_1"])
def test_only_parameters_have_gradients(name):
    from symbackprop import UnknownNameError

    net = Network([2, 2, 1])
    with pytest.raises(UnknownNameError, match="not a parameter"):
        verify(net, parameters=[name])
    with pytest.raises(UnknownNameError, match="not a parameter"):
        chain_rule_expansion(net, name)
    with pytest.raises(UnknownNameError, match="not a parameter"):
        direct_route(net, [name])


@pytest.mark.parametrize("points", [0, -1, 1.5])
def test_numeric_checks_need_at_least_one_point(points):
    from symbackprop import DataError

    with pytest.raises(DataError, match="positive integer"):
        verify(Network([2, 1]), points=points)
