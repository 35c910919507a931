"""Gradient descent as in chapter 4: ``Δw = −η ∂C_T/∂w``, for any trainable model.

The trainer knows nothing about layers: it talks to a model through the
small interface :class:`~symbackprop.numeric.trainable.Trainable`, so the
fully connected network and the chapter-5 CNN plug into the same loop, the
same parameter files (:mod:`symbackprop.numeric.params`) and the same
``train`` / ``evaluate`` commands.

Training:

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

import math
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from ..errors import ArgumentError, DataError, echo
from ..guards import MAX_STEPS, check_seed, is_count
from .optimizers import (
    Adam,
    ExponentialDecay,
    GradientDescent,
    Momentum,
    StepDecay,
    check_optimizer,
    check_schedule,
)
from .params import check_params
from .trainable import Params, Trainable, check_trainable, describe


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
    X = _real_values(X, "inputs")
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
    T = _real_values(T, "targets")
    if T.shape != (X.shape[0], model.output_size):
        raise DataError(
            f"targets have shape {T.shape}; {X.shape[0]} examples for {model.output_size} output "
            f"units need ({X.shape[0]}, {model.output_size})"
        )
    if not np.all(np.isfinite(T)):
        raise DataError(f"targets contain NaN or infinity (examples {_bad_rows(T)})")
    return X, T


def _real_values(values, what: str) -> np.ndarray:
    # A float conversion alone would drop imaginary parts with only a warning.
    if np.iscomplexobj(values):
        raise DataError(f"{what} are complex numbers; the network computes with real values only")
    try:
        return np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise DataError(f"{what} must be numbers") from None


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
    time the training took. ``problem`` says, in words with what to do,
    why the run failed although nothing overflowed: ``C_T`` ended higher
    than it started, or it stopped falling while the outputs are pinned at
    the activation's bounds (where ``a'(z) ≈ 0``, so every gradient
    vanishes); None for a run that went well.

    >>> from symbackprop.numeric.arrays import ArrayModel
    >>> model = ArrayModel([1, 1], activation="identity")
    >>> result = train(model, [[1.0]], [[2.0]], {"W2": np.zeros((1, 1)), "b2": np.zeros(1)}, eta=0.25, epochs=2)
    >>> len(result.history), result.final_cost == result.history[2], sorted(result.params)
    (3, True, ['W2', 'b2'])
    """

    params: Params
    history: list[float] = field(default_factory=list)
    seconds: float = 0.0
    problem: str | None = None
    #: ``track(params)`` at the start and after each epoch, when train was given a ``track``.
    tracked: list[float] = field(default_factory=list)

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
    if not is_count(epochs, low=0, high=MAX_STEPS):
        # Each epoch keeps its cost: an endless run would also fill the memory.
        raise DataError(f"the number of epochs must be a whole number from 0 to {MAX_STEPS:,} (got {epochs})")
    if batch_size is not None and not is_count(batch_size):
        raise DataError(f"the batch size must be a whole number ≥ 1 (got {batch_size}); omit it for full batches")
    check_seed(seed)


def _is_real(value: object) -> bool:
    # NumPy scalars count (np.float32(0.2)); True and False are no numbers here.
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


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
    optimizer: GradientDescent | Momentum | Adam | None = None,
    schedule: StepDecay | ExponentialDecay | None = None,
    track: Callable[[Params], float] | None = None,
) -> TrainingResult:
    """Gradient descent ``p ← p − η ∂C_T/∂p``, or another update rule.

    Full batch by default, like the book: each epoch is one step on the whole
    training set. With ``batch_size`` every epoch visits the examples in a
    fresh random order (``seed``), one step per batch, the gradient being that
    of the batch's own ``C``-sum. Without ``params`` the start is
    :func:`initial_params` with the same ``seed``. ``progress`` shows a rich
    progress bar with the current cost. A run that diverges to infinity
    raises :class:`DataError`; one that fails otherwise says why in
    :attr:`TrainingResult.problem`. ``optimizer`` is one of
    :mod:`symbackprop.numeric.optimizers` (default: the book's plain descent,
    :class:`~symbackprop.numeric.optimizers.GradientDescent`) and
    ``schedule`` gives epoch ``e`` its rate ``η_e`` (default: ``η`` throughout).
    ``track(params)``, such as a held-out accuracy, is recorded in
    :attr:`TrainingResult.tracked` at the start and after every epoch.

    >>> from symbackprop.numeric.arrays import ArrayModel
    >>> model = ArrayModel([1, 1], activation="identity")
    >>> r = train(model, [[1.0]], [[3.0]], {"W2": np.zeros((1, 1)), "b2": np.zeros(1)}, eta=0.25, epochs=1)
    >>> r.history, r.params["W2"].tolist(), r.params["b2"].tolist()
    ([4.5, 1.125], [[0.75]], [0.75])
    >>> print(train(model, [[1.0]], [[3.0]], {"W2": np.zeros((1, 1)), "b2": np.zeros(1)}, eta=5, epochs=3).problem)
    C_T rose from 4.5 to 2.391e+06 over 3 epochs: the steps overshoot the minimum; use a smaller learning rate than η = 5
    """
    import time

    check_settings(eta, epochs, batch_size, seed)
    optimizer = GradientDescent() if optimizer is None else check_optimizer(optimizer)
    check_schedule(schedule)
    if track is not None and not callable(track):
        raise ArgumentError(f"track must be None or a function of the parameters, such as a held-out accuracy; "
                            f"got {echo(track)}")
    if T is None:
        raise DataError("training needs targets T, one row per example (one-hot for classes)")
    X, T = check_data(model, X, T)
    current = check_params(model, params) if params is not None else initial_params(model, seed)
    current = {k: v.copy() for k, v in current.items()}
    rng = np.random.default_rng(seed)
    n = len(X)
    full = batch_size is None or batch_size >= n
    history: list[float] = []
    tracked: list[float] = []
    optimizer.start(current)
    start = time.perf_counter()
    # A diverging run overflows; it is reported below as one clear error.
    with _progress(progress, epochs, describe(model)) as advance, np.errstate(over="ignore", invalid="ignore"):
        cost, gradient = model.cost_and_gradient(current, X, T)
        _record(history, cost, 0, eta)
        if track is not None:
            tracked.append(float(track(current)))
        for epoch in range(1, epochs + 1):
            rate = eta if schedule is None else schedule.rate(eta, epoch)
            if full:
                optimizer.step(current, gradient, rate)
                # The gradient of the new parameters is the next epoch's step.
                cost, gradient = model.cost_and_gradient(current, X, T)
            else:
                order = rng.permutation(n)
                for first in range(0, n, batch_size):
                    chosen = order[first:first + batch_size]
                    _, batch_gradient = model.cost_and_gradient(current, X[chosen], T[chosen])
                    optimizer.step(current, batch_gradient, rate)
                cost = model.cost_and_gradient(current, X, T)[0]
            _record(history, cost, epoch, eta)
            if track is not None:
                tracked.append(float(track(current)))
            advance(history[-1])
        problem = _diagnose(model, current, X, T, history, eta)
    return TrainingResult(current, history, time.perf_counter() - start, problem, tracked)


#: Stalled: over the last STALL_WINDOW epochs C_T fell by less than this
#: fraction of itself …
STALL_WINDOW = 10
STALL_FALL = 1e-6
#: … while at least this fraction of the outputs a^L lie within PINNED of a
#: bound (relative to the range), where a'(z) < PINNED and gradients vanish,
#: and away from their targets t (a unit pinned at its target has learnt).
PINNED_SHARE = 0.25
PINNED = 1e-6


def _diagnose(
    model: Trainable, params: Params, X: np.ndarray, T: np.ndarray, history: list[float], eta: float
) -> str | None:
    """Why a finished run failed, with what to do; None when it did not."""
    epochs = len(history) - 1
    if epochs == 0:
        return None
    first, last = history[0], history[-1]
    if last > first:
        return (
            f"C_T rose from {first:.4g} to {last:.4g} over {epochs} epoch{'s' * (epochs != 1)}: the steps "
            f"overshoot the minimum; use a smaller learning rate than η = {eta}"
        )
    window = min(STALL_WINDOW, epochs)
    before = history[-1 - window]
    bounds = getattr(model, "output_bounds", None)
    if bounds is None or before - last > STALL_FALL * before:
        return None
    lo, hi = bounds
    outputs = np.asarray(model.predict(params, X), dtype=float)
    at_bound = np.minimum(outputs - lo, hi - outputs) <= PINNED * (hi - lo)
    stuck = float(np.mean(at_bound & (np.abs(outputs - T) > PINNED * (hi - lo))))
    if stuck < PINNED_SHARE:
        return None
    if first - last <= STALL_FALL * first:
        remedy = "the initial parameters already pin them: start from smaller ones"
    else:
        remedy = f"use a smaller learning rate than η = {eta}"
    return (
        f"training stalled at C_T = {last:.4g}: it fell by less than a millionth over the last {window} "
        f"epoch{'s' * (window != 1)}, with {stuck:.0%} of the outputs a^L pinned at the activation's bounds "
        f"{lo:g} and {hi:g} away from their targets, where a'(z) ≈ 0 and the gradients vanish; {remedy}"
    )


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
