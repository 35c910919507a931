"""``check --model``: backprop code for a model file's network, checked block by block."""

from __future__ import annotations

import json

from symbackprop.cli import main

#: a^2 = tanh(z^2), a^3 = tanh(z^3) + a^2 (the skip), a^4 = σ(z^4)
RESIDUAL = {"inputs": 3, "layers": [{"kind": "dense", "width": 2, "activation": "tanh"},
                                    {"kind": "residual", "skip": 2, "activation": "tanh"},
                                    {"kind": "dense", "width": 2}]}

#: Someone's backprop: the library's own array path (right), or with the sign of W^3's gradient turned.
CODE = '''
from symbackprop.engine.model_file import read_model
from symbackprop.numeric.arrays import ArrayModel

MODEL = ArrayModel(read_model(__file__.replace("code.py", "net.json")))


def right(params, X, T):
    return MODEL.cost_and_gradient(params, X, T)[1]


def sign_of_w3(params, X, T):
    gradient = right(params, X, T)
    gradient["W3"] = -gradient["W3"]
    return gradient
'''


def test_check_takes_a_model_file_and_names_the_wrong_block(tmp_path, capsys):
    (tmp_path / "net.json").write_text(json.dumps(RESIDUAL))
    (tmp_path / "code.py").write_text(CODE)
    model = str(tmp_path / "net.json")
    assert main(["check", f"{tmp_path / 'code.py'}:right", "--model", model]) == 0
    capsys.readouterr()
    assert main(["check", f"{tmp_path / 'code.py'}:sign_of_w3", "--model", model]) == 1
    rows = {line.split("│")[1].strip(): line for line in capsys.readouterr().out.splitlines() if line.count("│") > 2}
    assert "sign" in rows["W3"] and "right" in rows["W2"] and "right" in rows["b4"], rows


def test_check_refuses_a_model_file_beside_the_cnn(tmp_path, capsys):
    (tmp_path / "net.json").write_text(json.dumps(RESIDUAL))
    assert main(["check", "code.py:right", "--model", str(tmp_path / "net.json"), "--cnn"]) == 2
    assert "describe another network than --cnn" in capsys.readouterr().err
