"""The test run itself: a test that needs an external program skips without it
locally, and fails under CI, where a skip would hide it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

NEEDY = '''
import pytest

@pytest.mark.needs("no-such-program-anywhere", install="apt-get install nothing")
def test_missing():
    pass

@pytest.mark.needs("sh", install="apt-get install dash")
def test_present():
    pass
'''


def test_a_missing_program_skips_locally_and_fails_under_ci(pytester, monkeypatch):
    pytester.makeconftest((ROOT / "conftest.py").read_text(encoding="utf-8"))
    pytester.makepyfile(test_needy=NEEDY)
    monkeypatch.delenv("CI", raising=False)
    local = pytester.runpytest("-rs", "-p", "no:cacheprovider")
    local.assert_outcomes(passed=1, skipped=1)
    local.stdout.fnmatch_lines(["*no-such-program-anywhere not installed (Debian: apt-get install nothing)*"])
    monkeypatch.setenv("CI", "1")
    ci = pytester.runpytest("-p", "no:cacheprovider")
    ci.assert_outcomes(passed=1, errors=1)
    ci.stdout.fnmatch_lines(["*no-such-program-anywhere not installed*CI must run this test*"])


def test_ci_script_stops_when_the_typesetting_programs_cannot_be_had(tmp_path):
    # A PATH with the shell tools .ci/run needs, an apt-get that fails, no
    # pdflatex, and a python3 that reports being reached: the script must stop
    # before it builds an environment and runs the tests.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("awk", "bash", "cat", "cp", "dirname", "git", "mktemp", "rm", "xargs", "env"):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    for fake, status in (("apt-get", 100), ("python3", 3)):
        (bin_dir / fake).write_text(f"#!/bin/sh\nexit {status}\n")
        (bin_dir / fake).chmod(0o755)
    result = subprocess.run(
        [shutil.which("bash"), str(ROOT / ".ci" / "run")],
        env={"PATH": str(bin_dir), "CI": "1"}, capture_output=True, text=True, timeout=30,
    )
    assert result.returncode == 1, (result.returncode, result.stderr)
    assert "pdflatex could not be installed" in result.stderr
