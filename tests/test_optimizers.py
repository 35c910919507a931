"""The update rules and schedules against hand computations on a quadratic,
and the book's plain descent unchanged as the trainer's default."""

from __future__ import annotations

import math

import numpy as np
import pytest

from symbackprop.errors import DataError
from symbackprop.numeric.arrays import ArrayModel
from symbackprop.numeric.datasets import data_path, load_digits01
from symbackprop.numeric.optimizers import (
    Adam,
    ExponentialDecay,
    GradientDescent,
    Momentum,
    StepDecay,
    parse_schedule,
)
from symbackprop.numeric.params import load_params
from symbackprop.numeric.train import train

# C(w) = ½ a w², so ∂C/∂w = a w; from w = 2 with η = 0.1.
A, W0, ETA = 3.0, 2.0, 0.1


class Quadratic:
    """The model of C(w) = ½ a w², whatever the data (one dummy example)."""

    parameter_shapes = {"w": (1,)}
    input_shape, output_size = (1,), 1

    def predict(self, params, X):
        return np.zeros((len(X), 1))

    def cost_and_gradient(self, params, X, T):
        w = params["w"]
        return 0.5 * A * float(w[0] ** 2), {"w": A * w}


def run(optimizer, epochs: int, schedule=None) -> list[float]:
    """w after each epoch of training the quadratic."""
    ws = []
    result = train(Quadratic(), [[0.0]], [[0.0]], {"w": np.array([W0])}, eta=ETA, epochs=epochs,
                   optimizer=optimizer, schedule=schedule, track=lambda p: float(p["w"][0]))
    ws = result.tracked
    assert result.params["w"][0] == ws[-1]
    return ws[1:]


def test_gradient_descent_is_w_minus_eta_gradient():
    # w_n = (1 − η a)^n w_0 = 0.7^n · 2
    assert run(GradientDescent(), 3) == pytest.approx([1.4, 0.98, 0.686], rel=1e-14)


def test_momentum_keeps_a_velocity():
    # v1 = −η a w0 = −0.6, w1 = 1.4; v2 = μ v1 − η a w1 = −0.3 − 0.42 = −0.72, w2 = 0.68;
    # v3 = 0.5·(−0.72) − 0.1·3·0.68 = −0.564, w3 = 0.116
    assert run(Momentum(0.5), 3) == pytest.approx([1.4, 0.68, 0.116], rel=1e-13)


def test_momentum_zero_is_the_books_rule():
    assert run(Momentum(0.0), 5) == run(GradientDescent(), 5)


def test_adam_with_its_bias_corrections():
    b1, b2 = 0.9, 0.999
    # Step 1: g = a w0 = 6; m = 0.1·6, v = 0.001·36; m̂ = 6, v̂ = 36; w1 = 2 − 0.1·6/6 = 1.9 (ε aside).
    g1 = 6.0
    w1 = 2.0 - 0.1 * 6.0 / (6.0 + 1e-8)
    # Step 2: g = a w1; m = 0.9·0.6 + 0.1 g; v = 0.999·0.036 + 0.001 g²; corrections 1 − β^2.
    g2 = A * w1
    m = b1 * (1 - b1) * g1 + (1 - b1) * g2
    v = b2 * (1 - b2) * g1**2 + (1 - b2) * g2**2
    w2 = w1 - 0.1 * (m / (1 - b1**2)) / (math.sqrt(v / (1 - b2**2)) + 1e-8)
    assert run(Adam(b1, b2), 2) == pytest.approx([w1, w2], rel=1e-13)
    assert w1 == pytest.approx(1.9, abs=1e-9)


def test_schedules_change_eta_per_epoch():
    # Exponential, γ = 0.5: η = 0.1, then 0.05: w1 = 1.4, w2 = 1.4 − 0.05·4.2 = 1.19.
    assert run(GradientDescent(), 2, ExponentialDecay(0.5)) == pytest.approx([1.4, 1.19], rel=1e-14)
    # Step, γ = 0.5 every 2 epochs: η = 0.1, 0.1, 0.05.
    assert run(GradientDescent(), 3, StepDecay(0.5, 2)) == pytest.approx([1.4, 0.98, 0.98 - 0.05 * A * 0.98])


def test_an_optimizer_starts_afresh_in_each_run():
    adam = Adam()
    assert run(adam, 3) == run(adam, 3)


def test_the_default_is_the_books_plain_descent_bit_for_bit():
    data = load_digits01()
    model = ArrayModel([12, 3, 2])
    book = load_params(data_path("book_nn_4_4_init.json"), model)
    default = train(model, data.X, data.T, book, eta=0.2, epochs=20)
    explicit = train(model, data.X, data.T, book, eta=0.2, epochs=20, optimizer=GradientDescent())
    assert default.history == explicit.history
    # And each epoch is the book's update p ← p − η ∂C_T/∂p, computed here by hand.
    p = {k: v.copy() for k, v in book.items()}
    for _ in range(20):
        _, gradient = model.cost_and_gradient(p, data.X, data.T)
        p = {k: p[k] - 0.2 * gradient[k] for k in p}
    assert all(np.array_equal(p[k], default.params[k]) for k in p)


def test_divergence_is_still_reported_with_adam():
    class Exploding(Quadratic):
        def cost_and_gradient(self, params, X, T):
            w = params["w"]
            return float(np.exp(w[0] ** 2)), {"w": -np.sign(w) - (w == 0)}

    with pytest.raises(DataError, match="diverged"):
        train(Exploding(), [[0.0]], [[0.0]], {"w": np.array([1.0])}, eta=10.0, epochs=100, optimizer=Adam())


@pytest.mark.parametrize("make, fragment", [
    (lambda: Momentum(1.0), "the momentum μ must be a number in [0, 1)"),
    (lambda: Momentum(True), "the momentum μ"),
    (lambda: Adam(beta1=-0.1), "Adam's β₁"),
    (lambda: Adam(epsilon=0), "Adam's ε"),
    (lambda: StepDecay(0.5, 0), "the decay interval"),
    (lambda: ExponentialDecay(float("nan")), "the decay factor γ"),
    (lambda: parse_schedule("step:0.5"), "exp:γ or step:γ:k"),
    (lambda: parse_schedule("exp:x"), "exp:γ or step:γ:k"),
])
def test_bad_settings_say_what_to_give(make, fragment):
    with pytest.raises(DataError, match=fragment.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")):
        make()


def test_momentum_and_adam_reach_a_cost_in_fewer_epochs_than_plain_descent():
    # The claim of the README's table (bench/optimizers.py), from the book's start: epochs, not seconds.
    data = load_digits01()
    model = ArrayModel([12, 3, 2])
    book = load_params(data_path("book_nn_4_4_init.json"), model)

    def epochs_to(optimizer, eta: float, target: float = 0.1) -> int:
        history = train(model, data.X, data.T, book, eta=eta, epochs=300, optimizer=optimizer).history
        return next(e for e, cost in enumerate(history) if cost <= target)

    plain = epochs_to(GradientDescent(), 0.2)
    assert epochs_to(Momentum(0.9), 0.2) < plain / 3
    assert epochs_to(Adam(), 0.1) < plain / 1.5
