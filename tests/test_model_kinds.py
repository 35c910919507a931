"""Model files describe convolutional, recurrent and batch-normalised networks:
each file builds exactly the engine's network, its δ route equals the direct
derivative, a file-described CNN trains, and a bad file is one line with the
place of the bad layer."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from symbackprop.cli import main
from symbackprop.engine.batchnorm import BatchNormNetwork
from symbackprop.engine.cnn import ConvolutionalNetwork
from symbackprop.engine.model_file import read_model
from symbackprop.engine.recurrent import RecurrentNetwork
from symbackprop.errors import NetworkSpecError
from symbackprop.numeric.cnn_arrays import book_digits
from symbackprop.proof.verify import verify

CNN_JSON = """{"inputs": {"image": [4, 4], "channels": 2}, "cost": "squared",
 "layers": [
    {"kind": "convolution", "filters": 1, "size": 3, "stride": 1, "padding": 1, "activation": "generic"},
    {"kind": "pooling", "size": 2, "pooling": "average"},
    {"kind": "dense", "width": 1}
 ]}
"""
RECURRENT_TOML = """inputs = 1
cost = "squared"

[[layers]]
kind = "recurrent"
steps = 2
width = 2
activation = "generic"
every_step = true

[[layers]]
kind = "dense"
width = 1
activation = "generic"
"""
BATCH_NORM_JSON = """{"inputs": 1,
 "layers": [
    {"kind": "batch-norm", "width": 1, "batch": 2, "epsilon": "1/100", "activation": "generic"},
    {"kind": "dense", "width": 1, "activation": "generic"}
 ]}
"""
BOOK_CNN = {"inputs": {"image": [6, 6], "channels": 1},
            "layers": [{"kind": "convolution", "filters": 3, "size": 3},
                       {"kind": "pooling", "size": 2},
                       {"kind": "dense", "width": 3}]}
SMALL_CNN = {"inputs": {"image": [4, 4]},
             "layers": [{"kind": "convolution", "filters": 1, "size": 3, "activation": "tanh"},
                        {"kind": "pooling", "size": 2, "pooling": "max"},
                        {"kind": "dense", "width": 1}]}


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("models")
    return {
        "cnn": _write(folder, "cnn.json", CNN_JSON),
        "recurrent": _write(folder, "rnn.toml", RECURRENT_TOML),
        "batch-norm": _write(folder, "bn.json", BATCH_NORM_JSON),
        "book-cnn": _write(folder, "book_cnn.json", json.dumps(BOOK_CNN)),
        "small-cnn": _write(folder, "small_cnn.json", json.dumps(SMALL_CNN)),
    }


@pytest.fixture(scope="module")
def read(files):
    return {name: read_model(path) for name, path in files.items()}


def test_each_file_builds_the_engines_network_equation_for_equation(read):
    built = {
        "cnn": ConvolutionalNetwork((4, 4), 1, 3, pool=2, outputs=1, activation="generic", pooling="average",
                                    channels=2, padding=1),
        "recurrent": RecurrentNetwork(2, 1, 2, 1, "generic", "generic", every_step=True),
        "batch-norm": BatchNormNetwork([1, 1, 1], batch=2, activation="generic", epsilon="1/100"),
        "book-cnn": ConvolutionalNetwork(),
    }
    for name, network in built.items():
        assert type(read[name]) is type(network)
        assert read[name].definitions == network.definitions, name
        assert read[name].cost_expression == network.cost_expression, name


@pytest.mark.parametrize("name", ["cnn", "recurrent", "batch-norm"])
def test_the_delta_route_equals_the_direct_derivative_exactly(read, name):
    # The generic activation a(z): the identity holds for every activation.
    report = verify(read[name], exact=True)
    assert report.methods == ["exact"] and report.ok, report.summary()
    assert len(report.by_parameter()) == read[name].parameter_count


BAD = [
    # the stride does not divide 6 + 0 − 3
    ('{"inputs": {"image": [6, 6]},\n "layers": [\n  {"kind": "convolution", "filters": 1, "size": 3, "stride": 2},\n'
     '  {"kind": "pooling", "size": 1},\n  {"kind": "dense", "width": 1}]}',
     "net.json:3:3: layer 2 ('convolution'): a filter of 3 rows with stride 2 and padding 0 does not tile an image "
     "of 6 rows"),
    ('{"inputs": {"image": [6, 6]},\n "layers": [\n  {"kind": "convolution", "filters": 1, "size": 3},\n'
     '  {"kind": "pooling", "size": 3},\n  {"kind": "dense", "width": 1}]}',
     "net.json:4:3: layer 3 ('pooling'): a 3x3 pooling block does not divide the 4x4 feature map"),
    ('{"inputs": {"image": [6, 6]},\n "layers": [\n  {"kind": "convolution", "filters": 1, "size": 3},\n'
     '  {"kind": "pooling", "size": 2},\n  {"kind": "dense", "width": 4},\n  {"kind": "dense", "width": 1}]}',
     "net.json:6:3: layer 5 ('dense'): a convolutional model is a convolution layer, a pooling layer, then one "
     "dense output layer"),
    ('{"inputs": {"image": [6, 6]},\n "layers": [\n  {"kind": "convolution", "filters": 1, "size": 3},\n'
     '  {"kind": "pooling", "size": 2},\n  {"kind": "dense", "width": 1, "activation": "tanh"}]}',
     "net.json:5:3: layer 4 ('dense'): the CNN's output layer has the convolution's activation 'sigmoid'"),
    ('{"inputs": {"image": [6, 6]},\n "layers": [\n  {"kind": "convolution", "filters": 1, "size": 3, "pool": 2}]}',
     "net.json:3:3: layer 2 ('convolution'): unknown key 'pool'; a convolution layer has filters, size, stride"),
    ('{"inputs": 36,\n "layers": [\n  {"kind": "convolution", "filters": 1, "size": 3}]}',
     'net.json: a convolutional model reads an image: give "inputs" as {"image": [rows, columns], "channels": 1}'),
    ('{"inputs": 1,\n "layers": [\n  {"kind": "recurrent", "steps": 3, "width": 2},\n'
     '  {"kind": "softmax", "width": 1}]}',
     "net.json:4:3: layer 3 ('softmax'): a recurrent model is a recurrent layer, then a dense output layer"),
    ('{"inputs": 1,\n "layers": [\n  {"kind": "recurrent", "steps": 0, "width": 2},\n  {"kind": "dense", "width": 1}]}',
     "net.json:3:3: layer 2 ('recurrent'): the number of time steps T must be a whole number from 1 to"),
    ('{"inputs": 2,\n "layers": [\n  {"kind": "batch-norm", "width": 2, "batch": 4},\n'
     '  {"kind": "batch-norm", "width": 2, "batch": 3},\n  {"kind": "dense", "width": 1}]}',
     "net.json:4:3: layer 3 ('batch-norm'): batch 3 differs from layer 2's 4"),
    ('{"inputs": 2,\n "layers": [\n  {"kind": "batch-norm", "width": 2, "batch": 4},\n'
     '  {"kind": "dense", "width": 2},\n  {"kind": "dense", "width": 1}]}',
     "net.json:4:3: layer 3 ('dense'): a batch-normalised model is batch-norm layers"),
    ('{"inputs": 2,\n "layers": [\n  {"kind": "batch-norm", "width": 2}]}',
     "net.json:3:3: layer 2 ('batch-norm'): missing batch"),
    ('inputs = 1\n[[layers]]\nkind = "recurrent"\nsteps = 2\nwidth = 2\nevery_step = "yes"\n'
     '[[layers]]\nkind = "dense"\nwidth = 1\n',
     "net.toml:2:1: layer 2 ('recurrent'): every_step is True"),
]


@pytest.mark.parametrize("text, message", BAD)
def test_bad_files_get_one_line_with_the_place(tmp_path, text, message):
    name = "net.toml" if text.startswith("inputs =") else "net.json"
    with pytest.raises(NetworkSpecError) as caught:
        read_model(_write(tmp_path, name, text))
    shown = str(caught.value).replace(str(tmp_path) + "/", "")
    assert "\n" not in shown and shown.startswith(message), shown


@pytest.mark.parametrize("name, verdict", [
    ("cnn", "is the engine's unit error of its pixel (their difference expands to 0): yes"),
    ("small-cnn", "The derived gradient is the book's formula"),
    ("recurrent", "all agree"),
    ("batch-norm", "all agree"),
])
def test_derive_and_verify_take_each_kind(files, name, verdict, capsys):
    assert main(["derive", "--model", str(files[name])]) == 0
    assert verdict in capsys.readouterr().out
    assert main(["verify", "--model", str(files[name]), "--points", "1"]) == 0
    assert "all" in capsys.readouterr().out


def test_derive_refuses_param_for_a_structured_network(files, capsys):
    assert main(["derive", "--model", str(files["cnn"]), "--param", "b^F_1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--param and --expand are for networks of dense" in err[0]


def test_a_file_described_cnn_trains_on_cnn123_like_the_book(files, tmp_path, capsys):
    saved = tmp_path / "cnn.json"
    status = main(["train", "cnn123", "--model", str(files["book-cnn"]), "--init", "book", "--save", str(saved),
                   "--json"])
    trained = json.loads(capsys.readouterr().out)
    # 400 epochs from the book's start: every one of the 96 training images right.
    assert status == 0 and trained["accuracy"] == 1.0
    assert main(["evaluate", "cnn123", "--model", str(files["book-cnn"]), "--params", str(saved), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["cost"] == trained["final_cost"]


def test_a_model_that_does_not_fit_the_data_set_is_refused(files, capsys):
    assert main(["train", "cnn123", "--model", str(files["cnn"])]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "it needs a convolutional network reading 6x6 images of 1 channel" in err[0]


@pytest.fixture(scope="module")
def digits_csv(tmp_path_factory) -> Path:
    """The book's 96 images of 1, 2 and 3 as a CSV file: 36 pixel columns and a label."""
    data = book_digits()
    path = tmp_path_factory.mktemp("data") / "digits.csv"
    header = ",".join(f"p{i}" for i in range(36)) + ",digit"
    rows = [",".join(str(int(v)) for v in x.ravel()) + f",d{data.classes[label]}"
            for x, label in zip(data.X, data.labels)]
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def test_a_file_described_cnn_trains_on_a_data_file(files, digits_csv, tmp_path, capsys):
    saved = tmp_path / "p.npz"
    status = main(["train", str(digits_csv), "--target", "digit", "--model", str(files["book-cnn"]),
                   "--eta", "0.2", "--epochs", "150", "--batch-size", "96", "--save", str(saved), "--json"])
    trained = json.loads(capsys.readouterr().out)
    # 95 of the 96 images after 150 full-batch epochs from a random start
    assert status == 0 and trained["accuracy"] >= 0.95, trained["accuracy"]
    assert main(["evaluate", str(digits_csv), "--model", str(files["book-cnn"]), "--params", str(saved),
                 "--json"]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    assert evaluated["accuracy"] == trained["accuracy"]
    # The model file's description is saved with the parameters: evaluate needs no --model.
    assert main(["evaluate", str(digits_csv), "--params", str(saved), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == evaluated


def test_a_data_file_and_a_model_of_other_widths_name_both(files, digits_csv, capsys):
    assert main(["train", str(digits_csv), "--target", "digit", "--model", str(files["small-cnn"])]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "reads 16 inputs and has 1 outputs" in err[0] and "36 input columns and 3 classes" in err[0]


def test_a_recurrent_file_reads_each_row_as_steps(tmp_path, capsys):
    # The sign of x1 + x2 + x3, one number per step.
    rng = np.random.default_rng(3)
    X = rng.uniform(-1, 1, (300, 3))
    np.savez(tmp_path / "signs.npz", X=X, labels=(X.sum(axis=1) > 0).astype(int))
    model = _write(tmp_path, "rnn.json", json.dumps({"inputs": 1, "layers": [
        {"kind": "recurrent", "steps": 3, "width": 3}, {"kind": "dense", "width": 2}]}))
    status = main(["train", str(tmp_path / "signs.npz"), "--model", str(model), "--eta", "0.05", "--epochs", "40",
                   "--json"])
    trained = json.loads(capsys.readouterr().out)
    # 97% of the 300 sequences after 40 epochs
    assert status == 0 and trained["accuracy"] >= 0.95, trained["accuracy"]


def test_compare_measures_a_model_files_chain_of_dense_layers(tmp_path, capsys):
    model = _write(tmp_path, "chain.toml", 'inputs = 2\ncost = "cross-entropy"\n[[layers]]\nkind = "dense"\nwidth = 3\n'
                   'activation = "tanh"\n[[layers]]\nkind = "dense"\nwidth = 1\n')
    assert main(["compare", "--model", str(model), "--batch", "4", "--cap", "30"]) == 0
    out = capsys.readouterr().out
    # 2-3-1: 3·2 + 3 + 1·3 + 1 = 13 parameters, each direct gradient proved equal to the δ route's.
    assert "2-3-1" in out and "13 of 13 direct gradients were proved exactly equal" in out


SECTION = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8").split(
    "## Your own layers and model files", 1)[1].split("\n## ", 1)[0]


def test_the_readmes_examples_build_the_networks_it_names(tmp_path):
    blocks = [block.split("```", 1)[0] for block in SECTION.split("```json\n")[1:]]
    built = [read_model(_write(tmp_path, f"m{n}.json", text)) for n, text in enumerate(blocks)]
    assert [type(model) for model in built] == [ConvolutionalNetwork, RecurrentNetwork, BatchNormNetwork]
    assert built[0].definitions == ConvolutionalNetwork().definitions


def test_the_readmes_errors_are_the_ones_given(tmp_path):
    shown = SECTION.split("```text\n")[2].split("```", 1)[0].splitlines()
    for line, (text, _) in zip(shown, BAD[:2]):
        with pytest.raises(NetworkSpecError) as caught:
            read_model(_write(tmp_path, "cnn.json", text))
        assert str(caught.value).replace(str(tmp_path) + "/", "").startswith(line.split(" (…)")[0]), line
