"""Fixtures that several test modules share because they are expensive to build."""

from __future__ import annotations

import pytest

from symbackprop.documents.topics import all_documents


@pytest.fixture(scope="session")
def documents():
    """Every derivation document, built once per test process (building them takes seconds)."""
    return all_documents()


@pytest.fixture(scope="session")
def central_differences():
    """``differences(cost, params)``: ``(cost(p + h e) − cost(p − h e)) / 2h`` for
    every entry ``e`` of every parameter array, as ``{name: array}`` shaped like
    ``params`` (h = 10⁻⁶), to hold a computed gradient against."""

    def differences(cost, params, h=1e-6):
        import numpy as np

        estimates = {}
        for name, value in params.items():
            estimates[name] = np.empty(value.shape)
            for index in np.ndindex(value.shape):
                up = {k: v.copy() for k, v in params.items()}
                down = {k: v.copy() for k, v in params.items()}
                up[name][index] += h
                down[name][index] -= h
                estimates[name][index] = (cost(up) - cost(down)) / (2 * h)
        return estimates

    return differences


#: Runs in a new interpreter: imports each exported file by path, evaluates it on its
#: stored batch (``cost``, ``forward`` and the gradient into ``<batch>.out.npz``) and
#: prints what was imported of SymPy, the library, torch or SciPy.
_EXPORTED_RUNNER = r"""
import importlib.util, json, sys
import numpy
for name, path, data in json.loads(sys.argv[1]):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    arrays = dict(numpy.load(data))
    X, T = arrays.pop("X"), arrays.pop("T")
    cost, gradient = module.cost_and_gradient(arrays, X, T)
    numpy.savez(data + ".out.npz", cost=cost, forward=module.forward(arrays, X), **gradient)
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in ("sympy", "symbackprop", "torch", "scipy"))))
"""


@pytest.fixture(scope="session")
def run_exported():
    """``run(cases, folder)``: each ``(name, module path, batch .npz)`` run in one fresh
    Python process; returns the modules of SymPy, the library, torch or SciPy it imported."""
    import json
    import subprocess
    import sys

    def run(cases, folder) -> list[str]:
        done = subprocess.run([sys.executable, "-c", _EXPORTED_RUNNER, json.dumps(cases)], capture_output=True,
                              text=True, check=True, cwd=folder)
        return json.loads(done.stdout)

    return run
