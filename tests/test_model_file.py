"""Model files: JSON and TOML describe the same models, bad files get one line
with the file and the line of the bad layer, and the README's example derives,
verifies and trains from the command line."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from symbackprop.cli import main
from symbackprop.engine.model import Model
from symbackprop.engine.model_file import read_model
from symbackprop.errors import NetworkSpecError

ROOT = Path(__file__).resolve().parent.parent
SECTION = (ROOT / "README.md").read_text(encoding="utf-8").split("## Your own layers and model files", 1)[1].split("\n## ", 1)[0]
README_TOML = SECTION.split("```toml\n", 1)[1].split("```", 1)[0]
README_ERRORS = SECTION.split("```text\n", 1)[1].split("```", 1)[0].splitlines()

RESIDUAL_JSON = """{"inputs": 2,
 "layers": [
    {"kind": "dense", "width": 2, "activation": "tanh"},
    {"kind": "residual", "skip": 2, "activation": "tanh"},
    {"kind": "dense", "width": 1}
 ]}
"""
RESIDUAL_TOML = """inputs = 2

[[layers]]
kind = "dense"
width = 2
activation = "tanh"

[[layers]]
kind = "residual"
skip = 2
activation = "tanh"

[[layers]]
kind = "dense"
width = 1
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_json_and_toml_describe_the_same_model(tmp_path):
    from_json = read_model(_write(tmp_path, "r.json", RESIDUAL_JSON))
    from_toml = read_model(_write(tmp_path, "r.toml", RESIDUAL_TOML))
    in_python = Model(2, json.loads(RESIDUAL_JSON)["layers"])
    assert from_json.definitions == from_toml.definitions == in_python.definitions
    assert from_json.describe() == "2-2-2r-1"


@pytest.mark.parametrize("name,text,message", [
    ("net.json", RESIDUAL_JSON.replace('"skip": 2,', '"skip": 2, "width": 3,'), README_ERRORS[0]),
    ("net.toml", RESIDUAL_TOML.replace('kind = "dense"\nwidth = 2\nactivation = "tanh"',
                                       'kind = "equations"\nwidth = 2\noutput = "z*y"'),
     README_ERRORS[1].split(" (…)")[0]),
    ("net.json", RESIDUAL_JSON.replace('"kind": "residual"', '"kind": "resnet"'),
     "net.json:4:5: layer 3: unknown kind 'resnet'; kinds: batch-norm, convolution, dense, equations, pooling, recurrent, residual, softmax"),
    ("net.toml", RESIDUAL_TOML.replace("skip = 2", "skip = 2\nstride = 2"),
     "net.toml:8:1: layer 3 ('residual'): unknown key 'stride'; a residual layer has skip, activation, width"),
    ("net.json", RESIDUAL_JSON.replace('"inputs": 2', '"inputs": 0'), "net.json: inputs 0 is not a positive whole number"),
    ("net.json", RESIDUAL_JSON.replace("]}", "]"), "net.json: not a valid JSON model file (line 7"),
    ("net.toml", RESIDUAL_TOML.replace("width = 1", "width = "), "net.toml: not a valid TOML model file"),
    ("net.yaml", RESIDUAL_JSON, "net.yaml: a model file ends in .json or .toml"),
])
def test_bad_files_get_one_line_with_the_place(tmp_path, name, text, message):
    path = _write(tmp_path, name, text)
    with pytest.raises(NetworkSpecError) as caught:
        read_model(path)
    shown = str(caught.value).replace(str(tmp_path) + "/", "")
    assert "\n" not in shown and shown.startswith(message), shown


def test_the_cli_refuses_a_bad_file_in_one_line_with_exit_2(tmp_path, run_main):
    path = _write(tmp_path, "net.json", RESIDUAL_JSON.replace('"kind": "residual"', '"kind": "resnet"'))
    result = run_main("verify", "--model", str(path))
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "net.json:4:5: layer 3: unknown kind 'resnet'" in result.stderr


@pytest.mark.parametrize("argv, option", [
    (["verify", "--layers", "3,2"], "--layers"),
    (["train", "digits01", "--batch-norm"], "--batch-norm"),
    (["train", "cnn123", "--stride", "2"], "--stride"),
])
def test_the_model_file_gives_the_network_so_options_that_shape_it_are_refused(tmp_path, capsys, argv, option):
    path = _write(tmp_path, "r.json", RESIDUAL_JSON)
    assert main([*argv, "--model", str(path)]) == 2
    assert f"leave out {option}" in capsys.readouterr().err


@pytest.fixture(scope="module")
def gated(tmp_path_factory):
    return _write(tmp_path_factory.mktemp("readme"), "gated.toml", README_TOML)


def test_readme_example_verifies_and_derives_both_unit_errors_from_the_cli(gated, capsys):
    assert main(["verify", "--model", str(gated), "--exact"]) == 0
    out = capsys.readouterr().out
    # 86 parameters, each exact, at 50 digits and by finite differences
    assert re.search(r"all 258 checks agree \(exact, 50-digit numeric, finite differences\)", out)
    # One test for both commands: the derivation's own exact verdict then
    # finds SymPy's cache warm with the same derivatives.
    assert main(["derive", "--model", str(gated), "--param", "w'^2_11"]) == 0
    out = capsys.readouterr().out
    assert "∂C/∂w'^2_11 = δ'^2_1*x_1" in out and "The two routes agree: for all 86 parameters" in out


@pytest.mark.parametrize("path", ["array", "scalar"])
def test_readme_example_trains_from_the_cli(gated, capsys, path, tmp_path):
    saved = tmp_path / "gated.npz"
    assert main(["train", "digits01", "--model", str(gated), "--eta", "0.02", "--epochs", "100",
                 "--path", path, "--save", str(saved)]) == 0
    assert "accuracy 100.00% (64/64)" in capsys.readouterr().out
    assert main(["evaluate", "digits01", "--model", str(gated), "--params", str(saved), "--path", path]) == 0
    assert "accuracy 100.00%" in capsys.readouterr().out


def test_a_model_file_that_does_not_fit_the_data_set_is_refused(tmp_path, capsys):
    path = _write(tmp_path, "r.json", RESIDUAL_JSON)
    assert main(["train", "digits01", "--model", str(path)]) == 2
    assert "reads 2 inputs and has 1 outputs; this data set has 12 inputs and 2 classes" in capsys.readouterr().err
