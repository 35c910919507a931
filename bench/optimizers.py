"""Optimiser benchmark: epochs to reach a cost on the book's 12-3-2 network.

Run: ``python bench/optimizers.py`` (about half a minute). The book's 64
images of 0 and 1, full batch as in the book; each update rule trains from
the book's initial values and from 20 further standard-normal starts
(seeds 1..20), and the table gives the epochs until ``C_T`` first falls to
1, 0.1 and 0.01: for the book's start, and the median over all 21 starts
(a run that never gets there within the epochs counts as that many). The
rules: plain gradient descent with the book's η = 0.2, momentum μ = 0.9 at
the same η, and Adam (β₁ = 0.9, β₂ = 0.999) at η = 0.1. The table goes
into README.md ("Optimisers").
"""

from __future__ import annotations

import statistics

from readme import write_block

from symbackprop.numeric.arrays import ArrayModel
from symbackprop.numeric.datasets import data_path, load_digits01
from symbackprop.numeric.optimizers import Adam, GradientDescent, Momentum
from symbackprop.numeric.params import load_params
from symbackprop.numeric.train import initial_params, train

EPOCHS = 2_000
TARGETS = (1.0, 0.1, 0.01)
SEEDS = range(1, 21)
RULES = (
    ("gradient descent (the book's)", GradientDescent, 0.2),
    ("momentum μ = 0.9", lambda: Momentum(0.9), 0.2),
    ("Adam", Adam, 0.1),
)


def epochs_to(history: list[float], target: float) -> int:
    return next((epoch for epoch, cost in enumerate(history) if cost <= target), EPOCHS)


def main() -> None:
    data = load_digits01()
    model = ArrayModel([12, 3, 2])
    starts = [load_params(data_path("book_nn_4_4_init.json"), model)]
    starts += [initial_params(model, seed) for seed in SEEDS]
    header = " | ".join(f"C_T ≤ {t:g}: book start, median" for t in TARGETS)
    lines = [f"| rule | η | {header} |", "|---|---|" + "---|" * len(TARGETS)]
    for name, make, eta in RULES:
        reached = [[epochs_to(train(model, data.X, data.T, start, eta=eta, epochs=EPOCHS,
                                    optimizer=make()).history, t) for t in TARGETS] for start in starts]
        cells = [f"{reached[0][k]}, {statistics.median(r[k] for r in reached):g}" for k in range(len(TARGETS))]
        lines.append(f"| {name} | {eta} | " + " | ".join(cells) + " |")
        print(lines[-1])
    write_block("optimizers", "\n".join(lines))


if __name__ == "__main__":
    main()
