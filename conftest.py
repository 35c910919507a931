"""Names every doctest may use without importing them."""

import os
import shutil

# One thread for BLAS (and OpenMP) in each test process, set before NumPy
# loads and inherited by the processes the tests start: `pytest -n auto` runs
# one process per core already, and on the tests' small arrays extra BLAS
# threads only wait for each other (training the 2-channel CNN of
# tests/test_cnn_general.py took 2.9 s of CPU with two threads, 0.09 s with one).
for _threads in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_threads, "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import sympy as sp  # noqa: E402
from hypothesis import settings  # noqa: E402

import symbackprop  # noqa: E402

# The tests of this file's own hooks run pytest inside pytest.
pytest_plugins = ["pytester"]
# Fixture generators import what the tests must do without (PyTorch).
collect_ignore = ["tests/fixtures"]


@pytest.fixture(autouse=True)
def _doctest_names(doctest_namespace):
    doctest_namespace.update(np=np, sp=sp, Network=symbackprop.Network)


# CI explores the same examples every run, so a red build always reproduces;
# local runs keep drawing new ones.
if os.environ.get("CI"):
    settings.register_profile("ci", derandomize=True, deadline=None)
    settings.load_profile("ci")


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "needs(*programs, install=...): the test runs these programs; it skips without them, "
        "except under CI, where a missing program fails it",
    )


def pytest_runtest_setup(item):
    # Locally a missing pdflatex is a reason to skip; in CI it would hide the
    # tests that prove every document typesets, so there it is a failure.
    for mark in item.iter_markers("needs"):
        missing = [program for program in mark.args if shutil.which(program) is None]
        if missing:
            why = f"{' and '.join(missing)} not installed (Debian: {mark.kwargs['install']})"
            if os.environ.get("CI"):
                pytest.fail(f"{why}; CI must run this test, not skip it", pytrace=False)
            pytest.skip(why)


@pytest.fixture
def run_main(capsys):
    """Run the command line in this process, as ``python -m symbackprop`` would.

    Returns what a finished subprocess would: the exit status and both
    streams. Tests of the real entry point (a fresh interpreter, signals,
    terminals) start a subprocess instead; the rest save its start-up.
    """
    import subprocess

    from symbackprop.cli import main

    def run(*args: str) -> subprocess.CompletedProcess:
        capsys.readouterr()
        try:
            status = main(list(args))
        except SystemExit as exc:  # argparse's own errors and --help
            status = exc.code if isinstance(exc.code, int) else 1
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(list(args), status, out, err)

    return run
