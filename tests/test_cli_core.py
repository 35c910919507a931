"""The command line: verify's exit codes, one-line errors, the book tour."""

from __future__ import annotations

import os
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
        # an empty value is refused, not read as "not given" (the book's network)
        (["export", "--layers", "", "--out", "grad.py"], "--layers is empty"),
        (["check", "code.py:f", "--layers", ""], "--layers is empty"),
        (["verify", "--recurrent", "2", "--layers", ""], "--layers is empty"),
        (["verify", "--activation", "sigmod"], "unknown activation"),
        (["verify", "--cost", "hinge"], "unknown cost"),
        (["verify", "--cost", "categorical-cross-entropy"], "needs outputs that form a distribution"),
        (["verify", "--cnn", "--output", "softmax"], "for --layers networks"),
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
def test_bad_input_is_one_line_and_exit_2(args, fragment, run_main):
    result = run_main(*args)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("target", ["/nonexistent-dir/params.npz", "/proc/forbidden.npz"])
def test_unwritable_output_is_one_line_and_exit_2(target, run_main):
    result = run_main("train", "digits01", "--epochs", "1", "--save", target)
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "args,fragment",
    [
        (["verify", "--layers", "2,x,1"], "'x' is not a number"),  # the library's error
        (["no-such-command"], "invalid choice"),  # argparse's
    ],
)
def test_the_entry_point_prints_one_line_and_exits_2(args, fragment):
    # The cases above run in-process; these two go through a fresh
    # ``python -m symbackprop``, the way a user meets them.
    result = run(*args)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_os_errors_become_one_line(capsys, monkeypatch):
    from symbackprop.cli import verify as verify_command

    def unreadable(args):
        raise FileNotFoundError(2, "No such file or directory", "missing.json")

    monkeypatch.setattr(verify_command, "run", unreadable)
    assert main(["verify", "--layers", "1,1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["symbackprop: error: cannot use missing.json: No such file or directory"]


@pytest.mark.parametrize(
    "args",
    [
        ["verify", "--layers", "1,1"],  # rich output
        ["derive", "--layers", "1,1", "--format", "markdown"],  # buffered plain output
        ["calc", "approx", "x*y", "--at", "1,2", "--format", "markdown"],  # print()
    ],
)
def test_a_closed_pipe_is_not_a_verdict(args, capfd, monkeypatch):
    # Standard output into a pipe whose reader has gone, as in ``… | head -c1``;
    # set in the test itself, since pytest's capturing resets it after fixtures.
    read_end, write_end = os.pipe()
    os.close(read_end)
    with open(write_end, "w", encoding="utf-8") as stream:
        monkeypatch.setattr(sys, "stdout", stream)
        assert main(args) == 141
    assert "Traceback" not in capfd.readouterr().err


def test_version_comes_from_the_package_metadata(capsys):
    import importlib.metadata

    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.split() == ["symbackprop", importlib.metadata.version("symbackprop")]


def test_the_tour_banner_is_whole_in_piped_output(capsys):
    from symbackprop import Network
    from symbackprop.cli.options import console
    from symbackprop.cli.tour import show_banner

    show_banner(console(), Network([12, 3, 2]))  # captured: not a terminal, as in a pipe
    words = " ".join(line.strip("│╭╮╰╯─ ") for line in capsys.readouterr().out.splitlines()).split()
    assert " ".join(words).endswith("3 hidden and 2 output sigmoid units, squared-error cost. 47 parameters.")


def test_only_the_books_12_3_2_network_is_called_the_books(capsys):
    from symbackprop.cli import build_parser

    helps = {}
    for command in ("verify", "derive"):
        with pytest.raises(SystemExit):
            build_parser().parse_args([command, "--help"])
        helps[command] = " ".join(capsys.readouterr().out.split())
    assert "(default 12,3,2, the book's network)" in helps["verify"]
    assert "(default 2,2,1)" in helps["derive"] and "book's network" not in helps["derive"]
