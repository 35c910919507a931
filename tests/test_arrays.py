"""The array path: derived in index form, proved equal to the scalar route,
compiled to matrix products that agree with every other way to get the gradient."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symbackprop.errors import NetworkSpecError, NotDifferentiableError
from symbackprop.numeric.array_form import derive_arrays
from symbackprop.numeric.arrays import ArrayModel, verify_arrays
from symbackprop.numeric.scalar import ScalarModel
from symbackprop.numeric.train import initial_params


@pytest.mark.parametrize(
    "sizes,activation,cost",
    [
        ([3, 2, 2], "generic", "squared"),
        ([2, 2, 2, 1], "generic", "squared"),
        ([2, 2, 2], "generic", "cross-entropy"),
        ([3, 2, 2], "sigmoid", "cross-entropy"),
        ([2, 3, 2], "tanh", "squared"),
    ],
)
def test_matrix_form_equals_scalar_route_entry_by_entry(sizes, activation, cost):
    report = verify_arrays(sizes, activation=activation, cost=cost, batch=2)
    assert report.ok, report.failures()
    # every forward entry, every δ of both examples and every parameter was compared
    units = sum(sizes[1:])
    params = sum(sizes[l] * (sizes[l - 1] + 1) for l in range(1, len(sizes)))
    assert len(report.checks) == 2 * 2 * units + params


def test_a_wrong_matrix_form_is_caught(monkeypatch):
    # W^3 δ^3 instead of (W^3)^T δ^3 in δ^2 (wrong at 3-2-2 where W^3 is square):
    # the entry-by-entry proof must notice.
    import symbackprop.numeric.arrays as arrays

    real = arrays.derive_arrays

    def wrong(network):
        d = real(network)
        upper = d.layer(3).W
        entry = d.entry_deltas[d.layer(2).delta]
        swapped = entry.replace(
            lambda e: getattr(e, "parent", None) == upper, lambda e: upper[e.indices[1], e.indices[0]]
        )
        assert swapped != entry
        d.entry_deltas[d.layer(2).delta] = swapped
        return d

    monkeypatch.setattr(arrays, "derive_arrays", wrong)
    report = arrays.verify_arrays([3, 2, 2], activation="generic")
    assert not report.ok
    assert {f.split("^(")[0] for f in report.failures()} == {"delta^2_1", "delta^2_2"}


def test_derivation_is_size_independent_and_reads_like_the_book():
    d = derive_arrays([12, 3, 2])
    assert d.products[sp.Symbol("S2")] == d.layer(3).W.T * d.layer(3).delta
    assert d.gradients["W2"] == d.layer(2).delta * d.inputs.T
    assert d.gradients["W3"] == d.layer(3).delta * d.layer(2).a.T
    big = derive_arrays([64, 32, 10])
    assert str(big.gradients) == str(d.gradients)
    assert big.delta_text(2) == d.delta_text(2)


def _random_params(model, seed):
    return initial_params(model, seed=seed)


def _data(sizes, batch, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(batch, sizes[0]))
    T = rng.random((batch, sizes[-1]))
    return X, T


ACTIVATIONS = ["sigmoid", "tanh", "softsign", "identity", "relu"]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    widths=st.lists(st.integers(1, 3), min_size=2, max_size=4),
    cost=st.sampled_from(["squared", "cross-entropy"]),
    batch=st.integers(1, 5),
    seed=st.integers(0, 10_000),
)
def test_array_path_equals_scalar_path(data, widths, cost, batch, seed):
    layers = len(widths) - 1
    activation = data.draw(st.lists(st.sampled_from(ACTIVATIONS), min_size=layers, max_size=layers))
    if cost == "cross-entropy":
        activation[-1] = "sigmoid"  # outputs must lie in (0, 1)
    array, scalar = ArrayModel(widths, activation, cost), ScalarModel(widths, activation, cost)
    params = _random_params(array, seed)
    X, T = _data(widths, batch, seed)
    c_array, g_array = array.cost_and_gradient(params, X, T)
    c_scalar, g_scalar = scalar.cost_and_gradient(params, X, T)
    assert c_array == pytest.approx(c_scalar, rel=1e-10, abs=1e-12)
    for name in array.parameter_shapes:
        np.testing.assert_allclose(g_array[name], g_scalar[name], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(array.predict(params, X), scalar.predict(params, X), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("cost", ["squared", "cross-entropy"])
def test_array_gradient_equals_finite_differences(cost, central_differences):
    model = ArrayModel([4, 3, 3, 2], cost=cost)
    params = _random_params(model, 3)
    X, T = _data([4, 3, 3, 2], 6, 3)
    T = (T > 0.5).astype(float)
    _, gradient = model.cost_and_gradient(params, X, T)
    numeric = central_differences(lambda p: model.cost_and_gradient(p, X, T)[0], params)
    for name, estimate in numeric.items():
        np.testing.assert_allclose(gradient[name], estimate, rtol=1e-6, atol=1e-8, err_msg=name)


@pytest.mark.parametrize("cost", ["squared", "cross-entropy"])
def test_no_overflow_at_large_z(cost):
    model = ArrayModel([3, 2, 2], cost=cost)
    params = {k: v * 1000 for k, v in _random_params(model, 1).items()}
    X = np.array([[1.0, -1.0, 1.0], [-1.0, 1.0, -1.0]])
    T = np.array([[1.0, 0.0], [0.0, 1.0]])
    with warnings.catch_warnings(), np.errstate(over="raise", divide="raise", invalid="raise"):
        warnings.simplefilter("error")
        cost_value, gradient = model.cost_and_gradient(params, X, T)
        outputs = model.predict(params, X)
    assert np.isfinite(cost_value) and all(np.all(np.isfinite(g)) for g in gradient.values())
    assert np.all((outputs >= 0) & (outputs <= 1))


def test_cross_entropy_is_exact_where_the_naive_formula_gives_infinity():
    # One output unit, z = 800: C = −log(1 − σ(800)) = 800 + log(1 + e^{−800}) ≈ 800.
    model = ArrayModel([1, 1], cost="cross-entropy")
    params = {"W2": np.array([[800.0]]), "b2": np.zeros(1)}
    cost, gradient = model.cost_and_gradient(params, np.array([[1.0]]), np.array([[0.0]]))
    assert cost == pytest.approx(800.0)
    assert gradient["W2"][0, 0] == pytest.approx(1.0)  # δ = a − t = 1


def test_torch_autograd_agrees():
    torch = pytest.importorskip("torch", reason="PyTorch is an optional benchmark peer; not installed")
    for seed, sizes in enumerate([[5, 4, 3], [3, 4, 4, 2], [12, 3, 2]]):
        model = ArrayModel(sizes)
        params = _random_params(model, seed)
        X, T = _data(sizes, 7, seed)
        cost, gradient = model.cost_and_gradient(params, X, T)
        tensors = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
        a = torch.from_numpy(X)
        for l in range(2, len(sizes) + 1):
            a = torch.sigmoid(a @ tensors[f"W{l}"].T + tensors[f"b{l}"])
        total = 0.5 * ((a - torch.from_numpy(T)) ** 2).sum()
        total.backward()
        assert cost == pytest.approx(total.item(), rel=1e-12)
        for name, tensor in tensors.items():
            np.testing.assert_allclose(gradient[name], tensor.grad.numpy(), rtol=1e-10, atol=1e-13)


def test_generic_and_step_activations_cannot_be_compiled():
    with pytest.raises(NotDifferentiableError, match="generic activation"):
        ArrayModel([2, 1], activation="generic")
    with pytest.raises(NotDifferentiableError, match="unit step"):
        ArrayModel([2, 1], activation="step")


def test_compiled_function_keeps_its_equations():
    model = ArrayModel([12, 3, 2])
    source = model.compiled.source
    assert "S2 = W3.T.dot(delta3)" in source
    assert "delta2.dot(a1.T)" in source
    latex = model.derivation.latex()
    assert any(r"\delta^{2}" in line and r"\odot" in line for line in latex)


def test_the_output_error_is_computed_once_for_delta_and_cost():
    # C_T = ½ Σ (t − a^L)² and δ^L = (a^L − t) ∘ σ'(z^L) share one a^L − t; C_T is then one dot product.
    source = ArrayModel([12, 3, 2]).compiled.source
    assert source.count("a3 - t") == 1 and "-a3 + t" not in source
    assert "numpy.vdot(E0, E0)" in source and "delta3 = E0*" in source
    model = ArrayModel([12, 3, 2], reuse=False)
    params = initial_params(model, seed=1)
    X, T = np.random.default_rng(1).random((5, 12)), np.eye(2)[[0, 1, 1, 0, 1]]
    cost, _ = model.cost_and_gradient(params, X, T)
    assert cost == pytest.approx(0.5 * np.sum((model.predict(params, X) - T) ** 2), rel=1e-13)


@pytest.mark.parametrize("output", ["tanh", "identity", "relu"])
def test_cross_entropy_needs_outputs_in_zero_one(output):
    # tanh(−1) < 0: log a^L is the log of a negative number, so C would be
    # NaN at any learning rate; the model is refused up front instead.
    with np.errstate(invalid="ignore"):
        assert np.isnan(np.log(np.tanh(-1.0)))
    with pytest.raises(NetworkSpecError, match=rf"output activation {output} can leave \(0, 1\).*sigmoid"):
        ArrayModel([2, 2, 1], ["sigmoid", output], "cross-entropy")
    # Only the output layer's values go into the logs: a hidden layer of
    # `output` is accepted, and its negative values give a finite cost, the
    # cross-entropy written out here with NumPy.
    model = ArrayModel([2, 2, 1], [output, "sigmoid"], "cross-entropy")
    hidden = {"tanh": np.tanh, "identity": lambda z: z, "relu": lambda z: np.maximum(z, 0)}[output]
    params = {"W2": np.array([[1.5, -2.0], [-1.0, 0.5]]), "b2": np.array([-0.5, 0.25]),
              "W3": np.array([[0.75, -1.25]]), "b3": np.array([0.1])}
    X, T = np.array([[0.2, 0.9], [1.0, 0.1]]), np.array([[1.0], [0.0]])
    h = hidden(X @ params["W2"].T + params["b2"])
    assert (h < 0).any() or output == "relu"
    a = 1 / (1 + np.exp(-(h @ params["W3"].T + params["b3"])))
    cost, _ = model.cost_and_gradient(params, X, T)
    assert cost == pytest.approx(-np.sum(T * np.log(a) + (1 - T) * np.log(1 - a)), rel=1e-12)
