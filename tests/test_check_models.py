"""``check --model``: backprop code for a model file's network, checked block by block."""

from __future__ import annotations

import json

from symbackprop.cli import main

#: a^2 = tanh(z^2), a^3 = tanh(z^3) + a^2 (the skip), a^4 = σ(z^4)
RESIDUAL = {"inputs": 3, "layers": [{"kind": "dense", "width": 2, "activation": "tanh"},
                                    {"kind": "residual", "skip": 2, "activation": "tanh"},
                                    {"kind": "dense", "width": 2}]}

#: Someone's backprop for that network, by hand in NumPy (right), and with the sign of W^3's gradient turned.
CODE = '''
import numpy as np


def right(p, X, T):
    a2 = np.tanh(X @ p["W2"].T + p["b2"])
    t3 = np.tanh(a2 @ p["W3"].T + p["b3"])
    a3 = t3 + a2
    a4 = 1 / (1 + np.exp(-(a3 @ p["W4"].T + p["b4"])))
    d4 = (a4 - T) * a4 * (1 - a4)
    g3 = d4 @ p["W4"]
    d3 = g3 * (1 - t3**2)
    d2 = (d3 @ p["W3"] + g3) * (1 - a2**2)
    return {"W2": d2.T @ X, "b2": d2.sum(0), "W3": d3.T @ a2, "b3": d3.sum(0), "W4": d4.T @ a3, "b4": d4.sum(0)}


def sign_of_w3(p, X, T):
    gradient = right(p, X, T)
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
