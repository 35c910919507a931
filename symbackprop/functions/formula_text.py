"""Formula text as people write it: plain, or LaTeX-ish as on a homework sheet.

``\\frac{a}{b}``, ``\\delta``, ``\\sigma``, ``\\cdot``, ``\\left(``, Greek
letters typed as such (``δ^3_1``, ``σ'(z)``), the Unicode minus and a
product written by juxtaposition are rewritten into the plain syntax that
:func:`~symbackprop.functions.parsing.parse_expression` reads; plain text
passes through unchanged.

>>> plain_formula("δ^3_1 · w^3_11")
'delta^3_1 * w^3_11'
"""

from __future__ import annotations

import re

from ..errors import ExpressionError, echo

_LATEX_WORDS = {
    r"\left": "", r"\right": "", r"\cdot": "*", r"\times": "*", r"\,": " ", r"\;": " ", r"\!": "",
    r"\delta": "delta", r"\sigma": "sigma", r"\tanh": "tanh", r"\exp": "exp", r"\ln": "ln", r"\log": "log",
    "δ": "delta", "σ": "sigma", "·": "*", "×": "*", "−": "-", "$": "",
}
# A subscript in braces after a name with no superscript (t_{1}): Python reads t_1 as a name.
_BRACED_SUB = re.compile(r"(?<![\w}])([A-Za-z]+)_\{([0-9]+)\}")
# Two operands side by side, as LaTeX writes a product.
_JUXTAPOSED = re.compile(r"(?<=[\w)}'])\s+(?=[\w(\\])|(?<=\))(?=[\w(])")


def plain_formula(text: str) -> str:
    """LaTeX-ish formula text made plain: ``\\frac{a}{b}`` → ``((a)/(b))``,
    ``\\delta`` → ``delta``, a product written by juxtaposition gets its ``*``.

    >>> plain_formula(r"\\delta^{3}_{1} \\cdot w^{3}_{11} \\left(1 - a^{2}_{1}\\right) x_{1}")
    'delta^{3}_{1} * w^{3}_{11}*(1 - a^{2}_{1})*x_1'
    >>> plain_formula(r"\\frac{1}{2}(a^3_1 - t_1)")
    '((1)/(2))*(a^3_1 - t_1)'
    """
    for word, plain in _LATEX_WORDS.items():
        text = text.replace(word, plain)
    text = _expand_fractions(text)
    text = _BRACED_SUB.sub(r"\1_\2", text)
    text = _JUXTAPOSED.sub("*", text.strip())
    return text


def _expand_fractions(text: str) -> str:
    while (start := text.find(r"\frac")) >= 0:
        groups, at = [], start + len(r"\frac")
        for _ in range(2):
            while at < len(text) and text[at] == " ":
                at += 1
            if at >= len(text) or text[at] != "{":
                raise ExpressionError(f"\\frac needs two {{…}} groups in {echo(text)}")
            depth, begin = 0, at
            for at in range(begin, len(text)):
                depth += {"{": 1, "}": -1}.get(text[at], 0)
                if depth == 0:
                    break
            else:
                raise ExpressionError(f"unbalanced braces in {echo(text)}")
            groups.append(text[begin + 1:at])
            at += 1
        text = f"{text[:start]}(({groups[0]})/({groups[1]})){text[at:]}"
    return text
