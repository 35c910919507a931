"""The compiled gradients against PyTorch autograd, without PyTorch: the
gradients it computed for fixed models are stored with their exact inputs
and parameters in ``fixtures/torch_gradients.json`` (regenerate with
``python tests/fixtures/make_torch_gradients.py``, which needs torch)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from symbackprop import Network
from symbackprop.numeric.arrays import ArrayModel
from symbackprop.numeric.cnn_arrays import CNNArrays
from symbackprop.numeric.scalar import ScalarModel

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "torch_gradients.json"
CASES = json.loads(FIXTURE.read_text(encoding="utf-8"))["cases"]


def _name(case: dict) -> str:
    if case["model"] == "cnn":
        return "book CNN"
    return f"{'-'.join(case['activation'])} {case['cost']}"


def _arrays(case: dict) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    params = {k: np.array(v, dtype=np.float64) for k, v in case["params"].items()}
    return params, np.array(case["X"], dtype=np.float64), np.array(case["T"], dtype=np.float64)


def _agree(model, case: dict) -> None:
    params, X, T = _arrays(case)
    assert set(params) == set(model.parameter_shapes)
    cost, gradient = model.cost_and_gradient(params, X, T)
    assert cost == pytest.approx(case["cost_value"], rel=1e-12)
    for name, expected in case["gradient"].items():
        np.testing.assert_allclose(gradient[name], np.array(expected), rtol=1e-10, atol=1e-12, err_msg=name)


DENSE = [c for c in CASES if c["model"] == "dense"]


SOFTMAX = [c for c in CASES if c["model"] == "softmax"]


def test_the_fixture_covers_every_activation_and_cost():
    activations = {"sigmoid", "tanh", "relu", "identity", "softsign"}
    assert {c["activation"][0] for c in DENSE if c["cost"] == "squared"} == activations
    assert {c["activation"][0] for c in DENSE if c["cost"] == "cross-entropy"} == activations
    assert all(c["activation"][1] == "sigmoid" for c in DENSE if c["cost"] == "cross-entropy")
    assert [c["model"] for c in CASES].count("cnn") == 1
    assert {c["activation"][0] for c in SOFTMAX} == {"sigmoid", "tanh"}
    assert max(c["scale"] for c in SOFTMAX) == 1000


@pytest.mark.parametrize("case", DENSE, ids=_name)
def test_array_path_gradient_is_pytorchs(case):
    _agree(ArrayModel(case["sizes"], case["activation"], case["cost"]), case)


@pytest.mark.parametrize("case", DENSE, ids=_name)
def test_scalar_path_gradient_is_pytorchs(case):
    _agree(ScalarModel(case["sizes"], case["activation"], case["cost"]), case)


def test_cnn_array_gradient_is_pytorchs():
    (case,) = [c for c in CASES if c["model"] == "cnn"]
    model = CNNArrays(tuple(case["image"]), case["filters"], tuple(case["filter_size"]), tuple(case["pool"]),
                      case["outputs"])
    _agree(model, case)


@pytest.mark.parametrize("case", SOFTMAX, ids=lambda c: f"{c['activation'][0]} softmax, logits x{c['scale']:g}")
def test_softmax_scalar_path_gradient_is_pytorchs_cross_entropy_of_the_logits(case):
    net = Network(case["sizes"], case["activation"][0], case["cost"], output="softmax")
    _agree(ScalarModel(net), case)
