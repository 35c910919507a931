"""A sheet of claimed gradients, one ``∂C/∂p = …`` per line, each diagnosed.

A line is plain (``dC/dw^2_11 = delta^2_1*x_1``) or LaTeX-ish
(``\\frac{\\partial C}{\\partial w^{2}_{11}} = \\delta^{2}_{1} x_{1}``);
blank lines and lines starting with ``#`` or ``%`` are skipped.

>>> sheet = check_claims(Network([2, 2, 1]), '''
... # homework 3
... dC/db^3_1 = (a^3_1 - t_1) a^3_1 (1 - a^3_1)
... \\\\frac{\\\\partial C}{\\\\partial w^{3}_{11}} = (a^{3}_{1} - t_{1}) a^{2}_{1}
... ''')
>>> [(row.line, row.diagnosis.verdict) for row in sheet.rows]
[(3, 'right'), (4, 'wrong')]
>>> sheet.ok
False
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..engine.network import LayeredModel, check_model
from ..errors import ExpressionError, SymbackpropError, echo
from ..functions.formula_text import plain_formula
from ..guards import require_seed
from .diagnose import ClaimDiagnosis, diagnose

#: The left side of a claim: ∂C/∂p, dC/dp, \partial C/\partial p or \frac{\partial C}{\partial p}.
_LEFT = re.compile(
    r"^\s*(?:\\frac\s*\{\s*(?:\\partial|∂|d)\s*C\s*\}\s*\{\s*(?:\\partial|∂|d)\s*(?P<p1>[^}=]+(?:\}[^}=]*)*?)\}"
    r"|(?:\\partial|∂|d)\s*C\s*/\s*(?:\\partial|∂|d)\s*(?P<p2>[^=]+?))\s*=(?P<rhs>.*)$"
)
@dataclass
class ClaimRow:
    """One line of the sheet: its number, the text and the diagnosis."""

    line: int
    text: str
    diagnosis: ClaimDiagnosis


@dataclass
class ClaimsReport:
    """Every claim of a sheet, diagnosed; ``ok`` when all are right."""

    title: str
    rows: list[ClaimRow] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.rows) and all(row.diagnosis.ok for row in self.rows)

    def summary(self) -> str:
        """One line: how many claims are right.

        >>> check_claims(Network([1, 1]), "dC/db^2_1 = delta^2_1").summary()
        'all 1 claims are right'
        """
        right = sum(row.diagnosis.ok for row in self.rows)
        if right == len(self.rows):
            return f"all {right} claims are right"
        wrong = [str(row.line) for row in self.rows if not row.diagnosis.ok]
        return f"{right} of {len(self.rows)} claims are right; wrong: line{'s' if len(wrong) > 1 else ''} {', '.join(wrong)}"

    def table(self):
        """A rich table: line, parameter, verdict, diagnosis.

        >>> check_claims(Network([1, 1]), "dC/db^2_1 = delta^2_1").table().row_count
        1
        """
        from rich.table import Table

        from ..notation.text import book_text

        table = Table(title=self.title)
        for column in ("line", "∂C/∂p", "verdict", "diagnosis"):
            table.add_column(column)
        for row in self.rows:
            d = row.diagnosis
            colour = {"right": "green", "wrong": "bold red"}.get(d.verdict, "yellow")
            found = f"{d.diagnosis.pattern}: {d.diagnosis.text}" if d.diagnosis else ""
            table.add_row(str(row.line), book_text(d.parameter), f"[{colour}]{d.verdict}[/]", found)
        return table

    def latex(self) -> str:
        """Each claim's report (:meth:`ClaimDiagnosis.latex`), one display each."""
        return "\n".join(f"\\[{row.diagnosis.latex()}\\]" for row in self.rows)

    def text(self) -> str:
        """Each claim's report in plain text, with its line number."""
        return "\n".join(f"line {row.line}: {row.diagnosis.text()}" for row in self.rows)


def split_claim(text: str) -> tuple[str, str]:
    """The parameter and the formula of one claim line.

    >>> split_claim(r"\\frac{\\partial C}{\\partial w^{2}_{11}} = \\delta^{2}_{1} x_{1}")
    ('w^{2}_{11}', '\\\\delta^{2}_{1} x_{1}')
    >>> split_claim("∂C/∂b^3_1 = delta^3_1")
    ('b^3_1', 'delta^3_1')
    >>> split_claim("delta^3_1")
    Traceback (most recent call last):
    ...
    symbackprop.errors.ExpressionError: a claim reads ∂C/∂p = formula (or dC/dp = …, \\frac{\\partial C}{\\partial p} = …); got 'delta^3_1'
    """
    match = _LEFT.match(text)
    if match is None or not (match.group("p1") or match.group("p2")).strip():
        raise ExpressionError(
            "a claim reads ∂C/∂p = formula (or dC/dp = …, \\frac{\\partial C}{\\partial p} = …); "
            f"got {echo(text.strip())}"
        )
    parameter = (match.group("p1") or match.group("p2")).strip()
    return parameter, match.group("rhs").strip()


def check_claims(model: LayeredModel, text: str, *, seed: int = 0, force: bool = False) -> ClaimsReport:
    """Diagnose every claim of a sheet (see the module's text). A line that
    cannot be read raises :class:`ExpressionError` naming its number;
    ``force`` builds the direct route of a network past its size limit.

    >>> check_claims(Network([1, 1]), "dC/db^2_1 = delta^2_1\\ndC/db^2_1 = (")
    Traceback (most recent call last):
    ...
    symbackprop.errors.ExpressionError: line 2: cannot parse claimed gradient '(': '(' was never closed
    """
    check_model(model, "check_claims")
    require_seed(seed)
    if not isinstance(text, str):
        raise ExpressionError(f"the claims must be text, one ∂C/∂p = … per line; got {echo(text)}")
    report = ClaimsReport(f"claims for the {model.describe()} network")
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith(("#", "%")):
            continue
        try:
            parameter, formula = split_claim(line)
            diagnosis = diagnose(model, plain_formula(parameter), formula, seed=seed, force=force)
        except SymbackpropError as exc:
            raise type(exc)(f"line {number}: {exc}") from None
        report.rows.append(ClaimRow(number, line.strip(), diagnosis))
    if not report.rows:
        raise ExpressionError("no claims found: write one ∂C/∂p = formula per line")
    return report

