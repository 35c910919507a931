"""Gradient evaluation against peers: the same networks, the same batches, one run.

Run: ``python bench/peers.py`` (``--readme`` also writes the report into
README.md's peers block; ``--quick`` for a smoke test: fewer, shorter
repeats and only the book's 12-3-2; ``--cold-cache`` to give PyTensor an
empty compile cache so its setup time includes compiling its C and Numba
code, which a warm cache from an earlier run skips).

For the book's 12-3-2 with 64 examples, 64-32-10 with 256 examples and
64-64-64-10 with 256 examples (sigmoid units, C_T = ½ Σ (a^L − t)²), one
evaluation of C_T and its full gradient is timed for:

- symbackprop's array path (``ArrayModel``, compiled afresh, no reuse);
- symbackprop's scalar path, one lambdified expression per weight
  (``ScalarModel``), on NumPy and on SymEngine's LLVM ``Lambdify``;
- a hand-written vectorised NumPy backprop, the baseline of the ratios;
- PyTorch CPU autograd, float64;
- PyTensor, the graph built once, differentiated by ``pytensor.grad`` and
  compiled by ``pytensor.function``, float64, with its default Numba
  backend and with its C virtual machine.

"Setup" is everything before timing starts: deriving and compiling (or
building the graph) plus the first call, since Numba compiles on first
call. Every implementation must first agree with the array path's cost
and gradient to 1e-8 relative; one that does not is reported and not
timed, and the script then exits with status 1. The scalar path's compile
is abandoned after ``SCALAR_COMPILE_CAP`` seconds. The optional peers
(SymEngine, PyTorch, PyTensor) are skipped with the reason when they
cannot be imported.

Timings are the median and interquartile range of 31 loops per
implementation, the loops of all implementations of one network taken in
turn, round by round (see ``timing.interleaved_per_call``), so that a change
of load on a shared machine falls on all of them alike; the ratio to hand
NumPy is the median over the rounds of the ratio within a round. BLAS, OpenMP and PyTorch run on one thread:
at these sizes threads only add contention, and one thread makes the
comparison one of code rather than of thread pools. The report (a version
line, a Markdown table, notes) goes to stdout; progress goes to stderr.
"""

from __future__ import annotations

import os

for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import time  # noqa: E402

STARTED = time.perf_counter()

import argparse  # noqa: E402
import atexit  # noqa: E402
import contextlib  # noqa: E402
import datetime  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass  # noqa: E402

import numpy as np  # noqa: E402
import sympy  # noqa: E402
from readme import write_block  # noqa: E402
from timing import interleaved_per_call  # noqa: E402

from symbackprop.functions.activations import NUMPY_FUNCTIONS  # noqa: E402
from symbackprop.numeric.arrays import ArrayModel  # noqa: E402
from symbackprop.numeric.scalar import ScalarModel  # noqa: E402
from symbackprop.numeric.train import initial_params  # noqa: E402

sigmoid = NUMPY_FUNCTIONS["sigmoid"]

NETWORKS = (((12, 3, 2), 64), ((64, 32, 10), 256), ((64, 64, 64, 10), 256))
SCALAR_COMPILE_CAP = 60.0
TOLERANCE = 1e-8

Step = Callable[[], tuple[float, dict[str, np.ndarray]]]


class Skipped(Exception):
    """An implementation that cannot run here; the message says why."""


@contextlib.contextmanager
def time_limit(seconds: float):
    """Raise :class:`Skipped` in the main thread after ``seconds``.

    SymPy's derivation is pure Python, so an alarm interrupts it; without
    SIGALRM (Windows) the cap is not enforced.
    """
    if not hasattr(signal, "SIGALRM"):
        yield
        return

    def expire(signum, frame):
        raise Skipped(f"compile exceeded the {seconds:g} s cap")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def data(sizes, batch, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((batch, sizes[0]))
    T = np.eye(sizes[-1])[rng.integers(0, sizes[-1], batch)]
    return X, T


def layers(sizes) -> range:
    return range(2, len(sizes) + 1)


# --- the implementations: each builds a no-argument step for one batch ----------------------------


def scalar_step(backend):
    def build(sizes, params, X, T, peers) -> Step:
        if backend == "symengine" and peers["symengine"] is None:
            raise Skipped("SymEngine is not installed (pip install 'symbackprop[symengine]')")
        with time_limit(SCALAR_COMPILE_CAP):
            model = ScalarModel(list(sizes), backend=backend)
        return lambda: model.cost_and_gradient(params, X, T)

    return build


def hand_numpy(params, X, T):
    """Backprop for a sigmoid network of any depth with squared error, written by hand."""
    depth = len(params) // 2 + 1
    activations = [X]
    for l in range(2, depth + 1):
        activations.append(sigmoid(activations[-1] @ params[f"W{l}"].T + params[f"b{l}"]))
    output = activations[-1]
    error = output - T
    delta = error * output * (1 - output)
    gradient = {}
    for l in range(depth, 1, -1):
        below = activations[l - 2]
        gradient[f"W{l}"] = delta.T @ below
        gradient[f"b{l}"] = delta.sum(axis=0)
        if l > 2:
            delta = (delta @ params[f"W{l}"]) * below * (1 - below)
    return 0.5 * np.sum(error**2), gradient


def hand_step(sizes, params, X, T, peers) -> Step:
    return lambda: hand_numpy(params, X, T)


def torch_step(sizes, params, X, T, peers) -> Step:
    torch = peers["torch"]
    if torch is None:
        raise Skipped("PyTorch is not installed (pip install torch)")
    tensors = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    x, t = torch.from_numpy(X), torch.from_numpy(T)

    def step():
        for v in tensors.values():
            v.grad = None
        a = x
        for l in layers(sizes):
            a = torch.sigmoid(a @ tensors[f"W{l}"].T + tensors[f"b{l}"])
        cost = 0.5 * ((a - t) ** 2).sum()
        cost.backward()
        return cost.item(), {k: v.grad.numpy() for k, v in tensors.items()}

    return step


def pytensor_step(mode):
    def build(sizes, params, X, T, peers) -> Step:
        pytensor = peers["pytensor"]
        if pytensor is None:
            raise Skipped("PyTensor is not installed (pip install pytensor)")
        pt = pytensor.tensor
        x, t = pt.dmatrix("X"), pt.dmatrix("T")
        symbols = {}
        a = x
        for l in layers(sizes):
            symbols[f"W{l}"], symbols[f"b{l}"] = pt.dmatrix(f"W{l}"), pt.dvector(f"b{l}")
            a = pt.sigmoid(a @ symbols[f"W{l}"].T + symbols[f"b{l}"])
        cost = 0.5 * pt.sum((a - t) ** 2)
        names = list(symbols)
        try:
            function = pytensor.function(
                [x, t, *symbols.values()], [cost, *pytensor.grad(cost, list(symbols.values()))], mode=mode
            )
        except Exception as error:  # a backend without its compiler (numba, g++) is a skip, not a crash
            raise Skipped(f"{mode} compile failed: {type(error).__name__}: {error}") from error

        def step():
            # the parameters are read from the dict on every call, as every other implementation does
            cost, *gradient = function(X, T, *[params[name] for name in names])
            return float(cost), dict(zip(names, gradient))

        return step

    return build


REFERENCE = "symbackprop array path"
IMPLEMENTATIONS = (
    ("symbackprop scalar path (lambdify)", scalar_step("numpy")),
    ("symbackprop scalar path (SymEngine LLVM)", scalar_step("symengine")),
    ("hand-written NumPy", hand_step),
    ("PyTorch autograd", torch_step),
    ("PyTensor (Numba, default)", pytensor_step("NUMBA")),
    ("PyTensor (C VM)", pytensor_step("CVM")),
)
BASELINE = "hand-written NumPy"


# --- running and reporting -----------------------------------------------------------------------


@dataclass
class Row:
    network: str
    implementation: str
    setup: float | None = None
    timing: tuple[float, float, float] | None = None
    ratio: float | None = None
    difference: float | None = None
    note: str = ""
    failed: bool = False


def difference(reference, other) -> tuple[float, float]:
    """The largest absolute difference in C_T and the gradient, and the larger
    relative one: C_T's against C_T, the gradient's against its largest entry.

    Measured separately because C_T sums over the batch and can dwarf the
    gradient's entries, which would hide a wrong gradient.
    """
    ref_cost, ref_gradient = reference
    cost, gradient = other
    if set(gradient) != set(ref_gradient):
        raise ValueError(f"parameters {sorted(gradient)} instead of {sorted(ref_gradient)}")
    tiny = np.finfo(float).tiny
    cost_gap = abs(cost - ref_cost)
    gradient_gap, scale = 0.0, 0.0
    for name, ref in ref_gradient.items():
        value = np.asarray(gradient[name])
        # a (n,1) against an (n,) bias would broadcast into a wrong but small difference
        if value.shape != ref.shape:
            raise ValueError(f"{name} has shape {value.shape}, not {ref.shape}")
        gradient_gap = max(gradient_gap, float(np.max(np.abs(value - ref))))
        scale = max(scale, float(np.max(np.abs(ref))))
    relative = max(cost_gap / max(abs(ref_cost), tiny), gradient_gap / max(scale, tiny))
    return max(cost_gap, gradient_gap), relative


def run_network(sizes, batch, peers, repeats, budget) -> list[Row]:
    name = f"{'-'.join(map(str, sizes))} ×{batch}"
    # The array path is the reference and the source of the parameters, so it is built first.
    start = time.perf_counter()
    array = ArrayModel(list(sizes), reuse=False)
    params = initial_params(array, seed=0)
    X, T = data(sizes, batch)
    reference = array.cost_and_gradient(params, X, T)
    rows = [Row(name, REFERENCE, setup=time.perf_counter() - start, difference=0.0)]
    steps = {REFERENCE: lambda: array.cost_and_gradient(params, X, T)}
    for label, build in IMPLEMENTATIONS:
        row = Row(name, label)
        rows.append(row)
        start = time.perf_counter()
        try:
            step = build(sizes, params, X, T, peers)
            result = step()
        except Skipped as skipped:
            row.setup = time.perf_counter() - start if "cap" in str(skipped) else None
            row.note = f"skipped: {skipped}"
            continue
        row.setup = time.perf_counter() - start
        try:
            row.difference, relative = difference(reference, result)
        except ValueError as error:
            row.failed, row.note = True, f"FAILED: {error}"
            continue
        if not relative <= TOLERANCE:
            row.failed, row.note = True, f"FAILED: differs by {relative:.1e} relative (> {TOLERANCE:g})"
            continue
        steps[label] = step
    timings = interleaved_per_call(steps, repeats=repeats, budget=budget,
                                   baseline=BASELINE if BASELINE in steps else None)
    for row in rows:
        if row.implementation in timings:
            *quartiles, row.ratio = timings[row.implementation]
            row.timing = tuple(quartiles)
            progress(row)
    return rows


def progress(row: Row) -> None:
    # stderr, so that stdout stays the Markdown report alone
    print(f"  {row.network:>18}  {row.implementation:<42} {row.timing[0] * 1e6:10.1f} µs", file=sys.stderr, flush=True)


def microseconds(seconds: float) -> str:
    us = seconds * 1e6
    return f"{us:.0f}" if us >= 1000 else f"{us:.1f}"


def table(rows: list[Row]) -> str:
    lines = [
        "| network × examples | implementation | setup (s) | median µs per gradient [IQR] | × hand NumPy (median of rounds) | max abs diff vs array path |",
        "|---|---|--:|--:|--:|--:|",
    ]
    for r in rows:
        if r.setup is None:
            setup = "—"
        elif r.note.startswith("skipped") and "cap" in r.note:
            setup = f"> {SCALAR_COMPILE_CAP:g}"
        else:
            setup = f"{r.setup:.2f}"
        if r.timing:
            median, lower, upper = r.timing
            timing = f"{microseconds(median)} [{microseconds(lower)}–{microseconds(upper)}]"
            ratio = "—" if r.ratio is None else f"{r.ratio:.2f}×"
        else:
            timing, ratio = r.note, "—"
        diff = "—" if r.difference is None else f"{r.difference:.1e}"
        lines.append(f"| {r.network} | {r.implementation} | {setup} | {timing} | {ratio} | {diff} |")
    return "\n".join(lines)


def import_peers(cold_cache: bool) -> tuple[dict, list[str]]:
    """The optional peers' modules (None when absent) and notes on how they were set up."""
    peers, notes = {}, []
    try:
        import symengine
    except ImportError:
        symengine = None
    peers["symengine"] = symengine
    try:
        import torch
    except ImportError:
        torch = None
    else:
        torch.set_num_threads(1)
    peers["torch"] = torch
    if cold_cache:
        cache = tempfile.mkdtemp(prefix="pytensor-cold-")
        atexit.register(shutil.rmtree, cache, ignore_errors=True)
        os.environ["PYTENSOR_FLAGS"] = ",".join(filter(None, [os.environ.get("PYTENSOR_FLAGS"), f"compiledir={cache}"]))
    # PyTensor warns at length when it finds no BLAS; that is summarised once in the notes.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            import pytensor
            import pytensor.tensor  # noqa: F401
        except ImportError:
            pytensor = None
        else:
            # the lookup is lazy: read it here, where its warning is silenced
            blas = pytensor.config.blas__ldflags
    peers["pytensor"] = pytensor
    if pytensor is not None:
        if not blas:
            notes.append("PyTensor found no BLAS to link its C code to (pip-installed NumPy bundles a "
                         "renamed OpenBLAS): its C VM computes matrix products through NumPy")
        notes.append(f"PyTensor compile cache {pytensor.config.compiledir} ({'empty' if cold_cache else 'as left by earlier runs'})")
    return peers, notes


def version_line(peers) -> str:
    def version(module):
        return module.__version__ if module is not None else "not installed"

    try:
        from threadpoolctl import threadpool_info

        pools = sorted({f"{p['internal_api']} {p['num_threads']}" for p in threadpool_info()})
        blas = ", ".join(pools) if pools else "none loaded"
    except ImportError:
        blas = f"OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']} (threadpoolctl absent)"
    torch = peers["torch"]
    torch_threads = f", torch threads {torch.get_num_threads()}" if torch is not None else ""
    return (
        f"{datetime.date.today().isoformat()} · os.cpu_count() = {os.cpu_count()} · Python {sys.version.split()[0]} · "
        f"numpy {np.__version__} · sympy {sympy.__version__} · torch {version(torch)} · "
        f"pytensor {version(peers['pytensor'])} · symengine {version(peers['symengine'])} · "
        f"thread pools: {blas}{torch_threads}"
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter repeats on 12-3-2 only (smoke test)")
    parser.add_argument("--cold-cache", action="store_true", help="give PyTensor an empty compile cache")
    parser.add_argument("--readme", action="store_true", help="also write the report into README.md's peers block")
    args = parser.parse_args(argv)
    peers, notes = import_peers(args.cold_cache)
    # PyTensor repeats its BLAS warning on every compile; it is summarised once in the notes.
    warnings.filterwarnings("ignore", module="pytensor")
    networks = NETWORKS[:1] if args.quick else NETWORKS
    repeats, budget = (3, 0.02) if args.quick else (31, 0.2)
    rows = []
    for sizes, batch in networks:
        rows += run_network(sizes, batch, peers, repeats, budget)
    notes = [*notes, f"total run time {time.perf_counter() - STARTED:.0f} s"]
    report = "\n".join([version_line(peers), "", table(rows), "", *(f"- {note}" for note in notes)])
    print(report)
    failed = any(r.failed for r in rows)
    if args.readme and not failed:
        write_block("peers", report)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
