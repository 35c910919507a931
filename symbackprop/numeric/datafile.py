"""Your own data: a CSV or ``.npz`` file read into inputs and targets, split and standardised.

A CSV file has a header row naming its columns. ``target`` names the column
of a class label (any text; the classes are one-hot encoded in a stated
order: numerically when every label is a number, else alphabetically), or
``targets`` names numeric columns to fit (regression); the inputs are the
other columns. An ``.npz`` archive holds ``X`` (examples × inputs) and either
``T`` (numeric targets, examples × outputs) or ``labels`` (one class per
example). A file that cannot be read says where: the line and column of a
value that is no number, of a row with too few or too many values.

>>> import tempfile, os, pathlib
>>> with tempfile.TemporaryDirectory() as folder:
...     path = os.path.join(folder, "d.csv")
...     _ = pathlib.Path(path).write_text("x,y,kind\\n0,1,b\\n1,0,a\\n1,1,b\\n")
...     table = read_data_file(path, target="kind")
>>> table.X.tolist(), table.classes, table.labels.tolist(), table.T[0].tolist()
([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], ('a', 'b'), [1, 0, 1], [0.0, 1.0])
"""

from __future__ import annotations

import csv
import math
import os
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from ..errors import ArgumentError, DataError, echo
from ..files import read_text
from ..functions.parsing import MAX_DIGITS
from ..guards import MAX_DATA_FILE_BYTES, MAX_DATA_VALUES, check_path, check_seed, check_sequence
from .datasets import one_hot
from .npz import read_npz

__all__ = ["Standardizer", "Table", "read_data_file", "split"]

_NUMBER = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")


def _too_large() -> str:
    return (f"a data file has at most {MAX_DATA_FILE_BYTES:,} bytes and {MAX_DATA_VALUES:,} values, "
            "so that it fits in memory; use a sample of it")


@dataclass
class Table:
    """Examples read from a data file: inputs ``X``, targets ``T``, the names
    of the input and target columns, and for classes the ``labels``
    (indices into ``classes``, the order of the output units).

    >>> t = Table(np.array([[1.0], [2.0]]), np.array([[0.0, 1.0], [1.0, 0.0]]), ("x",), ("kind",),
    ...           np.array([1, 0]), ("a", "b"))
    >>> t.is_classification, t.rows(np.array([1])).labels.tolist()
    (True, [0])
    """

    X: np.ndarray
    T: np.ndarray
    inputs: tuple[str, ...]
    targets: tuple[str, ...]
    labels: np.ndarray | None = None
    classes: tuple[str, ...] | None = None
    source: str = ""

    @property
    def is_classification(self) -> bool:
        return self.classes is not None

    def rows(self, chosen: np.ndarray) -> Table:
        """The examples at the indices ``chosen``."""
        labels = None if self.labels is None else self.labels[chosen]
        return replace(self, X=self.X[chosen], T=self.T[chosen], labels=labels)


def read_data_file(
    path: str | os.PathLike,
    target: str | None = None,
    targets: Sequence[str] | None = None,
    classes: Sequence[str] | None = None,
) -> Table:
    """A CSV (``.csv``) or NumPy (``.npz``) data file; ``classes``, when given
    (as saved with trained parameters), fixes the order of the classes and
    every label must be one of them.

    >>> read_data_file("data.txt")
    Traceback (most recent call last):
    ...
    symbackprop.errors.DataError: data.txt: a data file is .csv (with a header row) or .npz (arrays X and T or labels)
    """
    check_path(path, "the data file")
    if target is not None and not isinstance(target, str):
        raise ArgumentError(f"target must be a column's name; got {echo(target)}")
    targets = None if targets is None else _names(targets, "targets")
    classes = None if classes is None else _names(classes, "classes")
    suffix = os.path.splitext(str(path))[1].lower()
    if suffix == ".csv":
        return _read_csv(path, target, targets, classes)
    if suffix == ".npz":
        if target is not None or targets:
            raise DataError(f"{path}: --target and --targets name CSV columns; an .npz has X and T or labels")
        return _read_npz(path, classes)
    raise DataError(f"{path}: a data file is .csv (with a header row) or .npz (arrays X and T or labels)")


def _names(value: object, what: str) -> list[str]:
    names = check_sequence(value, what)
    if not all(isinstance(name, str) for name in names):
        raise ArgumentError(f"{what} must be a list of names (text); got {echo(value)}")
    return names


# --- CSV ------------------------------------------------------------------------

def _read_csv(path, target: str | None, targets: Sequence[str] | None, classes: Sequence[str] | None) -> Table:
    text = read_text(path, "data file", DataError, MAX_DATA_FILE_BYTES, _too_large())
    reader = csv.reader(_lines(text), strict=True)
    try:
        header = next(reader, None)
        while header is not None and not any(cell.strip() for cell in header):
            header = next(reader, None)
        if header is None:
            raise DataError(f"{path}: the file is empty; a CSV data file starts with a header row naming its columns")
        header = [name.strip() for name in header]
        header_line = reader.line_num
        _check_header(path, header, header_line)
        target_columns = _target_columns(path, header, target, targets)
        input_columns = [c for c in range(len(header)) if c not in target_columns]
        if not input_columns:
            raise DataError(f"{path}: every column is a target; the inputs are the columns that are not")
        values: list[list[float]] = []
        raw_labels: list[str] = []
        lines: list[int] = []
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue  # blank lines, as a spreadsheet may leave at the end
            line = reader.line_num
            if len(row) != len(header):
                raise DataError(
                    f"{path}, line {line}: the row has {len(row)} values, but the header (line {header_line}) "
                    f"names {len(header)} columns; give every row one value per column"
                )
            if (len(values) + 1) * len(header) > MAX_DATA_VALUES:
                raise DataError(f"{path}, line {line}: more than {MAX_DATA_VALUES:,} values; {_too_large()}")
            numeric = input_columns if target is not None else range(len(header))
            values.append([_number(path, line, c, header[c], row[c]) for c in numeric])
            if target is not None:
                raw_labels.append(row[target_columns[0]].strip())
            lines.append(line)
    except csv.Error as exc:
        raise DataError(f"{path}, line {reader.line_num}: not valid CSV ({exc})") from None
    if not values:
        raise DataError(f"{path}: the file has a header row but no examples; add one row per example")
    array = np.array(values, dtype=float)
    names = tuple(header[c] for c in input_columns)
    if target is not None:
        labels, order = _encode(path, raw_labels, lines, classes, target)
        return Table(array, one_hot(labels, len(order)), names, (target,), labels, order, str(path))
    return Table(array[:, input_columns], array[:, target_columns], names,
                 tuple(header[c] for c in target_columns), source=str(path))


def _lines(text: str):
    """The lines of ``text`` with their endings, one at a time: a StringIO
    would hold a second copy of a file of up to a quarter gigabyte, four
    bytes a character."""
    start = 0
    while start < len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end + 1
        yield text[start:end]
        start = end


def _check_header(path, header: list[str], line: int) -> None:
    for column, name in enumerate(header, start=1):
        if not name:
            raise DataError(f"{path}, line {line}, column {column}: the header names no column here; name every column")
        if _NUMBER.fullmatch(name) and len(header) > 1:
            raise DataError(
                f"{path}, line {line}, column {column}: the first row holds the number {echo(name)}; "
                "a CSV data file starts with a header row naming its columns"
            )
    seen: dict[str, int] = {}
    for column, name in enumerate(header, start=1):
        if name in seen:
            raise DataError(f"{path}, line {line}: columns {seen[name]} and {column} are both named {echo(name)}")
        seen[name] = column


def _target_columns(path, header: list[str], target: str | None, targets: Sequence[str] | None) -> list[int]:
    if (target is None) == (not targets):
        raise DataError(
            f"{path}: say which column{'s are' if targets else ' is'} the target: --target NAME for a class "
            f"label, or --targets NAME,NAME for numbers to fit (not both); the columns are {_columns(header)}"
        )
    wanted = [target] if target is not None else list(targets)
    missing = [name for name in wanted if name not in header]
    if missing:
        raise DataError(
            f"{path}: no column named {echo(missing[0])} in the header; the columns are {_columns(header)}"
        )
    if len(set(wanted)) != len(wanted):
        raise DataError(f"{path}: --targets names a column twice ({', '.join(map(echo, wanted))})")
    return [header.index(name) for name in wanted]


def _columns(header: list[str]) -> str:
    shown = ", ".join(map(echo, header[:20]))
    return shown + (f", … ({len(header)} in all)" if len(header) > 20 else "")


def _number(path, line: int, column: int, name: str, cell: str) -> float:
    text = cell.strip()
    where = f"{path}, line {line}, column {column + 1} ({echo(name)})"
    if not _NUMBER.fullmatch(text):
        what = "empty" if not text else f"{echo(cell)}, not a number"
        raise DataError(f"{where}: the value is {what}; every input (and --targets) value must be a decimal number")
    if len(text) > MAX_DIGITS:
        raise DataError(f"{where}: the number has {len(text):,} characters; a number may have at most {MAX_DIGITS}")
    value = float(text)
    if not math.isfinite(value):
        raise DataError(f"{where}: {echo(text)} is beyond the range of floating-point numbers (about ±1.8e308)")
    return value


def _encode(
    path, raw: list[str], lines: Sequence[int], classes: Sequence[str] | None, column: str
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Class indices of the labels, and the order of the classes."""
    if classes is not None:
        order = tuple(classes)
        index = {name: n for n, name in enumerate(order)}
        for label, line in zip(raw, lines):
            if label not in index:
                raise DataError(
                    f"{path}, line {line}: the class {echo(label)} is not one the network was trained on "
                    f"(its classes, in order: {', '.join(map(echo, order))})"
                )
        return np.array([index[label] for label in raw], dtype=int), order
    empty = next((line for label, line in zip(raw, lines) if not label), None)
    if empty is not None:
        raise DataError(f"{path}, line {empty}: the class label ({echo(column)}) is empty; give every example its class")
    order = class_order(raw)
    if len(order) < 2:
        raise DataError(
            f"{path}: every example has the class {echo(order[0])} in {echo(column)}; "
            "a classifier needs examples of at least two classes"
        )
    index = {name: n for n, name in enumerate(order)}
    return np.array([index[label] for label in raw], dtype=int), order


def class_order(labels: Sequence[str]) -> tuple[str, ...]:
    """The classes of ``labels`` in their stated order: by value when every
    label is a number, else alphabetically.

    >>> class_order(["10", "9", "9.5"]), class_order(["b", "a", "b"])
    (('9', '9.5', '10'), ('a', 'b'))
    """
    distinct = set(labels)
    if all(_NUMBER.fullmatch(label) for label in distinct):
        return tuple(sorted(distinct, key=lambda label: (float(label), label)))
    return tuple(sorted(distinct))


# --- .npz -----------------------------------------------------------------------

def _read_npz(path, classes: Sequence[str] | None) -> Table:
    why = _too_large()

    def members(archive: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
        found = {info.filename.removesuffix(".npy"): info for info in archive.infolist()}
        unknown = sorted(set(found) - {"X", "T", "labels"})
        if unknown:
            raise DataError(f"{path}: the archive holds {echo(unknown[0])}; a data file holds X and T or labels")
        if "X" not in found or ("T" in found) == ("labels" in found):
            raise DataError(
                f"{path}: a data file holds X (examples × inputs) and either T (numeric targets) or "
                f"labels (one class per example); it holds {', '.join(sorted(found)) or 'nothing'}"
            )
        if sum(info.file_size for info in found.values()) > 16 * MAX_DATA_VALUES:
            raise DataError(f"{path}: the arrays take more than {16 * MAX_DATA_VALUES:,} bytes unpacked; {why}")
        return found

    arrays = read_npz(
        path, "data file", DataError, members, limit=MAX_DATA_FILE_BYTES, why=why,
        not_npz="(a zip of .npy arrays, as numpy.savez writes)",
        damaged="save it with numpy.savez from arrays of numbers (and of text or whole numbers for labels)",
    )
    X = _npz_numbers(path, arrays["X"], "X", 2)
    inputs = tuple(f"x{i + 1}" for i in range(X.shape[1]))
    if "T" in arrays:
        T = _npz_numbers(path, arrays["T"], "T", 2, len(X))
        return Table(X, T, inputs, tuple(f"t{j + 1}" for j in range(T.shape[1])), source=str(path))
    raw = arrays["labels"]
    if raw.ndim != 1 or len(raw) != len(X) or raw.dtype.kind not in "iuUSb":
        raise DataError(
            f"{path}: labels must be one whole number or text per example ({len(X)} of them); "
            f"got {raw.dtype} values of shape {raw.shape}"
        )
    texts = [str(v) if raw.dtype.kind != "S" else v.decode("utf-8", "replace") for v in raw.tolist()]
    labels, order = _encode(path, texts, range(1, len(texts) + 1), classes, "labels")
    return Table(X, one_hot(labels, len(order)), inputs, ("labels",), labels, order, str(path))


def _npz_numbers(path, array: np.ndarray, name: str, ndim: int, rows: int | None = None) -> np.ndarray:
    if array.dtype.kind not in "iuf" or array.ndim != ndim or array.size == 0:
        raise DataError(f"{path}: {name} must be a non-empty table of numbers (examples × columns); "
                        f"got {array.dtype} values of shape {array.shape}")
    if array.size > MAX_DATA_VALUES:
        raise DataError(f"{path}: {name} holds {array.size:,} values; {_too_large()}")
    if rows is not None and len(array) != rows:
        raise DataError(f"{path}: {name} has {len(array)} rows for {rows} examples in X; give one row per example")
    array = np.asarray(array, dtype=float)
    bad = np.argwhere(~np.isfinite(array))
    if bad.size:
        row, column = bad[0]
        raise DataError(f"{path}: {name} row {row + 1}, column {column + 1} is {array[row, column]}; "
                        "every value must be a finite number")
    return array


# --- held-out split and standardisation -------------------------------------------

def split(table: Table, fraction: float, seed: int | None = 0) -> tuple[Table, Table]:
    """Training and held-out examples: a share ``fraction`` of the examples,
    drawn at random with ``seed``, is held out.

    >>> t = Table(np.arange(10.0)[:, None], np.zeros((10, 1)), ("x",), ("t",))
    >>> train, test = split(t, 0.3, seed=0)
    >>> len(train.X), len(test.X), sorted(np.r_[train.X[:, 0], test.X[:, 0]].tolist()) == list(range(10))
    (7, 3, True)
    """
    check_seed(seed)
    n = len(table.X)
    if not (isinstance(fraction, float | int) and not isinstance(fraction, bool) and 0 < fraction < 1):
        raise DataError(f"the held-out fraction must be a number between 0 and 1, such as 0.2; got {echo(fraction)}")
    held = round(fraction * n)
    if held < 1:
        raise DataError(f"holding out {fraction:g} of {n} examples holds out none; use a larger fraction")
    if held > n - 1:
        raise DataError(f"holding out {fraction:g} of {n} examples leaves none to train on; use a smaller fraction")
    order = np.random.default_rng(seed).permutation(n)
    return table.rows(np.sort(order[held:])), table.rows(np.sort(order[:held]))


@dataclass
class Standardizer:
    """Inputs standardised column by column, ``x' = (x − μ) / σ``, with the
    mean ``μ`` and standard deviation ``σ`` of the training inputs (σ = 1
    for a constant column, which then only loses its mean).

    >>> s = Standardizer.fit(np.array([[1.0, 5.0], [3.0, 5.0]]))
    >>> s.mean.tolist(), s.scale.tolist(), s.apply(np.array([[3.0, 6.0]])).tolist()
    ([2.0, 5.0], [1.0, 1.0], [[1.0, 1.0]])
    """

    mean: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, X: np.ndarray) -> Standardizer:
        """The statistics of the training inputs ``X``."""
        scale = X.std(axis=0)
        return cls(X.mean(axis=0), np.where(scale > 0, scale, 1.0))

    def apply(self, X: np.ndarray) -> np.ndarray:
        """``(X − μ) / σ``, column by column."""
        return (X - self.mean) / self.scale
