"""Every formula and document we emit really typesets: pdflatex compiles it.

Formulas are batched into one document per test (pdflatex takes about half a
second per run). Without pdflatex these tests skip and say why; CI installs it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from symbackprop import Network, chain_rule_expansion, delta_route, direct_route, verify
from symbackprop.cli import main
from symbackprop.documents import network_derivation
from symbackprop.topics import all_documents

ROOT = Path(__file__).resolve().parent.parent
PDFLATEX = shutil.which("pdflatex")
pytestmark = pytest.mark.skipif(
    PDFLATEX is None,
    reason="pdflatex is not installed (Debian: apt-get install texlive-latex-base texlive-latex-recommended)",
)

PREAMBLE = "\\documentclass{article}\n\\usepackage{amsmath}\n\\begin{document}\n"


def compile_tex(source: str, folder: Path, name: str = "doc") -> None:
    """Run pdflatex on ``source``; fail with TeX's own error lines if it does not compile."""
    tex = folder / f"{name}.tex"
    tex.write_text(source, encoding="utf-8")
    result = subprocess.run(
        [PDFLATEX, "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape", tex.name],
        cwd=folder, capture_output=True, text=True, timeout=120,
    )
    log = (folder / f"{name}.log").read_text(encoding="latin-1") if (folder / f"{name}.log").exists() else ""
    errors = [line for line in log.splitlines() if line.startswith("!")]
    assert result.returncode == 0 and (folder / f"{name}.pdf").exists(), (
        f"{name} does not compile: {errors or result.stdout[-2000:]}"
    )


def displayed(formulas: list[str]) -> str:
    return PREAMBLE + "\n".join(f"\\[ {f} \\]" for f in formulas) + "\n\\end{document}\n"


CONFIGS = [
    ([2, 2, 1], "sigmoid", "squared", {}),
    ([2, 2, 1], "tanh", "cross-entropy", {"expand": True}),
    ([2, 2, 2], "softsign", "squared", {"parameter": "b^3_2"}),
    ([2, 2, 1], "relu", "(t - a)**4/4", {}),
    ([2, 1], "step", "squared", {"expand": True}),
    ([3, 2, 2, 1], "generic", "squared", {"parameter": "w^3_12"}),
    ([2, 2, 1], "identity", "cross-entropy", {}),
    ([2, 1], "z/(1+exp(-z))", "squared", {"expand": True}),
    ([12, 3, 2], "sigmoid", "squared", {"expand": True}),
]


def test_every_formula_of_every_derivation_compiles(tmp_path):
    formulas = []
    for sizes, activation, cost, options in CONFIGS:
        doc = network_derivation(Network(sizes, activation=activation, cost=cost), **options)
        formulas += doc.formulas()
    notebook = []
    for doc in all_documents().values():
        formulas += doc.formulas()
        notebook.append(doc._repr_latex_())
    compile_tex(displayed(formulas).replace("\\end{document}", "\n\n".join(notebook) + "\n\\end{document}"), tmp_path)


def test_latex_fragments_compile_with_amsmath_only(tmp_path):
    bodies = [network_derivation(Network(sizes, activation=act, cost=cost), **opts).latex()
              for sizes, act, cost, opts in CONFIGS[:4]]
    compile_tex(PREAMBLE + "\n".join(bodies) + "\\end{document}\n", tmp_path)


def test_notebook_latex_of_engine_objects_compiles(tmp_path):
    net = Network([2, 2, 1])
    shown = [
        net._repr_latex_(),
        delta_route(net)._repr_latex_(),
        direct_route(net)._repr_latex_(),
        chain_rule_expansion(net, "w^2_11")._repr_latex_(),
        verify(net)._repr_latex_(),
        network_derivation(net)._repr_latex_(),
        network_derivation(net).steps[0]._repr_latex_(),
    ]
    compile_tex(PREAMBLE + "\n\n".join(shown) + "\n\\end{document}\n", tmp_path)


def test_derive_latex_output_compiles(tmp_path, capsys):
    assert main(["derive", "--layers", "2,2,1", "--format", "latex"]) == 0
    compile_tex(capsys.readouterr().out, tmp_path, "derive")
    assert main(["derive", "--layers", "2,2,1", "--format", "latex", "--fragment"]) == 0
    compile_tex(PREAMBLE + capsys.readouterr().out + "\\end{document}\n", tmp_path, "fragment")


def test_every_checked_in_tex_document_compiles(tmp_path):
    documents = sorted((ROOT / "derivations").glob("*.tex"))
    assert documents
    for path in documents:
        compile_tex(path.read_text(encoding="utf-8"), tmp_path, path.stem)


def test_every_markdown_formula_compiles(tmp_path):
    display, inline = [], []
    for path in sorted((ROOT / "derivations").glob("*.md")) + [ROOT / "README.md"]:
        text = path.read_text(encoding="utf-8")
        display += re.findall(r"\$\$\n?(.*?)\n?\$\$", text, flags=re.S)
        prose = re.sub(r"\$\$.*?\$\$|```.*?```", "", text, flags=re.S)
        inline += re.findall(r"(?<!\$)\$([^$\n]+)\$(?!\$)", prose)
    assert display and inline
    source = displayed(display) .replace("\\end{document}", "") + "\n".join(
        f"${m}$\\par" for m in inline
    ) + "\n\\end{document}\n"
    compile_tex(source, tmp_path)
