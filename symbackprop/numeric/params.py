"""Parameter files: a model's parameters checked, saved and read back safely.

Two formats: ``.npz`` (read without pickle; member names, sizes and headers
checked before any data is read) and JSON in the book's layout (the
spreadsheet's ``hidden_W``, ``out_W``, … through the model's
``file_aliases``). A file is checked against the model it is for — every
parameter present, of its shape, real and finite, nothing else in it — and
bounded in size by what that model can need, so a file meant for another
network never loads half-way and a huge one is refused before it is read.
Files are written whole or not at all (:mod:`symbackprop.files`).

A network trained on a data file keeps, beside its parameters, what it
needs to read that kind of file again (:class:`DataNotes`): the order of
its classes and the statistics that standardised its inputs, checked
against the model when they are read.
"""

from __future__ import annotations

import json
import math
import numbers
import os
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ArgumentError, ParameterFileError, echo
from ..files import check_output_path, parse_json, read_text, write_atomically
from ..functions.parsing import MAX_LENGTH
from ..guards import check_mapping, check_path
from .npz import read_npz
from .trainable import Params, Trainable, check_trainable, describe


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


def save_params(
    path: str | os.PathLike, model: Trainable, params: Mapping[str, np.ndarray], notes: DataNotes | None = None
) -> Path:
    """Write parameters to ``.npz`` (NumPy, no pickle) or ``.json``, atomically:
    a failure leaves any existing file untouched. ``notes`` (the classes and
    input statistics of a data file) are saved with them, as the entry
    ``data`` (in an ``.npz``, its JSON text as bytes).

    >>> import tempfile, os
    >>> from symbackprop.numeric.arrays import ArrayModel
    >>> from symbackprop.numeric.train import initial_params
    >>> model = ArrayModel([2, 1])
    >>> p = initial_params(model)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     q = load_params(save_params(os.path.join(d, "p.json"), model, p), model)
    >>> all((p[k] == q[k]).all() for k in p)
    True
    """
    path = check_save_path(path)
    params = check_params(model, params)
    if notes is not None and not isinstance(notes, DataNotes):
        raise ArgumentError(f"notes must be None or DataNotes (the classes and input statistics); got {echo(notes)}")
    extra = {} if notes is None else {NOTES_KEY: check_notes(notes.document(), model, "the data notes").document()}

    def write(stream) -> None:
        if path.suffix.lower() == ".npz":
            stored = {NOTES_KEY: np.frombuffer(json.dumps(extra[NOTES_KEY]).encode(), np.uint8)} if extra else {}
            np.savez(stream, **params, **stored)
        else:
            # repr-exact floats: json writes the shortest round-tripping form.
            document = {"network": describe(model), **{k: v.tolist() for k, v in params.items()}, **extra}
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
        arrays = _read_npz(path, model, values, limit, f"{needs} at most {limit:,} bytes as .npz")
        if NOTES_KEY not in arrays:
            return arrays, {}
        text = arrays.pop(NOTES_KEY).tobytes().decode("utf-8", "replace")
        return arrays, {NOTES_KEY: parse_json(text, f"{path}: {NOTES_KEY}", "parameter file", ParameterFileError)}
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
    # Room for the data notes too: a mean and a scale per input, a name per class.
    notes = 2 * math.prod(model.input_shape) + model.output_size
    return values + notes, f"the {values:,} parameters of the {describe(model)} network take"


def _read_npz(path: Path, model: Trainable | None, values: int, limit: int, why: str) -> dict[str, np.ndarray]:
    """The arrays of an .npz archive; names, sizes and each array's header
    are checked from the archive's directory before any data are read."""
    return read_npz(
        path, "parameter file", ParameterFileError,
        lambda archive: _npz_members(path, archive, model, values, limit, why), limit=limit, why=why,
        not_npz="(a zip of .npy arrays, as 'train --save' writes); give a .npz saved by symbackprop or NumPy, "
        "or a .json file",
        damaged="the file is damaged or truncated, or holds arrays of Python objects: save it again with "
        "'train --save'",
    )


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
        if model is not None and key != NOTES_KEY:
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
        if key == NOTES_KEY:
            # JSON text as bytes, bounded like a JSON file's notes.
            if dtype != np.uint8 or len(shape) != 1 or shape[0] > _JSON_BYTES_PER_VALUE * values:
                raise ParameterFileError(f"{where}: {key!r} is not the data notes that 'train --save' writes")
            continue
        if dtype.kind not in "iuf":
            raise _not_real(key, where)
        if model is not None and shape != tuple(model.parameter_shapes[_parameter_name(model, key, where)]):
            raise _wrong_shape(model, key, shape, where)
        count += math.prod(shape)
        if count > values:
            raise ParameterFileError(f"{where}: the arrays hold more than {values:,} values; {why}")
    return members


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


#: The entry of a parameter file that holds its :class:`DataNotes`.
NOTES_KEY = "data"


@dataclass
class DataNotes:
    """What a network trained on a data file needs to read such a file
    again: the names of the input and target columns, the classes in the
    order of the output units (None for numeric targets), and the mean
    ``μ`` and scale ``σ`` that standardised each input (None when the inputs
    were used as they are), and the options that built the network
    (``activation``, ``cost``, ``output``, ``weight_decay`` as typed) or the
    model file's document (``model``), so that it can be built again without
    them.

    >>> DataNotes(("x", "y"), ("kind",), ("a", "b")).document()
    {'inputs': ['x', 'y'], 'targets': ['kind'], 'classes': ['a', 'b']}
    """

    inputs: tuple[str, ...]
    targets: tuple[str, ...]
    classes: tuple[str, ...] | None = None
    mean: np.ndarray | None = None
    scale: np.ndarray | None = None
    network: dict[str, str] | None = None
    model: dict[str, object] | None = None

    def document(self) -> dict[str, object]:
        """The notes as JSON values."""
        document: dict[str, object] = {"inputs": list(self.inputs), "targets": list(self.targets)}
        if self.classes is not None:
            document["classes"] = list(self.classes)
        if self.mean is not None:
            document["mean"] = np.asarray(self.mean, dtype=float).tolist()
            document["scale"] = np.asarray(self.scale, dtype=float).tolist()
        if self.network is not None:
            document["network"] = dict(self.network)
        if self.model is not None:
            document["model"] = self.model
        return document


def check_notes(document: object, model: Trainable, where: str) -> DataNotes:
    """Data notes read from a file, checked against the model they were saved with.

    >>> from symbackprop.numeric.arrays import ArrayModel
    >>> check_notes({"inputs": ["x"], "targets": ["kind"], "classes": ["a", "b", "c"]}, ArrayModel([1, 2]), "p.json")
    Traceback (most recent call last):
    ...
    symbackprop.errors.ParameterFileError: p.json: the data notes list 3 classes, but the 1-2 network has 2 output units
    """
    size, outputs = math.prod(model.input_shape), model.output_size
    if not isinstance(document, dict) or set(document) - {"inputs", "targets", "classes", "mean", "scale", "network", "model"}:
        raise ParameterFileError(f"{where}: the data notes are not what 'train --save' writes")

    def names(key: str, count: int | None) -> tuple[str, ...]:
        value = document.get(key)
        if not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            raise ParameterFileError(f"{where}: the data notes' {key!r} must be a list of names")
        if count is not None and len(value) != count:
            what = {"inputs": "inputs", "classes": "output units"}[key]
            raise ParameterFileError(
                f"{where}: the data notes list {len(value)} {key}, but the {describe(model)} network has "
                f"{count} {what}"
            )
        return tuple(value)

    classes = names("classes", outputs) if "classes" in document else None
    notes = DataNotes(names("inputs", size), names("targets", None), classes)
    if ("mean" in document) != ("scale" in document):
        raise ParameterFileError(f"{where}: the data notes need both 'mean' and 'scale', or neither")
    if "mean" in document:
        mean, scale = _real_array(document["mean"]), _real_array(document["scale"])
        for key, array in (("mean", mean), ("scale", scale)):
            if array is None or array.shape != (size,) or not np.all(np.isfinite(array)):
                raise ParameterFileError(
                    f"{where}: the data notes' {key!r} must be {size} finite numbers, one per input"
                )
        if np.any(scale <= 0):
            raise ParameterFileError(f"{where}: the data notes' 'scale' must be positive")
        notes.mean, notes.scale = mean, scale
    if "network" in document:
        network = document["network"]
        if not (isinstance(network, dict) and set(network) <= set(NETWORK_OPTIONS)
                and all(isinstance(v, str) and len(v) <= MAX_OPTION_LENGTH for v in network.values())):
            raise ParameterFileError(
                f"{where}: the data notes' 'network' must name some of {', '.join(NETWORK_OPTIONS)} with "
                f"text of at most {MAX_OPTION_LENGTH:,} characters each"
            )
        notes.network = dict(network)
    if "model" in document:
        # Its layers are checked where the network is built from it, as a model file's are.
        if not isinstance(document["model"], dict):
            raise ParameterFileError(f"{where}: the data notes' 'model' must be a model file's table of inputs and layers")
        notes.model = document["model"]
    return notes


#: The options that build a network, as the data notes keep them.
NETWORK_OPTIONS = ("activation", "cost", "output", "weight_decay")
#: The longest text an option may have: a formula's.
MAX_OPTION_LENGTH = MAX_LENGTH


def load_notes(path: str | os.PathLike, model: Trainable) -> DataNotes | None:
    """The :class:`DataNotes` saved with a model's parameters, or None.

    >>> from symbackprop.numeric.arrays import ArrayModel
    >>> from symbackprop.numeric.datasets import data_path
    >>> load_notes(data_path("book_nn_4_4_init.json"), ArrayModel([12, 3, 2])) is None
    True
    """
    check_trainable(model)
    _, other = read_param_file(path, model)
    return None if NOTES_KEY not in other else check_notes(other[NOTES_KEY], model, str(path))
