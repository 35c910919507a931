"""The array path on the layers beyond the book, against hand-written NumPy.

Run: ``python bench/layers.py`` (``--readme`` also writes the table into
README.md's layers block; ``--quick`` for a smoke test with short repeats).

For three models of the digits8x8 shape (64 inputs, 10 classes, 256
examples), one evaluation of ``C_T`` and its full gradient is timed on the
array path (``ArrayModel``, derived and compiled afresh) and by a vectorised
backprop written by hand for that model:

- a softmax output with the categorical cross-entropy (64-32-10, tanh hidden);
- a residual block ``a^4 = tanh(z^4) + a^2`` (64-32-32-32r-10, squared cost);
- a gated layer ``a_j = z_j σ(z'_j)`` stated by its equations (64-32g-10, squared cost).

Each hand-written backprop must first agree with the array path to 1e-8
relative, or the script reports it and exits with status 1. The two are
timed in turn, round by round (``timing.interleaved_per_call``), so a change
of load on a shared machine falls on both alike; the ratio is the median of
the rounds' ratios. BLAS on one thread, as in ``bench/peers.py``.
"""

from __future__ import annotations

import os

for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import argparse  # noqa: E402
import datetime  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from functools import partial  # noqa: E402

import numpy as np  # noqa: E402
from readme import write_block  # noqa: E402
from timing import interleaved_per_call  # noqa: E402

from symbackprop.engine.model import Model  # noqa: E402
from symbackprop.numeric.arrays import ArrayModel  # noqa: E402
from symbackprop.numeric.train import initial_params  # noqa: E402

TOLERANCE = 1e-8
BATCH = 256


def sigmoid(z):
    return 0.5 * (1 + np.tanh(z / 2))


def softmax_hand(p, X, T):
    """tanh hidden layer, softmax output, C = −Σ t log a, by hand (log-sum-exp)."""
    a2 = np.tanh(X @ p["W2"].T + p["b2"])
    z3 = a2 @ p["W3"].T + p["b3"]
    shifted = z3 - z3.max(axis=1, keepdims=True)
    log_a3 = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    d3 = np.exp(log_a3) - T
    d2 = (d3 @ p["W3"]) * (1 - a2**2)
    return -np.sum(T * log_a3), {"W2": d2.T @ X, "b2": d2.sum(0), "W3": d3.T @ a2, "b3": d3.sum(0)}


def residual_hand(p, X, T):
    """a^2, a^3 = tanh; a^4 = tanh(z^4) + a^2; a^5 = σ(z^5); squared cost, by hand."""
    a2 = np.tanh(X @ p["W2"].T + p["b2"])
    a3 = np.tanh(a2 @ p["W3"].T + p["b3"])
    t4 = np.tanh(a3 @ p["W4"].T + p["b4"])
    a4 = t4 + a2
    a5 = sigmoid(a4 @ p["W5"].T + p["b5"])
    d5 = (a5 - T) * a5 * (1 - a5)
    g4 = d5 @ p["W5"]
    d4 = g4 * (1 - t4**2)
    d3 = (d4 @ p["W4"]) * (1 - a3**2)
    d2 = (d3 @ p["W3"] + g4) * (1 - a2**2)
    grads = {}
    for l, (d, below) in {2: (d2, X), 3: (d3, a2), 4: (d4, a3), 5: (d5, a4)}.items():
        grads[f"W{l}"], grads[f"b{l}"] = d.T @ below, d.sum(0)
    return 0.5 * np.sum((a5 - T) ** 2), grads


def gated_hand(p, X, T):
    """a^2_j = z_j σ(z'_j); a^3 = σ(z^3); squared cost, by hand."""
    z, zp = X @ p["W2"].T + p["b2"], X @ p["W'2"].T + p["b'2"]
    gate = sigmoid(zp)
    a2 = z * gate
    a3 = sigmoid(a2 @ p["W3"].T + p["b3"])
    d3 = (a3 - T) * a3 * (1 - a3)
    g2 = d3 @ p["W3"]
    d2, d2p = g2 * gate, g2 * z * gate * (1 - gate)
    grads = {"W2": d2.T @ X, "b2": d2.sum(0), "W'2": d2p.T @ X, "b'2": d2p.sum(0), "W3": d3.T @ a2, "b3": d3.sum(0)}
    return 0.5 * np.sum((a3 - T) ** 2), grads


MODELS = (
    ("softmax 64-32-10", Model(64, [{"kind": "dense", "width": 32, "activation": "tanh"},
                                    {"kind": "softmax", "width": 10}], cost="categorical-cross-entropy"),
     softmax_hand),
    ("residual 64-32-32-32r-10", Model(64, [{"kind": "dense", "width": 32, "activation": "tanh"},
                                            {"kind": "dense", "width": 32, "activation": "tanh"},
                                            {"kind": "residual", "skip": 2, "activation": "tanh"},
                                            {"kind": "dense", "width": 10}]),
     residual_hand),
    ("gated 64-32g-10", Model(64, [{"kind": "equations", "width": 32, "output": "z*sigmoid(z')"},
                                   {"kind": "dense", "width": 10}]),
     gated_hand),
)


def relative_difference(reference, other) -> float:
    cost, grads = reference
    worst = abs(other[0] - cost) / max(1.0, abs(cost))
    for name, value in grads.items():
        worst = max(worst, float(np.max(np.abs(other[1][name] - value)) / max(1.0, np.max(np.abs(value)))))
    return worst


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short repeats (smoke test)")
    parser.add_argument("--readme", action="store_true", help="also write the table into README.md's layers block")
    args = parser.parse_args(argv)
    repeats, budget = (3, 0.02) if args.quick else (31, 0.2)
    rng = np.random.default_rng(0)
    lines = ["| model × 256 examples | array path: setup (s) | array path µs [IQR] | hand NumPy µs [IQR] | array ÷ hand |",
             "|---|--:|--:|--:|--:|"]
    failed = False
    for name, model, hand in MODELS:
        start = time.perf_counter()
        arrays = ArrayModel(model, init="fan-in")
        setup = time.perf_counter() - start
        params = initial_params(arrays, seed=0)
        X = rng.random((BATCH, 64))
        T = np.eye(10)[rng.integers(0, 10, BATCH)]
        reference = arrays.cost_and_gradient(params, X, T)
        difference = relative_difference(reference, hand(params, X, T))
        if not difference <= TOLERANCE:
            print(f"{name}: the hand-written backprop differs by {difference:.1e} relative", file=sys.stderr)
            failed = True
            continue
        timed = interleaved_per_call({"array": partial(arrays.cost_and_gradient, params, X, T),
                                      "hand": partial(hand, params, X, T)},
                                     repeats=repeats, budget=budget, baseline="hand")
        ours, theirs = timed["array"], timed["hand"]
        lines.append(f"| {name} | {setup:.2f} | {ours[0] * 1e6:.0f} [{ours[1] * 1e6:.0f}–{ours[2] * 1e6:.0f}] | "
                     f"{theirs[0] * 1e6:.0f} [{theirs[1] * 1e6:.0f}–{theirs[2] * 1e6:.0f}] | {ours[3]:.2f}× |")
        print(lines[-1], file=sys.stderr, flush=True)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    header = (f"{datetime.date.today()} · os.cpu_count() = {os.cpu_count()} · load average at the end {load} "
              f"(1, 5, 15 min) · numpy {np.__version__}")
    table = "\n".join([header, "", *lines])
    print(table)
    if args.readme and not failed:
        write_block("layers", table)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
