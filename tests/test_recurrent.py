"""Backpropagation through time: the recurrent network derived, proved and computed."""

import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symbackprop.engine.recurrent import (
    RecurrentNetwork,
    step_jacobian,
    through_time_gradients,
    through_time_unit_errors,
)
from symbackprop.engine.routes import chain_rule_expansion, delta_route, direct_route
from symbackprop.errors import DataError, NetworkSpecError, SymbackpropError
from symbackprop.numeric.datasets import one_hot
from symbackprop.numeric.recurrent_arrays import RecurrentArrays, check_against_symbolic
from symbackprop.numeric.train import accuracy, train
from symbackprop.proof.verify import EXACT, verify


@pytest.fixture(scope="module", params=[False, True], ids=["many-to-one", "many-to-many"])
def generic_rnn(request):
    return RecurrentNetwork(3, 2, 2, 1, activation="generic", output_activation="generic",
                            every_step=request.param)


def test_delta_route_equals_direct_route_exactly_for_every_activation(generic_rnn):
    report = verify(generic_rnn, exact=True)
    assert report.ok and report.methods == [EXACT]
    assert len(report.checks) == generic_rnn.parameter_count == 13


def test_derived_unit_errors_are_the_taught_recurrence_through_time(generic_rnn):
    route = delta_route(generic_rnn)
    taught = through_time_unit_errors(generic_rnn)
    assert set(taught) <= set(route.deltas)
    for delta, formula in taught.items():
        assert sp.expand(route.deltas[delta] - formula) == 0, delta
    for p, formula in through_time_gradients(generic_rnn).items():
        assert sp.expand(route.gradients[p] - formula) == 0, p


def test_the_recurrence_has_the_output_term_only_at_steps_that_are_read():
    one = RecurrentNetwork(3, 1, 1, 1, activation="generic")
    many = RecurrentNetwork(3, 1, 1, 1, activation="generic", every_step=True)
    d1 = delta_route(one).deltas[one.symbol("delta^(1)_1")]
    dm = delta_route(many).deltas[many.symbol("delta^(1)_1")]
    assert not d1.has(sp.Symbol("w^O_11"))
    assert dm.has(sp.Symbol("w^O_11")) and dm.has(sp.Symbol("delta^O(1)_1"))


def test_step_jacobian_is_diag_slope_times_w():
    net = RecurrentNetwork(3, 1, 2, 1, activation="generic")
    rnn = net.recurrent
    for t in (1, 3):
        slopes = sp.diag(*(sp.Derivative(sp.Function("a")(z), z) for z in rnn.z[t - 1]))
        assert sp.simplify(step_jacobian(net, t) - slopes * rnn.W) == sp.zeros(2, 2)


def test_the_gradient_of_the_state_at_step_one_is_the_product_of_jacobians():
    # ∂C/∂h^(1) = (∂h^(2)/∂h^(1))ᵀ (∂h^(3)/∂h^(2))ᵀ ∂C/∂h^(3), with h^(1) held as a free variable
    net = RecurrentNetwork(3, 1, 2, 1, activation="tanh", output_activation="identity")
    rnn, order = net.recurrent, list(net.definitions)

    def written_down_to(expr, last):
        for q in reversed(order[order.index(last) + 1:]):
            expr = expr.xreplace({q: net.definitions[q]})
        return expr

    h1, h3 = rnn.h[1], rnn.h[3]
    direct = sp.Matrix([sp.diff(written_down_to(net.cost_expression, h1[-1]), h) for h in h1])
    dC_dh3 = sp.Matrix([sp.diff(written_down_to(net.cost_expression, h3[-1]), h) for h in h3])
    product = step_jacobian(net, 2).T * step_jacobian(net, 3).T * dC_dh3
    product = product.applyfunc(lambda e: written_down_to(e, h1[-1]))
    point = {s: sp.Float((k + 1) / 7 * (-1) ** k, 30) for k, s in enumerate(net.inputs + net.targets + net.parameters)}
    full = net.full_substitution()
    at = {**point, **{h: full[h].xreplace(point) for h in h1}}
    gap = (direct - product).xreplace(at)
    assert max(abs(sp.N(g, 30)) for g in gap) < 1e-25
    assert max(abs(sp.N(g, 30)) for g in direct.xreplace(at)) > 1e-3


def test_numeric_and_finite_difference_verification_with_tanh():
    report = verify(RecurrentNetwork(3, 1, 2, 1, activation="tanh", every_step=True))
    assert report.ok and report.methods == ["50-digit numeric", "finite differences"]


def test_chain_rule_paths_through_time_sum_to_the_direct_derivative():
    net = RecurrentNetwork(3, 1, 1, 1, activation="generic")
    w = net.symbol("w_11")
    expansion = chain_rule_expansion(net, w)
    # w is used at steps 1, 2, 3; a use at step t reaches C along one path
    assert expansion.term_count == 3
    expanded = net.substitute(expansion.evaluate())
    assert sp.expand(expanded - direct_route(net).gradients[w]) == 0


def test_bad_shapes_are_refused_in_one_line():
    with pytest.raises(NetworkSpecError, match="time steps T must be a whole number from 1"):
        RecurrentNetwork(0)
    with pytest.raises(NetworkSpecError, match="recurrent units"):
        RecurrentNetwork(2, 1, 0)
    with pytest.raises(SymbackpropError, match="choose fewer steps"):
        RecurrentNetwork(200, 64, 64, 1)
    with pytest.raises(DataError, match=r"reads \(n, 3, 1\)"):
        RecurrentArrays(3).predict(RecurrentArrays(3).initial_params(np.random.default_rng(0)), np.ones((2, 4, 1)))


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.integers(1, 4), inputs=st.integers(1, 2), width=st.integers(1, 3), outputs=st.integers(1, 2),
       every_step=st.booleans(), activation=st.sampled_from(["tanh", "sigmoid", "identity"]),
       seed=st.integers(0, 2**16))
def test_array_gradient_equals_the_compiled_delta_route(steps, inputs, width, outputs, every_step, activation, seed):
    model = RecurrentArrays(steps, inputs, width, outputs, activation=activation, every_step=every_step)
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(3, steps, inputs))
    T = rng.normal(size=(3, model.output_size))
    assert check_against_symbolic(model, model.initial_params(rng), X, T) < 1e-10


def test_array_gradient_equals_central_differences(central_differences):
    model = RecurrentArrays(5, 2, 3, 2, activation="tanh", output_activation="sigmoid", every_step=True)
    rng = np.random.default_rng(3)
    params = model.initial_params(rng)
    X, T = rng.normal(size=(4, 5, 2)), rng.random((4, model.output_size))
    _, grads = model.cost_and_gradient(params, X, T)
    estimates = central_differences(lambda p: model.cost_and_gradient(p, X, T)[0], params)
    for name, estimate in estimates.items():
        assert np.all(np.abs(estimate - grads[name]) < 1e-7 * np.maximum(1.0, np.abs(estimate))), name


def test_array_gradient_equals_pytorch_autograd_of_an_rnn():
    torch = pytest.importorskip("torch")
    steps, inputs, width, outputs, n = 6, 3, 4, 2, 5
    model = RecurrentArrays(steps, inputs, width, outputs, activation="tanh")
    rng = np.random.default_rng(7)
    params = model.initial_params(rng) | {"b": rng.normal(size=width), "out_b": rng.normal(size=outputs)}
    X, T = rng.normal(size=(n, steps, inputs)), rng.normal(size=(n, outputs))
    rnn = torch.nn.RNN(inputs, width, nonlinearity="tanh", batch_first=True).double()
    linear = torch.nn.Linear(width, outputs).double()
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(torch.tensor(params["U"]))
        rnn.weight_hh_l0.copy_(torch.tensor(params["W"]))
        rnn.bias_ih_l0.copy_(torch.tensor(params["b"]))
        rnn.bias_hh_l0.zero_()  # PyTorch has two biases per step; their sum is b
        linear.weight.copy_(torch.tensor(params["out_W"]))
        linear.bias.copy_(torch.tensor(params["out_b"]))
    states, _ = rnn(torch.tensor(X))
    loss = 0.5 * ((linear(states[:, -1]) - torch.tensor(T)) ** 2).sum()
    loss.backward()
    C, grads = model.cost_and_gradient(params, X, T)
    assert abs(C - loss.item()) < 1e-12
    expected = {"U": rnn.weight_ih_l0.grad, "W": rnn.weight_hh_l0.grad, "b": rnn.bias_ih_l0.grad,
                "out_W": linear.weight.grad, "out_b": linear.bias.grad}
    for name, grad in expected.items():
        assert np.allclose(grads[name], grad.numpy(), rtol=1e-10, atol=1e-12), name


def test_a_recurrent_network_learns_the_sign_of_a_sequence_sum():
    rng = np.random.default_rng(0)

    def sequences(n):
        X = rng.uniform(-1, 1, (n, 5, 1))
        return X, (X.sum(axis=(1, 2)) > 0).astype(int)

    X, labels = sequences(1000)
    X_test, test_labels = sequences(400)
    model = RecurrentArrays(5, 1, 4, 2, activation="tanh", output_activation="sigmoid")
    result = train(model, X, one_hot(labels, 2), eta=0.02, epochs=100, batch_size=20, seed=0)
    assert accuracy(model, result.params, X_test, test_labels) >= 0.93
