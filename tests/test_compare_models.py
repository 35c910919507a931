"""``compare --model`` on networks that are not a chain of dense layers: a
residual model, a small CNN, user-written equations with a softmax output,
a recurrent and a batch-normalised network. Every
route computes the gradient of the same batch, and the routes agree; the
direct route is proved exactly equal to the δ route."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from test_json_output import errors

from symbackprop.cli import main
from symbackprop.cli.json_output import schema
from symbackprop.measure.compare import compare_model

RESIDUAL = {"inputs": 2, "cost": "squared",
            "layers": [{"kind": "dense", "width": 2, "activation": "tanh"},
                       {"kind": "residual", "skip": 2, "activation": "tanh"},
                       {"kind": "dense", "width": 1}]}
SMALL_CNN = {"inputs": {"image": [4, 4]},
             "layers": [{"kind": "convolution", "filters": 1, "size": 3, "activation": "tanh"},
                        {"kind": "pooling", "size": 2, "pooling": "max"},
                        {"kind": "dense", "width": 1}]}


def _write(folder: Path, name: str, document: dict) -> Path:
    path = folder / name
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_compare_measures_a_residual_model_file(tmp_path, capsys):
    path = _write(tmp_path, "res.json", RESIDUAL)
    assert main(["compare", "--model", str(path), "--batch", "4", "--cap", "30"]) == 0
    out = capsys.readouterr().out
    # 2-2, a residual 2-2 (its own w^3, b^3) and 2-1: 2·2+2 + 2·2+2 + 2+1 = 15 parameters.
    assert "res.json (2-2-2r-1): 15 parameters, batch of 4" in " ".join(out.split())
    assert "15 of 15 direct gradients were proved exactly equal" in out
    gap = float(re.search(r"The compiled gradients agree to (\S+) \(relative\)", out).group(1))
    assert gap < 1e-12


def test_compare_measures_a_small_cnn_model_file_as_json(tmp_path, capsys):
    path = _write(tmp_path, "cnn.json", SMALL_CNN)
    assert main(["compare", "--model", str(path), "--batch", "3", "--cap", "30", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert errors(document, schema("compare"), schema("compare")) == []
    (comparison,) = document["comparisons"]
    assert comparison["network"]["file"] == str(path) and comparison["network"]["document"] == SMALL_CNN
    assert "1-filter 3x3" in comparison["network"]["model"]
    # 3x3 filter and its bias, one 1x1 pooled map to one output and its bias: 9 + 1 + 1 + 1.
    assert comparison["parameters"] == 12
    routes = {row["route"]: row for row in comparison["routes"]}
    assert all(row["status"] == "ok" and len(row["gradient"]) == 12 for row in routes.values())
    # The CNN's array path is NumPy written by hand: run, but not derived or sized.
    assert routes["array"]["derive_seconds"] is None and routes["array"]["size"] is None
    assert routes["array"]["evaluate_seconds"] > 0
    assert routes["direct"]["proved"] == 12
    assert comparison["agreement"] < 1e-12


@pytest.mark.parametrize("document, parameters, batch", [
    # Two units z, z' of 2×2 weights and 2 biases each, then a 2×2 softmax layer and its biases: 12 + 6.
    ({"inputs": 2, "cost": "categorical-cross-entropy",
      "layers": [{"kind": "equations", "width": 2, "output": "z*sigmoid(z')", "units": ["z", "z'"]},
                 {"kind": "softmax", "width": 2}]}, 18, 3),
    # U (2×1), W (2×2), b (2), then w^O (1×2), b^O: 11; read at both steps.
    ({"inputs": 1, "layers": [{"kind": "recurrent", "steps": 2, "width": 2, "activation": "tanh", "every_step": True},
                              {"kind": "dense", "width": 1}]}, 11, 3),
    # w^2, γ^2, β^2 (the normalisation replaces b^2), then w^3, b^3; over its own batch of 2.
    ({"inputs": 1, "layers": [{"kind": "batch-norm", "width": 1, "batch": 2, "activation": "tanh"},
                              {"kind": "dense", "width": 1}]}, 5, 2),
])
def test_equations_recurrent_and_batch_normalised_routes_agree(document, parameters, batch):
    comparison = compare_model(document, "net.json", batch=3, cap=None)
    assert comparison.parameters == parameters and comparison.batch == batch
    assert all(row.ok and len(row.gradient) == parameters for row in comparison.rows)
    assert comparison.row("direct").proved == parameters
    assert comparison.agreement() < 1e-12


def test_a_model_of_other_layers_is_not_swept(tmp_path, capsys):
    path = _write(tmp_path, "res.json", RESIDUAL)
    assert main(["compare", "--model", str(path), "--sweep", "depth"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "a sweep grows the hidden layers of a chain of dense layers" in err[0], err
