"""Derivative hell against the δ recurrence: the README's comparison, in one command.

Run: ``python bench/comparison.py``. Measures, in one run:

- the four routes on the book's 12-3-2 (``symbackprop compare``);
- a sweep over depth from 12-3-2 (1 to 6 hidden layers of width 3);
- a sweep over width of 12-n-2 (n = 1 … 16);
- the logistic map's derivative, n = 1 … 12 (``compare --sweep logistic``);
- where the direct route's time goes on 12-3-2, 12-3-3-2 and the book's CNN
  (substitution, differentiation, simplification: :mod:`symbackprop.measure.direct_time`);

writes the three charts to ``bench/results/`` and replaces the block between
``<!-- comparison -->`` and ``<!-- /comparison -->`` in README.md with the
tables, the growth laws, the charts, the date and the machine's core count.
``--print`` writes the block to stdout and no file. Nothing is written when
the run is interrupted.
"""

from __future__ import annotations

import os

for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import argparse  # noqa: E402
import datetime  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import sympy as sp  # noqa: E402
from readme import write_block  # noqa: E402

from symbackprop import Network  # noqa: E402
from symbackprop.engine.cnn import cnn_from_spec  # noqa: E402
from symbackprop.measure import direct_time  # noqa: E402
from symbackprop.measure.compare import compare  # noqa: E402
from symbackprop.measure.logistic import logistic_sweep  # noqa: E402
from symbackprop.measure.sweep import default_points, sweep  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
BOOK = [12, 3, 2]
CAP = 60.0


def progress(network, route) -> None:
    print(f"  {'-'.join(map(str, network))}: {route}", file=sys.stderr, flush=True)


def block() -> tuple[str, dict[Path, str]] | None:
    """The README block and the charts to write; None when interrupted."""
    print("12-3-2, four routes", file=sys.stderr, flush=True)
    book = compare(BOOK, batch=64, cap=CAP)
    parts = [
        f"Measured on {datetime.date.today().isoformat()} on a machine with {os.cpu_count()} cores "
        f"(Python {platform.python_version()}, SymPy {sp.__version__}, NumPy {np.__version__}, "
        f"BLAS on one thread) by `python bench/comparison.py`; every route runs under a {CAP:g} s cap "
        "(deriving, sizing, compiling and timing it). Sigmoid units, squared error, a batch of 64.",
        "",
        "**The book's 12-3-2** (`symbackprop compare`):",
        "",
        book.markdown(),
    ]
    charts = {}
    for over, largest in (("depth", 6), ("width", 16)):
        print(f"sweep over {over}", file=sys.stderr, flush=True)
        result = sweep(over, BOOK, default_points(over, largest), batch=64, cap=CAP, on_route=progress)
        if result.interrupted:
            return None
        chart = RESULTS / f"sweep-{over}.svg"
        charts[chart] = result.chart()
        what = "hidden layers of width 3" if over == "depth" else "the width n of 12-n-2"
        parts += [
            "",
            f"**Sweep over {over}** (`symbackprop compare --sweep {over} --max {largest} --cap {CAP:g} "
            f"--chart …`), growing {what}:",
            "",
            f"![sweep over {over}](bench/results/{chart.name})",
            "",
            result.markdown(),
        ]
    print("the logistic map", file=sys.stderr, flush=True)
    logistic = logistic_sweep(default_points("logistic", 12))
    charts[RESULTS / "logistic.svg"] = logistic.chart()
    parts += [
        "",
        "**The logistic map** (`symbackprop compare --sweep logistic --max 12 --chart …`): "
        "l_0 = x, l_{n+1} = 4 l_n (1 − l_n), and dl_n/dx:",
        "",
        "![the logistic map](bench/results/logistic.svg)",
        "",
        logistic.markdown(),
    ]
    print("where the direct route's time goes", file=sys.stderr, flush=True)
    models = [Network([12, 3, 2]), Network([12, 3, 3, 2]), cnn_from_spec("6x6,3,3x3,2x2,3")]
    rows = [direct_time.direct_time(model) for model in models]
    parts += [
        "",
        "**Where the direct route's time goes** (CPU seconds, each stage from an empty SymPy cache; "
        "the share of tree walks is profiled):",
        "",
        direct_time.markdown(rows),
    ]
    return "\n".join(parts), charts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--print", action="store_true", help="print the block instead of writing README.md")
    args = parser.parse_args()
    measured = block()
    if measured is None:
        print("interrupted: nothing written", file=sys.stderr)
        return 130
    text, charts = measured
    if args.print:
        print(text)
        return 0
    # Written only once everything is measured: the README and its charts stay one run.
    RESULTS.mkdir(parents=True, exist_ok=True)
    for path, svg in charts.items():
        path.write_text(svg, encoding="utf-8")
    return 0 if write_block("comparison", text) else 1


if __name__ == "__main__":
    sys.exit(main())
