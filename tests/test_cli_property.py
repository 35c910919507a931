"""The command line under generated input: whatever it is given, it answers
with an exit status (0 agree, 1 disagree, 2 bad input, 130 interrupted),
never a traceback, in bounded time, and it changes no file but the one it
was told to write.

Each case runs in-process (a subprocess per case would cost the suite a
second each); an exception escaping ``main`` is what a user would have seen
as a traceback. A case that would run away is stopped by an alarm and fails:
the tool must refuse such work up front.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symbackprop.cli import main

#: Seconds a case may take before it counts as runaway work (generous: the
#: machine may be busy; a refusal up front takes milliseconds).
HANG_SECONDS = 30

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGALRM"), reason="needs SIGALRM to bound each case")


class Runaway(Exception):
    pass


def _alarm(signum, frame):
    raise Runaway


def run_cli(argv: list[str]) -> tuple[int, str]:
    """Exit status and everything printed, or a test failure for a traceback or a hang."""
    out = io.StringIO()
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(HANG_SECONDS)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            try:
                status = main(argv)
            except SystemExit as exc:  # argparse's --help and --version
                status = exc.code if isinstance(exc.code, int) else 0
    except Runaway:
        pytest.fail(f"runaway work (over {HANG_SECONDS} s): symbackprop {' '.join(argv)}")
    except Exception as exc:  # noqa: BLE001 — anything escaping main is a traceback for the user
        pytest.fail(f"traceback ({type(exc).__name__}: {exc}) for: symbackprop {' '.join(argv)}")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    text = out.getvalue()
    assert status in (0, 1, 2, 130), f"exit {status} for: symbackprop {' '.join(argv)}\n{text}"
    assert "Traceback" not in text, text
    if status == 2:
        errors = [line for line in text.splitlines() if line.startswith("symbackprop: error")]
        assert len(errors) == 1 and len(errors[0]) < 2000, text
    return status, text


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# --- what users type -------------------------------------------------------------

numbers = st.one_of(
    st.integers(-3, 12).map(str),
    st.sampled_from(["0", "-1", "1e23", "1e400", "10" * 30, "nan", "inf", "", " ", "1.5", "٣", "３",
                     "0x10", "1_000", "2/3", "-0"]),
)
widths = st.one_of(
    st.lists(st.integers(1, 3), min_size=2, max_size=3).map(lambda w: ",".join(map(str, w))),
    st.lists(numbers, min_size=0, max_size=4).map(",".join),
    st.sampled_from(["", ",", "2,,1", "4096,4096,1", "1024,1024,1", "2;2;1", "12,3,2"]),
)
expressions = st.one_of(
    st.sampled_from([
        "sigmoid", "tanh", "relu", "identity", "softsign", "step", "generic", "z/(1+exp(-z))",
        "abs(z)", "Heaviside(z)", "exp(exp(exp(exp(z))))", "((9**999)**999)**999*z", "((z+1)**1000)**1000",
        "(10**999)**5*z", "z" + "+z**2" * 150, "__import__('os')", "z.__class__", "lambda: 1", "z +",
        "log(-1)*z", "1/0", "zoo*z", "sin(z)**2 + cos(z)**2", "z\x00", "9" * 5000, "Max(z, 0)",
    ]),
    st.text(alphabet="z+-*/()0123456789.e ", min_size=1, max_size=20),
)
costs = st.sampled_from(["squared", "cross-entropy", "(t - a)**2/2", "abs(a - t)", "log(a)", "hinge", "", "a**t"])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(layers=widths, activation=expressions, points=numbers, seed=numbers)
def test_verify_answers_every_input(layers, activation, points, seed):
    run_cli(["verify", "--layers", layers, "--activation", activation, "--points", points, "--seed", seed])


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(layers=widths, activation=expressions, cost=costs, fmt=st.sampled_from(["text", "markdown", "latex"]),
       name=st.sampled_from(["out.md", "", ".", "sub/out.md", "link.md", "existing.txt", "dir"]))
def test_derive_writes_only_what_it_is_told(tmp_path_factory, layers, activation, cost, fmt, name):
    folder = tmp_path_factory.mktemp("derive")
    (folder / "existing.txt").write_text("keep me")
    (folder / "dir").mkdir()
    (folder / "target.md").write_text("the link's target")
    (folder / "link.md").symlink_to(folder / "target.md")
    before = snapshot(folder)
    out = str(folder / name) if name else ""
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        status, _ = run_cli(["derive", "--layers", layers, "--activation", activation, "--cost", cost,
                             "--format", fmt, "--out", out])
    finally:
        os.chdir(cwd)
    after = snapshot(folder)
    changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
    allowed = {name} if status == 0 and name else set()
    assert changed <= allowed, f"derive --out {name!r} changed {sorted(changed)}"


@settings(max_examples=20, deadline=None)
@given(function=st.one_of(expressions.map(lambda e: e.replace("z", "x")), st.sampled_from([
    "x**2 + y**2", "(x+y)**2", "(x*y)**2", "x**2 + y**2*z", "x**999 + y**998 + x*y", "sin(x) + cos(y)",
    "x**2 + log(-1)", "x + y"])),
    kind=st.sampled_from(["minimum", "steepest", "gd"]), at=numbers, eta=numbers)
def test_calc_answers_every_input(function, kind, at, eta):
    argv = ["calc", kind, function]
    if kind == "minimum":
        # An exact solve that runs out of time must still answer in one line;
        # a short budget reaches that answer without waiting out the default
        # 10 s (the budget itself is tested in test_calculus.py).
        argv += ["--seconds", "1"]
    if kind in ("steepest", "gd"):
        argv += ["--at", f"{at},{at}" if "y" in function else at]
    if kind == "gd":
        argv += ["--eta", eta]
    run_cli(argv)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(epochs=numbers, eta=numbers, seed=numbers)
def test_train_answers_every_input_and_writes_only_its_save_path(tmp_path_factory, epochs, eta, seed):
    folder = tmp_path_factory.mktemp("train")
    (folder / "other.npz").write_bytes(b"not parameters")
    before = snapshot(folder)
    status, _ = run_cli(["train", "digits01", "--epochs", epochs, "--eta", eta, "--seed", seed,
                         "--save", str(folder / "params.npz")])
    changed = {k for k, v in snapshot(folder).items() if before.get(k) != v} | (before.keys() - snapshot(folder).keys())
    assert changed <= ({"params.npz"} if status == 0 else set()), changed
