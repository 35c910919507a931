"""Update rules and learning-rate schedules for :func:`~symbackprop.numeric.train.train`.

Each optimiser turns the gradient ``∂C_T/∂w`` of a step into a change of
every parameter ``w``, in place. The book's rule is plain gradient descent,
the default; momentum and Adam keep a state per parameter (a velocity, or
running moments) that :meth:`start` clears at the beginning of a run. A
schedule gives the learning rate ``η_e`` of epoch ``e`` (1, 2, …) from the
``η`` the run was given.

>>> import numpy as np
>>> w = {"w": np.array([1.0])}
>>> opt = Momentum(0.5)
>>> opt.start(w)
>>> opt.step(w, {"w": np.array([2.0])}, eta=0.1); w["w"].tolist()
[0.8]
>>> opt.step(w, {"w": np.array([2.0])}, eta=0.1); w["w"].tolist()
[0.5]
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping

import numpy as np

from ..errors import ArgumentError, DataError, echo

__all__ = ["Adam", "ExponentialDecay", "GradientDescent", "Momentum", "OPTIMIZERS", "StepDecay", "check_optimizer",
           "check_schedule", "parse_schedule"]


def _check_real(value: object, what: str, low: float, high: float, closed_low: bool = False) -> float:
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    ok = ok and (low <= value if closed_low else low < value) and value < high
    if not ok:
        bracket = "[" if closed_low else "("
        raise DataError(f"{what} must be a number in {bracket}{low:g}, {high:g}); got {echo(value)}")
    return float(value)


class GradientDescent:
    """The book's rule: ``w ← w − η ∂C_T/∂w``.

    >>> w = {"w": np.array([1.0])}
    >>> GradientDescent().step(w, {"w": np.array([2.0])}, eta=0.1); w["w"].tolist()
    [0.8]
    """

    name = "gd"

    def start(self, params: Mapping[str, np.ndarray]) -> None:
        """Nothing to remember between steps."""

    def step(self, params: Mapping[str, np.ndarray], gradient: Mapping[str, np.ndarray], eta: float) -> None:
        """One update of every parameter, in place."""
        for name, value in params.items():
            value -= eta * gradient[name]

    def describe(self) -> str:
        return "gradient descent"


class Momentum:
    """Gradient descent with momentum ``μ``: a velocity ``v`` (0 at the
    start) that remembers earlier steps,

    ``v ← μ v − η ∂C_T/∂w``,  ``w ← w + v``.

    With ``μ = 0`` this is the book's rule.

    >>> w = {"w": np.array([0.0])}
    >>> opt = Momentum(0.9); opt.start(w)
    >>> for _ in range(2): opt.step(w, {"w": np.array([1.0])}, eta=1.0)
    >>> w["w"].tolist()  # v = −1, then 0.9·(−1) − 1 = −1.9
    [-2.9]
    """

    name = "momentum"

    def __init__(self, mu: float = 0.9) -> None:
        self.mu = _check_real(mu, "the momentum μ", 0.0, 1.0, closed_low=True)
        self.velocity: dict[str, np.ndarray] = {}

    def start(self, params: Mapping[str, np.ndarray]) -> None:
        """A velocity of 0 for every parameter."""
        self.velocity = {name: np.zeros_like(value) for name, value in params.items()}

    def step(self, params: Mapping[str, np.ndarray], gradient: Mapping[str, np.ndarray], eta: float) -> None:
        """One update of every parameter and its velocity, in place."""
        for name, value in params.items():
            v = self.velocity[name]
            v *= self.mu
            v -= eta * gradient[name]
            value += v

    def describe(self) -> str:
        return f"momentum μ = {self.mu:g}"


class Adam:
    """Adam (Kingma and Ba): running means of the gradient ``g = ∂C_T/∂w``
    and of its square, corrected for their start at 0, scale each
    parameter's step. At step ``s`` (1, 2, …), elementwise,

    ``m ← β₁ m + (1 − β₁) g``,  ``v ← β₂ v + (1 − β₂) g²``,
    ``m̂ = m / (1 − β₁^s)``,  ``v̂ = v / (1 − β₂^s)``,
    ``w ← w − η m̂ / (√v̂ + ε)``.

    A step moves each parameter by about ``η`` whatever the gradient's
    size, so Adam's ``η`` is usually much smaller than the book's 0.2.

    >>> w = {"w": np.array([0.0])}
    >>> opt = Adam(); opt.start(w)
    >>> opt.step(w, {"w": np.array([5.0])}, eta=0.01); round(float(w["w"][0]), 8)  # m̂ = g, v̂ = g²
    -0.01
    """

    name = "adam"

    def __init__(self, beta1: float = 0.9, beta2: float = 0.999, epsilon: float = 1e-8) -> None:
        self.beta1 = _check_real(beta1, "Adam's β₁", 0.0, 1.0, closed_low=True)
        self.beta2 = _check_real(beta2, "Adam's β₂", 0.0, 1.0, closed_low=True)
        self.epsilon = _check_real(epsilon, "Adam's ε", 0.0, 1.0)
        self.m: dict[str, np.ndarray] = {}
        self.v: dict[str, np.ndarray] = {}
        self.steps = 0

    def start(self, params: Mapping[str, np.ndarray]) -> None:
        """Moments of 0, and the step count s from the start."""
        self.m = {name: np.zeros_like(value) for name, value in params.items()}
        self.v = {name: np.zeros_like(value) for name, value in params.items()}
        self.steps = 0

    def step(self, params: Mapping[str, np.ndarray], gradient: Mapping[str, np.ndarray], eta: float) -> None:
        """One update of every parameter and its moments, in place."""
        self.steps += 1
        correct1 = 1 - self.beta1 ** self.steps
        correct2 = 1 - self.beta2 ** self.steps
        for name, value in params.items():
            g = gradient[name]
            m, v = self.m[name], self.v[name]
            m *= self.beta1
            m += (1 - self.beta1) * g
            v *= self.beta2
            v += (1 - self.beta2) * g * g
            value -= eta * (m / correct1) / (np.sqrt(v / correct2) + self.epsilon)

    def describe(self) -> str:
        return f"Adam β₁ = {self.beta1:g}, β₂ = {self.beta2:g}, ε = {self.epsilon:g}"


#: The optimisers by the name ``--optimizer`` takes.
OPTIMIZERS = {"gd": GradientDescent, "momentum": Momentum, "adam": Adam}


class StepDecay:
    """``η_e = η γ^⌊(e − 1)/k⌋``: the rate is multiplied by ``γ`` every ``k`` epochs.

    >>> [StepDecay(0.5, 2).rate(1.0, e) for e in (1, 2, 3, 4, 5)]
    [1.0, 1.0, 0.5, 0.5, 0.25]
    """

    def __init__(self, gamma: float, every: int) -> None:
        self.gamma = _check_real(gamma, "the decay factor γ", 0.0, 1.0 + 1e-12)
        if isinstance(every, bool) or not isinstance(every, numbers.Integral) or every < 1:
            raise DataError(f"the decay interval must be a whole number of epochs ≥ 1; got {echo(every)}")
        self.every = int(every)

    def rate(self, eta: float, epoch: int) -> float:
        """``η_e`` of epoch ``e`` (1, 2, …)."""
        return eta * self.gamma ** ((epoch - 1) // self.every)

    def describe(self) -> str:
        return f"η × {self.gamma:g} every {self.every} epochs"


class ExponentialDecay:
    """``η_e = η γ^(e − 1)``: the rate shrinks by the factor ``γ`` each epoch.

    >>> [ExponentialDecay(0.5).rate(1.0, e) for e in (1, 2, 3)]
    [1.0, 0.5, 0.25]
    """

    def __init__(self, gamma: float) -> None:
        self.gamma = _check_real(gamma, "the decay factor γ", 0.0, 1.0 + 1e-12)

    def rate(self, eta: float, epoch: int) -> float:
        """``η_e`` of epoch ``e`` (1, 2, …)."""
        return eta * self.gamma ** (epoch - 1)

    def describe(self) -> str:
        return f"η × {self.gamma:g} each epoch"


def check_optimizer(optimizer: object) -> GradientDescent | Momentum | Adam:
    """An update rule: one with ``start(params)`` and ``step(params, gradient, eta)``.

    >>> check_optimizer("adam")
    Traceback (most recent call last):
    ...
    symbackprop.errors.ArgumentError: the optimizer must be an update rule such as Momentum(0.9) or Adam() (one with start and step methods); got 'adam'
    """
    if not all(callable(getattr(optimizer, name, None)) for name in ("start", "step")):
        raise ArgumentError(
            "the optimizer must be an update rule such as Momentum(0.9) or Adam() (one with start and step "
            f"methods); got {echo(optimizer)}"
        )
    return optimizer


def check_schedule(schedule: object) -> StepDecay | ExponentialDecay | None:
    """None (η throughout) or a schedule: one with ``rate(eta, epoch)``.

    >>> check_schedule(0.99)
    Traceback (most recent call last):
    ...
    symbackprop.errors.ArgumentError: the schedule must be None or a learning-rate schedule such as ExponentialDecay(0.99) or StepDecay(0.5, 100); got 0.99
    """
    if schedule is not None and not callable(getattr(schedule, "rate", None)):
        raise ArgumentError(
            "the schedule must be None or a learning-rate schedule such as ExponentialDecay(0.99) or "
            f"StepDecay(0.5, 100); got {echo(schedule)}"
        )
    return schedule


def parse_schedule(text: str) -> StepDecay | ExponentialDecay:
    """``--lr-decay``: ``exp:γ`` (every epoch) or ``step:γ:k`` (every ``k`` epochs).

    >>> parse_schedule("step:0.5:100").describe(), parse_schedule("exp:0.99").describe()
    ('η × 0.5 every 100 epochs', 'η × 0.99 each epoch')
    >>> parse_schedule("linear")
    Traceback (most recent call last):
    ...
    symbackprop.errors.DataError: the learning-rate decay must be exp:γ or step:γ:k (such as exp:0.99 or step:0.5:100); got 'linear'
    """
    parts = text.strip().split(":")
    try:
        if parts[0] == "exp" and len(parts) == 2:
            return ExponentialDecay(float(parts[1]))
        if parts[0] == "step" and len(parts) == 3:
            return StepDecay(float(parts[1]), int(parts[2]))
    except ValueError:
        pass
    raise DataError(
        f"the learning-rate decay must be exp:γ or step:γ:k (such as exp:0.99 or step:0.5:100); got {echo(text)}"
    )
