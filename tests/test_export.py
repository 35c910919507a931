"""The exported gradient module: run in a fresh process it computes what the
library computes, to 1e-12, and the torch export's backward agrees with
torch autograd of the same network."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symbackprop.cli import main
from symbackprop.engine.model_file import read_model
from symbackprop.engine.network import Network
from symbackprop.errors import NetworkSpecError
from symbackprop.numeric.arrays import ArrayModel
from symbackprop.numeric.cnn_arrays import CNNArrays
from symbackprop.numeric.export import export_source, write_export

#: (sizes, activation, cost, weight decay, output): every built-in trainable activation, the costs,
#: decay, a softmax output layer.
DENSE = [
    ([3, 4, 2], "sigmoid", "squared", 0, None),
    ([3, 4, 2], ["tanh", "sigmoid"], "cross-entropy", "1/100", None),
    ([4, 3, 3, 2], "relu", "squared", "0.5", None),
    ([3, 2, 2], "softsign", "squared", 0, None),
    ([2, 3, 1], "identity", "squared", "0.1", None),
    ([3, 2, 2], "z/(1+exp(-z))", "squared", 0, None),
    ([3, 4, 3], "tanh", "categorical-cross-entropy", "1/100", "softmax"),
]

def _batch(model, rng, n=6):
    params = model.initial_params(rng)
    X = rng.uniform(-1, 1, (n, model.sizes[0]))
    T = rng.uniform(0.05, 0.95, (n, model.sizes[-1]))
    if model.network.cost.targets_sum_to_one:  # a softmax's targets are distributions
        T /= T.sum(axis=1, keepdims=True)
    return params, X, T


def test_numpy_export_in_a_fresh_process_agrees_with_the_array_model(tmp_path: Path, run_exported) -> None:
    rng = np.random.default_rng(14)
    cases, expected = [], []
    for n, (sizes, activation, cost, decay, output) in enumerate(DENSE):
        network = Network(sizes, activation=activation, cost=cost, weight_decay=decay, output=output)
        model = ArrayModel(network)
        params, X, T = _batch(model, rng)
        path = write_export(tmp_path / f"grad{n}.py", model)
        data = str(tmp_path / f"batch{n}.npz")
        np.savez(data, X=X, T=T, **params)
        cases.append((f"grad{n}", str(path), data))
        expected.append((model.cost_and_gradient(params, X, T), model.predict(params, X)))
    # A model file's layers: residual, and a layer stated by its equations (two weighted inputs z, z')
    model_file = tmp_path / "net.json"
    model_file.write_text(json.dumps({"inputs": 3, "layers": [
        {"kind": "dense", "width": 4, "activation": "tanh"},
        {"kind": "residual", "skip": 2, "activation": "tanh"},
        {"kind": "equations", "width": 2, "output": "z*sigmoid(z')", "units": ["z", "z'"]}]}))
    model = ArrayModel(read_model(model_file))
    params, X, T = _batch(model, rng)
    path = write_export(tmp_path / "grad_model.py", model)
    data = str(tmp_path / "batch_model.npz")
    np.savez(data, X=X, T=T, **params)
    cases.append(("grad_model", str(path), data))
    expected.append((model.cost_and_gradient(params, X, T), model.predict(params, X)))
    # The module stands alone: neither SymPy nor the library was imported to run it.
    assert run_exported(cases, tmp_path) == []
    for (_, _, data), ((cost, gradient), outputs) in zip(cases, expected):
        got = dict(np.load(data + ".out.npz"))
        assert abs(float(got.pop("cost")) - cost) <= 1e-12 * max(1.0, abs(cost))
        np.testing.assert_allclose(got.pop("forward"), outputs, rtol=0, atol=1e-12)
        assert sorted(got) == sorted(gradient)
        for name, value in gradient.items():
            assert got[name].shape == value.shape
            np.testing.assert_allclose(got[name], value, rtol=0, atol=1e-12)


@pytest.mark.parametrize("options", [{}, {"pooling": "average", "activation": "tanh"}, {"cost": "cross-entropy"}])
def test_cnn_export_in_a_fresh_process_agrees_with_cnn_arrays(tmp_path: Path, options, run_exported) -> None:
    model = CNNArrays(**options)
    rng = np.random.default_rng(5)
    params = {k: rng.standard_normal(s) for k, s in model.parameter_shapes.items()}
    X = rng.uniform(0, 1, (7, *model.input_shape))
    T = rng.uniform(0.05, 0.95, (7, model.output_size))
    path = write_export(tmp_path / "cnn_grad.py", model)
    data = str(tmp_path / "cnn.npz")
    np.savez(data, X=X, T=T, **params)
    assert run_exported([("cnn_grad", str(path), data)], tmp_path) == []
    got = dict(np.load(data + ".out.npz"))
    cost, gradient = model.cost_and_gradient(params, X, T)
    assert abs(float(got.pop("cost")) - cost) <= 1e-12 * max(1.0, abs(cost))
    np.testing.assert_allclose(got.pop("forward"), model.predict(params, X), rtol=0, atol=1e-12)
    for name, value in gradient.items():
        np.testing.assert_allclose(got[name], value, rtol=0, atol=1e-12)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sizes=st.lists(st.integers(1, 5), min_size=2, max_size=4),
    activation=st.sampled_from(["sigmoid", "tanh", "relu", "softsign", "identity"]),
    batch=st.integers(1, 4),
    seed=st.integers(0, 2**16),
)
def test_the_export_computes_what_the_array_model_computes_for_any_widths(sizes, activation, batch, seed) -> None:
    model = ArrayModel(sizes, activation=activation)
    namespace: dict = {}
    exec(compile(export_source(model), "grad.py", "exec"), namespace)  # noqa: S102 - our own output
    rng = np.random.default_rng(seed)
    params, X, T = _batch(model, rng, batch)
    cost, gradient = model.cost_and_gradient(params, X, T)
    got_cost, got = namespace["cost_and_gradient"](params, X, T)
    assert abs(got_cost - cost) <= 1e-12 * max(1.0, abs(cost))
    for name, value in gradient.items():
        np.testing.assert_allclose(got[name], value, rtol=0, atol=1e-12)


def test_every_computed_line_carries_its_formula() -> None:
    source = export_source([4, 3, 2], activation="tanh", cost="squared", weight_decay="0.01")
    derived = source.split("def forward_pass")[1].split("def _arrays")[0]
    computed = [line for line in derived.splitlines() if re.match(r"    \w+ = ", line)]
    # z and a of two layers, δ^3, W^3ᵀ δ^3, δ^2, C_T, four gradients (and m, twice)
    assert len(computed) >= 14
    for line in computed:
        code, _, formula = line.partition("  # ")
        assert formula, line
    lines = {line.split(" = ")[0].strip(): line.split("  # ")[1] for line in computed}
    # The book's recurrence (tanh' = 1 − a²) and its gradients, weight decay included
    assert lines["delta2"] == "δ^2 = (W^3ᵀ δ^3) ⊙ (1 − (a^2)²)"
    assert lines["dW3"] == "∂C_T/∂W^3 = (1/100 m) W^3 + δ^3 a^2ᵀ"
    assert lines["db2"] == "∂C_T/∂b^2 = δ^2 uᵀ"


def test_the_export_from_widths_is_the_export_from_the_model() -> None:
    for sizes, activation, cost, decay, output in DENSE[1], DENSE[-1]:
        model = ArrayModel(Network(sizes, activation=activation, cost=cost, weight_decay=decay, output=output))
        assert export_source(sizes, activation, cost, decay, output=output) == export_source(model)


def test_widths_do_not_matter_to_the_export() -> None:
    # The derivation is width-free: a large network exports in moments, with its own shapes.
    big, small = export_source([784, 100, 10]), export_source([2, 2, 2])
    assert "PARAMETER_SHAPES = {'W2': (100, 784), 'b2': (100,), 'W3': (10, 100), 'b3': (10,)}" in big
    body = lambda s: s.split("def sum_examples")[1]  # noqa: E731
    assert body(big) == body(small)


def test_bad_widths_and_targets_are_refused() -> None:
    with pytest.raises(NetworkSpecError, match="positive integers"):
        export_source([3, 0, 2])
    with pytest.raises(Exception, match="unknown export target"):
        export_source([3, 2], target="jax")


def test_cli_export_writes_a_module_and_refuses_bad_input(tmp_path: Path, capsys) -> None:
    out = tmp_path / "grad.py"
    assert main(["export", "--layers", "3,2,2", "--activation", "tanh", "--out", str(out)]) == 0
    assert "def cost_and_gradient(params, X, T):" in out.read_text()
    assert main(["export", "--dataset", "digits01", "--out", str(out)]) == 0
    assert "the 12-3-2 network" in out.read_text()
    capsys.readouterr()
    assert main(["export", "--layers", "3,2", "--out", str(tmp_path / "grad.txt")]) == 2
    assert "ending in .py" in capsys.readouterr().err
    assert main(["export", "--dataset", "cnn123", "--out", str(out)]) == 0
    assert "def cost_and_gradient(params, X, T):" in out.read_text()
    capsys.readouterr()
    assert main(["export", "--dataset", "sequence-sign", "--out", str(out)]) == 2
    assert main(["export", "--dataset", "digits01", "--layers", "3,2", "--out", str(out)]) == 2
    before = out.read_text()
    # the data set's network is sigmoid: a tanh would be dropped without a word
    assert main(["export", "--dataset", "digits01", "--activation", "tanh", "--out", str(out)]) == 2
    assert out.read_text() == before
    model_file = tmp_path / "net.json"
    model_file.write_text('{"inputs": 3, "layers": [{"kind": "dense", "width": 4, "activation": "tanh"}, '
                          '{"kind": "residual", "skip": 2, "activation": "tanh"}]}')
    assert main(["export", "--model", str(model_file), "--out", str(out)]) == 0
    assert "a^3 = a^2 + tanh(z^3)" in out.read_text()
    err = capsys.readouterr().err
    assert err.count("symbackprop: error:") == 3 and "Traceback" not in err
    assert "--activation is for --layers; the digits01 network has its own" in err


def _torch_reference(torch, params, X, T, activations, cost, decay):
    """C_T of the same network written with torch operations, for autograd."""
    functions = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu, "identity": lambda z: z,
                 "softsign": lambda z: z / (1 + z.abs()), "softmax": lambda z: torch.softmax(z, dim=0)}
    a = X.T
    depth = len(params) // 2 + 1
    for l in range(2, depth + 1):
        a = functions[activations[l - 2]](params[f"W{l}"] @ a + params[f"b{l}"][:, None])
    t = T.T
    if cost == "squared":
        C = ((t - a) ** 2).sum() / 2
    elif cost == "categorical-cross-entropy":
        C = -(t * torch.log(a)).sum()
    else:
        C = -(t * torch.log(a) + (1 - t) * torch.log(1 - a)).sum()
    m = X.shape[0]
    return C + m * decay / 2 * sum((params[f"W{l}"] ** 2).sum() for l in range(2, depth + 1))


@pytest.mark.parametrize(
    "sizes, activations, cost, decay",
    [([3, 4, 2], ["tanh", "sigmoid"], "cross-entropy", 0.01),
     ([4, 3, 3, 2], ["relu", "softsign", "identity"], "squared", 0.0),
     ([3, 4, 3], ["tanh", "softmax"], "categorical-cross-entropy", 0.0)],
)
def test_torch_export_backward_is_autograd(tmp_path: Path, sizes, activations, cost, decay) -> None:
    torch = pytest.importorskip("torch")
    import importlib.util

    softmax = activations[-1] == "softmax"
    path = write_export(tmp_path / "grad_torch.py", sizes, activations[:-1] if softmax else activations, cost,
                        str(decay), target="torch", output="softmax" if softmax else None)
    spec = importlib.util.spec_from_file_location("grad_torch", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    gen = torch.Generator().manual_seed(3)
    shapes = module.PARAMETER_SHAPES

    def fresh():
        return {k: torch.randn(s, generator=gen, dtype=torch.float64) for k, s in shapes.items()}

    params = fresh()
    X = torch.rand(5, sizes[0], generator=gen, dtype=torch.float64) * 2 - 1
    T = torch.rand(5, sizes[-1], generator=gen, dtype=torch.float64) * 0.9 + 0.05
    if softmax:
        T = T / T.sum(dim=1, keepdim=True)
    derived = {k: v.clone().requires_grad_() for k, v in params.items()}
    reference = {k: v.clone().requires_grad_() for k, v in params.items()}
    C_derived = module.cost(derived, X, T)
    C_reference = _torch_reference(torch, reference, X, T, activations, cost, decay)
    (2.5 * C_derived).backward()  # the incoming gradient scales the derived one
    (2.5 * C_reference).backward()
    assert torch.allclose(C_derived, C_reference, rtol=1e-12, atol=0)
    for name in shapes:
        assert torch.allclose(derived[name].grad, reference[name].grad, rtol=1e-10, atol=1e-12), name
    # The exported module's forward is the network's
    with torch.no_grad():
        assert module.forward(params, X).shape == (5, sizes[-1])
