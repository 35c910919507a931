"""Vanishing and exploding gradients, measured: ``‖∂C/∂h^{(1)}‖`` against the length T.

Backpropagation through time multiplies the error by one Jacobian per step,
``∂h^{(t)}/∂h^{(t−1)} = diag(a'(z^{(t)})) W``
(:func:`~symbackprop.engine.recurrent.step_jacobian` derives it), so

``∂C/∂h^{(1)} = (∂h^{(2)}/∂h^{(1)})ᵀ ⋯ (∂h^{(T)}/∂h^{(T−1)})ᵀ ∂C/∂h^{(T)}``.

Each measurement takes a recurrent layer whose ``W = ρ Q`` (Q a random
orthogonal matrix, so every eigenvalue of W has modulus ρ, the spectral
radius, and ``‖Wᵀ v‖ = ρ ‖v‖``), reads one output ``a^O = h^{(T)}_1``, and sets the
target so that ``∂C/∂a^O = 1``: then ``‖∂C/∂h^{(T)}‖ = 1`` and
``‖∂C/∂h^{(1)}‖`` is the effect of the T − 1 Jacobians alone. With the
identity it is exactly ``ρ^{T−1}``; tanh (``a' ≤ 1``) shrinks it further, the
sigmoid (``a' ≤ 1/4``) by at least 4 per step. The gradients come from
:class:`~symbackprop.numeric.recurrent_arrays.RecurrentArrays`, averaged over
a batch of random input sequences.

>>> rows = vanishing_gradients(lengths=(1, 5), radii=(0.5, 2.0), activations=("identity",), width=3)
>>> [round(r.norm, 6) for r in rows]
[1.0, 0.0625, 1.0, 16.0]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import DataError
from ..guards import MAX_TIME_STEPS, MAX_VANISHING_BATCH, MAX_VANISHING_WIDTH, check_count, check_sequence
from ..numeric.recurrent_arrays import RecurrentArrays
from .chart import Panel, Series, svg_chart

LENGTHS = (1, 2, 4, 8, 16, 32, 64)
RADII = (0.5, 0.9, 1.1, 1.5)
ACTIVATIONS = ("tanh", "sigmoid", "identity")


@dataclass(frozen=True)
class Measurement:
    """``‖∂C/∂h^{(1)}‖`` (mean over the batch) for one activation, spectral radius and length T."""

    activation: str
    radius: float
    steps: int
    norm: float

    @property
    def per_step(self) -> float | None:
        """The geometric factor per step, ``norm^{1/(T−1)}`` (None for T = 1)."""
        return None if self.steps == 1 else self.norm ** (1 / (self.steps - 1))


def recurrent_weights(width: int, radius: float, rng: np.random.Generator) -> np.ndarray:
    """``ρ Q`` with Q a random orthogonal matrix: spectral radius (and every singular value) ρ.

    >>> W = recurrent_weights(4, 0.9, np.random.default_rng(0))
    >>> round(float(max(abs(np.linalg.eigvals(W)))), 12), round(float(np.linalg.norm(W, 2)), 12)
    (0.9, 0.9)
    """
    q, r = np.linalg.qr(rng.normal(size=(width, width)))
    return radius * q * np.sign(np.diag(r))


def vanishing_gradients(
    lengths: Sequence[int] = LENGTHS,
    radii: Sequence[float] = RADII,
    activations: Sequence[str] = ACTIVATIONS,
    width: int = 8,
    batch: int = 16,
    seed: int = 0,
) -> list[Measurement]:
    """Measure ``‖∂C/∂h^{(1)}‖`` for every activation, radius and length (in that order).

    >>> vanishing_gradients(lengths=(0,))
    Traceback (most recent call last):
    ...
    symbackprop.errors.DataError: the length T must be a whole number from 1 to 200; got 0
    """
    lengths = [check_count(t, "the length T", 1, MAX_TIME_STEPS) for t in check_sequence(lengths, "the lengths")]
    radii = check_sequence(radii, "the spectral radii")
    if not all(isinstance(r, (int, float)) and not isinstance(r, bool) and 0 < r < 100 for r in radii):
        raise DataError(f"spectral radii are numbers between 0 and 100; got {radii!r}")
    check_count(width, "the width", 1, MAX_VANISHING_WIDTH)
    check_count(batch, "the batch", 1, MAX_VANISHING_BATCH)
    rows = []
    models: dict[tuple[str, int], RecurrentArrays] = {}
    for activation in check_sequence(activations, "the activations"):
        for radius in radii:
            for steps in lengths:
                rng = np.random.default_rng(seed)
                if (activation, steps) not in models:  # building the symbolic network is the slow part
                    models[activation, steps] = RecurrentArrays(steps, 1, width, 1, activation=activation,
                                                                output_activation="identity")
                model = models[activation, steps]
                params = {
                    "U": rng.normal(0, 0.5, (width, 1)), "W": recurrent_weights(width, radius, rng),
                    "b": np.zeros(width), "out_W": np.eye(1, width), "out_b": np.zeros(1),
                }
                X = rng.normal(0, 1, (batch, steps, 1))
                # a target one below the output: ∂C/∂a^O = a^O − t = 1, so ‖∂C/∂h^(T)‖ = 1
                target = model.predict(params, X) - 1
                grad = model.backward(params, X, target)["dC_dh"][1]
                rows.append(Measurement(activation, float(radius), steps, float(np.linalg.norm(grad, axis=1).mean())))
    return rows


def vanishing_chart(rows: Sequence[Measurement]) -> str:
    """One log-scale panel per activation, one line per spectral radius, as SVG.

    >>> svg = vanishing_chart(vanishing_gradients(lengths=(1, 3), radii=(0.5,), activations=("tanh",), width=2))
    >>> "ρ = 0.5" in svg
    True
    """
    panels = []
    for activation in dict.fromkeys(r.activation for r in rows):
        series = []
        for radius in dict.fromkeys(r.radius for r in rows if r.activation == activation):
            points = [(r.steps, r.norm) for r in rows if r.activation == activation and r.radius == radius]
            series.append(Series(f"ρ = {radius:g}", [(x, max(y, 1e-300)) for x, y in points]))
        panels.append(Panel(activation, "steps T", "‖∂C/∂h⁽¹⁾‖", series))
    return svg_chart(panels, "Vanishing and exploding gradients through time",
                     "‖∂C/∂h⁽¹⁾‖ with ‖∂C/∂h⁽ᵀ⁾‖ = 1, W = ρQ (Q orthogonal): the product of T − 1 Jacobians diag(a′(z)) W")


def vanishing_table(rows: Sequence[Measurement], digits: int = 3) -> list[list[str]]:
    """Rows of text: activation, ρ, then the norm at each length, then the factor per step at the
    longest, to ``digits`` significant digits.

    >>> vanishing_table(vanishing_gradients(lengths=(1, 3), radii=(2.0,), activations=("identity",), width=2))
    [['identity', '2', '1', '4', '2']]
    """
    table = []
    for activation in dict.fromkeys(r.activation for r in rows):
        for radius in dict.fromkeys(r.radius for r in rows if r.activation == activation):
            chosen = [r for r in rows if r.activation == activation and r.radius == radius]
            last = chosen[-1].per_step
            table.append([activation, f"{radius:g}", *(f"{r.norm:.{digits}g}" for r in chosen),
                          "" if last is None else f"{last:.{digits}g}"])
    return table
