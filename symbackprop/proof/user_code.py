"""Someone's own gradient function, run in a separate Python process.

The process is the same interpreter in isolated mode (``-I``: no
``PYTHONPATH``, no user site, no current folder on the path; the module's
own folder is added so that it can import its neighbours). Its arguments
and results travel as ``.npz`` files, never as pickles, and it is stopped at
the time limit. When the code raises, the error carries *its* traceback,
from the code's own frames down; this tool's frames are left out.
"""

from __future__ import annotations

import math
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from ..errors import ArgumentError, DataError, echo
from ..guards import MAX_USER_CODE_SECONDS

_RUNNER = r'''
import os, sys, traceback, importlib.util
import numpy as np

def fail(code):
    kind, value, tb = sys.exc_info()
    # the user's frames only: this runner's own frame is the first
    sys.stderr.write("".join(traceback.format_exception(kind, value, tb.tb_next if tb else None)))
    sys.exit(code)

source, target, path, name = sys.argv[1:5]
sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
data = np.load(source, allow_pickle=False)
try:
    spec = importlib.util.spec_from_file_location("checked_gradient", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
except BaseException:
    fail(3)
if not callable(getattr(module, name, None)):
    sys.stderr.write(f"{path} has no function {name!r}\n")
    sys.exit(4)
function = getattr(module, name)
results = {}
for k in range(int(data["count"])):
    prefix = f"p.{k}."
    params = {key[len(prefix):]: data[key].copy() for key in data.files if key.startswith(prefix)}
    try:
        returned = function(params, data[f"X.{k}"].copy(), data[f"T.{k}"].copy())
    except BaseException:
        fail(3)
    if not isinstance(returned, dict):
        sys.stderr.write(f"the function returned {type(returned).__name__}, not a dict of arrays by parameter name\n")
        sys.exit(4)
    for key, value in returned.items():
        try:
            results[f"g.{k}.{key}"] = np.asarray(value, dtype=float)
        except (TypeError, ValueError) as exc:
            sys.stderr.write(f"the gradient {key!r} is not an array of numbers: {exc}\n")
            sys.exit(4)
np.savez(target, **results)
'''


class UserCodeFailed(Exception):
    """The checked code raised, returned something else than gradients, or
    ran out of time; the message is its traceback or what was wrong."""


def parse_function_spec(spec: str) -> tuple[Path, str]:
    """``"path/to/module.py:function"`` → the file and the function's name.

    >>> parse_function_spec("mine.py")
    Traceback (most recent call last):
    ...
    symbackprop.errors.ArgumentError: name the function as MODULE.py:FUNCTION, e.g. mybackprop.py:gradient; got 'mine.py'
    """
    if not isinstance(spec, str) or ":" not in spec:
        raise ArgumentError(f"name the function as MODULE.py:FUNCTION, e.g. mybackprop.py:gradient; got {echo(spec)}")
    path_text, name = spec.rsplit(":", 1)
    if not name.isidentifier():
        raise ArgumentError(f"{echo(name)} is not a Python function name (in {echo(spec)})")
    path = Path(path_text)
    if path.suffix != ".py":
        raise ArgumentError(f"the module must be a .py file; got {echo(path_text)}")
    if not path.is_file():
        raise DataError(f"{path}: no such Python file")
    return path, name


def run_user_function(spec: str, calls: list[tuple[dict, np.ndarray, np.ndarray]],
                      timeout: float = 60.0) -> list[dict[str, np.ndarray]]:
    """Call the function named by ``spec`` on each ``(params, X, T)`` in a
    separate process; its results, one dict per call.

    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = pathlib.Path(folder, "g.py")
    ...     _ = path.write_text("def g(params, X, T):\\n    return {'W2': 2 * params['W2']}\\n")
    ...     run_user_function(f"{path}:g", [({"W2": np.ones(2)}, np.zeros((1, 1)), np.zeros((1, 1)))])
    [{'W2': array([2., 2.])}]
    """
    path, name = parse_function_spec(spec)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= MAX_USER_CODE_SECONDS \
            or math.isnan(timeout):
        raise ArgumentError(f"the time limit must be a number of seconds above 0 and up to {MAX_USER_CODE_SECONDS:g}; got {echo(timeout)}")
    arrays: dict[str, np.ndarray] = {"count": np.array(len(calls))}
    for k, (params, X, T) in enumerate(calls):
        arrays.update({f"p.{k}.{n}": np.asarray(v, dtype=float) for n, v in params.items()})
        arrays[f"X.{k}"], arrays[f"T.{k}"] = np.asarray(X, dtype=float), np.asarray(T, dtype=float)
    with tempfile.TemporaryDirectory() as folder:
        source, target = Path(folder, "arguments.npz"), Path(folder, "gradients.npz")
        np.savez(source, **arrays)
        try:
            done = subprocess.run(
                [sys.executable, "-I", "-c", _RUNNER, str(source), str(target), str(path.resolve()), name],
                capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL, cwd=folder,
            )
        except subprocess.TimeoutExpired:
            raise UserCodeFailed(f"{spec} did not return within {timeout:g} s (the time limit); it was stopped") from None
        if done.returncode != 0:
            raise UserCodeFailed(done.stderr.strip() or f"{spec} ended with status {done.returncode}")
        with np.load(target, allow_pickle=False) as data:
            results: list[dict[str, np.ndarray]] = [{} for _ in calls]
            for key in data.files:
                _, k, block = key.split(".", 2)
                results[int(k)][block] = data[key]
    return results
