"""Gradient descent as in chapter 4: ``Δw = −η ∂C_T/∂w``, for any trainable model.

The trainer knows nothing about layers. It talks to a model through the
small interface :class:`Trainable`, so the fully connected network
(:class:`~symbackprop.numeric.arrays.ArrayModel`,
:class:`~symbackprop.numeric.scalar.ScalarModel`) and the chapter-5 CNN plug into
the same loop, the same parameter files and the same ``train`` /
``evaluate`` commands (a data set and its model are registered in
:mod:`symbackprop.numeric.datasets`).

The interface (duck-typed; nothing to inherit)
-------------------------------------------------

``parameter_shapes: Mapping[str, tuple[int, ...]]``
    The parameters by name, in a fixed order, with the shape of each NumPy
    array. Names are what parameter files store (``.npz`` keys, JSON keys);
    a name that matches the book's spreadsheet file lets that file load
    directly (the CNN can call its parameters ``filters``, ``filter_bias``,
    ``out_W``, ``out_b`` like ``book_cnn_init.json``).
``input_shape: tuple[int, ...]``
    The shape of one example's input; a batch ``X`` has shape
    ``(n, *input_shape)``.
``output_size: int``
    The number of output units; targets ``T`` have shape ``(n, output_size)``
    (one-hot for classification).
``cost_and_gradient(params, X, T) -> (float, dict[str, ndarray])``
    ``C_T = Σ_k C_k`` over the examples of the batch (a *sum*, as in the
    book, not a mean) and ``∂C_T/∂p`` for every parameter name, each with
    the parameter's shape.
``predict(params, X) -> ndarray``
    The output layer ``a^L`` for every example, shape ``(n, output_size)``;
    the predicted class is the unit with the largest output.

Optional:

``file_aliases: Mapping[str, str]``
    Other names a parameter file may use for a parameter (file key →
    parameter name), e.g. ``{"hidden_W": "W2"}`` for the book's JSON layout.
    Any other array in a file is an error, so a file meant for another
    network never loads half-way.
``initial_params(rng) -> dict[str, ndarray]``
    Initial values; without it every parameter is drawn from the standard
    normal distribution, as the book draws its initial weights.
``describe() -> str``
    A short name for messages (``12-3-2``).

Training then is

>>> import numpy as np
>>> from symbackprop.numeric.arrays import ArrayModel
>>> from symbackprop.numeric.catalogue import load_dataset
>>> data = load_dataset("digits01")
>>> model = ArrayModel([12, 3, 2])
>>> result = train(model, data.X, data.T, eta=0.2, epochs=50, seed=1)
>>> result.history[-1] < result.history[0], accuracy(model, result.params, data.X, data.labels)
(True, 1.0)
"""

from __future__ import annotations

import json
import math
import numbers
import os
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from ..errors import DataError, ParameterFileError
from ..files import check_output_path, open_for_reading, parse_json, read_text, write_atomically
from ..guards import MAX_STEPS, check_mapping, check_path, check_trainable

Params = dict[str, np.ndarray]


@runtime_checkable
class Trainable(Protocol):
    """What the trainer needs from a model; see the module docstring.

    Any object with these attributes and methods is one, without inheriting;
    a model of ``y = w x`` (no bias) with the squared cost:

    >>> class Line:
    ...     parameter_shapes = {"w": (1, 1)}
    ...     input_shape, output_size = (1,), 1
    ...     def predict(self, params, X):
    ...         return X @ params["w"].T
    ...     def cost_and_gradient(self, params, X, T):
    ...         error = self.predict(params, X) - T
    ...         return 0.5 * float((error ** 2).sum()), {"w": error.T @ X}
    >>> isinstance(Line(), Trainable)
    True
    >>> result = train(Line(), [[1.0], [2.0]], [[3.0], [6.0]], eta=0.1, epochs=100)
    >>> round(float(result.params["w"][0, 0]), 6)
    3.0
    """

    parameter_shapes: Mapping[str, tuple[int, ...]]
    input_shape: tuple[int, ...]
    output_size: int

    def cost_and_gradient(self, params: Params, X: np.ndarray, T: np.ndarray) -> tuple[float, Params]:
        ...

    def predict(self, params: Params, X: np.ndarray) -> np.ndarray:
        ...


def describe(model: Trainable) -> str:
    """The model's short name, or its class name.

    >>> from symbackprop.numeric.arrays import ArrayModel
    >>> describe(ArrayModel([12, 3, 2]))
    '12-3-2'
    """
    return model.describe() if hasattr(model, "describe") else type(model).__name__


# --- parameters ------------------------------------------------------------------

def initial_params(model: Trainable, seed: int | None = 0) -> Params:
    """Initial parameters: the model's own choice, or standard normal values
    like the book's.

    >>> from symbackprop.numeric.arrays import ArrayModel
    >>> p = initial_params(ArrayModel([12, 3, 2]), seed=0)
    >>> {k: v.shape for k, v in p.items()}
    {'W2': (3, 12), 'b2': (3,), 'W3': (2, 3), 'b3': (2,)}
    """
    check_seed(seed)
    rng = np.random.default_rng(seed)
    if hasattr(model, "initial_params"):
        return check_params(model, model.initial_params(rng))
    return {name: rng.standard_normal(shape) for name, shape in model.parameter_shapes.items()}


def check_params(model: Trainable, params: Mapping[str, object], where: str = "parameters") -> Params:
    """``params`` as float arrays after checking names, shapes and finiteness.

    >>> from symbackprop.numeric.arrays import ArrayModel
    >>> check_params(ArrayModel([2, 1]), {"W2": [[1.0, 2.0]], "b2": [0.0, 1.0]})
    Traceback (most recent call last):
    ...
    symbackprop.errors.ParameterFileError: parameters: 'b2' has shape (2,), but the 2-1 network needs (1,)
    """
    check_trainable(model)
    check_mapping(params, where)
    shapes = model.parameter_shapes
    found: Params = {}
    for key, value in params.items():
        name = _parameter_name(model, key, where)
        if name in found:
            raise ParameterFileError(f"{where}: {name!r} is given twice (as {key!r} too)")
        try:
            array = _real_array(value)
        except OverflowError:  # a Python int such as 10**400
            raise ParameterFileError(
                f"{where}: {key!r} holds a number beyond the range of floating-point numbers (about ±1.8e308)"
            ) from None
        if array is None:
            raise _not_real(key, where)
        if array.shape != tuple(shapes[name]):
            raise _wrong_shape(model, key, array.shape, where)
        if not np.all(np.isfinite(array)):
            raise ParameterFileError(f"{where}: {key!r} contains NaN or infinity")
        found[name] = array
    missing = [n for n in shapes if n not in found]
    if missing:
        raise ParameterFileError(
            f"{where}: missing {', '.join(missing)} for the {describe(model)} network "
            f"(parameter names: {_known_names(model)})"
        )
    return {name: found[name] for name in shapes}


def _parameter_name(model: Trainable, key: str, where: str) -> str:
    """The parameter a file's ``key`` stands for, or the error that it is none."""
    name = (getattr(model, "file_aliases", {}) or {}).get(key, key)
    if name not in model.parameter_shapes:
        raise ParameterFileError(
            f"{where}: {key!r} is not a parameter of the {describe(model)} network "
            f"(parameter names: {_known_names(model)})"
        )
    return name


def _known_names(model: Trainable) -> str:
    return ", ".join(sorted(set(model.parameter_shapes) | set(getattr(model, "file_aliases", {}) or {})))


def _not_real(key: str, where: str) -> ParameterFileError:
    return ParameterFileError(
        f"{where}: {key!r} is not an array of real numbers (a list of numbers, or a list of "
        "such lists, without strings, true/false or complex values)"
    )


def _wrong_shape(model: Trainable, key: str, shape: tuple[int, ...], where: str) -> ParameterFileError:
    needed = tuple(model.parameter_shapes[_parameter_name(model, key, where)])
    return ParameterFileError(
        f"{where}: {key!r} has shape {shape}, but the {describe(model)} network needs {needed}"
    )


def _real_array(value: object) -> np.ndarray | None:
    """``value`` as a float array if it holds real numbers only, else None.

    ``np.array(..., dtype=float)`` alone would turn ``"1.5"`` and ``True``
    into numbers and drop imaginary parts."""
    pending = [value]
    while pending:  # a loop, not recursion: JSON can nest deeper than the stack
        item = pending.pop()
        if isinstance(item, np.ndarray):
            if item.dtype.kind not in "iuf":
                return None
        elif isinstance(item, (list, tuple)):
            pending.extend(item)
        elif isinstance(item, bool) or not isinstance(item, numbers.Real):
            return None
    try:
        return np.array(value, dtype=float)
    except ValueError:  # ragged: rows of different lengths
        return None


def save_params(path: str | os.PathLike, model: Trainable, params: Mapping[str, np.ndarray]) -> Path:
    """Write parameters to ``.npz`` (NumPy, no pickle) or ``.json``, atomically:
    a failure leaves any existing file untouched.

    >>> import tempfile, os
    >>> from symbackprop.numeric.arrays import ArrayModel
    >>> model = ArrayModel([2, 1])
    >>> p = initial_params(model)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     q = load_params(save_params(os.path.join(d, "p.json"), model, p), model)
    >>> all((p[k] == q[k]).all() for k in p)
    True
    """
    path = check_save_path(path)
    params = check_params(model, params)

    def write(stream) -> None:
        if path.suffix.lower() == ".npz":
            np.savez(stream, **params)
        else:
            # repr-exact floats: json writes the shortest round-tripping form.
            document = {"network": describe(model), **{k: v.tolist() for k, v in params.items()}}
            stream.write(json.dumps(document, indent=1).encode())

    write_atomically(path, write)
    return path


def check_save_path(path: str | os.PathLike) -> Path:
    """``path`` if parameters can be saved there: a ``.npz`` or ``.json`` name
    in an existing folder that can be written, not a folder or a symbolic
    link (see :mod:`symbackprop.files`). Checked
    before training too, so a long run is not lost to a typo.

    >>> check_save_path("trained.txt")
    Traceback (most recent call last):
    ...
    symbackprop.errors.ParameterFileError: trained.txt: parameter files end in .npz or .json
    """
    check_path(path, "the parameter file")
    return check_output_path(
        path, (".npz", ".json"), "parameter files end in .npz or .json", "params.npz", ParameterFileError
    )


def read_param_file(
    path: str | os.PathLike, model: Trainable | None = None
) -> tuple[dict[str, object], dict[str, object]]:
    """The arrays and the other entries (``eta``, ``description``, …) of a
    parameter file.

    With a ``model``, a file larger than its parameters can need is refused
    before it is read, and so is an ``.npz`` member that is not one of them
    or has the wrong shape, before its data are read.

    >>> from symbackprop.numeric.datasets import data_path
    >>> arrays, meta = read_param_file(data_path("book_nn_4_4_init.json"))
    >>> sorted(arrays), meta["eta"]
    (['hidden_W', 'hidden_b', 'output_W', 'output_b'], 0.2)
    """
    path = Path(check_path(path, "the parameter file"))
    values, needs = _size_of(model)
    if path.suffix.lower() == ".npz":
        limit = _NPZ_BYTES + _NPZ_BYTES_PER_VALUE * values
        return _read_npz(path, model, values, limit, f"{needs} at most {limit:,} bytes as .npz"), {}
    limit = _JSON_BYTES + _JSON_BYTES_PER_VALUE * values
    text = read_text(path, "parameter file", ParameterFileError, limit, f"{needs} at most {limit:,} bytes as JSON")
    document = parse_json(text, str(path), "parameter file", ParameterFileError)
    if not isinstance(document, dict):
        raise ParameterFileError(f"{path}: a JSON parameter file holds an object of named arrays")
    arrays = {k: v for k, v in document.items() if isinstance(v, list)}
    meta = {k: v for k, v in document.items() if not isinstance(v, list)}
    return arrays, meta


# How large a parameter file may be: room for notes (the network, η, a
# description), then per value the longest float JSON writes
# ("-1.2345678901234567e-308", 24 characters) with indentation and a comma,
# or 16 bytes in an .npz (no real dtype is wider). A file for a model of a
# few thousand parameters can then not take a gigabyte to read.
_JSON_BYTES, _JSON_BYTES_PER_VALUE = 64 * 1024, 64
_NPZ_BYTES, _NPZ_BYTES_PER_VALUE = 64 * 1024, 16
#: Without a model to say how many values a file may hold.
_VALUES_WITHOUT_A_MODEL = 1_000_000


def _size_of(model: Trainable | None) -> tuple[int, str]:
    """How many values a parameter file for ``model`` holds, and a message's
    start saying so."""
    if model is None:
        return _VALUES_WITHOUT_A_MODEL, f"a parameter file holds up to {_VALUES_WITHOUT_A_MODEL:,} values, so"
    values = sum(math.prod(shape) for shape in model.parameter_shapes.values())
    return values, f"the {values:,} parameters of the {describe(model)} network take"


def _read_npz(path: Path, model: Trainable | None, values: int, limit: int, why: str) -> dict[str, np.ndarray]:
    """The arrays of an .npz archive; names, sizes and each array's header
    are checked from the archive's directory before any data are read."""
    with open_for_reading(path, "parameter file", ParameterFileError, limit, why) as stream:
        try:
            start = stream.read(4)
            # np.load would read anything else as a pickle or a bare .npy and its
            # message would suggest allow_pickle=True, which is never safe here.
            if start not in _ZIP_STARTS:
                raise ParameterFileError(
                    f"{path}: not an .npz archive (a zip of .npy arrays, as 'train --save' writes); "
                    "give a .npz saved by symbackprop or NumPy, or a .json file"
                )
            stream.seek(0)
            with zipfile.ZipFile(stream) as archive:
                arrays = {}
                for key, info in _npz_members(path, archive, model, values, limit, why).items():
                    with archive.open(info) as member:
                        arrays[key] = np.lib.format.read_array(member, allow_pickle=False)
                return arrays
        except ParameterFileError:
            raise
        except OSError as exc:
            raise ParameterFileError(f"{path}: cannot read the parameter file ({exc.strerror or exc})") from None
        # Where a damaged archive fails decides what it raises: zipfile, zlib,
        # EOFError, the .npy header parser (tokenize, ast), numpy's ValueError.
        # Each means the same thing to the user.
        except Exception as exc:
            raise ParameterFileError(
                f"{path}: not a valid .npz archive ({type(exc).__name__}: {exc}); the file is damaged "
                "or truncated, or holds arrays of Python objects: save it again with 'train --save'"
            ) from None


def _npz_members(
    path: Path, archive: zipfile.ZipFile, model: Trainable | None, values: int, limit: int, why: str
) -> dict[str, zipfile.ZipInfo]:
    """The archive's members by array name, after checking what the
    directory and the .npy headers claim: names of the model's parameters,
    each once, real numbers of the parameter's shape, within ``limit``."""
    where = str(path)
    members: dict[str, zipfile.ZipInfo] = {}
    for info in archive.infolist():
        key = info.filename.removesuffix(".npy")
        if model is not None:
            _parameter_name(model, key, where)
        if key in members:
            raise ParameterFileError(f"{where}: {key!r} is in the archive twice")
        members[key] = info
    unpacked = sum(info.file_size for info in members.values())
    if unpacked > limit:
        raise ParameterFileError(f"{where}: the arrays take {unpacked:,} bytes unpacked; {why}")
    count = 0
    for key, info in members.items():
        with archive.open(info) as member:
            version = np.lib.format.read_magic(member)
            read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                           (2, 0): np.lib.format.read_array_header_2_0}.get(version)
            if read_header is None:
                raise ParameterFileError(f"{where}: {key!r} is in .npy format {version}; save it again with NumPy")
            shape, _, dtype = read_header(member)
        if dtype.kind not in "iuf":
            raise _not_real(key, where)
        if model is not None and shape != tuple(model.parameter_shapes[_parameter_name(model, key, where)]):
            raise _wrong_shape(model, key, shape, where)
        count += math.prod(shape)
        if count > values:
            raise ParameterFileError(f"{where}: the arrays hold more than {values:,} values; {why}")
    return members


#: A zip file starts with a local file header, or, when empty, its end record.
_ZIP_STARTS = (b"PK\x03\x04", b"PK\x05\x06")


def load_params(path: str | os.PathLike, model: Trainable) -> Params:
    """Parameters from a file written by :func:`save_params`, or a JSON file in
    the book's layout, checked against the model's shapes.

    >>> from symbackprop.numeric.arrays import ArrayModel
    >>> from symbackprop.numeric.datasets import data_path
    >>> p = load_params(data_path("book_nn_4_4_init.json"), ArrayModel([12, 3, 2]))
    >>> p["W2"].shape, float(p["b3"][0])
    ((3, 12), -1.43803971240614)
    >>> load_params(data_path("book_nn_4_4_init.json"), ArrayModel([12, 4, 2]))
    Traceback (most recent call last):
    ...
    symbackprop.errors.ParameterFileError: ...book_nn_4_4_init.json: 'hidden_W' has shape (3, 12), but the 12-4-2 network needs (4, 12)
    """
    check_trainable(model)
    arrays, other = read_param_file(path, model)
    # A parameter's name with a value that is no list (a number, a string) is
    # a broken parameter, not a note like "eta".
    names = set(model.parameter_shapes) | set(getattr(model, "file_aliases", {}) or {})
    arrays.update({key: value for key, value in other.items() if key in names})
    return check_params(model, arrays, where=str(path))


# --- data --------------------------------------------------------------------------

def check_data(model: Trainable, X, T=None) -> tuple[np.ndarray, np.ndarray | None]:
    """Inputs (and targets) as float arrays that fit the model, or a :class:`DataError`.

    >>> from symbackprop.numeric.arrays import ArrayModel
    >>> check_data(ArrayModel([12, 3, 2]), np.zeros((4, 11)))
    Traceback (most recent call last):
    ...
    symbackprop.errors.DataError: inputs have shape (4, 11); the 12-3-2 network reads (n, 12): n examples of 12 values
    """
    check_trainable(model)
    try:
        X = np.asarray(X, dtype=float)
    except (TypeError, ValueError):
        raise DataError("inputs must be numbers") from None
    shape = tuple(model.input_shape)
    if X.ndim != 1 + len(shape) or X.shape[1:] != shape or X.shape[0] == 0:
        raise DataError(
            f"inputs have shape {X.shape}; the {describe(model)} network reads (n, "
            f"{', '.join(map(str, shape))}): n examples of {' x '.join(map(str, shape))} values"
        )
    if not np.all(np.isfinite(X)):
        raise DataError(f"inputs contain NaN or infinity (examples {_bad_rows(X)})")
    if T is None:
        return X, None
    try:
        T = np.asarray(T, dtype=float)
    except (TypeError, ValueError):
        raise DataError("targets must be numbers") from None
    if T.shape != (X.shape[0], model.output_size):
        raise DataError(
            f"targets have shape {T.shape}; {X.shape[0]} examples for {model.output_size} output "
            f"units need ({X.shape[0]}, {model.output_size})"
        )
    if not np.all(np.isfinite(T)):
        raise DataError(f"targets contain NaN or infinity (examples {_bad_rows(T)})")
    return X, T


def _bad_rows(array: np.ndarray) -> str:
    rows = np.flatnonzero(~np.isfinite(array.reshape(len(array), -1)).all(axis=1)) + 1
    return ", ".join(map(str, rows[:5])) + (", …" if len(rows) > 5 else "")


def predicted_classes(model: Trainable, params: Params, X) -> np.ndarray:
    """The class of each example: the output unit with the largest ``a^L_j``.

    >>> from symbackprop.numeric.arrays import ArrayModel
    >>> model = ArrayModel([1, 2], activation="identity")
    >>> predicted_classes(model, {"W2": np.array([[1.0], [-1.0]]), "b2": np.zeros(2)}, [[2.0], [-3.0]])
    array([0, 1])
    """
    X, _ = check_data(model, X)
    return np.argmax(model.predict(check_params(model, params), X), axis=1)


def accuracy(model: Trainable, params: Params, X, labels) -> float:
    """The fraction of examples whose predicted class is their label.

    >>> from symbackprop.numeric.arrays import ArrayModel
    >>> model = ArrayModel([1, 2], activation="identity")
    >>> accuracy(model, {"W2": np.array([[1.0], [-1.0]]), "b2": np.zeros(2)}, [[2.0], [-3.0]], [0, 0])
    0.5
    """
    X, _ = check_data(model, X)
    labels = _check_labels(model, labels, len(X))
    return float(np.mean(predicted_classes(model, params, X) == labels))


def _check_labels(model: Trainable, labels, count: int) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise DataError(
            f"labels must be a list of whole numbers, one class index per example; got {labels.dtype} "
            f"values of shape {labels.shape}"
        )
    if len(labels) != count:
        raise DataError(f"there are {len(labels)} labels for {count} examples; give one label per example")
    bad = np.flatnonzero((labels < 0) | (labels >= model.output_size))
    if bad.size:
        raise DataError(
            f"label {labels[bad[0]]} (example {bad[0] + 1}) is out of range: the {describe(model)} network "
            f"has {model.output_size} output units, so labels are 0..{model.output_size - 1}"
        )
    return labels


def total_cost(model: Trainable, params: Params, X, T) -> float:
    """``C_T`` of the parameters on a data set.

    >>> from symbackprop.numeric.arrays import ArrayModel
    >>> model = ArrayModel([1, 1], activation="identity")
    >>> total_cost(model, {"W2": np.array([[2.0]]), "b2": np.zeros(1)}, [[1.0], [2.0]], [[0.0], [0.0]])
    10.0
    """
    X, T = check_data(model, X, T)
    return float(model.cost_and_gradient(check_params(model, params), X, T)[0])


# --- gradient descent ------------------------------------------------------------

@dataclass
class TrainingResult:
    """Trained parameters and the cost history: ``history[0]`` is ``C_T`` at the
    initial parameters, ``history[e]`` after epoch ``e`` (with full batches an
    epoch is one iteration of the book's spreadsheet); ``seconds`` is the
    time the training took.

    >>> from symbackprop.numeric.arrays import ArrayModel
    >>> model = ArrayModel([1, 1], activation="identity")
    >>> result = train(model, [[1.0]], [[2.0]], {"W2": np.zeros((1, 1)), "b2": np.zeros(1)}, eta=0.25, epochs=2)
    >>> len(result.history), result.final_cost == result.history[2], sorted(result.params)
    (3, True, ['W2', 'b2'])
    """

    params: Params
    history: list[float] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def final_cost(self) -> float:
        return self.history[-1]


def check_settings(eta: float, epochs: int, batch_size: int | None, seed: int | None = 0) -> None:
    """Reject a learning rate, epoch count, batch size or seed that cannot train.

    >>> check_settings(0.0, 10, None)
    Traceback (most recent call last):
    ...
    symbackprop.errors.DataError: the learning rate η must be a positive number (got 0.0); the book uses η = 0.2
    """
    if not (_is_real(eta) and math.isfinite(eta) and eta > 0):
        raise DataError(f"the learning rate η must be a positive number (got {eta}); the book uses η = 0.2")
    if not _is_whole(epochs) or not 0 <= epochs <= MAX_STEPS:
        # Each epoch keeps its cost: an endless run would also fill the memory.
        raise DataError(f"the number of epochs must be a whole number from 0 to {MAX_STEPS:,} (got {epochs})")
    if batch_size is not None and (not _is_whole(batch_size) or batch_size < 1):
        raise DataError(f"the batch size must be a whole number ≥ 1 (got {batch_size}); omit it for full batches")
    check_seed(seed)


def _is_real(value: object) -> bool:
    # NumPy scalars count (np.float32(0.2)); True and False are no numbers here.
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_whole(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_seed(seed: int | None) -> None:
    """Refuse a seed NumPy's generators cannot take (they take whole numbers ≥ 0;
    None draws fresh entropy).

    >>> check_seed(-1)
    Traceback (most recent call last):
    ...
    symbackprop.errors.DataError: the seed must be a whole number ≥ 0 (got -1); any such number gives a reproducible run
    """
    if seed is not None and (not _is_whole(seed) or seed < 0):
        raise DataError(f"the seed must be a whole number ≥ 0 (got {seed}); any such number gives a reproducible run")


def train(
    model: Trainable,
    X,
    T,
    params: Mapping[str, np.ndarray] | None = None,
    *,
    eta: float = 0.2,
    epochs: int = 50,
    batch_size: int | None = None,
    seed: int | None = 0,
    progress: bool = False,
) -> TrainingResult:
    """Gradient descent ``p ← p − η ∂C_T/∂p``.

    Full batch by default, like the book: each epoch is one step on the whole
    training set. With ``batch_size`` every epoch visits the examples in a
    fresh random order (``seed``), one step per batch, the gradient being that
    of the batch's own ``C``-sum. Without ``params`` the start is
    :func:`initial_params` with the same ``seed``. ``progress`` shows a rich
    progress bar with the current cost.

    >>> from symbackprop.numeric.arrays import ArrayModel
    >>> model = ArrayModel([1, 1], activation="identity")
    >>> r = train(model, [[1.0]], [[3.0]], {"W2": np.zeros((1, 1)), "b2": np.zeros(1)}, eta=0.25, epochs=1)
    >>> r.history, r.params["W2"].tolist(), r.params["b2"].tolist()
    ([4.5, 1.125], [[0.75]], [0.75])
    """
    import time

    check_settings(eta, epochs, batch_size, seed)
    if T is None:
        raise DataError("training needs targets T, one row per example (one-hot for classes)")
    X, T = check_data(model, X, T)
    current = check_params(model, params) if params is not None else initial_params(model, seed)
    current = {k: v.copy() for k, v in current.items()}
    rng = np.random.default_rng(seed)
    n = len(X)
    full = batch_size is None or batch_size >= n
    history: list[float] = []
    start = time.perf_counter()
    # A diverging run overflows; it is reported below as one clear error.
    with _progress(progress, epochs, describe(model)) as advance, np.errstate(over="ignore", invalid="ignore"):
        cost, gradient = model.cost_and_gradient(current, X, T)
        _record(history, cost, 0, eta)
        for epoch in range(1, epochs + 1):
            if full:
                _step(current, gradient, eta)
                # The gradient of the new parameters is the next epoch's step.
                cost, gradient = model.cost_and_gradient(current, X, T)
            else:
                order = rng.permutation(n)
                for first in range(0, n, batch_size):
                    chosen = order[first:first + batch_size]
                    _, batch_gradient = model.cost_and_gradient(current, X[chosen], T[chosen])
                    _step(current, batch_gradient, eta)
                cost = model.cost_and_gradient(current, X, T)[0]
            _record(history, cost, epoch, eta)
            advance(history[-1])
    return TrainingResult(current, history, time.perf_counter() - start)


def _record(history: list[float], cost: float, epoch: int, eta: float) -> None:
    """Append ``C_T`` after ``epoch`` epochs, refusing a cost that overflowed."""
    cost = float(cost)
    if not math.isfinite(cost):
        if epoch == 0:
            raise DataError(
                f"C_T is {cost} at the initial parameters, before any step: the inputs, targets or "
                "parameters are too large for floating point; scale the data down"
            )
        raise DataError(
            f"C_T is {cost} after epoch {epoch}, so gradient descent diverged; use a smaller learning "
            f"rate than η = {eta}"
        )
    history.append(cost)


def _step(params: Params, gradient: Mapping[str, np.ndarray], eta: float) -> None:
    for name, value in params.items():
        value -= eta * gradient[name]


class _progress:
    """A rich progress bar with the current cost, or nothing."""

    def __init__(self, show: bool, epochs: int, name: str) -> None:
        self.show, self.epochs, self.name = show, epochs, name

    def __enter__(self) -> Callable[[float], None]:
        if not self.show:
            return lambda cost: None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(
            TextColumn("training {task.fields[name]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("C_T = {task.fields[cost]}"),
            TimeElapsedColumn(),
            transient=True,
        )
        self.bar.__enter__()
        task = self.bar.add_task("train", total=self.epochs, name=self.name, cost="…")
        return lambda cost: self.bar.update(task, advance=1, cost=f"{cost:.6g}")

    def __exit__(self, *exc) -> None:
        if self.show:
            self.bar.__exit__(*exc)
