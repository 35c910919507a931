"""Training: gradient descent on the book's data, parameter files, data sets,
bad input, and the train/evaluate commands."""

from __future__ import annotations

import gc
import io
import json
import tracemalloc
import warnings
import zipfile

import numpy as np
import pytest

from symbackprop.cli import main
from symbackprop.errors import DataError, ParameterFileError
from symbackprop.numeric.arrays import ArrayModel
from symbackprop.numeric.catalogue import DATASETS, DatasetSpec, register
from symbackprop.numeric.datasets import Dataset, data_path, load_digits01, one_hot
from symbackprop.numeric.params import check_params, load_params, read_param_file, save_params
from symbackprop.numeric.scalar import ScalarModel
from symbackprop.numeric.train import accuracy, initial_params, total_cost, train
from symbackprop.numeric.trainable import Trainable

BOOK_INIT = data_path("book_nn_4_4_init.json")
#: A 12-3-2 parameter file's arrays, each of the right shape.
VALID = {"W2": [[1.0] * 12] * 3, "b2": [0.0] * 3, "W3": [[1.0] * 3] * 2, "b3": [0.0] * 2}


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def hand_cost_and_gradient(p, X, T):
    """The book's 12-3-2 backprop written out by hand, independently of the library."""
    a2 = sigmoid(X @ p["W2"].T + p["b2"])
    a3 = sigmoid(a2 @ p["W3"].T + p["b3"])
    d3 = (a3 - T) * a3 * (1 - a3)
    d2 = (d3 @ p["W3"]) * a2 * (1 - a2)
    return 0.5 * np.sum((T - a3) ** 2), {
        "W2": d2.T @ X, "b2": d2.sum(0), "W3": d3.T @ a2, "b3": d3.sum(0)
    }


def test_book_data_set():
    data = load_digits01()
    assert data.X.shape == (64, 12) and set(np.unique(data.X)) == {0.0, 1.0}
    assert data.T.sum(axis=1).tolist() == [1.0] * 64
    # the hand-made test images are not training images
    training = {tuple(x) for x in data.X}
    assert all(tuple(x) not in training for x in data.test_X)


def test_book_initial_weights_load_in_the_book_layout():
    model = ArrayModel([12, 3, 2])
    params = load_params(BOOK_INIT, model)
    book = json.loads(BOOK_INIT.read_text())
    assert params["W2"].tolist() == book["hidden_W"] and params["b3"].tolist() == book["output_b"]
    assert read_param_file(BOOK_INIT)[1]["eta"] == 0.2


@pytest.mark.parametrize("path", [ArrayModel, ScalarModel])
def test_book_run_reaches_all_64_with_a_decreasing_cost(path):
    data = load_digits01()
    model = path([12, 3, 2])
    start = load_params(BOOK_INIT, model)
    result = train(model, data.X, data.T, start, eta=0.2, epochs=50)
    h = np.array(result.history)
    assert len(h) == 51
    assert h[0] == pytest.approx(hand_cost_and_gradient(start, data.X, data.T)[0], rel=1e-12)
    assert np.sum(np.diff(h) > 0) <= 2 and h[-1] < h[0] / 20
    assert accuracy(model, result.params, data.X, data.labels) == 1.0


def test_one_iteration_is_the_book_update():
    data = load_digits01()
    model = ArrayModel([12, 3, 2])
    start = load_params(BOOK_INIT, model)
    result = train(model, data.X, data.T, start, eta=0.2, epochs=1)
    _, gradient = hand_cost_and_gradient(start, data.X, data.T)
    for name in start:
        np.testing.assert_allclose(result.params[name], start[name] - 0.2 * gradient[name], rtol=1e-13, atol=1e-15)
    assert result.history[1] == pytest.approx(hand_cost_and_gradient(result.params, data.X, data.T)[0], rel=1e-12)


def test_numpy_numbers_are_accepted_as_settings():
    # the same run with NumPy scalars and with Python numbers
    model = ArrayModel([12, 3, 2])
    data = load_digits01()
    plain = train(model, data.X, data.T, eta=0.5, epochs=3, batch_size=16, seed=4)
    numpy = train(model, data.X, data.T, eta=np.float64(0.5), epochs=np.int64(3), batch_size=np.int32(16),
                  seed=np.int64(4))
    assert numpy.history == plain.history
    # a single-precision η is the number it holds, and the parameters stay in double precision
    single = train(model, data.X, data.T, eta=np.float32(0.2), epochs=np.int64(1))
    same = train(model, data.X, data.T, eta=float(np.float32(0.2)), epochs=1)
    assert len(single.history) == 2 and single.history == same.history
    assert all(v.dtype == np.float64 and (v == same.params[k]).all() for k, v in single.params.items())


def test_small_step_against_the_gradient_lowers_the_cost():
    data = load_digits01()
    model = ArrayModel([12, 3, 2])
    for seed in range(5):
        result = train(model, data.X, data.T, eta=1e-4, epochs=1, seed=seed)
        assert result.history[1] < result.history[0]


def test_mini_batches_are_reproducible_with_a_seed():
    data = load_digits01()
    model = ArrayModel([12, 3, 2])
    a = train(model, data.X, data.T, eta=0.5, epochs=5, batch_size=8, seed=4)
    b = train(model, data.X, data.T, eta=0.5, epochs=5, batch_size=8, seed=4)
    c = train(model, data.X, data.T, eta=0.5, epochs=5, batch_size=8, seed=5)
    assert a.history == b.history and a.history != c.history
    assert all((a.params[k] == b.params[k]).all() for k in a.params)
    assert len(a.history) == 6


@pytest.mark.parametrize("suffix", [".npz", ".json"])
def test_save_load_round_trips_exactly(tmp_path, suffix):
    model = ArrayModel([12, 3, 2])
    rng = np.random.default_rng(0)
    params = {k: rng.standard_normal(s) * 10.0 ** rng.integers(-8, 8, size=s) for k, s in model.parameter_shapes.items()}
    loaded = load_params(save_params(tmp_path / f"p{suffix}", model, params), model)
    for name in params:
        assert loaded[name].dtype == np.float64
        assert np.array_equal(loaded[name], params[name])


def test_deeper_networks_use_numbered_hidden_layers(tmp_path):
    model = ArrayModel([3, 4, 2, 1])
    doc = {"hidden1_W": np.ones((4, 3)).tolist(), "hidden1_b": [0] * 4, "hidden2_W": np.ones((2, 4)).tolist(),
           "hidden2_b": [0, 0], "output_W": [[1, 2]], "output_b": [3]}
    (tmp_path / "deep.json").write_text(json.dumps(doc))
    params = load_params(tmp_path / "deep.json", model)
    assert params["W3"].shape == (2, 4) and params["W4"].tolist() == [[1.0, 2.0]]


@pytest.mark.parametrize(
    "content,fragment",
    [
        (b"not json", "not a valid JSON parameter file (line 1, column 1"),
        (b"[1, 2]", "holds an object"),
        (json.dumps({"hidden_W": [[1.0]]}).encode(), "has shape (1, 1)"),
        (json.dumps({"W2": [[1.0] * 12] * 3, "b2": [0.0] * 3, "W3": [[1.0] * 3] * 2}).encode(), "missing b3"),
        (json.dumps({"W2": [[1.0] * 12] * 3, "b2": [0.0] * 3, "W3": [[1.0] * 3] * 2, "b3": [0.0] * 2,
                     "W4": [[1.0] * 2]}).encode(), "'W4' is not a parameter of the 12-3-2 network"),
        (json.dumps({"W2": [[1.0] * 12] * 3, "b2": [0.0, 0.0, "x"], "W3": [[1.0] * 3] * 2,
                     "b3": [0, 0]}).encode(), "'b2' is not an array of real numbers"),
        # a number where an array belongs is a broken parameter, not "missing"
        (json.dumps({**VALID, "W3": 1.0}).encode(), "'W3' has shape (), but the 12-3-2 network needs (2, 3)"),
        (json.dumps({**VALID, "W2": "x"}).encode(), "'W2' is not an array of real numbers"),
        (json.dumps({"hidden_W": VALID["W2"], "hidden_b": VALID["b2"], "output_W": VALID["W3"],
                     "output_b": None}).encode(), "'output_b' is not an array of real numbers"),
        # strings, true/false are not numbers, however numpy would convert them
        (json.dumps({**VALID, "b3": ["1.5", 0]}).encode(), "'b3' is not an array of real numbers"),
        (json.dumps({**VALID, "b3": [True, 0.0]}).encode(), "'b3' is not an array of real numbers"),
    ],
)
def test_bad_parameter_files(tmp_path, content, fragment):
    path = tmp_path / "p.json"
    path.write_bytes(content)
    with pytest.raises(ParameterFileError) as error:
        load_params(path, ArrayModel([12, 3, 2]))
    assert fragment in str(error.value)


def test_bad_npz_and_missing_files(tmp_path):
    model = ArrayModel([12, 3, 2])
    (tmp_path / "p.npz").write_bytes(b"garbage")
    with pytest.raises(ParameterFileError, match="not an .npz archive") as error:
        load_params(tmp_path / "p.npz", model)
    # numpy's own message would advise unpickling the file
    assert "pickle" not in str(error.value)
    with pytest.raises(ParameterFileError, match="no such parameter file"):
        load_params(tmp_path / "missing.npz", model)
    # an object array would need pickle: refused
    np.savez(tmp_path / "obj.npz", W2=np.array([None, 1], dtype=object))
    with pytest.raises(ParameterFileError):
        load_params(tmp_path / "obj.npz", model)
    with pytest.raises(ParameterFileError, match=r"\.npz or \.json"):
        save_params(tmp_path / "p.pkl", model, load_params(BOOK_INIT, model))
    # arrays of complex numbers or of booleans are not real numbers
    np.savez(tmp_path / "complex.npz", **{**VALID, "b3": np.array([1 + 2j, 0])})
    with pytest.raises(ParameterFileError, match="'b3' is not an array of real numbers"):
        load_params(tmp_path / "complex.npz", model)
    np.savez(tmp_path / "bool.npz", **{**VALID, "b3": np.array([True, False])})
    with pytest.raises(ParameterFileError, match="'b3' is not an array of real numbers"):
        load_params(tmp_path / "bool.npz", model)


def test_damaged_npz_files_are_parameter_file_errors(tmp_path):
    model = ArrayModel([12, 3, 2])
    whole = tmp_path / "whole.npz"
    save_params(whole, model, load_params(BOOK_INIT, model))
    data = whole.read_bytes()
    # a zip header and nothing else; the first half; all but the last byte
    for content in (b"PK\x03\x04junk", data[: len(data) // 2], data[:-1]):
        path = tmp_path / "damaged.npz"
        path.write_bytes(content)
        with pytest.raises(ParameterFileError, match="not a valid .npz archive"):
            load_params(path, model)
    # a single .npy array under an .npz name is not an archive of named arrays
    np.save(tmp_path / "one.npy", np.ones(3))
    (tmp_path / "one.npz").write_bytes((tmp_path / "one.npy").read_bytes())
    with pytest.raises(ParameterFileError, match="not an .npz archive"):
        load_params(tmp_path / "one.npz", model)


def test_a_damaged_npz_is_one_line_in_the_evaluate_command(tmp_path, capsys):
    path = tmp_path / "t.npz"
    path.write_bytes(b"PK\x03\x04junk")
    assert main(["evaluate", "digits01", "--params", str(path)]) == 2
    err = capsys.readouterr().err
    assert "not a valid .npz archive" in err and err.count("\n") == 1


def test_deeply_nested_json_is_a_parameter_file_error(tmp_path, capsys):
    path = tmp_path / "deep.json"
    # deeper than Python's recursion limit, within the size a 12-3-2 file may have
    path.write_text('{"W2":' + "[" * 30_000 + "]" * 30_000 + "}")
    with pytest.raises(ParameterFileError, match="nested too deeply"):
        load_params(path, ArrayModel([12, 3, 2]))
    assert main(["evaluate", "digits01", "--params", str(path)]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_bad_data_raise_data_errors():
    model = ArrayModel([12, 3, 2])
    data = load_digits01()
    X = data.X.copy()
    X[3, 2] = np.nan
    with pytest.raises(DataError, match="NaN or infinity \\(examples 4\\)"):
        train(model, X, data.T, epochs=1)
    with pytest.raises(DataError, match="inputs have shape"):
        train(model, data.X[:, :11], data.T, epochs=1)
    with pytest.raises(DataError, match="targets have shape"):
        train(model, data.X, data.T[:, :1], epochs=1)
    # a float conversion would silently keep only the real parts
    with pytest.raises(DataError, match="inputs are complex"):
        train(model, data.X.astype(complex), data.T, epochs=1)
    with pytest.raises(DataError, match="targets are complex"):
        train(model, data.X, data.T + 0.5j, epochs=1)
    with pytest.raises(DataError, match="out of range"):
        one_hot([0, 1, 2], 2)
    with pytest.raises(DataError, match="out of range"):
        one_hot([-1], 2)
    for eta in (0, -0.1, float("nan")):
        with pytest.raises(DataError, match="learning rate"):
            train(model, data.X, data.T, eta=eta)
    with pytest.raises(DataError, match="batch size"):
        train(model, data.X, data.T, batch_size=0)
    with pytest.raises(DataError, match="learning rate"):
        train(model, data.X, data.T, eta=True)
    with pytest.raises(DataError, match="epochs"):
        train(model, data.X, data.T, epochs=True)
    with pytest.raises(DataError, match="epochs"):
        train(model, data.X, data.T, epochs=2.0)
    for seed in (-1, 1.5):
        with pytest.raises(DataError, match="seed"):
            train(model, data.X, data.T, seed=seed)
        with pytest.raises(DataError, match="seed"):
            initial_params(model, seed)


def test_accuracy_checks_its_labels():
    model = ArrayModel([12, 3, 2])
    data = load_digits01()
    params = load_params(BOOK_INIT, model)
    with pytest.raises(DataError, match=r"label 5 \(example 1\) is out of range.*0\.\.1"):
        accuracy(model, params, data.X, data.labels + 5)
    with pytest.raises(DataError, match="63 labels for 64 examples"):
        accuracy(model, params, data.X, data.labels[:-1])
    with pytest.raises(DataError, match="whole numbers"):
        accuracy(model, params, data.X, data.labels + 0.5)
    with pytest.raises(DataError, match="whole numbers"):
        accuracy(model, params, data.X, data.labels[:, None])


def test_divergence_is_reported():
    model = ArrayModel([1, 1], activation="identity")
    with pytest.raises(DataError, match="diverged"):
        train(model, [[1e3]], [[0.0]], {"W2": np.ones((1, 1)), "b2": np.zeros(1)}, eta=10.0, epochs=200)


def test_divergence_in_the_last_step_is_reported():
    # C = (W x)²/2 with x = 1e100: one step with η = 1 sends W to about −1e200,
    # and C after it, about 1e600, overflows.
    model = ArrayModel([1, 1], activation="identity")
    start = {"W2": np.ones((1, 1)), "b2": np.zeros(1)}
    with pytest.raises(DataError, match="C_T is inf after epoch 1, so gradient descent diverged"):
        train(model, [[1e100]], [[0.0]], start, eta=1.0, epochs=1)
    with pytest.raises(DataError, match="after epoch 1,"):
        train(model, [[1e100]], [[0.0]], start, eta=1.0, epochs=1, batch_size=1)
    # C at the start already overflows: no step is to blame
    with pytest.raises(DataError, match="at the initial parameters"):
        train(model, [[1e200]], [[0.0]], start, eta=1.0, epochs=1)


def test_digits8x8_reaches_97_percent_held_out():
    pytest.importorskip("sklearn", reason="the 8×8 digits need scikit-learn (extra 'digits')")
    spec = DATASETS["digits8x8"]
    data = spec.load()
    assert len(data.X) + len(data.test_X) == 1797
    model = spec.make_model("array")
    result = train(model, data.X, data.T, eta=spec.eta, epochs=spec.epochs, batch_size=spec.batch_size)
    assert accuracy(model, result.params, data.test_X, data.test_labels) >= 0.97


# --- a model the trainer has never seen: the interface is all it needs -----------

class SoftmaxRegression:
    """A one-layer softmax classifier with cross-entropy, written against the interface."""

    def __init__(self, n_in: int, n_out: int) -> None:
        self.parameter_shapes = {"V": (n_out, n_in), "c": (n_out,)}
        self.input_shape = (n_in,)
        self.output_size = n_out

    def predict(self, params, X):
        z = X @ params["V"].T + params["c"]
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def cost_and_gradient(self, params, X, T):
        y = self.predict(params, X)
        return float(-np.sum(T * np.log(y))), {"V": (y - T).T @ X, "c": (y - T).sum(0)}


def test_trainer_and_commands_accept_any_trainable(tmp_path, capsys):
    model = SoftmaxRegression(12, 2)
    assert isinstance(model, Trainable)

    def load() -> Dataset:
        d = load_digits01()
        return Dataset("toy", d.X, d.T, d.labels, d.classes)

    register(DatasetSpec("toy-softmax", "test", load, lambda path: SoftmaxRegression(12, 2), eta=0.1, epochs=30))
    try:
        assert main(["train", "toy-softmax", "--save", str(tmp_path / "s.npz")]) == 0
        out = capsys.readouterr().out
        assert "100.00% (64/64)" in out
        assert main(["evaluate", "toy-softmax", "--params", str(tmp_path / "s.npz")]) == 0
    finally:
        del DATASETS["toy-softmax"]


# --- the commands ----------------------------------------------------------------

def test_train_and_evaluate_commands(tmp_path, capsys):
    saved = tmp_path / "book.json"
    assert main(["train", "digits01", "--init", "book", "--save", str(saved), "--history"]) == 0
    out = capsys.readouterr().out
    assert "64/64" in out and "right" in out
    model = ScalarModel([12, 3, 2])
    params = load_params(saved, model)
    assert main(["evaluate", "digits01", "--params", str(saved), "--path", "scalar"]) == 0
    out = capsys.readouterr().out
    printed = float(out.split("C_T = ")[1].split()[0])
    data = load_digits01()
    assert printed == pytest.approx(hand_cost_and_gradient(params, data.X, data.T)[0], rel=1e-13)
    assert printed == total_cost(model, params, data.X, data.T)


@pytest.mark.parametrize(
    "args,fragment",
    [
        (["train", "digits01", "--eta", "0"], "learning rate"),
        (["train", "digits01", "--epochs", "-1"], "epochs"),
        (["train", "digits01", "--seed", "-1"], "seed must be a whole number ≥ 0"),
        (["train", "nope"], "unknown data set"),
        (["train", "digits01", "--init", "missing.json"], "no such parameter file"),
        (["evaluate", "digits01"], "--params"),
        (["evaluate", "digits01", "--params", "missing.npz"], "no such parameter file"),
    ],
)
def test_command_errors_are_one_line(args, fragment, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert fragment in err and err.count("\n") == 1


def test_bad_input_overwrites_nothing(tmp_path, capsys):
    target = tmp_path / "keep.npz"
    model = ArrayModel([12, 3, 2])
    save_params(target, model, load_params(BOOK_INIT, model))
    before = target.read_bytes()
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    for args in (["--eta", "-1"], ["--init", str(bad)], ["--batch-size", "0"]):
        assert main(["train", "digits01", "--save", str(target), *args]) == 2
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.json", "keep.npz"]


def test_a_folder_as_save_target_fails_before_training(tmp_path, capsys):
    folder = tmp_path / "out.npz"
    folder.mkdir()
    assert main(["train", "digits01", "--save", str(folder)]) == 2
    out, err = capsys.readouterr()
    assert f"{folder}: is a folder" in err and err.count("\n") == 1
    assert "C_T" not in out  # no training ran
    model = ArrayModel([12, 3, 2])
    with pytest.raises(ParameterFileError, match="is a folder"):
        save_params(folder, model, load_params(BOOK_INIT, model))
    assert list(tmp_path.iterdir()) == [folder] and not any(folder.iterdir())


@pytest.mark.parametrize(
    "document,fragment",
    [
        ("{", "not a valid JSON file of images"),
        ({"classes": [0, 1], "shape": [1, 2], "images": [{"rows": ["01"], "label": 7}]}, "has label 7"),
        ({"classes": [0, 1], "shape": [2, 2], "images": [{"rows": ["01"], "label": 0}]}, "needs 4"),
        ({"classes": [0, 1], "shape": [1, 2], "images": [{"rows": ["0x"], "label": 0}]}, "strings of 0 and 1"),
        ({"classes": [0, 1], "images": []}, "not an image file"),
        ({"classes": [0, 1], "shape": [1, 2],
          "images": [{"rows": ["01"], "label": 0}, {"rows": ["0", "11"], "label": 1}]},
         "image 2: image rows must be equally long"),
        ({"classes": [0, 1], "shape": [1, 2],
          "images": [{"rows": ["01"], "label": 0}, {"rows": ["011"], "label": 1}]}, "image 2 has 3 pixels"),
        ({"classes": [0, 1], "shape": [1, 2], "images": [{"rows": [1, 2], "label": 0}]},
         "image 1: 'rows' must be a list of strings"),
        ({"classes": [0, 1], "shape": ["a"], "images": []}, "'shape' must be a list of positive whole numbers"),
        ({"classes": [0, 1], "shape": [1, 2], "images": [["01"]]}, "image 1 must be an object"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ],
)
def test_bad_image_files(tmp_path, document, fragment):
    from symbackprop.numeric.datasets import load_image_file

    path = tmp_path / "images.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    with pytest.raises(DataError) as error:
        load_image_file(path, "mine")
    assert fragment in str(error.value)


def test_a_run_whose_cost_rises_or_stalls_is_reported_and_not_saved(tmp_path, capsys):
    model, data = ArrayModel([12, 3, 2]), load_digits01()
    good = train(model, data.X, data.T, eta=0.2, epochs=50)
    assert good.problem is None
    # η = 1e6: one step pins the outputs at 0 or 1, where σ' ≈ 0; C_T is stuck at
    # 32, each of the 64 examples off by 1 in one output: 64 · ½ · 1² = 32
    failed = train(model, data.X, data.T, eta=1e6, epochs=50)
    assert failed.history[-1] == pytest.approx(32) and failed.history[0] < 23
    assert "rose" in failed.problem and "smaller learning rate" in failed.problem
    # outputs pinned from the start, by huge initial weights: stalled, not risen
    huge = {k: 1000 * v for k, v in initial_params(model, seed=3).items()}
    stuck = train(model, data.X, data.T, huge, eta=0.2, epochs=20)
    assert stuck.history[-1] == stuck.history[0] > 1
    assert "stalled" in stuck.problem and "initial parameters" in stuck.problem
    # pinned at the targets is learnt, not stuck: no problem
    assert train(model, data.X, data.T, good.params, eta=1e6, epochs=20).problem is None

    saved = tmp_path / "failed.npz"
    assert main(["train", "digits01", "--eta", "1e6", "--epochs", "5", "--save", str(saved)]) == 1
    out = capsys.readouterr().out
    assert "training failed" in out and "not saved" in out and not saved.exists()
    assert main(["train", "digits01", "--eta", "1e6", "--epochs", "5", "--save", str(saved), "--force"]) == 1
    assert saved.exists()


# --- parameter files are checked before they are read ------------------------------

def npz_with(tmp_path, **members: bytes):
    """A 12-3-2 .npz with VALID's arrays, and members given as raw bytes."""
    path = tmp_path / "p.npz"
    np.savez(path, **{k: np.array(v) for k, v in VALID.items() if k not in members})
    with zipfile.ZipFile(path, "a") as archive:
        for name, data in members.items():
            archive.writestr(f"{name}.npy", data)
    return path


def npy_header(shape: tuple[int, ...]) -> bytes:
    """The header of a float64 .npy array of ``shape``, without its data."""
    stream = io.BytesIO()
    np.lib.format.write_array_header_1_0(stream, {"descr": "<f8", "fortran_order": False, "shape": shape})
    return stream.getvalue()


@pytest.mark.parametrize(
    "member,fragment",
    [
        ("extra", "'extra' is not a parameter of the 12-3-2 network"),
        ("W2", "'W2' has shape (300000000,), but the 12-3-2 network needs (3, 12)"),
    ],
)
def test_an_npz_member_claiming_gigabytes_is_refused_unread(tmp_path, member, fragment):
    # 2.4 GB of float64 claimed by the header, none of it in the file
    path = npz_with(tmp_path, **{member: npy_header((300_000_000,))})
    tracemalloc.start()
    try:
        with pytest.raises(ParameterFileError) as error:
            load_params(path, ArrayModel([12, 3, 2]))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert fragment in str(error.value)
    assert peak < 10_000_000


def test_an_npz_larger_than_the_model_can_need_is_refused_up_front(tmp_path):
    path = npz_with(tmp_path, extra=npy_header((100_000,)) + bytes(800_000))
    with pytest.raises(ParameterFileError, match=r"the file has [\d,]+ bytes; the 47 parameters of the 12-3-2 "
                       r"network take at most [\d,]+ bytes as \.npz"):
        load_params(path, ArrayModel([12, 3, 2]))


def test_an_npz_with_a_member_twice_is_refused(tmp_path):
    path = npz_with(tmp_path, b3=npy_header((2,)) + bytes(16))
    with zipfile.ZipFile(path, "a") as archive, pytest.warns(UserWarning, match="Duplicate name"):
        archive.writestr("b3.npy", npy_header((2,)) + bytes(16))
    with pytest.raises(ParameterFileError, match="'b3' is in the archive twice"):
        load_params(path, ArrayModel([12, 3, 2]))


def test_a_json_file_larger_than_the_model_can_need_is_refused_up_front(tmp_path):
    path = tmp_path / "p.json"
    path.write_text(json.dumps({**VALID, "description": "x" * 1_000_000}))
    with pytest.raises(ParameterFileError, match=rf"{path}: the file has 1,000,\d+ bytes; the 47 parameters "
                       r"of the 12-3-2 network take at most [\d,]+ bytes as JSON"):
        load_params(path, ArrayModel([12, 3, 2]))
    # what save_params writes for a model of many parameters, with the longest floats, fits its limit
    model = SoftmaxRegression(1000, 10)
    params = {k: np.full(s, -1.2345678901234567e-308) for k, s in model.parameter_shapes.items()}
    for suffix in (".json", ".npz"):
        loaded = load_params(save_params(tmp_path / f"big{suffix}", model, params), model)
        assert np.array_equal(loaded["V"], params["V"])


def test_a_damaged_npz_is_closed(tmp_path):
    path = tmp_path / "p.npz"
    path.write_bytes(b"PK\x03\x04junk")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        with pytest.raises(ParameterFileError, match="not a valid .npz archive"):
            load_params(path, ArrayModel([12, 3, 2]))
        gc.collect()  # an unclosed file warns when it is collected
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []


@pytest.mark.parametrize(
    "number,fragment",
    [
        ("1e400", "the number 1e400 is beyond the range of floating-point numbers"),
        ("-" + "9" * 400, "(401 characters) is beyond the range of floating-point numbers"),
        # more digits than int() converts at all
        ("1" * 5000, "(5000 characters) is beyond the range of floating-point numbers"),
    ],
)
def test_a_number_beyond_floats_in_a_parameter_file_is_one_line(tmp_path, capsys, number, fragment):
    path = tmp_path / "p.json"
    path.write_text(json.dumps(VALID).replace('"b3": [0.0, 0.0]', f'"b3": [{number}, 0.0]'))
    assert main(["evaluate", "digits01", "--params", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}: " in err and fragment in err and err.count("\n") == 1


def test_a_python_int_beyond_floats_is_a_parameter_file_error():
    with pytest.raises(ParameterFileError, match="'b2' holds a number beyond the range"):
        check_params(ArrayModel([1, 1]), {"W2": [[1.0]], "b2": [10**400]})


def test_a_parameter_given_twice_in_json_is_refused(tmp_path):
    path = tmp_path / "p.json"
    path.write_text(json.dumps(VALID)[:-1] + ', "b3": [5.0, 5.0]}')
    with pytest.raises(ParameterFileError, match=f"{path}: the key 'b3' is given twice"):
        load_params(path, ArrayModel([12, 3, 2]))


def test_evaluate_takes_the_books_values_by_name(capsys):
    assert main(["evaluate", "digits01", "--params", "book"]) == 0
    printed = float(capsys.readouterr().out.split("C_T = ")[1].split()[0])
    data = load_digits01()
    book = load_params(BOOK_INIT, ArrayModel([12, 3, 2]))
    assert printed == pytest.approx(hand_cost_and_gradient(book, data.X, data.T)[0], rel=1e-13)
    # refused before the data set is loaded
    assert main(["evaluate", "digits8x8", "--params", "book"]) == 2
    assert "the book has no parameter values for digits8x8; give --params a file" in capsys.readouterr().err
