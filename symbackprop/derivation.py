"""A derivation is data: numbered steps that carry SymPy objects.

Printers only format what the steps hold, so a document can never drift from
the mathematics that produced it: tests compare the objects, not the text.

>>> import sympy as sp
>>> z = sp.Symbol("z")
>>> d = Derivation("The sigmoid", [
...     Step("Definition", "the book's activation", [(sp.Function("sigma")(z), 1 / (1 + sp.exp(-z)))]),
... ])
>>> print(d.text())
The sigmoid
<BLANKLINE>
1. Definition — the book's activation
   sigma(z) = 1/(1 + exp(-z))
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp

from .latex import book_latex


@dataclass
class Step:
    """One numbered step: a heading, a one-line justification, and equations.

    Each equation is a pair ``(lhs, rhs)`` of SymPy objects, read as
    ``lhs relation rhs`` (``relation`` is ``=`` unless given as a third item,
    e.g. ``≈``). ``note`` is optional prose shown under the equations.
    """

    title: str
    justification: str
    equations: list[tuple] = field(default_factory=list)
    note: str = ""

    def rows(self) -> list[tuple[sp.Basic, str, sp.Basic]]:
        """``(lhs, relation, rhs)`` for each equation."""
        return [(e[0], e[2] if len(e) > 2 else "=", e[1]) for e in self.equations]


_LATEX_RELATION = {"=": "=", "≈": r"\approx", "≤": r"\le", "≥": r"\ge", "≠": r"\ne", "⇒": r"\Rightarrow"}


def _tex(obj) -> str:
    return obj if isinstance(obj, str) else book_latex(obj)


@dataclass
class Derivation:
    """An ordered list of :class:`Step` s with a title (and optional intro)."""

    title: str
    steps: list[Step]
    intro: str = ""

    def formulas(self) -> list[str]:
        """Every equation of every step as one LaTeX formula (for renderers)."""
        return [
            f"{_tex(lhs)} {_LATEX_RELATION.get(rel, rel)} {_tex(rhs)}"
            for step in self.steps
            for lhs, rel, rhs in step.rows()
        ]

    def latex(self) -> str:
        """A LaTeX fragment (needs amsmath): one ``align*`` block per step."""
        parts = []
        for n, step in enumerate(self.steps, start=1):
            parts.append(
                rf"\paragraph{{Step {n}: {_escape(step.title)}.}} {_escape(step.justification)}"
            )
            if step.rows():
                lines = [
                    f"{_tex(lhs)} &{_LATEX_RELATION.get(rel, rel)} {_tex(rhs)}"
                    for lhs, rel, rhs in step.rows()
                ]
                parts.append("\\begin{align*}\n" + " \\\\\n".join(lines) + "\n\\end{align*}")
            if step.note:
                parts.append(_escape(step.note))
        return "\n\n".join(parts) + "\n"

    def latex_document(self) -> str:
        """A standalone document that compiles with pdflatex."""
        intro = f"{_escape(self.intro)}\n\n" if self.intro else ""
        return (
            "\\documentclass[11pt]{article}\n"
            "\\usepackage[utf8]{inputenc}\n"
            "\\usepackage{amsmath,amssymb}\n"
            "\\usepackage[margin=2cm]{geometry}\n"
            "\\allowdisplaybreaks\n"
            f"\\title{{{_escape(self.title)}}}\n\\date{{}}\n"
            "\\begin{document}\n\\maketitle\n\n"
            f"{intro}{self.latex()}"
            "\\end{document}\n"
        )

    def markdown(self) -> str:
        """Markdown with ``$$…$$`` display math."""
        out = [f"# {self.title}", ""]
        if self.intro:
            out += [self.intro, ""]
        for n, step in enumerate(self.steps, start=1):
            out += [f"**Step {n}: {step.title}.** {step.justification}", ""]
            for lhs, rel, rhs in step.rows():
                out += ["$$", f"{_tex(lhs)} {_LATEX_RELATION.get(rel, rel)} {_tex(rhs)}", "$$", ""]
            if step.note:
                out += [step.note, ""]
        return "\n".join(out)

    def text(self) -> str:
        """Plain Unicode text for a terminal."""
        out = [self.title, ""]
        if self.intro:
            out += [self.intro, ""]
        for n, step in enumerate(self.steps, start=1):
            out.append(f"{n}. {step.title} — {step.justification}")
            for lhs, rel, rhs in step.rows():
                out.append(f"   {_plain(lhs)} {rel} {_plain(rhs)}")
            if step.note:
                out.append(f"   {step.note}")
        return "\n".join(out)

    def _repr_latex_(self) -> str:
        return "$\\displaystyle " + r" \\ ".join(self.formulas()) + "$"


def _plain(obj) -> str:
    return obj if isinstance(obj, str) else sp.sstr(obj)


_ESCAPES = {"&": r"\&", "%": r"\%", "#": r"\#", "_": r"\_", "$": r"\$"}


def _escape(text: str) -> str:
    """Prose for LaTeX: escape TeX's special characters outside ``$…$`` math."""
    out = []
    for n, chunk in enumerate(text.split("$")):
        out.append(chunk if n % 2 else "".join(_ESCAPES.get(c, c) for c in chunk))
    return "$".join(out)
