"""Data sets: the book's 64 images, hand-made test images, scikit-learn's 8×8 digits.

A :class:`Dataset` holds training (and optionally held-out) examples with
one-hot targets; the book's image files are read by :func:`load_image_file`.
The data sets the command line knows, each with its model, are in
:mod:`symbackprop.numeric.catalogue`.

>>> data = load_digits01()
>>> data.X.shape, data.T.shape, data.labels[:3].tolist(), data.classes
((64, 12), (64, 2), [0, 0, 0], (0, 1))
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from ..errors import DataError, UnknownNameError
from ..files import parse_json, read_text

DATA = resources.files("symbackprop") / "data"


def data_path(name: str) -> Path:
    """The path of a data file shipped inside the package.

    >>> data_path("book_digits01_4x3.json").name
    'book_digits01_4x3.json'
    """
    path = Path(str(DATA / name))
    if not path.is_file():
        raise UnknownNameError(f"no data file {name!r} in the package")
    return path


@dataclass
class Dataset:
    """Examples ``X`` (n × input shape), one-hot targets ``T``, integer
    ``labels`` (indices into ``classes``), and an optional held-out split."""

    name: str
    X: np.ndarray
    T: np.ndarray
    labels: np.ndarray
    classes: tuple
    source: str = ""
    test_X: np.ndarray | None = None
    test_labels: np.ndarray | None = None
    test_names: tuple[str, ...] = ()
    image_shape: tuple[int, ...] | None = None


def one_hot(labels: Sequence[int], count: int) -> np.ndarray:
    """Targets with ``t_j = 1`` for the label's unit and 0 elsewhere; labels
    must be integers in ``0..count−1``.

    >>> one_hot([1, 0], 2).tolist()
    [[0.0, 1.0], [1.0, 0.0]]
    >>> one_hot([2], 2)
    Traceback (most recent call last):
    ...
    symbackprop.errors.DataError: label 2 (example 1) is out of range: labels are 0..1 for 2 classes
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or (labels.size and not np.issubdtype(labels.dtype, np.integer)):
        raise DataError(f"labels must be a list of whole numbers; got {labels.dtype} of shape {labels.shape}")
    bad = np.flatnonzero((labels < 0) | (labels >= count))
    if bad.size:
        raise DataError(
            f"label {labels[bad[0]]} (example {bad[0] + 1}) is out of range: labels are 0..{count - 1} "
            f"for {count} classes"
        )
    T = np.zeros((len(labels), count))
    T[np.arange(len(labels)), labels] = 1.0
    return T


def pixels(rows: Sequence[str]) -> np.ndarray:
    """An image typed as rows of ``0``/``1``, read row by row like the book.

    >>> pixels(["010", "010"]).tolist()
    [0.0, 1.0, 0.0, 0.0, 1.0, 0.0]
    >>> pixels(["01", "2"])
    Traceback (most recent call last):
    ...
    symbackprop.errors.DataError: image rows must be equally long strings of 0 and 1; got ['01', '2']
    """
    if not rows or len({len(r) for r in rows}) != 1 or any(set(r) - {"0", "1"} for r in rows):
        raise DataError(f"image rows must be equally long strings of 0 and 1; got {list(rows)}")
    return np.array([float(c) for r in rows for c in r])


def load_image_file(path: str | Path, name: str) -> Dataset:
    """A JSON file of images in the layout of ``book_digits01_4x3.json``;
    anything else is a :class:`DataError` that says what is wrong.

    >>> load_image_file(data_path("book_digits01_4x3.json"), "digits01").source[:20]
    "the book's companion"
    """
    layout = "an image file with 'classes', 'shape' and 'images' (rows and label each)"
    document = parse_json(read_text(path, "file of images", DataError), str(path), "file of images", DataError)
    try:
        classes, shape, images = document["classes"], document["shape"], document["images"]
    except (KeyError, TypeError) as exc:
        raise DataError(f"{path}: not {layout}: {exc}") from None
    if not isinstance(classes, list) or not isinstance(images, list):
        raise DataError(f"{path}: not {layout}: 'classes' and 'images' must be lists")
    if not (isinstance(shape, list) and shape
            and all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in shape)):
        raise DataError(f"{path}: 'shape' must be a list of positive whole numbers such as [4, 3]; got {shape!r}")
    classes, shape, size = tuple(classes), tuple(shape), math.prod(shape)
    X = np.empty((len(images), size))
    raw_labels = []
    for n, image in enumerate(images, start=1):
        if not (isinstance(image, dict) and "rows" in image and "label" in image):
            raise DataError(f"{path}: image {n} must be an object with 'rows' and 'label'")
        rows = image["rows"]
        if not (isinstance(rows, list) and all(isinstance(r, str) for r in rows)):
            raise DataError(f"{path}: image {n}: 'rows' must be a list of strings of 0 and 1; got {rows!r}")
        try:
            values = pixels(rows)
        except DataError as exc:
            raise DataError(f"{path}: image {n}: {exc}") from None
        if values.size != size:
            raise DataError(
                f"{path}: image {n} has {values.size} pixels, but the shape {list(shape)} needs {size}"
            )
        X[n - 1] = values
        raw_labels.append(image["label"])
    unknown = [(n + 1, label) for n, label in enumerate(raw_labels) if label not in classes]
    if unknown:
        raise DataError(f"{path}: image {unknown[0][0]} has label {unknown[0][1]!r}; the classes are {list(classes)}")
    labels = np.array([classes.index(label) for label in raw_labels], dtype=int)
    data = Dataset(name, X, one_hot(labels, len(classes)), labels, classes, document.get("source", ""))
    data.image_shape = shape
    return data


#: Hand-made 4×3 images outside the book's training set, with the digit
#: each is meant to show. Every "1" in the training set touches the middle
#: column, so a 1 drawn at the right edge is a fair test of how far the
#: network generalises (the book's network gets it wrong).
HANDMADE_DIGITS01: tuple[tuple[str, tuple[str, ...], int], ...] = (
    ("a round 0", ("010", "101", "101", "010"), 0),
    ("a 0 open at the top", ("101", "101", "101", "010"), 0),
    ("a 1 with a flag", ("010", "110", "010", "010"), 1),
    ("a 1 at the right edge", ("001", "001", "001", "001"), 1),
    ("a slanted 0", ("011", "101", "101", "110"), 0),
    ("a 1 with a bump", ("010", "010", "110", "010"), 1),
)


def load_digits01() -> Dataset:
    """The book's 64 training images of 0 and 1, with hand-made test images.

    >>> data = load_digits01()
    >>> data.X.shape, data.T.shape, sorted(set(data.labels.tolist()))
    ((64, 12), (64, 2), [0, 1])
    """
    data = load_image_file(data_path("book_digits01_4x3.json"), "digits01")
    data.test_X = np.array([pixels(rows) for _, rows, _ in HANDMADE_DIGITS01])
    data.test_labels = np.array([label for _, _, label in HANDMADE_DIGITS01])
    data.test_names = tuple(name for name, _, _ in HANDMADE_DIGITS01)
    return data


def load_digits8x8(test_fraction: float = 0.25, seed: int = 0) -> Dataset:
    """scikit-learn's 1,797 handwritten digits (8×8 pixels, 0..16 scaled to
    0..1), split into training and held-out examples with every digit in
    proportion. Needs the optional extra ``digits`` (scikit-learn).

    >>> data = load_digits8x8()
    >>> data.X.shape[1], len(data.X) + len(data.test_X)
    (64, 1797)
    """
    try:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
    except ImportError:
        raise DataError(
            "the 8×8 digits come with scikit-learn: pip install 'symbackprop[digits]'"
        ) from None
    digits = load_digits()
    X = digits.data / 16.0
    X_train, X_test, y_train, y_test = train_test_split(
        X, digits.target, test_size=test_fraction, random_state=seed, stratify=digits.target
    )
    classes = tuple(range(10))
    return Dataset(
        "digits8x8", X_train, one_hot(y_train, 10), y_train, classes,
        "scikit-learn load_digits (UCI optical recognition of handwritten digits)",
        X_test, y_test, tuple(f"held-out {n + 1}" for n in range(len(y_test))), (8, 8),
    )
