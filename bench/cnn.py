"""CNN benchmark: one training step (C_T, the full gradient and the update) of
the chapter-5 CNN.

Run: ``python bench/cnn.py`` (``--readme`` also writes the table into
README.md's cnn block). Measured side by side in one run:

- the array path (:class:`symbackprop.numeric.cnn_arrays.CNNArrays`) against a
  hand-written NumPy CNN step (zero padding, im2col with precomputed strided
  indices and matrix products), on the book's network with its 96 images, on
  a larger CNN (12×12 images, 6 filters 3×3, 2×2 pooling, 10 outputs, batch
  256) and on a strided, padded, multichannel one (3 channels of 15×15, 8
  filters 3×3, stride 2, padding 1, 2×2 pooling, 10 outputs, batch 256);
- the scalar path (the δ route compiled expression by expression) on the
  book's network;
- PyTorch CPU autograd (float64, conv2d + max_pool2d), when torch is installed.

Every compared implementation must first agree with the array path's
gradient. The loops of one case are taken in turn, round by round (31 rounds,
``timing.interleaved_per_call``), so that a change of load on a shared machine
falls on all of them alike; a ratio is the median over the rounds of the
ratio within a round. BLAS and PyTorch run on one thread, as in
``bench/peers.py``. The report (a version line and a Markdown table) goes to
stdout.
"""

from __future__ import annotations

import os

for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import argparse  # noqa: E402
import datetime  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
from readme import write_block  # noqa: E402
from timing import interleaved_per_call  # noqa: E402

from symbackprop.numeric.cnn_arrays import CNNArrays, CNNScalar, book_digits, book_initial_params  # noqa: E402


def sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))


class HandCNN:
    """A sigmoid CNN with squared error, written by hand: zero padding, im2col with
    strided indices, matrix products. Images are (n, rows, columns) with one
    channel, (n, channels, rows, columns) with more."""

    def __init__(self, image, filter_size, pool, stride=1, padding=0):
        (H, W), (fh, fw), s, self.pad = image, filter_size, stride, padding
        self.oh, self.ow = (H + 2 * padding - fh) // s + 1, (W + 2 * padding - fw) // s + 1
        self.fh, self.fw, self.p = fh, fw, pool
        self.ii = (s * np.arange(self.oh)[:, None, None, None] + np.arange(fh)[None, None, :, None])
        self.jj = (s * np.arange(self.ow)[None, :, None, None] + np.arange(fw)[None, None, None, :])

    def step(self, params, X, T, eta):
        F, fb, Wo, bo = params["filters"], params["filter_bias"], params["out_W"], params["out_b"]
        n, K, p = len(X), len(F), self.p
        X = X[:, None] if X.ndim == 3 else X
        if self.pad:
            X = np.pad(X, ((0, 0), (0, 0), (self.pad, self.pad), (self.pad, self.pad)))
        # (n, C, oh, ow, fh, fw) → one row per (image, i, j), channel-major like the filters
        cols = X[:, :, self.ii, self.jj].transpose(0, 2, 3, 1, 4, 5).reshape(n * self.oh * self.ow, -1)
        aF = sigmoid(cols @ F.reshape(K, -1).T + fb)                      # (n·oh·ow, K)
        maps = aF.reshape(n, self.oh // p, p, self.ow // p, p, K)
        blocks = maps.transpose(0, 5, 1, 3, 2, 4).reshape(n, K, self.oh // p, self.ow // p, p * p)
        win = blocks.argmax(-1)
        aP = np.take_along_axis(blocks, win[..., None], -1)[..., 0]
        flat = aP.reshape(n, -1)
        aO = sigmoid(flat @ Wo.reshape(len(bo), -1).T + bo)
        cost = 0.5 * np.sum((T - aO) ** 2)
        dO = (aO - T) * aO * (1 - aO)
        back = (dO @ Wo.reshape(len(bo), -1)).reshape(aP.shape)
        routed = np.zeros_like(blocks)
        np.put_along_axis(routed, win[..., None], back[..., None], -1)
        dmaps = routed.reshape(n, K, self.oh // p, self.ow // p, p, p).transpose(0, 2, 4, 3, 5, 1)
        dF = dmaps.reshape(-1, K) * aF * (1 - aF)
        grads = {
            "filters": (dF.T @ cols).reshape(F.shape),
            "filter_bias": dF.sum(0),
            "out_W": (dO.T @ flat).reshape(Wo.shape),
            "out_b": dO.sum(0),
        }
        return cost, grads, {k: params[k] - eta * grads[k] for k in params}


def library_step(model, params, X, T, eta):
    cost, grads = model.cost_and_gradient(params, X, T)
    return cost, grads, {k: params[k] - eta * grads[k] for k in params}


def torch_step(torch, params, X, T, eta, pool, stride=1, padding=0):
    F = torch.nn.functional
    tp = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    x, t = torch.from_numpy(X if X.ndim == 4 else X[:, None]), torch.from_numpy(T)
    K, C = len(params["filters"]), x.shape[1]

    def step():
        for v in tp.values():
            v.grad = None
        filters = tp["filters"].reshape(K, C, *params["filters"].shape[-2:])
        aF = torch.sigmoid(F.conv2d(x, filters, tp["filter_bias"], stride=stride, padding=padding))
        aP = F.max_pool2d(aF, pool)
        aO = torch.sigmoid(aP.flatten(1) @ tp["out_W"].flatten(1).T + tp["out_b"])
        cost = 0.5 * ((t - aO) ** 2).sum()
        cost.backward()
        with torch.no_grad():
            new = {k: v - eta * v.grad for k, v in tp.items()}
        return float(cost.detach()), {k: v.grad.numpy() for k, v in tp.items()}, new

    return step


def agree(grads, reference) -> None:
    for k in reference:
        np.testing.assert_allclose(grads[k], reference[k], rtol=1e-9, atol=1e-11)


def microseconds(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms" if seconds >= 1e-3 else f"{seconds * 1e6:.0f} µs"


def case(title, model, params, X, T, pool, extra=()) -> str:
    """One row of the table: the array path, hand NumPy and ``extra`` timed in turn."""
    hand = HandCNN(model.network.image_shape, model.filter_size, pool, model.stride[0], model.padding[0])
    reference = library_step(model, params, X, T, 0.2)[1]
    agree(hand.step(params, X, T, 0.2)[1], reference)
    steps = {"array path": lambda: library_step(model, params, X, T, 0.2),
             "hand NumPy": lambda: hand.step(params, X, T, 0.2)}
    for name, fn in extra:
        agree(fn()[1], reference)
        steps[name] = fn
    timings = interleaved_per_call(steps, repeats=31, budget=0.2, baseline="hand NumPy")
    print(f"  {title}: array path / hand NumPy = {timings['array path'][3]:.2f}×", file=sys.stderr, flush=True)
    ours, theirs = timings["array path"], timings["hand NumPy"]
    others = "; ".join(f"{name} {microseconds(timings[name][0])}" for name, _ in extra)
    return (f"| {title} | {microseconds(ours[0])} [{microseconds(ours[1])}–{microseconds(ours[2])}] | "
            f"{microseconds(theirs[0])} [{microseconds(theirs[1])}–{microseconds(theirs[2])}] | "
            f"**{ours[3]:.2f}×** | {others} |")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readme", action="store_true", help="also write the table into README.md's cnn block")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        torch = None
    rows = []
    data = book_digits()
    model = CNNArrays()
    params = book_initial_params()
    start = time.perf_counter()
    scalar = CNNScalar()
    compile_s = time.perf_counter() - start
    extra = [("scalar path", lambda: library_step(scalar, params, data.X, data.T, 0.2))]
    if torch is not None:
        extra.append(("PyTorch f64", torch_step(torch, params, data.X, data.T, 0.2, 2)))
    rows.append(case("book CNN, 96 images", model, params, data.X, data.T, 2, extra))

    rng = np.random.default_rng(0)
    big = CNNArrays(image=(12, 12), filters=6, filter_size=(3, 3), pool=(2, 2), outputs=10)
    big_params = {k: rng.standard_normal(s) * 0.3 for k, s in big.parameter_shapes.items()}
    X = rng.random((256, 12, 12))
    T = np.eye(10)[rng.integers(0, 10, 256)]
    extra = [] if torch is None else [("PyTorch f64", torch_step(torch, big_params, X, T, 0.2, 2))]
    rows.append(case("12×12, 6 filters 3×3, pool 2×2, 10 outputs, batch 256", big, big_params, X, T, 2, extra))

    strided = CNNArrays(image=(15, 15), filters=8, filter_size=(3, 3), pool=(2, 2), outputs=10,
                        channels=3, stride=2, padding=1)
    strided_params = {k: rng.standard_normal(s) * 0.3 for k, s in strided.parameter_shapes.items()}
    X = rng.random((256, 3, 15, 15))
    T = np.eye(10)[rng.integers(0, 10, 256)]
    extra = [] if torch is None else [("PyTorch f64", torch_step(torch, strided_params, X, T, 0.2, 2, 2, 1))]
    rows.append(case("3 channels 15×15, 8 filters 3×3, stride 2, padding 1, pool 2×2, 10 outputs, batch 256",
                     strided, strided_params, X, T, 2, extra))
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "unknown"
    report = "\n".join([
        f"{datetime.date.today().isoformat()} · os.cpu_count() = {os.cpu_count()} · numpy {np.__version__} · "
        f"torch {torch.__version__ if torch is not None else 'not installed'} · BLAS and torch on one thread · "
        f"load average at the end {load} (1, 5, 15 min) · scalar path derived and compiled in {compile_s:.2f} s · "
        f"total run time {time.perf_counter() - started:.0f} s",
        "",
        "| one step (C_T, gradient, update) | array path, median [IQR] | hand-written NumPy, median [IQR] "
        "| array path / hand NumPy (median of rounds) | other, median |",
        "|---|---:|---:|---:|---|",
        *rows,
    ])
    print(report)
    if args.readme:
        write_block("cnn", report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
