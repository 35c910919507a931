"""A derivation is data: numbered steps that carry SymPy objects.

Printers only format what the steps hold, so a document can never drift from
the mathematics that produced it: tests compare the objects, not the text.
Prose (titles, justifications, notes) is Unicode text in which ``$…$``
marks inline math written in LaTeX; each printer renders it its own way.

>>> import sympy as sp
>>> z = sp.Symbol("z")
>>> d = Derivation("The sigmoid", [
...     Step("Definition", "the book's activation $\\\\sigma$", [(sp.Function("sigma")(z), 1 / (1 + sp.exp(-z)))]),
... ])
>>> print(d.text())
The sigmoid
<BLANKLINE>
1. Definition — the book's activation σ
   σ(z) = 1/(1 + exp(-z))
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import sympy as sp

from ..notation.latex import (
    RELATION_LATEX,
    book_latex,
    break_latex,
    display_math,
    equation_latex,
    formula_latex,
    printed_width,
    printing_settings,
)
from ..notation.text import BookTextPrinter


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

    def formulas(self, book_order: bool = False) -> list[str]:
        """Each equation as one LaTeX formula (sums in the book's order of terms
        with ``book_order``).

        >>> import sympy as sp
        >>> Step("t", "j", [(sp.Symbol("C_T"), sp.Symbol("C_1") + sp.Symbol("C_2"))]).formulas()
        ['C_{T} = C_{1} + C_{2}']
        """
        return [
            equation_latex(lhs, rel, rhs, book_order) for lhs, rel, rhs in self.rows()
        ]

    def _repr_latex_(self) -> str:
        return display_math(self.formulas())


def _plain(obj: sp.Basic | str, book_order: bool = False) -> str:
    if isinstance(obj, str):
        return text_prose(f"${obj}$")
    return BookTextPrinter(printing_settings(obj, book_order)).doprint(obj)


#: A formula printing wider than this many symbols is broken over several lines.
LINE_SYMBOLS = 75


def _aligned_row(lhs, rel: str, rhs, book_order: bool = False) -> str:
    r"""One row of an ``align*``: aligned at the relation, and a long right-hand
    side broken (between terms where it can) so that it stays on the page.

    >>> import sympy as sp
    >>> x = sp.symbols("x_1:40")
    >>> row = _aligned_row(sp.Symbol("s"), "=", sp.Add(*x))
    >>> row.startswith("s &= x_{1} + x_{10} + x_{11}")
    True
    >>> [line.split()[:2] for line in row.splitlines()]
    [['s', '&='], ['&\\quad', '+']]
    """
    lines = break_latex(formula_latex(rhs, book_order), LINE_SYMBOLS)
    if not isinstance(rhs, str) and max(map(printed_width, lines)) > LINE_SYMBOLS:
        # A fraction too wide to break: take the long factors of its numerator
        # out of it, so that they can go on lines of their own.
        settings = {**printing_settings(rhs, book_order), "long_frac_ratio": 1}
        lines = break_latex(book_latex(rhs, **settings), LINE_SYMBOLS)
    return f"{formula_latex(lhs, book_order)} &{RELATION_LATEX.get(rel, rel)} " + " \\\\\n&\\quad ".join(lines)


def _markdown_display(lhs, rel: str, rhs, book_order: bool = False) -> list[str]:
    r"""The lines of one ``$$`` block: the formula as it is, or, when it is too
    wide for a page, broken like the LaTeX documents' rows inside ``aligned``
    (which KaTeX, MathJax and GitHub all know).

    >>> import sympy as sp
    >>> _markdown_display(sp.Symbol("s"), "=", sp.Symbol("x"))
    ['s = x']
    >>> lines = _markdown_display(sp.Symbol("s"), "=", sp.Add(*sp.symbols("x_1:40")))
    >>> lines[0], lines[-1], len(lines) > 3
    ('\\begin{aligned}', '\\end{aligned}', True)
    """
    row = _aligned_row(lhs, rel, rhs, book_order)
    if "\n" not in row:
        return [equation_latex(lhs, rel, rhs, book_order)]
    return ["\\begin{aligned}", *row.splitlines(), "\\end{aligned}"]


@dataclass
class Derivation:
    """An ordered list of :class:`Step` s with a title (and optional intro)."""

    title: str
    steps: list[Step]
    intro: str = ""
    #: Sums in the book's order of terms (``Σ w x + b``, ``t − a``) rather than SymPy's.
    book_order: bool = False

    def formulas(self) -> list[str]:
        """Every equation of every step as one LaTeX formula (for renderers)."""
        return [f for step in self.steps for f in step.formulas(self.book_order)]

    def latex(self) -> str:
        """A LaTeX fragment (needs amsmath): one ``align*`` block per step."""
        parts = []
        for n, step in enumerate(self.steps, start=1):
            parts.append(
                rf"\paragraph{{Step {n}: {latex_prose(step.title)}.}} {latex_prose(_sentence(step.justification))}"
            )
            if step.rows():
                lines = [_aligned_row(lhs, rel, rhs, self.book_order) for lhs, rel, rhs in step.rows()]
                parts.append("\\begin{align*}\n" + " \\\\\n".join(lines) + "\n\\end{align*}")
            if step.note:
                parts.append(latex_prose(step.note))
        return "\n\n".join(parts) + "\n"

    def latex_document(self) -> str:
        """A standalone document that compiles with pdflatex."""
        intro = f"{latex_prose(self.intro)}\n\n" if self.intro else ""
        return (
            "\\documentclass[11pt]{article}\n"
            "\\usepackage[utf8]{inputenc}\n"
            "\\usepackage{amsmath,amssymb}\n"
            "\\usepackage[margin=2cm]{geometry}\n"
            "\\allowdisplaybreaks\n"
            "\\setlength{\\parindent}{0pt}\n"
            f"\\title{{{latex_prose(self.title)}}}\n\\date{{}}\n"
            "\\begin{document}\n\\maketitle\n\n"
            f"{intro}{self.latex()}"
            "\\end{document}\n"
        )

    def markdown(self) -> str:
        """Markdown with ``$$…$$`` display math (and ``$…$`` inline math in prose)."""
        out = [f"# {self.title}", ""]
        if self.intro:
            out += [self.intro, ""]
        for n, step in enumerate(self.steps, start=1):
            out += [f"**Step {n}: {step.title}.** {_sentence(step.justification)}", ""]
            for lhs, rel, rhs in step.rows():
                out += ["$$", *_markdown_display(lhs, rel, rhs, self.book_order), "$$", ""]
            if step.note:
                out += [step.note, ""]
        return "\n".join(out)

    def _repr_markdown_(self) -> str:
        # A notebook prefers Markdown to LaTeX: the prose stays beside the math.
        return self.markdown()

    def text(self) -> str:
        """Plain Unicode text for a terminal."""
        out = [text_prose(self.title), ""]
        if self.intro:
            out += [text_prose(self.intro), ""]
        for n, step in enumerate(self.steps, start=1):
            out.append(f"{n}. {text_prose(step.title)} — {text_prose(step.justification)}")
            for lhs, rel, rhs in step.rows():
                out.append(f"   {_plain(lhs, self.book_order)} {rel} {_plain(rhs, self.book_order)}")
            if step.note:
                out.append(f"   {text_prose(step.note)}")
        return "\n".join(out)

    def panels(self) -> list:
        """One rich panel per step, for a terminal.

        >>> import sympy as sp
        >>> d = Derivation("T", [Step("Cost", "one example", [(sp.Symbol("C"), sp.Symbol("c"))])])
        >>> str(d.panels()[0].title)
        'Step 1: Cost'
        """
        from rich.panel import Panel
        from rich.text import Text

        panels = []
        for n, step in enumerate(self.steps, start=1):
            body = Text(text_prose(_sentence(step.justification)), style="italic")
            for lhs, rel, rhs in step.rows():
                body.append(f"\n{_plain(lhs, self.book_order)} {rel} {_plain(rhs, self.book_order)}", style="bold")
            if step.note:
                body.append(f"\n{text_prose(step.note)}", style="dim")
            # Titles are plain text, not rich markup: a formula may hold brackets.
            title = Text(f"Step {n}: {text_prose(step.title)}")
            panels.append(Panel(body, title=title, title_align="left"))
        return panels

    def _repr_latex_(self) -> str:
        # Each step's heading as a text row above its formulas, so a notebook
        # shows the derivation, not just a column of equations.
        rows = []
        for n, step in enumerate(self.steps, start=1):
            rows.append(r"\text{%d. %s} &" % (n, latex_prose(step.title)))
            rows += step.formulas(self.book_order)
        return display_math(rows)


# --- prose -------------------------------------------------------------------

def counted(n: int, noun: str) -> str:
    """``n`` and the noun, plural unless ``n`` is 1 (regular English plurals).

    >>> counted(1, "path"), counted(2, "path"), counted(0, "candidate")
    ('1 path', '2 paths', '0 candidates')
    """
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _sentence(text: str) -> str:
    """A justification as a sentence after its heading: capital first, full stop last."""
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "?", "!")) else text + "."


_MATH = re.compile(r"\$([^$]*)\$")

#: Unicode in prose and how LaTeX (with only amsmath) spells it.
UNICODE_LATEX = {
    "δ": r"$\delta$", "∂": r"$\partial$", "σ": r"$\sigma$", "η": r"$\eta$", "θ": r"$\theta$",
    "Σ": r"$\Sigma$", "∇": r"$\nabla$", "⊙": r"$\odot$", "·": r"$\cdot$", "×": r"$\times$",
    "≈": r"$\approx$", "≤": r"$\le$", "≥": r"$\ge$", "≠": r"$\ne$", "→": r"$\to$",
    "⇒": r"$\Rightarrow$", "−": "-", "—": "---", "–": "--", "’": "'", "…": r"\dots{}",
    "²": r"$^2$", "′": "'", "“": "``", "”": "''",
    "λ": r"$\lambda$", "Δ": r"$\Delta$", "∞": r"$\infty$",
    "ρ": r"$\rho$", "μ": r"$\mu$", "γ": r"$\gamma$", "β": r"$\beta$", "ε": r"$\varepsilon$",
    "ẑ": r"$\hat{z}$", "√": r"$\surd$",
    # The default (OT1) text font has no <, > or |: it prints ¡, ¿ and —.
    "<": "$<$", ">": "$>$", "|": "$|$",
}
_TEX_SPECIALS = {"&": r"\&", "%": r"\%", "#": r"\#", "_": r"\_", "$": r"\$", "^": r"\^{}",
                 "{": r"\{", "}": r"\}", "~": r"\~{}", "\\": r"\textbackslash{}"}
_MATH_UNICODE = {"δ": r"\delta ", "∂": r"\partial ", "σ": r"\sigma ", "η": r"\eta ", "Σ": r"\sum ",
                 "⊙": r"\odot ", "·": r"\cdot ", "×": r"\times ", "−": "-", "′": "'"}


def latex_prose(text: str) -> str:
    """Prose for LaTeX: special characters escaped and Unicode spelled out,
    ``$…$`` kept as math.

    >>> latex_prose("δ route — 50% of $w^l_{ji}$, ⊙ and C_T")
    '$\\\\delta$ route --- 50\\\\% of $w^l_{ji}$, $\\\\odot$ and C\\\\_T'
    >>> print(latex_prose("|∇f| < 1 by `derive --expand`"))
    $|$$\\nabla$f$|$ $<$ 1 by \\texttt{derive -{}-{}expand}
    """
    out = []
    for n, chunk in enumerate(text.split("$")):
        if n % 2:
            out.append("$" + "".join(_MATH_UNICODE.get(c, c) for c in chunk) + "$")
        else:
            out.append(_CODE.sub(_texttt, chunk) if "`" in chunk else _plain_prose(chunk))
    return "".join(out)


#: Inline code in prose, as Markdown writes it: `symbackprop derive`.
_CODE = re.compile(r"`([^`]*)`|([^`]+)")


def _plain_prose(chunk: str) -> str:
    return "".join(UNICODE_LATEX.get(c, _TEX_SPECIALS.get(c, c)) for c in chunk)


def _texttt(match: re.Match) -> str:
    code, prose = match.groups()
    if code is None:
        return _plain_prose(prose)
    # Typewriter type as typed: -{}- keeps the two hyphens of an option apart.
    return r"\texttt{" + "".join(_TEX_SPECIALS.get(c, c) for c in code).replace("-", "-{}") + "}"


_TEXT_COMMANDS = {r"\delta": "δ", r"\partial": "∂", r"\sigma": "σ", r"\odot": "⊙", r"\eta": "η",
                  r"\cdot": "·", r"\sum": "Σ", r"\to": "→", r"\tanh": "tanh", r"\log": "log",
                  r"\theta": "θ", r"\infty": "∞", r"\ne": "≠", r"\le": "≤", r"\ge": "≥",
                  r"\rho": "ρ", r"\mu": "μ", r"\gamma": "γ", r"\beta": "β", r"\varepsilon": "ε"}


_SPACED_OPERATORS = {"cdot", "odot", "times", "to", "ne", "le", "ge"}


def text_prose(text: str) -> str:
    """Prose for a terminal: inline math with its LaTeX commands turned into
    Unicode, fractions into ``/`` and braces dropped or made brackets.

    >>> text_prose(r"$\\delta^{l+1}_j$ and $\\sigma'$")
    "δ^(l+1)_j and σ'"
    >>> text_prose(r"$z = \\frac{y}{1 + e^{- x}}$, $f = x^{2} + \\sin{\\left(y \\right)}$")
    'z = y/(1 + e^(- x)), f = x^2 + sin(y)'
    >>> text_prose(r"$1 \\cdot 10^{-10}$, $a \\odot b$, $x\\cdot y$")
    '1 · 10^(-10), a ⊙ b, x·y'
    """
    return _MATH.sub(lambda match: _plain_math(match.group(1)), text)


def _plain_math(math: str) -> str:
    out, _ = _plain_group(math, 0)
    return out


def _plain_group(math: str, i: int) -> tuple[str, int]:
    """Read LaTeX from ``i`` up to the matching ``}`` (or the end) as plain text."""
    out: list[str] = []
    while i < len(math):
        c = math[i]
        if c == "}":
            return "".join(out), i + 1
        if c == "{":
            inner, i = _plain_group(math, i + 1)
            out.append(_bracketed(inner))
            continue
        if c == "\\":
            match = re.match(r"\\([A-Za-z]+) ?|\\(.)", math[i:])
            name = match.group(1) or match.group(2)
            i += match.end()
            if name == "frac":
                top, i = _plain_group(math, i + 1)
                bottom, i = _plain_group(math, i + 1)
                out.append(f"{_bracketed(top)}/{_bracketed(bottom)}")
            elif name in ("left", "right"):
                while name == "right" and out and out[-1] == " ":
                    out.pop()  # "y \right)" closes as "y)"
                if i < len(math) and math[i] == ".":  # \left. and \right. print nothing
                    i += 1
            elif name == "operatorname" and i < len(math) and math[i] == "{":
                word, i = _plain_group(math, i + 1)
                out.append(word)
            else:
                symbol = _TEXT_COMMANDS.get("\\" + name, name)
                # The space a command swallows is put back after an operator
                # that has one before it: "1 \cdot 10" reads "1 · 10".
                spaced = name in _SPACED_OPERATORS and out and out[-1] == " "
                out.append(symbol + " " if spaced else symbol)
            continue
        out.append(c)
        i += 1
    return "".join(out), i


def _bracketed(text: str) -> str:
    # x^{2} → x^2, but e^{- x} → e^(- x); a group already in brackets keeps them.
    text = text.strip()
    if text.isalnum() or (text.startswith("(") and text.endswith(")") and _balanced(text[1:-1])):
        return text
    return f"({text})"


def _balanced(text: str) -> bool:
    depth = 0
    for c in text:
        depth += {"(": 1, ")": -1}.get(c, 0)
        if depth < 0:
            return False
    return depth == 0
