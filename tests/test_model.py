"""Models built from layer specifications: residual connections, layers stated
by their equations and softmax outputs, each proved on the δ route, the
direct route, the scalar and the array path, against finite differences and
(where installed) PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symbackprop.engine.model import Model
from symbackprop.engine.network import Network
from symbackprop.engine.routes import chain_rule_expansion, delta_route, direct_route
from symbackprop.errors import ExpressionError, NetworkSpecError, NotDifferentiableError, UnknownNameError
from symbackprop.numeric.array_form import I, K, derive_arrays
from symbackprop.numeric.arrays import ArrayModel, verify_arrays
from symbackprop.numeric.catalogue import load_dataset
from symbackprop.numeric.scalar import ScalarModel
from symbackprop.numeric.train import accuracy, train
from symbackprop.proof.verify import prove_equal

CCE = "categorical-cross-entropy"

RESIDUAL = [
    {"kind": "dense", "width": 2, "activation": "generic"},
    {"kind": "dense", "width": 2, "activation": "generic"},
    {"kind": "residual", "skip": 2, "activation": "generic"},
    {"kind": "dense", "width": 1, "activation": "generic"},
]
GATED = [{"kind": "equations", "width": 2, "output": "z*sigmoid(z')"}, {"kind": "dense", "width": 1, "activation": "generic"}]
SWISH = [{"kind": "equations", "width": 2, "output": "z*sigmoid(z)"}, {"kind": "dense", "width": 1, "activation": "generic"}]
NORMALISED = [{"kind": "equations", "width": 2, "output": "z^2/sum(z^2)"}]
SOFTMAX = [{"kind": "dense", "width": 2, "activation": "generic"}, {"kind": "softmax", "width": 3}]


@pytest.mark.parametrize("specs,cost", [
    (RESIDUAL, "squared"), (GATED, "squared"), (SWISH, "squared"), (NORMALISED, "squared"), (SOFTMAX, CCE),
])
def test_delta_route_equals_the_direct_derivative_exactly(specs, cost):
    model = Model(2, specs, cost=cost)
    route, direct = delta_route(model), direct_route(model)
    for p in model.parameters:
        assert prove_equal(route.expanded(p), direct.gradients[p]), p


def test_the_error_reaches_the_skip_source_by_both_paths():
    model = Model(2, RESIDUAL)
    route = delta_route(model)
    d2 = route.deltas[model.symbol("delta^2_1")]
    # δ^2_1 = (Σ_j δ^3_j w^3_j1 + Σ_j δ^5_j w^5_j1) a'(z^2_1): layer 3, and layer 5 through the skip into a^4
    deltas3 = {model.symbol("delta^3_1"), model.symbol("delta^3_2")}
    assert deltas3 <= d2.free_symbols and model.symbol("delta^5_1") in d2.free_symbols
    assert chain_rule_expansion(model, "w^2_11").term_count == 5  # 4 through layers 3 and 4, 1 along the skip


def test_a_chain_of_dense_layers_is_the_network():
    specs = [{"kind": "dense", "width": 3, "activation": "tanh"}, {"kind": "dense", "width": 2}]
    model, net = Model(4, specs), Network([4, 3, 2], activation=["tanh", "sigmoid"])
    assert model.definitions == net.definitions and model.cost_expression == net.cost_expression
    assert model.parameters == net.parameters


def test_user_layer_errors_name_the_unknown_name_and_the_layer():
    with pytest.raises(ExpressionError, match="layer 3 \\('equations'\\): .*unknown name 'y'"):
        Model(2, [{"kind": "dense", "width": 2}, {"kind": "equations", "width": 2, "output": "z*y"}])
    with pytest.raises(ExpressionError, match="does not use a weighted input"):
        Model(2, [{"kind": "equations", "width": 2, "output": "2"}])
    with pytest.raises(ExpressionError, match="unknown function 'eval'"):
        Model(2, [{"kind": "equations", "width": 2, "output": "eval(z)"}])
    with pytest.raises(UnknownNameError, match="unknown kind 'convolution'"):
        Model(2, [{"kind": "convolution", "width": 2}])
    with pytest.raises(NetworkSpecError, match="skip 3 is not an earlier layer"):
        Model(2, [{"kind": "residual", "skip": 3}])


def test_the_softmax_delta_comes_out_as_a_minus_t():
    net = Network([3, 2, 3], output="softmax", cost=CCE)
    d = derive_arrays(net)
    out = d.layers[-1]
    assert d.entry_deltas[out.delta] == out.a[I, K] - d.targets[I, K]
    constrained = delta_route(net).constrained()
    for j, delta in enumerate(net.output_layer.unit_errors):
        assert constrained.deltas[delta] == net.output_layer.a[j] - net.targets[j]


@pytest.mark.parametrize("specs,cost", [(RESIDUAL, "squared"), (GATED, "squared"), (SOFTMAX, CCE)])
def test_array_form_equals_the_scalar_route_entry_by_entry(specs, cost):
    report = verify_arrays(Model(2, specs, cost=cost), batch=2)
    assert report.ok, report.failures()


def _concrete(specs):
    return [{**s, "activation": "tanh"} if "activation" in s else s for s in specs]


def _batch(model, n=5, seed=0, one_hot=False):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, model.input_shape[0]))
    if one_hot:
        T = np.eye(model.output_size)[rng.integers(0, model.output_size, n)]
    else:
        T = rng.normal(size=(n, model.output_size))
    return X, T


@pytest.mark.parametrize("specs,cost", [(RESIDUAL, "squared"), (GATED, "squared"), (SWISH, "squared"), (SOFTMAX, CCE)])
def test_array_gradient_equals_the_scalar_path_and_central_differences(specs, cost):
    model = Model(3, _concrete(specs), cost=cost, weight_decay="1/50")
    arrays, scalar = ArrayModel(model), ScalarModel(model)
    params = arrays.initial_params(np.random.default_rng(1))
    X, T = _batch(arrays, one_hot=cost == CCE)
    cost_a, grad_a = arrays.cost_and_gradient(params, X, T)
    cost_s, grad_s = scalar.cost_and_gradient(params, X, T)
    assert cost_a == pytest.approx(cost_s, rel=1e-12)
    h = 1e-6
    for name, value in params.items():
        np.testing.assert_allclose(grad_a[name], grad_s[name], rtol=1e-10, atol=1e-12)
        for index in np.ndindex(value.shape):
            saved = value[index]
            value[index] = saved + h
            up = arrays.cost_and_gradient(params, X, T)[0]
            value[index] = saved - h
            down = arrays.cost_and_gradient(params, X, T)[0]
            value[index] = saved
            assert grad_a[name][index] == pytest.approx((up - down) / (2 * h), rel=1e-6, abs=1e-7), (name, index)


def test_softmax_on_the_array_path_is_finite_at_logits_of_a_thousand():
    model = ArrayModel(Network([1, 3], output="softmax", cost=CCE))
    params = {"W2": np.zeros((3, 1)), "b2": np.array([1000.0, -1000.0, 0.0])}
    X, T = np.ones((2, 1)), np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    cost, grad = model.cost_and_gradient(params, X, T)
    # C = −log a_2 − log a_1 with log a_j = z_j − log Σ e^z: 2000 + log(1 + e^{−1000} + e^{−2000}) + 0
    assert cost == pytest.approx(2000.0, rel=1e-15)
    np.testing.assert_allclose(grad["b2"], [1.0, -1.0, 0.0], atol=1e-12)
    assert np.all(np.isfinite(model.predict(params, X)))


def test_a_layer_that_sums_over_its_units_is_refused_by_the_array_path_with_the_way_out():
    with pytest.raises(NotDifferentiableError, match="sums over the layer's units.*--path scalar"):
        ArrayModel(Model(2, _concrete(NORMALISED)))


def test_torch_autograd_agrees_on_a_residual_block_and_a_softmax_cross_entropy():
    torch = pytest.importorskip("torch")
    model = Model(3, [{"kind": "dense", "width": 2, "activation": "tanh"},
                      {"kind": "dense", "width": 2, "activation": "tanh"},
                      {"kind": "residual", "skip": 2, "activation": "tanh"},
                      {"kind": "equations", "width": 2, "output": "z*sigmoid(z')"},
                      {"kind": "softmax", "width": 3}], cost=CCE)
    arrays = ArrayModel(model)
    params = arrays.initial_params(np.random.default_rng(2))
    X, T = _batch(arrays, n=6, seed=3, one_hot=True)
    _, grad = arrays.cost_and_gradient(params, X, T)
    p = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    x = torch.tensor(X)
    a2 = torch.tanh(x @ p["W2"].T + p["b2"])
    a3 = torch.tanh(a2 @ p["W3"].T + p["b3"])
    a4 = torch.tanh(a3 @ p["W4"].T + p["b4"]) + a2
    a5 = (a4 @ p["W5"].T + p["b5"]) * torch.sigmoid(a4 @ p["W'5"].T + p["b'5"])
    logits = a5 @ p["W6"].T + p["b6"]
    loss = torch.nn.functional.cross_entropy(logits, torch.tensor(T.argmax(axis=1)), reduction="sum")
    loss.backward()
    for name, value in p.items():
        np.testing.assert_allclose(grad[name], value.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("specs,cost,eta", [
    ([{"kind": "dense", "width": 4, "activation": "tanh"}, {"kind": "dense", "width": 4, "activation": "tanh"},
      {"kind": "residual", "skip": 2, "activation": "tanh"}, {"kind": "dense", "width": 2}], "squared", 0.1),
    ([{"kind": "equations", "width": 3, "output": "z*sigmoid(z')"}, {"kind": "softmax", "width": 2}], CCE, 0.02),
    ([{"kind": "dense", "width": 3}, {"kind": "softmax", "width": 2}], CCE, 0.1),
])
def test_the_array_path_trains_each_kind_on_the_books_digits(specs, cost, eta):
    data = load_dataset("digits01")
    model = ArrayModel(Model(12, specs, cost=cost))
    result = train(model, data.X, data.T, eta=eta, epochs=100, seed=0)
    assert result.problem is None
    assert accuracy(model, result.params, data.X, data.labels) == 1.0


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(width=st.integers(1, 2), hidden=st.integers(1, 3), skip=st.integers(1, 2), seed=st.integers(0, 2**16))
def test_any_residual_arrangement_gives_the_scalar_paths_gradient_on_the_array_path(width, hidden, skip, seed):
    # skip = 1 adds the inputs themselves (width = the input width), skip = 2 the first hidden layer's outputs
    layers = [{"kind": "dense", "width": width, "activation": "tanh"}]
    layers += [{"kind": "dense", "width": width, "activation": "tanh"} for _ in range(hidden - 1)]
    layers += [{"kind": "residual", "skip": skip, "activation": "tanh"}, {"kind": "dense", "width": 2}]
    model = Model(width, layers)
    arrays, scalar = ArrayModel(model), ScalarModel(model)
    params = arrays.initial_params(np.random.default_rng(seed))
    X, T = _batch(arrays, n=3, seed=seed)
    cost_a, grad_a = arrays.cost_and_gradient(params, X, T)
    cost_s, grad_s = scalar.cost_and_gradient(params, X, T)
    assert cost_a == pytest.approx(cost_s, rel=1e-12)
    for name in params:
        np.testing.assert_allclose(grad_a[name], grad_s[name], rtol=1e-10, atol=1e-12)
