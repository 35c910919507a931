"""What a trainable model is: the interface between a model and the trainer.

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
``output_bounds: tuple[float, float] | None``
    The bounds the output activation's values approach (``(0, 1)`` for the
    sigmoid), so that a run whose outputs are pinned there is reported as
    stalled (see :attr:`~symbackprop.numeric.train.TrainingResult.problem`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable

import numpy as np

from ..errors import ArgumentError, echo

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
    >>> from symbackprop import train
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


#: What :class:`Trainable` asks of a model, read from its definition.
TRAINABLE = (*Trainable.__annotations__,
             *(name for name, member in vars(Trainable).items() if callable(member) and not name.startswith("_")))


def check_trainable(model: object) -> None:
    """Refuse an object that is not a trainable model (ArrayModel, ScalarModel, CNNArrays, …).

    >>> check_trainable(None)
    Traceback (most recent call last):
    ...
    symbackprop.errors.ArgumentError: the model must be a trainable model such as ArrayModel([12, 3, 2]) (one with parameter_shapes, input_shape, output_size, cost_and_gradient and predict); got None
    """
    if not isinstance(model, Trainable):
        raise ArgumentError(
            "the model must be a trainable model such as ArrayModel([12, 3, 2]) (one with "
            f"{', '.join(TRAINABLE[:-1])} and {TRAINABLE[-1]}); got {echo(model)}"
        )
