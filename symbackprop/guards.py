"""Refusals up front: every size and count the library will not start on, and
the argument checks of its public entry points.

A refusal here costs microseconds and says what is practical, instead of a
run that takes minutes and gigabytes before it fails or is killed. The
limits were measured on a 2-core machine (Python 3.11, SymPy 1.14):

- a model costs about 50–60 µs and 0.6 kB per *term* of its local equations
  (a term of a sum, an input of a max, one activation): ``Network([256, 256, 1])``
  (66,562 terms) builds in 3.7 s, ``Network([512, 512, 1])`` (264,194) in 16 s
  and 240 MB, ``Network([1024, 1024, 1])`` in 81 s and 765 MB; a 66×66 CNN
  with 3 filters (164,106 terms) in 10 s. The δ route then takes about as
  long again (222-222-1: 3.7 s to build, 6.4 s for the δ route);
- ``verify`` spends about 50 ms per random point on the book's 12-3-2
  network (1,000 points: under a minute); ``verify_arrays`` proves 3-2-2
  with 16 symbolic examples in 3.7 s.

>>> dense_terms([12, 3, 2])
64
>>> check_model_terms("the 4096-4096-1 network", dense_terms([4096, 4096, 1]), "choose narrower layers")
Traceback (most recent call last):
...
symbackprop.errors.SizeLimitError: the 4096-4096-1 network has 16,793,602 terms in its equations; the engine builds at most 100,000 (about 6 s on 2 cores, and the δ route as long again): choose narrower layers
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Iterable, Mapping, Sequence

import sympy as sp

from .errors import ArgumentError, DataError, SizeLimitError, echo

#: The most terms a model's local equations may have (about 6 s to build).
MODEL_TERM_LIMIT = 100_000
#: The direct route refuses to start above this many estimated operations
#: (tree operations of ``C`` times the number of parameters): about half a
#: minute of SymPy differentiation on a 2-core machine.
DIRECT_ROUTE_LIMIT = 500_000
#: Parameters of a network whose δ route is checked at random points instead of
#: proved (``derive`` past the direct route): each check evaluates ``C_T`` twice at
#: 70 digits, about 0.3 s for 784-100-10 (79,510 parameters) on 2 cores.
SAMPLED_PARAMETER_LIMIT = 300_000
#: The chain-rule expansion refuses to list more paths than this.
PATH_LIMIT = 20_000
#: Random points of a verification (at 50 digits; 12-3-2: under a minute at most).
MAX_POINTS = 1_000
#: Steps of gradient descent, and epochs of training (each keeps one cost; an
#: epoch of the book's digits01 takes 130 µs, so 10^6 of them about 2 minutes).
MAX_STEPS = 1_000_000
#: Symbolic examples in the proof of the array form (16 take 3.7 s on 3-2-2).
MAX_SYMBOLIC_BATCH = 16
#: Examples in the batch of a route comparison.
MAX_BATCH = 100_000
#: Bytes of a model file (a few lines per layer; anything larger is not one).
MODEL_FILE_LIMIT = 1_000_000
#: Networks in one sweep, and the largest depth and width a sweep goes to:
#: beyond, even the δ recurrence takes minutes per network.
MAX_SWEEP_POINTS = 40
#: A data file for ``train`` / ``evaluate`` (CSV or .npz): its bytes on disk,
#: and the numbers it holds. A CSV value costs about 60 bytes while it is
#: read (a float in a row's list; measured: 10^6 values, 60 MB), so 10^7
#: values and the file's text stay under a gigabyte.
MAX_DATA_FILE_BYTES = 256 * 1024 * 1024
MAX_DATA_VALUES = 10_000_000
#: The logistic map's largest n: sympy.diff of l_12 takes 1 s on a 2-core machine
#: and each step more 2.3 times as long (its derivative's tree, 548k operations
#: at n = 12, is what grows).
SWEEP_LARGEST = {"depth": MAX_SWEEP_POINTS, "width": 1024, "logistic": 14}
#: Time steps a recurrent layer is unrolled over (the symbolic model grows
#: linearly in T, but the direct route's C nests T activations deep).
MAX_TIME_STEPS = 200
#: Examples in the batch of a batch-normalised model: its "example" is the
#: whole batch, so the symbolic model holds m copies of every layer.
MAX_NORM_BATCH = 256
#: ``vanishing``: units of its recurrent layer (the unrolled model must also
#: stay within MODEL_TERM_LIMIT) and sequences it averages over (NumPy only).
MAX_VANISHING_WIDTH, MAX_VANISHING_BATCH = 256, 10_000
#: Seconds someone's backprop code may be given by ``check --timeout``: an
#: hour; the default is a minute (the code runs on a batch of a few examples).
MAX_USER_CODE_SECONDS = 3600


# --- sizes, estimated from the specification --------------------------------------

def dense_terms(sizes: Sequence[int]) -> int:
    """Terms of a fully connected network's local equations, and its inputs:
    ``n_1 + Σ_l n_l (n_{l−1} + 2)`` (``z^l_j`` sums ``n_{l−1}`` products and a
    bias, ``a^l_j`` is one activation).

    >>> dense_terms([2, 1])
    6
    """
    return sizes[0] + sum(n * (previous + 2) for previous, n in zip(sizes, sizes[1:]))


def cnn_terms(
    image: tuple[int, int], filters: int, filter_size: tuple[int, int], pool: tuple[int, int], outputs: int,
    *, channels: int = 1, stride: tuple[int, int] = (1, 1), padding: tuple[int, int] = (0, 0),
    input_layer: bool = False,
) -> int:
    """Terms of a convolutional network's local equations, and its pixels: each
    feature-map unit sums one product per channel and filter position that
    falls inside the image (padding adds none) and a bias, each pooled value is
    the max or mean of ``ph·pw`` units, each output sums every pooled value and
    a bias; an input layer of units adds two terms per pixel.

    >>> cnn_terms((6, 6), 3, (3, 3), (2, 2), 3)
    666
    """
    (h, w), (fh, fw), (ph, pw), (sh, sw), (qh, qw) = image, filter_size, pool, stride, padding

    def inside(n: int, f: int, s: int, p: int) -> tuple[int, int]:
        # (positions, filter taps that land inside the image): all count·f taps but
        # the padded ones, ceil(m/s) (at most count) for the m-th row of padding on each side
        count = max((n + 2 * p - f) // s + 1, 0)

        def ceil_sum(m: int) -> int:  # Σ_{t=1..m} ⌈t/s⌉ in closed form
            q, r = divmod(m, s)
            return s * q * (q + 1) // 2 + r * (q + 1)

        capped = min(p, count * s)
        return count, count * f - 2 * (ceil_sum(capped) + count * (p - capped))

    (rows, taps_r), (cols, taps_c) = inside(h, fh, sh, qh), inside(w, fw, sw, qw)
    maps = filters * rows * cols
    pooled = filters * (rows // ph) * (cols // pw)
    pixels = channels * h * w
    return (pixels * (3 if input_layer else 1) + filters * channels * taps_r * taps_c + 2 * maps
            + pooled * (ph * pw + 1) + outputs * (pooled + 2))


def recurrent_terms(steps: int, inputs: int, width: int, outputs: int, every_step: bool) -> int:
    """Terms of a recurrent network unrolled over ``steps``: each ``z^{(t)}_j`` sums
    ``inputs + width`` products and a bias, ``h^{(t)}_j`` is one activation, and
    the output layer is read once or at every step.

    >>> recurrent_terms(3, 1, 2, 1, False)
    37
    """
    reads = steps if every_step else 1
    return steps * inputs + steps * width * (inputs + width + 2) + reads * outputs * (width + 2)


def batch_norm_terms(batch: int, sizes: Sequence[int]) -> int:
    """Terms of a dense network with batch normalisation after each hidden layer's
    weighted inputs, over a batch of ``batch``: the dense terms once per example,
    and per normalised unit the two sums over the batch (``μ``, ``σ²``) and the
    normalised ``ẑ``, ``y`` of each example.

    >>> batch_norm_terms(3, [2, 2, 1])
    66
    """
    normalised = sum(sizes[1:-1])
    return batch * dense_terms(sizes) + normalised * 4 * batch


def check_model_terms(what: str, terms: int, advice: str) -> None:
    """Refuse, before anything is built, a model larger than :data:`MODEL_TERM_LIMIT`."""
    if terms > MODEL_TERM_LIMIT:
        raise SizeLimitError(
            f"{what} has {terms:,} terms in its equations; the engine builds at most "
            f"{MODEL_TERM_LIMIT:,} (about 6 s on 2 cores, and the δ route as long again): {advice}"
        )


# --- argument checks ------------------------------------------------------------

def is_count(value: object, low: int = 1, high: int | None = None) -> bool:
    """Whether ``value`` is a whole number from ``low`` (to ``high``): the one
    test of a count, for checks whose message says more than
    :func:`check_count`'s. ``True`` is no count, though Python calls it 1.

    >>> is_count(3), is_count(0), is_count(0, low=0), is_count(True), is_count(2.0), is_count(5, high=4)
    (True, False, True, False, False, False)
    """
    return (isinstance(value, numbers.Integral) and not isinstance(value, bool)
            and low <= value and (high is None or value <= high))


def check_count(value: object, what: str, low: int, high: int, error: type[Exception] = DataError) -> int:
    """A whole number from ``low`` to ``high``, or ``error`` saying so.

    >>> check_count(10**9, "the number of random points", 1, MAX_POINTS)
    Traceback (most recent call last):
    ...
    symbackprop.errors.DataError: the number of random points must be a whole number from 1 to 1,000; got 1000000000
    """
    if not is_count(value, low, high):
        raise error(f"{what} must be a whole number from {low:,} to {high:,}; got {value!r}")
    return int(value)


def check_seed(seed: int | None) -> None:
    """Refuse a seed NumPy's generators cannot take (they take whole numbers ≥ 0;
    None draws fresh entropy).

    >>> check_seed(-1)
    Traceback (most recent call last):
    ...
    symbackprop.errors.DataError: the seed must be a whole number ≥ 0 (got -1); any such number gives a reproducible run
    """
    if seed is not None and not is_count(seed, low=0):
        raise DataError(f"the seed must be a whole number ≥ 0 (got {seed}); any such number gives a reproducible run")


def require_seed(seed: int | None) -> None:
    """A seed that fixes the random points: a whole number ≥ 0 (not None,
    which would draw new points each run; a diagnosis is reproducible).

    >>> require_seed(None)
    Traceback (most recent call last):
    ...
    symbackprop.errors.DataError: the seed of the random points must be a whole number ≥ 0, got None
    """
    if seed is None:
        raise DataError("the seed of the random points must be a whole number ≥ 0, got None")
    check_seed(seed)


def check_sequence(value: object, what: str) -> list:
    """``value`` as a list, refusing text and anything that is not a collection.

    >>> check_sequence((1, 2), "the start point")
    [1, 2]
    >>> check_sequence(1.5, "the start point")
    Traceback (most recent call last):
    ...
    symbackprop.errors.ArgumentError: the start point must be a list or tuple; got 1.5
    """
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise ArgumentError(f"{what} must be a list or tuple; got {echo(value)}")
    return list(value)


def check_mapping(value: object, what: str) -> Mapping:
    """Refuse anything but a dictionary.

    >>> check_mapping([], "the parameters")
    Traceback (most recent call last):
    ...
    symbackprop.errors.ArgumentError: the parameters must be a dictionary of named values; got []
    """
    if not isinstance(value, Mapping):
        raise ArgumentError(f"{what} must be a dictionary of named values; got {echo(value)}")
    return value


def check_path(value: object, what: str) -> str | os.PathLike:
    """Refuse anything but a file name (text or a path).

    >>> check_path(None, "the parameter file")
    Traceback (most recent call last):
    ...
    symbackprop.errors.ArgumentError: the parameter file must be a file name (text or a pathlib.Path); got None
    """
    if not isinstance(value, (str, os.PathLike)):
        raise ArgumentError(f"{what} must be a file name (text or a pathlib.Path); got {echo(value)}")
    return value


def check_expression(value: object, what: str) -> sp.Expr:
    """A SymPy expression or number; text must go through the safe parser.

    >>> check_expression(2, "the left side")
    2
    >>> check_expression("x + 1", "the left side")
    Traceback (most recent call last):
    ...
    symbackprop.errors.ArgumentError: the left side must be a SymPy expression or a number (parse text with parse_expression); got 'x + 1'
    """
    if not isinstance(value, str):
        try:
            expr = sp.sympify(value, strict=True)
        except (sp.SympifyError, TypeError, ValueError):
            expr = None
        if isinstance(expr, sp.Expr):
            return expr
    raise ArgumentError(
        f"{what} must be a SymPy expression or a number (parse text with parse_expression); got {echo(value)}"
    )


