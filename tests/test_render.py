"""Every formula and document we emit really typesets: pdflatex compiles it.

Formulas are batched into one document per test (pdflatex takes about half a
second per run). Without pdflatex these tests skip and say why; under CI (the
environment variable CI set) they fail instead: CI installs it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from symbackprop import Network, chain_rule_expansion, delta_route, direct_route, verify
from symbackprop.cli import main
from symbackprop.documents.backprop import network_derivation
from symbackprop.documents.derivation import Derivation, Step

ROOT = Path(__file__).resolve().parent.parent
PDFLATEX = shutil.which("pdflatex")
pytestmark = pytest.mark.needs("pdflatex", install="apt-get install texlive-latex-base texlive-latex-recommended")

PREAMBLE = "\\documentclass{article}\n\\usepackage{amsmath}\n\\begin{document}\n"


PDFTOTEXT = shutil.which("pdftotext")
#: A line may stick out into the margin by this much before the test fails.
OVERFULL_TOLERANCE_PT = 20.0


def compile_tex(source: str, folder: Path, name: str = "doc", fits: bool = True) -> str:
    """Run pdflatex on ``source``; fail with TeX's own error lines if it does not
    compile, or (``fits``: a document, not a batch of formulas) if a line runs
    off the page. Returns the log."""
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
    too_wide = [float(pt) for pt in re.findall(r"Overfull \\hbox \((\d+(?:\.\d+)?)pt too wide", log)]
    assert not fits or max(too_wide, default=0) <= OVERFULL_TOLERANCE_PT, f"{name}: lines run off the page by {too_wide} pt"
    return log


def pdf_text(folder: Path, name: str) -> str:
    """The text of ``name.pdf`` as a reader sees it (pdftotext)."""
    result = subprocess.run([PDFTOTEXT, "-enc", "UTF-8", f"{name}.pdf", "-"], cwd=folder,
                            capture_output=True, text=True, timeout=60, check=True)
    return result.stdout


def assert_no_wrong_glyphs(source: str, text: str, name: str) -> None:
    """The default text font prints < > | as ¡ ¿ —: none may appear that the source did not ask for."""
    assert "¡" not in text and "¿" not in text, f"{name}: < or > typeset in a text font"
    dashes = source.count("---") + source.count("—")
    assert text.count("—") <= dashes, f"{name}: | typeset in a text font"


def displayed(formulas: list[str]) -> str:
    return PREAMBLE + "\n".join(f"\\[ {f} \\]" for f in formulas) + "\n\\end{document}\n"


CONFIGS = [
    ([2, 2, 1], "sigmoid", "squared", {}),
    ([2, 2, 1], ["tanh", "sigmoid"], "cross-entropy", {"expand": True}),
    ([2, 2, 2], "softsign", "squared", {"parameter": "b^3_2"}),
    ([2, 2, 1], "relu", "(t - a)**4/4", {}),
    ([2, 1], "step", "squared", {"expand": True}),
    ([3, 2, 2, 1], "generic", "squared", {"parameter": "w^3_12"}),
    ([2, 2, 1], ["identity", "sigmoid"], "cross-entropy", {}),
    ([2, 1], "z/(1+exp(-z))", "squared", {"expand": True}),
    ([12, 3, 2], "sigmoid", "squared", {"expand": True}),
]


@pytest.fixture(scope="module")
def config_documents():
    return [network_derivation(Network(sizes, activation=activation, cost=cost), **options)
            for sizes, activation, cost, options in CONFIGS]


def test_every_formula_of_every_derivation_compiles(tmp_path, config_documents, documents):
    formulas = [f for doc in config_documents for f in doc.formulas()]
    notebook = []
    for doc in documents.values():
        formulas += doc.formulas()
        notebook.append(doc._repr_latex_())
    compile_tex(displayed(formulas).replace("\\end{document}", "\n\n".join(notebook) + "\n\\end{document}"), tmp_path,
                fits=False)


def test_every_derivation_stays_on_the_page(tmp_path, config_documents):
    # One document holding them all: written-out (expand) formulas are the widest.
    first, *rest = config_documents
    source = first.latex_document().replace("\\end{document}", "".join(d.latex() for d in rest) + "\\end{document}")
    compile_tex(source, tmp_path)


def test_latex_fragments_compile_with_amsmath_only(tmp_path, config_documents):
    bodies = [doc.latex() for doc in config_documents[:4]]
    compile_tex(PREAMBLE + "\n".join(bodies) + "\\end{document}\n", tmp_path, fits=False)


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
    compile_tex(PREAMBLE + "\n\n".join(shown) + "\n\\end{document}\n", tmp_path, fits=False)


def test_derive_latex_output_compiles(tmp_path, capsys):
    assert main(["derive", "--layers", "2,2,1", "--format", "latex"]) == 0
    compile_tex(capsys.readouterr().out, tmp_path, "derive")
    assert main(["derive", "--layers", "2,2,1", "--format", "latex", "--expand"]) == 0
    compile_tex(capsys.readouterr().out, tmp_path, "expand")
    assert main(["derive", "--layers", "2,2,1", "--format", "latex", "--fragment"]) == 0
    compile_tex(PREAMBLE + capsys.readouterr().out + "\\end{document}\n", tmp_path, "fragment")


def test_every_checked_in_tex_document_compiles_and_reads_right(tmp_path):
    documents = sorted((ROOT / "derivations").glob("*.tex"))
    assert documents
    for path in documents:
        source = path.read_text(encoding="utf-8")
        compile_tex(source, tmp_path, path.stem)
        if PDFTOTEXT:
            assert_no_wrong_glyphs(source, pdf_text(tmp_path, path.stem), path.stem)


@pytest.mark.needs("pdftotext", install="apt-get install poppler-utils")
def test_prose_prints_the_characters_it_was_written_with(tmp_path):
    sentence = "Converges when 0 < η < 2/λ and |∇f| > 1; run `verify --cnn --exact`."
    doc = Derivation("Prose", [Step("Glyphs", sentence)])
    compile_tex(doc.latex_document(), tmp_path)
    text = " ".join(pdf_text(tmp_path, "doc").split())
    assert sentence.replace("`", "") in text, text


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
    compile_tex(source, tmp_path, fits=False)


def test_every_markdown_display_stays_on_the_page(tmp_path):
    # A Markdown viewer shows a display as it is: a long formula must come
    # broken over lines, as in the LaTeX documents (the page of those).
    display = []
    for path in sorted((ROOT / "derivations").glob("*.md")):
        display += re.findall(r"\$\$\n(.*?)\n\$\$", path.read_text(encoding="utf-8"), flags=re.S)
    preamble = PREAMBLE.replace("\\begin{document}", "\\usepackage{amssymb}\n\\usepackage[margin=2cm]{geometry}\n\\begin{document}")
    compile_tex(preamble + "\n".join(f"\\[ {f} \\]" for f in display) + "\n\\end{document}\n", tmp_path)
