"""Hand-written backpropagation checked block by block: a corpus of functions
written with the usual mistakes (tests/fixtures/backprop/), each diagnosed
with its pattern; the right ones accepted; the checked code's own crash,
time-out and wrong return reported as its own."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from symbackprop import Network
from symbackprop.cli import main
from symbackprop.errors import ArgumentError, DataError
from symbackprop.numeric.arrays import ArrayModel
from symbackprop.numeric.cnn_arrays import CNNArrays
from symbackprop.proof.backprop_check import RIGHT, check_backprop, checking_points

FIXTURES = Path(__file__).parent / "fixtures" / "backprop"
DENSE = FIXTURES / "dense.py"


def patterns(report) -> dict[str, str | None]:
    return {b.name: (b.pattern if b.status != RIGHT else RIGHT) for b in report.blocks}


ALL = ("W2", "b2", "W3", "b3")


@pytest.mark.parametrize("function,expected", [
    ("correct", dict.fromkeys(ALL, RIGHT)),
    ("transposed_weight_gradient", {"W2": "transposed", "b2": RIGHT, "W3": "transposed", "b3": RIGHT}),
    ("missing_output_slope", dict.fromkeys(ALL, "missing a'(z^3)")),
    ("missing_hidden_slope", {"W2": "missing a'(z^2)", "b2": "missing a'(z^2)", "W3": RIGHT, "b3": RIGHT}),
    ("mean_not_sum", dict.fromkeys(ALL, "mean instead of sum (1/m)")),
    ("wrong_sign", dict.fromkeys(ALL, "wrong sign")),
    ("shifted_layers", dict.fromkeys(ALL, "layers shifted")),
    ("bias_from_first_example", {"W2": RIGHT, "b2": RIGHT, "W3": RIGHT, "b3": None}),
])
def test_corpus_of_backprop_functions(function, expected):
    report = check_backprop(Network([2, 2, 2]), f"{DENSE}:{function}")
    assert report.crash is None
    assert patterns(report) == expected, report.text()
    assert report.ok == (function == "correct")


def test_a_wrong_block_lists_its_wrong_entries_with_indices():
    report = check_backprop(Network([2, 2, 2]), f"{DENSE}:bias_from_first_example")
    b3 = report.blocks[-1]
    assert "2 of 2 entries wrong" in b3.text and "[0]:" in b3.text and "[1]:" in b3.text


def test_non_square_network_transposed_and_missing_slope():
    net = Network([3, 4, 2])
    assert check_backprop(net, f"{DENSE}:correct").ok
    transposed = check_backprop(net, f"{DENSE}:transposed_weight_gradient")
    assert patterns(transposed) == {"W2": "transposed", "b2": RIGHT, "W3": "transposed", "b3": RIGHT}
    missing = check_backprop(net, f"{DENSE}:missing_output_slope")
    assert "δ^3 lacks the factor a'(z^3)" in missing.blocks[2].text
    assert "follows from δ^3" in missing.blocks[0].text


def test_the_edge_points_are_called():
    labels = [p.label for p in checking_points(ArrayModel([2, 2]))]
    assert "all parameters 0" in labels and any("large weights" in label for label in labels)
    cnn_labels = [p.label for p in checking_points(CNNArrays())]
    assert any("tied pooling" in label for label in cnn_labels)
    tied = next(p for p in checking_points(CNNArrays()) if "tied" in p.label)
    # every pixel of each image equal: every pooling block is a tie
    assert np.all(tied.X == tied.X[:, :1, :1])


def test_cnn_layout(capsys):
    cnn = FIXTURES / "cnn.py"
    assert main(["check", f"{cnn}:correct", "--cnn", "4x4,1,3x3,2x2,2"]) == 0
    report = check_backprop(CNNArrays(image=(4, 4), filters=1, outputs=2), f"{cnn}:mean_not_sum")
    assert set(patterns(report).values()) == {"mean instead of sum (1/m)"}
    assert "tied pooling" in " ".join(report.points)
    assert main(["check", f"{cnn}:correct", "--cnn", "--layers", "2,2"]) == 2
    assert main(["check", f"{cnn}:correct", "--pooling", "max"]) == 2


def test_a_crash_reports_the_checked_codes_own_traceback():
    report = check_backprop(Network([2, 2, 2]), f"{DENSE}:crashes")
    assert not report.ok and report.blocks == []
    assert "KeyError: 'W9'" in report.crash and 'dense.py", line' in report.crash
    # this tool's frames are not the story
    assert "user_code" not in report.crash and "backprop_check" not in report.crash


def test_a_function_that_runs_too_long_is_stopped():
    report = check_backprop(Network([2, 1]), f"{DENSE}:sleeps", timeout=1)
    assert "did not return within 1 s" in report.crash


def test_a_function_that_returns_no_dict():
    report = check_backprop(Network([2, 1]), f"{DENSE}:not_a_dict")
    assert "returned list, not a dict" in report.crash


@pytest.mark.parametrize("spec,error", [
    ("dense.py", ArgumentError),
    (f"{DENSE}:not-a-name", ArgumentError),
    (f"{FIXTURES}/missing.py:g", DataError),
])
def test_bad_function_names_are_refused(spec, error):
    with pytest.raises(error):
        check_backprop(Network([2, 1]), spec)


def test_cli_check_exit_codes(capsys):
    assert main(["check", f"{DENSE}:correct", "--layers", "2,3,2"]) == 0
    assert main(["check", f"{DENSE}:wrong_sign", "--layers", "2,3,2"]) == 1
    assert "wrong sign" in capsys.readouterr().out
    assert main(["check", f"{DENSE}:crashes", "--layers", "2,3,2"]) == 1
    assert "KeyError" in capsys.readouterr().out
    assert main(["check", "nothing.py:g", "--layers", "2,3,2"]) == 2
    assert "no such Python file" in capsys.readouterr().err

