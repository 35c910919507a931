"""``train`` and ``evaluate`` on data files, with optimisers, charts and JSON output."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from symbackprop.cli import main

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def blobs(tmp_path_factory):
    """Three Gaussian blobs in 4 dimensions, 100 examples each, as a CSV file."""
    rng = np.random.default_rng(7)
    centres = {"red": [0, 0, 0, 0], "green": [3, 3, 0, 0], "blue": [0, 3, 3, 3]}
    rows = [(x, name) for name, c in centres.items() for x in rng.normal(c, 0.8, size=(100, 4))]
    order = rng.permutation(len(rows))
    path = tmp_path_factory.mktemp("data") / "blobs.csv"
    lines = ["a,b,c,d,colour"] + [",".join(f"{v:.5f}" for v in rows[i][0]) + f",{rows[i][1]}" for i in order]
    path.write_text("\n".join(lines) + "\n")
    return path


def run_json(capsys, *args: str) -> tuple[int, dict]:
    status = main([*args, "--json"])
    out = capsys.readouterr().out
    return status, json.loads(out)


def test_blobs_train_to_95_percent_held_out_and_evaluate_agrees(blobs, tmp_path, capsys):
    saved = tmp_path / "blobs.npz"
    status, trained = run_json(
        capsys, "train", str(blobs), "--target", "colour", "--layers", "4,6,3", "--test-fraction", "0.25",
        "--standardize", "--epochs", "40", "--save", str(saved),
    )
    assert status == 0 and trained["problem"] is None
    assert trained["examples"] == 225 and trained["held_out_examples"] == 75
    assert trained["classes"] == ["blue", "green", "red"]
    assert trained["held_out_accuracy"] >= 0.95
    assert len(trained["history"]) == 41 and trained["history"][-1] < trained["history"][0]
    status, evaluated = run_json(capsys, "evaluate", str(blobs), "--params", str(saved), "--test-fraction", "0.25")
    assert status == 0
    assert evaluated["held_out_accuracy"] == trained["held_out_accuracy"]
    assert evaluated["held_out_cost"] == trained["held_out_cost"]
    assert evaluated["network"] == "4-6-3" and evaluated["examples"] == 300


def test_evaluate_applies_the_saved_standardisation_and_class_order(blobs, tmp_path, capsys):
    saved = tmp_path / "p.json"
    main(["train", str(blobs), "--target", "colour", "--layers", "4,5,3", "--standardize", "--epochs", "5",
          "--save", str(saved)])
    capsys.readouterr()
    notes = json.loads(saved.read_text())["data"]
    assert notes["classes"] == ["blue", "green", "red"] and notes["inputs"] == ["a", "b", "c", "d"]
    # The same examples with their columns' means moved: only the saved statistics give the same figure.
    _, before = run_json(capsys, "evaluate", str(blobs), "--params", str(saved))
    assert before["accuracy"] > 0.5
    data = np.genfromtxt(blobs, delimiter=",", skip_header=1, usecols=range(4))
    assert np.allclose(notes["mean"], data.mean(axis=0)) and np.allclose(notes["scale"], data.std(axis=0))


def test_plot_draws_one_point_per_epoch(blobs, tmp_path, capsys):
    chart = tmp_path / "cost.svg"
    status = main(["train", str(blobs), "--target", "colour", "--layers", "4,3", "--test-fraction", "0.2",
                   "--epochs", "12", "--optimizer", "momentum", "--momentum", "0.5", "--plot", str(chart)])
    assert status == 0 and "written to" in capsys.readouterr().out
    root = ET.parse(chart).getroot()
    panels = root.findall(f".//{SVG}g[@class='panel']")
    assert len(panels) == 2
    for panel in panels:
        line = panel.find(f".//{SVG}polyline[@class='measured']")
        assert len(line.get("points").split()) == 13
        assert len(panel.findall(f".//{SVG}path[@class='marker']")) == 13


def test_regression_from_csv_reports_held_out_cost(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(120, 2))
    y = 0.5 * X[:, 0] - 0.25 * X[:, 1] + 0.1
    path = tmp_path / "line.csv"
    path.write_text("u,v,y\n" + "".join(f"{a},{b},{c}\n" for (a, b), c in zip(X.tolist(), y.tolist())))
    saved = tmp_path / "line.json"
    status, trained = run_json(capsys, "train", str(path), "--targets", "y", "--layers", "2,1", "--activation",
                               "identity", "--test-fraction", "0.25", "--epochs", "200", "--save", str(saved))
    assert status == 0 and trained["classes"] is None and trained["held_out_accuracy"] is None
    # A linear model fits a linear law: the held-out cost all but vanishes.
    assert trained["held_out_cost"] < 1e-6
    # The identity activation is saved with the parameters: evaluate builds the same network.
    assert json.loads(saved.read_text())["data"]["network"] == {"activation": "identity"}
    _, evaluated = run_json(capsys, "evaluate", str(path), "--params", str(saved), "--test-fraction", "0.25")
    assert evaluated["held_out_cost"] == trained["held_out_cost"]


def test_a_softmax_network_with_weight_decay_is_evaluated_as_it_was_trained(blobs, tmp_path, capsys):
    saved = tmp_path / "soft.npz"
    status, trained = run_json(capsys, "train", str(blobs), "--target", "colour", "--layers", "4,3", "--output",
                               "softmax", "--weight-decay", "0.001", "--epochs", "5", "--save", str(saved))
    assert status == 0
    _, evaluated = run_json(capsys, "evaluate", str(blobs), "--params", str(saved))
    assert evaluated["cost"] == trained["final_cost"] and evaluated["accuracy"] == trained["accuracy"]
    # An option given to evaluate wins over the saved one: without decay, C_T loses (λ/2) Σ w² per example.
    _, other = run_json(capsys, "evaluate", str(blobs), "--params", str(saved), "--weight-decay", "0")
    weights = np.load(saved)["W2"]
    assert other["cost"] == pytest.approx(evaluated["cost"] - 300 * 0.0005 * float((weights ** 2).sum()), rel=1e-12)


def test_npz_data_files_train_too(tmp_path, capsys):
    rng = np.random.default_rng(1)
    X = np.r_[rng.normal(-2, 1, (40, 3)), rng.normal(2, 1, (40, 3))]
    np.savez(tmp_path / "two.npz", X=X, labels=np.repeat([0, 1], 40))
    status, trained = run_json(capsys, "train", str(tmp_path / "two.npz"), "--layers", "3,2", "--epochs", "30",
                               "--optimizer", "adam", "--eta", "0.05", "--lr-decay", "exp:0.99")
    assert status == 0 and trained["accuracy"] >= 0.95 and trained["optimizer"] == "adam"
    assert trained["lr_decay"] == "η × 0.99 each epoch"


def test_registered_data_sets_take_the_optimizers_and_json(capsys):
    status, book = run_json(capsys, "train", "digits01", "--init", "book", "--epochs", "3")
    assert status == 0 and book["data"] == "digits01" and book["eta"] == 0.2 and len(book["history"]) == 4
    assert book["held_out_examples"] == 6
    _, momentum = run_json(capsys, "train", "digits01", "--init", "book", "--epochs", "3",
                           "--optimizer", "momentum")
    # The first step has no velocity yet: the same as plain descent; later ones differ.
    assert momentum["history"][:2] == book["history"][:2] and momentum["history"][3] != book["history"][3]
    status, evaluated = run_json(capsys, "evaluate", "digits01", "--params", "book")
    assert status == 0 and evaluated["cost"] == book["history"][0]


@pytest.mark.parametrize("args, fragment", [
    (["train", "digits01", "--layers", "12,2"], "--layers is for data files"),
    (["train", "digits01", "--momentum", "0.5"], "--momentum is the μ of --optimizer momentum"),
    (["train", "digits01", "--lr-decay", "fast"], "exp:γ or step:γ:k"),
    (["train", "digits01", "--plot", "cost.pdf"], "a chart is .svg"),
    (["train", "BLOBS", "--target", "colour", "--layers", "4,2"], "it has 4 inputs and 3 classes"),
    (["train", "BLOBS", "--target", "shade"], "no column named 'shade'"),
    (["train", "BLOBS", "--target", "colour", "--test-fraction", "2"], "between 0 and 1"),
    (["train", "BLOBS", "--target", "colour", "--init", "book"], "--init is for registered data sets"),
    (["train", "BLOBS", "--target", "colour", "--cost", ""], "cost is empty"),
])
def test_bad_command_lines_are_one_line(args, fragment, blobs, capsys):
    args = [str(blobs) if a == "BLOBS" else a for a in args]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and fragment in err[0], err


def test_a_bad_value_in_a_data_file_is_one_line_with_line_and_column(tmp_path, capsys):
    path = tmp_path / "bad.csv"
    path.write_text("x,y,k\n1,2,a\n3,four,b\n")
    assert main(["train", str(path), "--target", "k"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"symbackprop: error: {path}, line 3, column 2 ('y'): the value is 'four', not a number; "
                   "every input (and --targets) value must be a decimal number"]


def test_plot_as_png_where_a_renderer_is_installed(blobs, tmp_path, capsys):
    from symbackprop.cli.plot import _renderer

    if _renderer() is None:
        pytest.skip("neither CairoSVG nor rsvg-convert is installed")
    chart = tmp_path / "cost.png"
    assert main(["train", str(blobs), "--target", "colour", "--layers", "4,3", "--epochs", "3",
                 "--plot", str(chart)]) == 0
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
