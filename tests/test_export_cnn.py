"""The exported CNN gradient: run in a fresh process that imports only NumPy,
it computes what CNNArrays computes to 1e-12 for channels, stride, padding,
max and average pooling and every activation and cost; the torch export's
backward (the derived δ recurrence) is torch autograd of the same network
written with torch.nn.functional."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from symbackprop.cli import main
from symbackprop.engine.model_file import read_model
from symbackprop.engine.recurrent import RecurrentNetwork
from symbackprop.errors import ArgumentError, NetworkSpecError
from symbackprop.numeric.cnn_arrays import CNNArrays
from symbackprop.numeric.export import export_source, write_export

#: CNNArrays arguments: the book's network, average pooling, cross-entropy, several channels with
#: stride and padding, unequal rows and columns of everything, a formula for the activation, and
#: weight decay.
CONFIGURATIONS = [
    {},
    {"pooling": "average", "activation": "tanh"},
    {"cost": "cross-entropy", "filters": 2},
    {"image": (7, 7), "channels": 2, "stride": 2, "padding": 1, "activation": "relu", "outputs": 2},
    {"image": (8, 6), "filters": 2, "filter_size": (3, 2), "stride": (1, 2), "padding": (1, 0), "pool": (2, 1),
     "pooling": "average", "activation": "softsign"},
    {"image": (5, 5), "channels": 3, "filter_size": 2, "pool": 2, "activation": "z/(1+exp(-z))", "outputs": 2},
    {"image": (4, 4), "filters": 1, "filter_size": 1, "pool": 1, "activation": "identity", "outputs": 1},
    {"weight_decay": 0.05, "pooling": "average"},
    {"image": (7, 7), "channels": 2, "stride": 2, "padding": 1, "activation": "tanh", "weight_decay": "1/8"},
]

#: A model file's CNN: two channels, stride 2, padding 1, average pooling.
MODEL_FILE = {"inputs": {"image": [7, 7], "channels": 2}, "cost": "squared", "layers": [
    {"kind": "convolution", "filters": 2, "size": 3, "stride": 2, "padding": 1, "activation": "tanh"},
    {"kind": "pooling", "size": 2, "pooling": "average"},
    {"kind": "dense", "width": 2}]}

def _batch(model: CNNArrays, rng, n: int = 5):
    params = {k: rng.standard_normal(s) for k, s in model.parameter_shapes.items()}
    X = rng.uniform(0, 1, (n, *model.input_shape))
    T = rng.uniform(0.05, 0.95, (n, model.output_size))
    return params, X, T


def _assert_agrees(got_cost, got_forward, got, model, params, X, T) -> None:
    cost, gradient = model.cost_and_gradient(params, X, T)
    assert abs(float(got_cost) - cost) <= 1e-12 * max(1.0, abs(cost))
    np.testing.assert_allclose(got_forward, model.predict(params, X), rtol=0, atol=1e-12)
    assert sorted(got) == sorted(gradient)
    for name, value in gradient.items():
        assert got[name].shape == value.shape, name
        np.testing.assert_allclose(got[name], value, rtol=0, atol=1e-12 * max(1.0, np.abs(value).max()))


def test_the_exported_cnn_in_a_fresh_process_agrees_with_cnn_arrays(tmp_path: Path, run_exported) -> None:
    rng = np.random.default_rng(123)
    (tmp_path / "cnn.json").write_text(json.dumps(MODEL_FILE))
    network = read_model(tmp_path / "cnn.json")
    sources = [(CNNArrays(**options), CNNArrays(**options)) for options in CONFIGURATIONS]
    sources.append((network, CNNArrays((7, 7), 2, 3, 2, 2, "tanh", "squared", "average", channels=2,
                                       stride=2, padding=1)))
    cases, expected = [], []
    for n, (source, model) in enumerate(sources):
        params, X, T = _batch(model, rng)
        path = write_export(tmp_path / f"cnn{n}.py", source)
        data = str(tmp_path / f"batch{n}.npz")
        np.savez(data, X=X, T=T, **params)
        cases.append((f"cnn{n}", str(path), data))
        expected.append((model, params, X, T))
    # The module stands alone: neither SymPy nor the library (nor torch) was imported to run it.
    assert run_exported(cases, tmp_path) == []
    for (_, _, data), (model, params, X, T) in zip(cases, expected):
        got = dict(np.load(data + ".out.npz"))
        _assert_agrees(got.pop("cost"), got.pop("forward"), got, model, params, X, T)


@st.composite
def _networks(draw):
    """Any CNN the engine builds: the image size follows from the map, the stride, padding and filter."""
    fh, fw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    sh, sw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    qh, qw = draw(st.integers(0, min(1, fh - 1))), draw(st.integers(0, min(1, fw - 1)))
    ph, pw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    rows, cols = ph * draw(st.integers(1, 2)), pw * draw(st.integers(1, 2))
    image = ((rows - 1) * sh + fh - 2 * qh, (cols - 1) * sw + fw - 2 * qw)
    assume(image[0] >= fh and image[1] >= fw)  # the filter fits in the image
    activation = draw(st.sampled_from(["sigmoid", "tanh", "relu", "softsign"]))
    # the cross-entropy needs outputs in (0, 1)
    cost = draw(st.sampled_from(["squared", "cross-entropy"])) if activation == "sigmoid" else "squared"
    return CNNArrays(image, draw(st.integers(1, 2)), (fh, fw), (ph, pw), draw(st.integers(1, 2)), activation, cost,
                     draw(st.sampled_from(["max", "average"])),
                     channels=draw(st.integers(1, 2)), stride=(sh, sw), padding=(qh, qw))


@settings(max_examples=15, deadline=None)
@given(model=_networks(), seed=st.integers(0, 2**16))
def test_the_cnn_export_computes_what_cnn_arrays_computes_for_any_shape(model, seed) -> None:
    namespace: dict = {}
    exec(compile(export_source(model), "cnn_grad.py", "exec"), namespace)  # noqa: S102 - our own output
    params, X, T = _batch(model, np.random.default_rng(seed), 3)
    cost, got = namespace["cost_and_gradient"](params, X, T)
    _assert_agrees(cost, namespace["forward"](params, X), got, model, params, X, T)


def test_every_computed_line_of_the_cnn_export_carries_its_formula() -> None:
    source = export_source(CNNArrays(channels=2, stride=1, padding=1))
    body = source.split("def forward_pass")[1]
    # every array the forward and backward passes compute, and the routing of the pooled δ
    names = ("flat", "windows", "zF", "aF", "aP", "zO", "aO", "C_T", "dO", "back", "routed.reshape(-1)[f[\"at\"]]",
             "dF", "sums", '"filters"', '"filter_bias"', '"out_W"', '"out_b"')
    computed = [line for line in body.splitlines() if line.strip().startswith(tuple(f"{n} =" for n in names))
                or line.strip().startswith(tuple(f"{n}:" for n in names)) or "C_T =" in line]
    assert len(computed) >= len(names)  # a^P twice: max and average pooling
    for line in computed:
        assert "  # " in line, line
    formulas = {line.split(" = ")[0].strip(): line.split("  # ")[1] for line in computed}
    assert formulas["dO"] == "δ^O_n = ∂C/∂a^O_n a'(z^O_n)"
    assert formulas["dF"] == "δ^F_{k,ij} = (what reaches a^F_{k,ij}) a'(z^F_{k,ij})"
    assert formulas["zF"].startswith("z^F_{k,ij} = Σ_{c,u,v} w^{F_k}_{c,uv} x_{c, s(i−1)+u−p, s(j−1)+v−p}")


def _torch_reference(torch, model: CNNArrays, params, X, T):
    """C_T of the same CNN written with torch.nn.functional, for autograd."""
    F = torch.nn.functional
    act = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu,
           "softsign": lambda z: z / (1 + z.abs()), "identity": lambda z: z,
           "z/(1+exp(-z))": lambda z: z / (1 + torch.exp(-z))}[model.network.activation.name]
    K, N = len(params["filter_bias"]), len(params["out_b"])
    images = X if X.dim() == 4 else X[:, None]
    zF = F.conv2d(images, params["filters"].reshape(K, model.channels, *model.filter_size), params["filter_bias"],
                  stride=model.stride, padding=model.padding)
    pool = F.max_pool2d if model.pooling == "max" else F.avg_pool2d
    aP = pool(act(zF), model.pool)
    aO = act(F.linear(aP.reshape(len(X), -1), params["out_W"].reshape(N, -1), params["out_b"]))
    # each image's C holds (λ/2) Σ w² over the filter and output weights
    decay = len(X) * float(model.weight_decay) / 2 * ((params["filters"] ** 2).sum() + (params["out_W"] ** 2).sum())
    if model.network.cost.name == "squared":
        return ((aO - T) ** 2).sum() / 2 + decay
    return -(T * torch.log(aO) + (1 - T) * torch.log(1 - aO)).sum() + decay


@pytest.mark.parametrize("options", CONFIGURATIONS)
def test_the_torch_cnn_export_backward_is_autograd(tmp_path: Path, options) -> None:
    torch = pytest.importorskip("torch")
    import importlib.util

    model = CNNArrays(**options)
    path = write_export(tmp_path / "cnn_torch.py", model, target="torch")
    spec = importlib.util.spec_from_file_location("cnn_torch", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    gen = torch.Generator().manual_seed(7)
    params = {k: torch.randn(s, generator=gen, dtype=torch.float64) for k, s in module.PARAMETER_SHAPES.items()}
    X = torch.rand((6, *model.input_shape), generator=gen, dtype=torch.float64)
    T = torch.rand((6, model.output_size), generator=gen, dtype=torch.float64) * 0.9 + 0.05
    derived = {k: v.clone().requires_grad_() for k, v in params.items()}
    reference = {k: v.clone().requires_grad_() for k, v in params.items()}
    C_derived = module.cost(derived, X, T)
    C_reference = _torch_reference(torch, model, reference, X, T)
    (2.5 * C_derived).backward()  # the incoming gradient scales the derived one
    (2.5 * C_reference).backward()
    assert torch.allclose(C_derived, C_reference, rtol=1e-12, atol=0)
    for name in params:
        assert torch.allclose(derived[name].grad, reference[name].grad, rtol=1e-10, atol=1e-10), name
    with torch.no_grad():
        assert module.forward(params, X).shape == (6, model.output_size)


def test_a_cnn_refuses_the_dense_options_and_a_recurrent_network_is_refused() -> None:
    with pytest.raises(ArgumentError, match="carries its own activation, cost and weight decay"):
        export_source(CNNArrays(), activation="tanh")
    with pytest.raises(ArgumentError, match="weight_decay='0.1'"):
        export_source(CNNArrays(), weight_decay="0.1")
    with pytest.raises(NetworkSpecError, match="recurrent, 1-output many-to-one network has no export yet"):
        export_source(RecurrentNetwork(2))


def test_cli_exports_the_cnn_of_a_model_file_and_of_cnn123(tmp_path: Path, capsys) -> None:
    out = tmp_path / "cnn_grad.py"
    model_file = tmp_path / "cnn.json"
    model_file.write_text(json.dumps(MODEL_FILE))
    assert main(["export", "--model", str(model_file), "--target", "torch", "--out", str(out)]) == 0
    assert "2-channel 7x7-input" in out.read_text() and "class DerivedCost" in out.read_text()
    assert main(["export", "--dataset", "cnn123", "--stride", "1", "--padding", "1", "--pooling", "average",
                 "--out", str(out)]) == 0
    text = out.read_text()
    assert "PADDING = (1, 1)" in text and "POOLING = 'average'" in text and "MAP = (6, 6)" in text
    capsys.readouterr()
    assert main(["export", "--dataset", "cnn123", "--stride", "2", "--out", str(out)]) == 2
    assert main(["export", "--layers", "3,2", "--padding", "1", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("symbackprop: error:") == 2 and "Traceback" not in err
    assert "--padding" in err.splitlines()[1]
