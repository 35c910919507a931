"""Data files: CSV and .npz read back exactly, bad files named by line and
column, the held-out split, standardisation, and the data notes saved with
the parameters."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symbackprop import guards
from symbackprop.errors import DataError, ParameterFileError
from symbackprop.numeric import datafile
from symbackprop.numeric.arrays import ArrayModel
from symbackprop.numeric.datafile import Standardizer, Table, read_data_file, split
from symbackprop.numeric.params import DataNotes, load_notes, load_params, save_params

finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
names = st.text(alphabet="abcdefghij_", min_size=1, max_size=6)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    values=st.integers(1, 4).flatmap(
        lambda columns: st.lists(st.lists(finite, min_size=columns, max_size=columns), min_size=1, max_size=6)
    ),
    labels=st.lists(st.sampled_from(["cat", "dog", "7", "-1.5"]), min_size=6, max_size=6),
)
def test_a_written_csv_reads_back_exactly(tmp_path, values, labels):
    labels = labels[: len(values)]
    columns = [f"x{i}" for i in range(len(values[0]))]
    path = tmp_path / "d.csv"
    # repr writes the shortest text that reads back as the same float.
    rows = [",".join(map(repr, row)) for row in values]
    path.write_text("\n".join([",".join(columns)] + rows) + "\n")
    table = read_data_file(path, targets=[columns[-1]]) if len(columns) > 1 else None
    if table is not None:
        assert table.X.tolist() == [row[:-1] for row in values]
        assert table.T.tolist() == [row[-1:] for row in values]
        assert table.inputs == tuple(columns[:-1]) and table.targets == (columns[-1],)
    if len(set(labels)) < 2:
        return
    path.write_text("\n".join([",".join(columns + ["kind"])] + [f"{r},{k}" for r, k in zip(rows, labels)]) + "\n")
    table = read_data_file(path, target="kind")
    assert table.X.tolist() == values
    # The classes in their stated order; each example's one-hot row marks its own label.
    numbers = sorted({k for k in labels if k[-1].isdigit()}, key=float)
    words = sorted({k for k in labels if not k[-1].isdigit()})
    assert table.classes == (tuple(numbers) if not words else tuple(sorted(set(labels))))
    assert [table.classes[i] for i in table.labels] == labels
    assert np.array_equal(table.T, np.eye(len(table.classes))[table.labels])


def write(tmp_path, text: str, name: str = "d.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("text, options, fragment", [
    ("x,y,k\n1,2,a\n3,oops,b\n", {"target": "k"}, "line 3, column 2 ('y'): the value is 'oops', not a number"),
    ("x,y,k\n1,2,a\n3,,b\n", {"target": "k"}, "line 3, column 2 ('y'): the value is empty"),
    ("x,y,k\n1,2,a\n3,nan,b\n", {"target": "k"}, "line 3, column 2 ('y'): the value is 'nan', not a number"),
    ("x,y,k\n1,2,a\n3,٣,b\n", {"target": "k"}, "line 3, column 2 ('y'): the value is '٣', not a number"),
    ("x,y,k\n1,2,a\n3,1_000,b\n", {"target": "k"}, "the value is '1_000', not a number"),
    ("x,y,k\n1,2,a\n3,4,b,5\n", {"target": "k"}, "line 3: the row has 4 values, but the header (line 1) names 3"),
    ("x,y,k\n1,2,a\n3,4\n", {"target": "k"}, "line 3: the row has 2 values"),
    ("x,y,k\n1,2,a\n3,4,b\n", {"target": "kind"}, "no column named 'kind' in the header; the columns are 'x', 'y', 'k'"),
    ("x,y,k\n1,2,a\n3,4,b\n", {"targets": ["y", "z"]}, "no column named 'z'"),
    ("x,y,k\n1,2,a\n3,4,b\n", {}, "say which column is the target"),
    ("x,y,k\n1,2,a\n3,4,a\n", {"target": "k"}, "every example has the class 'a' in 'k'"),
    ("x,y,k\n1,2,a\n3,4,\n", {"target": "k"}, "line 3: the class label ('k') is empty"),
    ("", {"target": "k"}, "the file is empty"),
    ("\n\n", {"target": "k"}, "the file is empty"),
    ("x,y,k\n", {"target": "k"}, "a header row but no examples"),
    ("1,2,3\n4,5,6\n", {"target": "k"}, "line 1, column 1: the first row holds the number '1'"),
    ("x,,k\n1,2,a\n", {"target": "k"}, "line 1, column 2: the header names no column"),
    ("x,x,k\n1,2,a\n", {"target": "k"}, "line 1: columns 1 and 2 are both named 'x'"),
    ("x,y\n1,1e999\n", {"targets": ["y"]}, "line 2, column 2 ('y'): '1e999' is beyond the range"),
    ("k\na\nb\n", {"target": "k"}, "every column is a target"),
    ("x,k\n1,\"a\n", {"target": "k"}, "not valid CSV"),
])
def test_a_bad_csv_says_where(tmp_path, text, options, fragment):
    with pytest.raises(DataError) as caught:
        read_data_file(write(tmp_path, text), **options)
    message = str(caught.value)
    assert fragment in message and "\n" not in message


def test_a_file_too_large_for_memory_is_refused_before_it_is_read(tmp_path, monkeypatch):
    path = write(tmp_path, "x,k\n" + "1,a\n2,b\n" * 10)
    monkeypatch.setattr(datafile, "MAX_DATA_FILE_BYTES", 40)
    with pytest.raises(DataError, match=r"the file has 84 bytes; a data file has at most 40 bytes"):
        read_data_file(path, target="k")
    monkeypatch.setattr(datafile, "MAX_DATA_FILE_BYTES", guards.MAX_DATA_FILE_BYTES)
    monkeypatch.setattr(datafile, "MAX_DATA_VALUES", 11)
    with pytest.raises(DataError, match=r"line 7: more than 11 values"):
        read_data_file(path, target="k")


def test_blank_lines_and_spaces_are_allowed_and_numeric_classes_sort_by_value(tmp_path):
    table = read_data_file(write(tmp_path, " x , k \n1, 10\n\n2,9\n3, 9.5 \n\n"), target="k")
    assert table.X.tolist() == [[1.0], [2.0], [3.0]]
    assert table.classes == ("9", "9.5", "10") and table.labels.tolist() == [2, 0, 1]


def test_given_classes_fix_the_order_and_refuse_a_stranger(tmp_path):
    path = write(tmp_path, "x,k\n1,b\n2,b\n")
    table = read_data_file(path, target="k", classes=["b", "a"])
    assert table.labels.tolist() == [0, 0] and table.T.tolist() == [[1.0, 0.0], [1.0, 0.0]]
    with pytest.raises(DataError, match=r"line 3: the class 'b' is not one the network was trained on \(its "
                                        r"classes, in order: 'a', 'c'\)"):
        read_data_file(write(tmp_path, "x,k\n1,a\n2,b\n"), target="k", classes=["a", "c"])


def test_npz_files(tmp_path):
    X = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    np.savez(tmp_path / "r.npz", X=X, T=X[:, :1] * 2)
    table = read_data_file(tmp_path / "r.npz")
    assert table.X.tolist() == X.tolist() and table.T.tolist() == [[2.0], [6.0], [10.0]] and not table.is_classification
    np.savez(tmp_path / "c.npz", X=X, labels=np.array(["b", "a", "b"]))
    table = read_data_file(tmp_path / "c.npz")
    assert table.classes == ("a", "b") and table.labels.tolist() == [1, 0, 1]
    np.savez(tmp_path / "n.npz", X=X, labels=np.array([3, 1, 3]))
    assert read_data_file(tmp_path / "n.npz").classes == ("1", "3")


@pytest.mark.parametrize("arrays, fragment", [
    ({"X": np.zeros((2, 2))}, "either T (numeric targets) or labels"),
    ({"X": np.zeros((2, 2)), "T": np.zeros((3, 1))}, "T has 3 rows for 2 examples"),
    ({"X": np.array([[1.0, np.inf], [0, 0]]), "T": np.zeros((2, 1))}, "X row 1, column 2 is inf"),
    ({"X": np.zeros(2), "T": np.zeros((2, 1))}, "X must be a non-empty table of numbers"),
    ({"X": np.zeros((2, 1)), "labels": np.array([1, 1])}, "every example has the class '1'"),
    ({"X": np.zeros((2, 1)), "labels": np.array([0.5, 1])}, "labels must be one whole number or text"),
    ({"X": np.zeros((2, 1)), "T": np.zeros((2, 1)), "W": np.zeros(1)}, "the archive holds 'W'"),
])
def test_a_bad_npz_says_what_is_wrong(tmp_path, arrays, fragment):
    np.savez(tmp_path / "d.npz", **arrays)
    with pytest.raises(DataError, match=None) as caught:
        read_data_file(tmp_path / "d.npz")
    assert fragment in str(caught.value)


def test_object_arrays_and_non_archives_are_refused_without_pickle(tmp_path):
    np.savez(tmp_path / "o.npz", X=np.zeros((2, 1)), labels=np.array([{"a": 1}, None], dtype=object))
    with pytest.raises(DataError, match="not a valid .npz archive"):
        read_data_file(tmp_path / "o.npz")
    (tmp_path / "p.npz").write_bytes(b"\x80\x04not a zip")
    with pytest.raises(DataError, match="not an .npz archive"):
        read_data_file(tmp_path / "p.npz")


def test_the_split_is_seeded_and_disjoint():
    table = Table(np.arange(20.0)[:, None], np.zeros((20, 1)), ("x",), ("t",))
    a_train, a_test = split(table, 0.25, seed=3)
    b_train, b_test = split(table, 0.25, seed=3)
    assert len(a_test.X) == 5 and a_test.X.tolist() == b_test.X.tolist()
    assert sorted(a_train.X[:, 0].tolist() + a_test.X[:, 0].tolist()) == list(range(20))
    assert split(table, 0.25, seed=4)[1].X.tolist() != a_test.X.tolist()
    for fraction, fragment in ((0.01, "holds out none"), (0.99, "leaves none to train on"), (1.5, "between 0 and 1")):
        with pytest.raises(DataError, match=fragment):
            split(table, fraction)


def test_standardised_inputs_have_mean_0_and_deviation_1():
    X = np.random.default_rng(0).normal([5.0, -2.0, 0.0], [3.0, 0.1, 0.0], size=(50, 3))
    scaled = Standardizer.fit(X).apply(X)
    assert np.allclose(scaled.mean(axis=0), 0, atol=1e-12)
    assert np.allclose(scaled.std(axis=0), [1, 1, 0], atol=1e-12)


@pytest.mark.parametrize("suffix", [".json", ".npz"])
def test_data_notes_round_trip_with_the_parameters(tmp_path, suffix):
    model = ArrayModel([2, 3])
    params = {"W2": np.arange(6.0).reshape(3, 2), "b2": np.ones(3)}
    notes = DataNotes(("x", "y"), ("kind",), ("a", "b", "c"), np.array([0.5, -1.0]), np.array([2.0, 0.25]),
                      {"activation": "tanh", "weight_decay": "1/100"})
    path = save_params(tmp_path / f"p{suffix}", model, params, notes)
    back = load_notes(path, model)
    assert back.inputs == ("x", "y") and back.targets == ("kind",) and back.classes == ("a", "b", "c")
    assert back.mean.tolist() == [0.5, -1.0] and back.scale.tolist() == [2.0, 0.25]
    assert back.network == {"activation": "tanh", "weight_decay": "1/100"}
    assert all(np.array_equal(load_params(path, model)[k], params[k]) for k in params)
    assert load_notes(save_params(tmp_path / f"q{suffix}", model, params), model) is None


@pytest.mark.parametrize("notes, fragment", [
    ({"inputs": ["x", "y"], "targets": ["k"], "classes": ["a", "b"]}, "the data notes list 2 classes, but the 2-3"),
    ({"inputs": ["x"], "targets": ["k"]}, "the data notes list 1 inputs"),
    ({"inputs": ["x", "y"], "targets": ["k"], "mean": [0, 0]}, "need both 'mean' and 'scale'"),
    ({"inputs": ["x", "y"], "targets": ["k"], "mean": [0, 0], "scale": [1, 0]}, "'scale' must be positive"),
    ({"inputs": ["x", "y"], "targets": ["k"], "mean": [0], "scale": [1, 1]}, "'mean' must be 2 finite numbers"),
    ({"inputs": ["x", "y"], "targets": ["k"], "eval": "1"}, "not what 'train --save' writes"),
    ({"inputs": ["x", "y"], "targets": ["k"], "network": {"code": "1"}}, "'network' must name some of activation"),
    ({"inputs": ["x", "y"], "targets": ["k"], "network": {"cost": 1}}, "'network' must name some of activation"),
])
def test_data_notes_are_checked_on_load(tmp_path, notes, fragment):
    import json

    model = ArrayModel([2, 3])
    document = {"W2": [[0.0, 0.0]] * 3, "b2": [0.0] * 3, "data": notes}
    (tmp_path / "p.json").write_text(json.dumps(document))
    with pytest.raises(ParameterFileError, match=None) as caught:
        load_notes(tmp_path / "p.json", model)
    assert fragment in str(caught.value)
