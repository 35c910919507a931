"""The command line: verify's exit codes, one-line errors, the book tour."""

from __future__ import annotations

import subprocess
import sys

import pytest

from symbackprop.cli import main


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "symbackprop", *args], capture_output=True, text=True, timeout=300
    )


def test_verify_exits_0_when_everything_agrees(capsys):
    assert main(["verify", "--layers", "2,2,1", "--exact"]) == 0
    out = capsys.readouterr().out
    assert "w^2_11" in out and "agree" in out


def test_verify_claim_exit_codes(capsys):
    good = "(a^3_1 - t_1)*a^3_1*(1 - a^3_1)*a^2_1"
    assert main(["verify", "--layers", "2,2,1", "--param", "w^3_11", "--claim", good]) == 0
    assert main(["verify", "--layers", "2,2,1", "--param", "w^3_11", "--claim", "a^2_1"]) == 1


@pytest.mark.parametrize(
    "args,fragment",
    [
        (["verify", "--layers", "2,0,1"], "positive integer"),
        (["verify", "--layers", "2,x,1"], "'x' is not a number"),
        (["verify", "--layers", "3"], "at least two layers"),
        (["verify", "--activation", "sigmod"], "unknown activation"),
        (["verify", "--cost", "hinge"], "unknown cost"),
        (["verify", "--activation", "__import__('os').system('ls')"], "only plain function names"),
        (["verify", "--layers", "2,2,1", "--param", "w^9_11"], "no quantity"),
        (["verify", "--layers", "2,2,1", "--param", "x_1"], "not a parameter"),
        (["verify", "--layers", "2,2,1", "--param", "x_1", "--claim", "x_1"], "not a parameter"),
        (["verify", "--layers", "2,1", "--points", "0"], "positive integer"),
        (["verify", "--cnn", "--layers", "2,1"], "give one of them"),
        (["verify", "--layers", "2,2,1", "--claim", "x_1"], "--claim needs --param"),
        (["verify", "--layers", "64,32,10"], "force"),
        (["verify", "--no-such-option"], "unrecognized"),
        (["no-such-command"], "invalid choice"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, fragment):
    result = run(*args)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("target", ["/nonexistent-dir/params.npz", "/proc/forbidden.npz"])
def test_unwritable_output_is_one_line_and_exit_2(target):
    result = run("train", "digits01", "--epochs", "1", "--save", target)
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_os_errors_become_one_line(capsys, monkeypatch):
    from symbackprop.cli import verify as verify_command

    def unreadable(args):
        raise FileNotFoundError(2, "No such file or directory", "missing.json")

    monkeypatch.setattr(verify_command, "run", unreadable)
    assert main(["verify", "--layers", "1,1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["symbackprop: error: cannot use missing.json: No such file or directory"]
