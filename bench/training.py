"""Training benchmark: one step (C_T and the full gradient) of the compiled paths.

Run: ``python bench/training.py``. Measured side by side in one run:

- the array path against a hand-written vectorised NumPy backprop on
  64-32-10 with a batch of 256 (target: within 1.5×);
- the array path against PyTorch CPU autograd on the book's 12-3-2 with 64
  examples (skipped with a message when torch is not installed);
- the scalar path (one expression per weight) against the array path:
  step time and compile time (derive + lambdify) for 12-3-2 and 64-32-10.

Every timing is the best of several repeats of a loop; every compared
implementation first has to agree with the array path's gradient. BLAS and
PyTorch run on one thread: at these sizes threads only add contention
(on a shared 2-core machine they made every NumPy step up to 30× slower
and the timings erratic).
"""

from __future__ import annotations

import os

for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import time  # noqa: E402

import numpy as np  # noqa: E402
from timing import per_call  # noqa: E402

from symbackprop.activations import NUMPY_FUNCTIONS  # noqa: E402
from symbackprop.arrays import ArrayModel  # noqa: E402
from symbackprop.compile import ScalarModel  # noqa: E402
from symbackprop.train import initial_params  # noqa: E402

sigmoid = NUMPY_FUNCTIONS["sigmoid"]


def hand_numpy(params, X, T):
    """Backprop for a sigmoid network with squared error, written by hand."""
    W2, b2, W3, b3 = params["W2"], params["b2"], params["W3"], params["b3"]
    a2 = sigmoid(X @ W2.T + b2)
    a3 = sigmoid(a2 @ W3.T + b3)
    d3 = (a3 - T) * a3 * (1 - a3)
    d2 = (d3 @ W3) * a2 * (1 - a2)
    cost = 0.5 * np.sum((a3 - T) ** 2)
    return cost, {"W2": d2.T @ X, "b2": d2.sum(axis=0), "W3": d3.T @ a2, "b3": d3.sum(axis=0)}


def torch_step(torch, params, X, T):
    """C_T and its gradient by PyTorch autograd (float64, CPU)."""
    tensors = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    x, t = torch.from_numpy(X), torch.from_numpy(T)

    def step():
        for v in tensors.values():
            v.grad = None
        a2 = torch.sigmoid(x @ tensors["W2"].T + tensors["b2"])
        a3 = torch.sigmoid(a2 @ tensors["W3"].T + tensors["b3"])
        cost = 0.5 * ((a3 - t) ** 2).sum()
        cost.backward()
        return cost.item(), {k: v.grad.numpy() for k, v in tensors.items()}

    return step


def data(sizes, batch, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((batch, sizes[0]))
    T = np.eye(sizes[-1])[rng.integers(0, sizes[-1], batch)]
    return X, T


def agree(reference, other) -> float:
    return max(float(np.max(np.abs(reference[1][k] - other[1][k]))) for k in reference[1])


def timed(build):
    start = time.perf_counter()
    model = build()
    return model, time.perf_counter() - start


def main() -> None:
    results = {}
    # 1. array path vs hand-written NumPy, 64-32-10, batch 256
    sizes, batch = [64, 32, 10], 256
    array, array_compile = timed(lambda: ArrayModel(sizes, reuse=False))
    params = initial_params(array, seed=0)
    X, T = data(sizes, batch)
    gap = agree(array.cost_and_gradient(params, X, T), hand_numpy(params, X, T))
    t_array = per_call(lambda: array.cost_and_gradient(params, X, T))
    t_hand = per_call(lambda: hand_numpy(params, X, T))
    results["64-32-10"] = (array, array_compile, params, X, T, t_array)
    print(f"64-32-10, batch 256: array path {t_array * 1e6:.0f} µs, hand NumPy {t_hand * 1e6:.0f} µs "
          f"per step: ratio {t_array / t_hand:.2f}× (target ≤ 1.5×; gradients agree to {gap:.1e})")

    # 2. array path vs PyTorch autograd, 12-3-2, 64 examples
    sizes, batch = [12, 3, 2], 64
    small, small_compile = timed(lambda: ArrayModel(sizes, reuse=False))
    sparams = initial_params(small, seed=0)
    sX, sT = data(sizes, batch)
    t_small = per_call(lambda: small.cost_and_gradient(sparams, sX, sT))
    results["12-3-2"] = (small, small_compile, sparams, sX, sT, t_small)
    try:
        import torch
    except ImportError:
        print("12-3-2, 64 examples: PyTorch is not installed; skipping the autograd comparison "
              "(pip install torch to run it)")
    else:
        torch.set_num_threads(1)
        step = torch_step(torch, sparams, sX, sT)
        gap = agree(small.cost_and_gradient(sparams, sX, sT), step())
        t_torch = per_call(step)
        print(f"12-3-2, 64 examples: array path {t_small * 1e6:.1f} µs, PyTorch {torch.__version__} CPU "
              f"autograd (float64, 1 thread) {t_torch * 1e6:.1f} µs per step: array path "
              f"{t_torch / t_small:.1f}× faster (gradients agree to {gap:.1e})")

    # 3. scalar path vs array path: step and compile times
    for name in ("12-3-2", "64-32-10"):
        array, array_compile, params, X, T, t_array = results[name]
        sizes = [int(n) for n in name.split("-")]
        scalar, scalar_compile = timed(lambda sizes=sizes: ScalarModel(sizes))
        gap = agree(array.cost_and_gradient(params, X, T), scalar.cost_and_gradient(params, X, T))
        t_scalar = per_call(lambda scalar=scalar, params=params, X=X, T=T: scalar.cost_and_gradient(params, X, T),
                            repeats=3)
        print(f"{name}, batch {len(X)}: scalar path step {t_scalar * 1e6:.0f} µs vs array path "
              f"{t_array * 1e6:.1f} µs ({t_scalar / t_array:.1f}×); compile (derive + lambdify) scalar "
              f"{scalar_compile:.2f} s vs array {array_compile:.2f} s (gradients agree to {gap:.1e})")
        try:
            import symengine  # noqa: F401
        except ImportError:
            print("  SymEngine is not installed; skipping its LLVM backend (pip install 'symbackprop[symengine]')")
            continue
        llvm, llvm_compile = timed(lambda sizes=sizes: ScalarModel(sizes, backend="symengine"))
        gap = agree(array.cost_and_gradient(params, X, T), llvm.cost_and_gradient(params, X, T))
        t_llvm = per_call(lambda llvm=llvm, params=params, X=X, T=T: llvm.cost_and_gradient(params, X, T))
        print(f"  scalar path on SymEngine's LLVM Lambdify: step {t_llvm * 1e6:.0f} µs "
              f"({t_llvm / t_array:.1f}× the array path), compile {llvm_compile:.2f} s "
              f"(gradients agree to {gap:.1e})")
    print(f"array path compile time for 64-32-10 (derive + lambdify): {results['64-32-10'][1]:.2f} s")


if __name__ == "__main__":
    main()
