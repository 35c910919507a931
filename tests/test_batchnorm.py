"""Batch normalisation: the staged backward pass proved equal to the compact formula, and computed."""

import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symbackprop.engine.batchnorm import (
    BatchNormNetwork,
    _in_batch_inputs,
    compact_unit_error,
    shift_invariance,
    staged_equals_compact,
)
from symbackprop.engine.routes import delta_route
from symbackprop.errors import DataError, NetworkSpecError
from symbackprop.numeric.batchnorm_arrays import BatchNormArrays, check_against_symbolic
from symbackprop.numeric.train import accuracy, train
from symbackprop.proof.verify import EXACT, verify

EPSILON = sp.Symbol("epsilon", positive=True)


@pytest.fixture(scope="module", params=[3, 4], ids=["m=3", "m=4"])
def generic_batch(request):
    net = BatchNormNetwork([2, 2, 1], batch=request.param, activation="generic", epsilon=EPSILON)
    return net, delta_route(net)


def test_staged_gradient_equals_the_compact_formula_exactly(generic_batch):
    net, route = generic_batch
    assert staged_equals_compact(net, route)


def test_the_proof_tells_a_wrong_formula_apart(generic_batch):
    # the compact formula without its ẑ_k Σ g ẑ term: what forgetting σ²'s path gives
    net, route = generic_batch
    norm, dense = net.layers[1], net.layers[0]
    delta = sp.Symbol("delta" + dense.z[0][0].name[1:])
    g = [norm.g[k][0] for k in range(norm.batch)]
    wrong = norm.gamma[0] / (norm.batch * sp.sqrt(norm.var[0] + EPSILON)) * (norm.batch * g[0] - sp.Add(*g))
    gap = _in_batch_inputs(net, norm, route.deltas[delta] - wrong)
    assert sp.expand(sp.together(gap).as_numer_denom()[0]) != 0
    right = _in_batch_inputs(net, norm, route.deltas[delta] - compact_unit_error(norm, 0, 0))
    assert sp.expand(sp.together(right).as_numer_denom()[0]) == 0


def test_the_gradient_is_orthogonal_to_a_shift_of_the_batch(generic_batch):
    net, route = generic_batch
    assert shift_invariance(net, route)


def test_delta_route_equals_direct_route_for_a_batch_normalised_network():
    # exactly, for every activation; central differences of the compiled path are checked below
    report = verify(BatchNormNetwork([1, 1, 1], batch=3, activation="generic"), exact=True)
    assert report.ok and report.methods == [EXACT]


def test_bad_shapes_are_refused_in_one_line():
    with pytest.raises(NetworkSpecError, match="m ≥ 2"):
        BatchNormNetwork([2, 2, 1], batch=1)
    with pytest.raises(NetworkSpecError, match="ε > 0"):
        BatchNormNetwork([2, 2, 1], batch=2, epsilon=0)
    with pytest.raises(NetworkSpecError, match="ε > 0"):
        BatchNormArrays([2, 2, 1], epsilon="-1e-5")
    with pytest.raises(NetworkSpecError, match="at least three widths"):
        BatchNormNetwork([2, 1], batch=2)
    with pytest.raises(DataError, match=r"reads \(n, 2\)"):
        m = BatchNormArrays([2, 2, 1])
        m.predict(m.initial_params(np.random.default_rng(0)), np.ones((3, 4)))


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=st.integers(2, 4), sizes=st.sampled_from([[1, 1, 1], [2, 2, 1], [2, 3, 2], [2, 2, 2, 1]]),
       activation=st.sampled_from(["tanh", "sigmoid", "identity"]), seed=st.integers(0, 2**16))
def test_array_gradient_equals_the_compiled_delta_route(batch, sizes, activation, seed):
    model = BatchNormArrays(sizes, activation=activation)
    rng = np.random.default_rng(seed)
    params = {k: rng.normal(size=v.shape) for k, v in model.initial_params(rng).items()}
    X, T = rng.normal(size=(batch, sizes[0])), rng.random((batch, sizes[-1]))
    assert check_against_symbolic(model, params, X, T) < 1e-9


def test_array_gradient_equals_central_differences(central_differences):
    model = BatchNormArrays([3, 4, 3, 2], activation="tanh", output_activation="sigmoid")
    rng = np.random.default_rng(5)
    params = {k: rng.normal(size=v.shape) for k, v in model.initial_params(rng).items()}
    X, T = rng.normal(size=(6, 3)), rng.random((6, 2))
    _, grads = model.cost_and_gradient(params, X, T)
    estimates = central_differences(lambda p: model.cost_and_gradient(p, X, T)[0], params)
    for name, estimate in estimates.items():
        assert np.all(np.abs(estimate - grads[name]) < 1e-7 * np.maximum(1.0, np.abs(estimate))), name


def test_array_gradient_equals_pytorch_autograd_of_batch_norm_in_training_mode():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    model = BatchNormArrays([4, 3, 2], activation="tanh", output_activation="identity")
    rng = np.random.default_rng(11)
    params = {k: rng.normal(size=v.shape) for k, v in model.initial_params(rng).items()}
    X, T = rng.normal(size=(7, 4)), rng.normal(size=(7, 2))
    tensors = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    z = torch.tensor(X) @ tensors["W2"].T
    y = F.batch_norm(z, None, None, tensors["gamma2"], tensors["beta2"], training=True, eps=1e-5)
    out = torch.tanh(y) @ tensors["W3"].T + tensors["b3"]
    loss = 0.5 * ((out - torch.tensor(T)) ** 2).sum()
    loss.backward()
    C, grads = model.cost_and_gradient(params, X, T)
    assert abs(C - loss.item()) < 1e-12
    for name, tensor in tensors.items():
        assert np.allclose(grads[name], tensor.grad.numpy(), rtol=1e-9, atol=1e-12), name


def test_a_batch_normalised_network_learns_the_8x8_digits():
    pytest.importorskip("sklearn")
    from symbackprop.numeric.datasets import load_digits8x8

    data = load_digits8x8()
    model = BatchNormArrays([64, 32, 10], activation="sigmoid")
    result = train(model, data.X, data.T, eta=0.1, epochs=5, batch_size=32, seed=0)
    assert accuracy(model, result.params, data.test_X, data.test_labels) >= 0.95
