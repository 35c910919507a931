"""``symbackprop calc``: each topic's output, its LaTeX compiling, and one-line errors."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from symbackprop.cli import main

COMMANDS = {
    "minimum": ["calc", "minimum", "(x-1)**2 + 2*(y+1)**2 + x*y"],
    "lagrange": ["calc", "lagrange", "x*y", "--constraint", "x + y = 1"],
    "approx": ["calc", "approx", "exp(x)*sin(y)", "--at", "0,1"],
    "steepest": ["calc", "steepest"],
    "gd": ["calc", "gd", "--compare", "0.01,1.1"],
    "regression": ["calc", "regression"],
    "regression-cli": ["calc", "regression", "--x", "1,2,3", "--y", "2,4,7"],
}


def output(capsys, args: list[str]) -> str:
    assert main(args) == 0
    return capsys.readouterr().out


def test_text_output_shows_the_exact_answers(capsys):
    # The minimum of (x−1)² + 2(y+1)² + xy is at (12/7, −10/7) with value −11/7.
    assert "(12/7, -10/7)" in output(capsys, COMMANDS["minimum"])
    assert "= 1/4" in output(capsys, COMMANDS["lagrange"])
    # Least squares through (1,2), (2,4), (3,7): p = 5/2, q = −2/3.
    text = output(capsys, COMMANDS["regression-cli"])
    assert "p = 5/2" in text and "q = -2/3" in text
    # The book's η = 0.1 from (3, 2): x₁ = 3 − 0.1·6 = 2.4.
    text = output(capsys, COMMANDS["gd"])
    assert "(2.4, 1.6" in text and "diverging" in text


def test_csv_file_input(capsys, tmp_path):
    data = tmp_path / "data.csv"
    data.write_text("x,y\n0,1\n1,3\n2,5\n")
    assert "p = 2" in output(capsys, ["calc", "regression", str(data)])


def test_other_variable_names(capsys):
    # (w − 2)² + (b + 1)² is smallest at w = 2, b = −1.
    text = output(capsys, ["calc", "minimum", "(w - 2)**2 + (b + 1)**2", "--vars", "w,b"])
    assert "(w, b) = (2, -1)" in text


def test_markdown_output(capsys):
    text = output(capsys, [*COMMANDS["lagrange"], "--format", "markdown"])
    assert text.startswith("# ") and "$$" in text


@pytest.mark.needs("pdflatex", install="apt-get install texlive-latex-base texlive-latex-recommended")
def test_every_command_latex_compiles(capsys, tmp_path):
    bodies, preamble = [], ""
    for args in COMMANDS.values():
        document = output(capsys, [*args, "--format", "latex"])
        preamble, rest = document.split("\\begin{document}")
        bodies.append(rest.split("\\end{document}")[0].replace("\\maketitle", "").strip())
    source = tmp_path / "calc.tex"
    source.write_text(preamble + "\\begin{document}\n" + "\n\\clearpage\n".join(bodies) + "\n\\end{document}\n")
    result = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", source.name],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    errors = re.findall(r"^!.*$", result.stdout, flags=re.M)
    assert result.returncode == 0 and not errors, errors or result.stdout[-2000:]
    assert (tmp_path / "calc.pdf").stat().st_size > 0


@pytest.mark.parametrize(
    "args,fragment",
    [
        (["calc", "minimum", "x + k"], "unknown variable 'k'"),
        (["calc", "minimum", "abs(x) + y**2"], "not differentiable"),
        (["calc", "minimum", "x**3 + y"], "no real solution"),
        (["calc", "minimum", "x**2 - y**2"], "f → −∞ as y → ∞"),
        (["calc", "lagrange", "x", "--constraint", "x**2 + y**2 + 1"], "no real solution"),
        (["calc", "gd", "--eta", "0"], "η must be positive"),
        (["calc", "gd", "--eta", "-1"], "η must be positive"),
        (["calc", "gd", "--start", "1,2,3"], "3 coordinates"),
        (["calc", "gd", "--steps", "0"], "number of steps"),
        (["calc", "gd", "--steps", "ten"], "'ten' is not a number"),
        (["calc", "regression", "--x", "1,2"], "--x and --y go together"),
        (["calc", "regression", "--x", "1,2,a", "--y", "1,2,3"], "'a' is not a number"),
        (["calc", "regression", "--x", "1,1", "--y", "1,2"], "every x equals 1"),
        (["calc", "regression", "no-such-file.csv"], "no-such-file.csv: no such data file"),
        (["calc", "approx", "x*y"], "--at"),
        (["calc"], "required"),
        (["calc", "gd", "x**2+y**2", "--eta", "1e400"], "out of the range of floats"),
        (["calc", "gd", "x**2+y**2", "--start", "1e400,2"], "out of the range of floats"),
        (["calc", "gd", "--eta", "exp(1000)"], "out of the range of floats"),
        (["calc", "minimum", "x**2", "--seconds", "0"], "positive number of seconds"),
        (["calc", "lagrange", "x", "--constraint", "x**2+y**2=1", "--seconds", "nan"], "positive number of seconds"),
        (["calc", "minimum", "x**999 + y**998 + x*y", "--seconds", "0.2"], "exactly within 0.2 s"),
        (["calc", "minimum", "x**2 + log(-1)"], "is not real"),
        (["calc", "minimum", "x**2 + 1e99999*y**2"], "exponent of '1e99999' is too large"),
        (["calc", "minimum", "os.path"], "an attribute (a.b) is not allowed"),
        (["calc", "minimum", "x**2", "--vars", "1x"], "'1x' is not a name"),
        (["calc", "minimum", "x**2", "--vars", "x,x"], "'x' is named twice"),
        (["calc", "minimum", "x**2", "--vars", "x,exp"], "'exp' is taken"),
        (["calc", "minimum", "x**2", "--out", "/no/such/dir/f.md"], "the folder /no/such/dir does not exist"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, args, fragment):
    assert main(args) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], lines


def test_sets_of_stationary_points_are_answers(capsys):
    # (x + y)² is 0 on the whole line x = −y and positive elsewhere.
    assert "(-y, y) for every real y" in output(capsys, ["calc", "minimum", "(x+y)**2"])
    # On the axes xy = 0, x² + y² is smallest at the origin, where ∇g = 0.
    assert "at (0, 0): global minimum" in output(capsys, ["calc", "lagrange", "x**2+y**2", "--constraint", "x*y=0"])
    # f = x has ∂f/∂x = 1: one variable, no Lagrange identity pairs, and no crash.
    assert "Δz ≈ -η" in output(capsys, ["calc", "steepest", "x", "--at", "1"])


def test_bad_csv_cell_names_its_line(capsys, tmp_path):
    data = tmp_path / "bad.csv"
    data.write_text("x,y\n1,2\n2,\n")
    assert main(["calc", "regression", str(data)]) == 2
    assert "line 3" in capsys.readouterr().err


def test_numbers_beyond_floats_are_exact(capsys):
    # 10⁴⁰⁰ overflows a float but is an ordinary number: x² + 10⁴⁰⁰y² is smallest at (0, 0).
    assert "(x, y) = (0, 0)" in output(capsys, ["calc", "minimum", "x**2 + 1e400*y**2"])
    # ∇(xy) = (y, x) is (1, 10⁴⁰⁰) at (10⁴⁰⁰, 1).
    assert str(10**400) in output(capsys, ["calc", "approx", "x*y", "--at", "1e400,1"])


def test_csv_value_beyond_floats_names_its_line(capsys, tmp_path):
    data = tmp_path / "big.csv"
    data.write_text("x,y\n1,2\n1e400,3\n4,5\n")
    assert main(["calc", "regression", str(data)]) == 2
    err = capsys.readouterr().err
    assert "line 3" in err and "too large" in err


def test_a_function_may_start_with_a_minus(capsys):
    # −x² − y² has its only stationary point at (0, 0), a maximum: no minimum.
    assert main(["calc", "minimum", "-x**2-y**2"]) == 2
    assert "no minimum" in capsys.readouterr().err
    # −(x − 1)(1 − x) + y² = (x − 1)² + y² is smallest at (1, 0).
    assert "(x, y) = (1, 0)" in output(capsys, ["calc", "minimum", "-(x-1)*(1-x)+y**2"])
    # A negative coordinate is a value, not an option.
    assert "(-1, 2)" in output(capsys, ["calc", "approx", "-x*y", "--at", "-1,2"])


def test_titles_show_the_function_as_math(capsys):
    # Python's ** in a Markdown heading renders as bold; the function is typeset instead.
    heading = output(capsys, ["calc", "gd", "--format", "markdown"]).splitlines()[0]
    assert heading.startswith("# ") and "**" not in heading and "$x^{2} + y^{2}$" in heading
    title = re.search(r"\\title\{(.*)\}", output(capsys, [*COMMANDS["lagrange"], "--format", "latex"])).group(1)
    assert "**" not in title and "$x y$" in title


def test_one_variable_is_shown_without_tuples(capsys):
    # f = x²: ∂f/∂x = 2x vanishes at x = 0, and the Hessian is the number f'' = 2.
    text = output(capsys, ["calc", "minimum", "x**2"])
    assert "x = 0" in text and "H = 2" in text and "(x,)" not in text and "^T" not in text


def test_text_leftovers(capsys):
    assert "L(x, y, λ)" in output(capsys, COMMANDS["lagrange"])
    assert "∇z·Δx" in output(capsys, COMMANDS["approx"])
    # f(0) = (0 − 1000)² = 10⁶ is a whole number, printed with a digit after the point, not a dangling one.
    text = output(capsys, ["calc", "gd", "(x-1000)**2", "--start", "0", "--eta", "0.25", "--steps", "1"])
    assert "(0.0, 1000000.0)" in text and "1000000.)" not in text


def test_out_writes_a_file(capsys, tmp_path):
    target = tmp_path / "minimum.md"
    assert main([*COMMANDS["minimum"], "--format", "markdown", "--out", str(target)]) == 0
    assert capsys.readouterr().out == ""
    # The minimum of (x−1)² + 2(y+1)² + xy is at (12/7, −10/7).
    assert target.read_text(encoding="utf-8").startswith("# ") and "\\frac{12}{7}" in target.read_text(encoding="utf-8")


def test_module_entry_point():
    result = subprocess.run(
        [sys.executable, "-m", "symbackprop", "calc", "gd", "--eta", "1.1"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0 and "diverging" in result.stdout


@pytest.mark.parametrize("topic", ["approx", "steepest"])
def test_values_too_large_to_compute_are_one_line_in_bounded_time(topic, capsys, monkeypatch):
    # exp(exp(exp(exp(x)))) at 10^23 has more digits than memory holds: SymPy
    # either overflows or computes for ever; both end as the same refusal.
    from symbackprop.calculus import solving

    monkeypatch.setattr(solving, "POINT_SECONDS", 1.0)
    assert main(["calc", topic, "exp(exp(exp(exp(x))))", "--at", "1e23"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot be computed exactly within 1 s" in err[0] and "nearer 0" in err[0]
