"""The book's names for quantities: ``w^l_ji``, ``z^l_j``, ``δ^l_j``, ``C`` and ``∂C/∂p``.

Every part of the package names its symbols through these functions, so a
name read from the user (``w^{2}_{11}``, ``w2_11``) and a name printed in a
document always mean the same quantity.

>>> quantity("w", 2, 1, 1), parse_symbol_name("w^2_11")
(w^2_11, ('w', '2', '11'))
>>> Partial(COST, quantity("a", 3, 1))
∂C/∂a^3_1
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import sympy as sp

COST = sp.Symbol("C")


class Partial(sp.Expr):
    """An unevaluated local derivative ``∂num/∂den`` between two named quantities.

    >>> Partial(COST, sp.Symbol("a^3_1"))
    ∂C/∂a^3_1
    """

    is_commutative = True

    def __new__(cls, numerator: sp.Symbol, denominator: sp.Symbol):
        return sp.Expr.__new__(cls, numerator, denominator)

    @property
    def numerator(self) -> sp.Symbol:
        return self.args[0]

    @property
    def denominator(self) -> sp.Symbol:
        return self.args[1]

    def _sympystr(self, printer) -> str:
        return f"∂{printer._print(self.numerator)}/∂{printer._print(self.denominator)}"

    def _latex(self, printer) -> str:
        return r"\frac{\partial %s}{\partial %s}" % (
            printer._print(self.numerator),
            printer._print(self.denominator),
        )


_NAME_FORMS = (
    # book form: kind ^ {sup} _ {sub}
    re.compile(r"^(?P<kind>[A-Za-z]+|δ)\^\{?(?P<sup>[A-Za-z]*\d*)\}?_\{?(?P<sub>\d+(?:,\d+)*)\}?$"),
    # compact form: w2_11, delta3_1
    re.compile(r"^(?P<kind>[A-Za-z]+?|δ)(?P<sup>\d+)_\{?(?P<sub>\d+(?:,\d+)*)\}?$"),
    # inputs and targets: x_1, x1, t_2
    re.compile(r"^(?P<kind>[xt])_?\{?(?P<sub>\d+)\}?$"),
)


def parse_symbol_name(text: str) -> tuple[str, str, str] | None:
    """Split a quantity's name into (kind, superscript, subscript text).

    >>> parse_symbol_name("w^{2}_{1,12}"), parse_symbol_name("delta3_1"), parse_symbol_name("x_4")
    (('w', '2', '1,12'), ('delta', '3', '1'), ('x', '', '4'))
    """
    cleaned = text.strip().replace(" ", "")
    for form in _NAME_FORMS:
        match = form.match(cleaned)
        if match:
            groups = match.groupdict()
            kind = "delta" if groups["kind"] in ("δ", "d", "delta", "Delta") else groups["kind"]
            return kind, groups.get("sup") or "", groups["sub"]
    return None


def split_indices(sub: str, count: int) -> tuple[int, ...] | None:
    """Read ``count`` indices from a subscript: one digit each, or comma-separated.

    >>> split_indices("11", 2), split_indices("1,12", 2), split_indices("12", 1)
    ((1, 1), (1, 12), (12,))
    """
    digits = sub.replace(",", "")
    if count == 1 and "," not in sub:
        return (int(sub),)
    if len(digits) == count:
        return tuple(int(c) for c in digits)
    parts = sub.split(",")
    if len(parts) == count:
        return tuple(int(p) for p in parts)
    return None


def index_text(indices: Sequence[int]) -> str:
    """Subscripts as the book writes them: ``11`` for (1, 1), ``1,12`` when one
    index has two digits.

    >>> index_text((1, 1)), index_text((1, 12)), index_text((3,))
    ('11', '1,12', '3')
    """
    if all(i < 10 for i in indices):
        return "".join(str(i) for i in indices)
    return ",".join(str(i) for i in indices)


def quantity(kind: str, layer: int | str, *indices: int) -> sp.Symbol:
    """The symbol ``kind^layer_indices``, e.g. ``w^2_11`` or ``delta^3_1``.

    >>> quantity("w", 2, 1, 12)
    w^2_1,12
    """
    return sp.Symbol(f"{kind}^{layer}_{index_text(indices)}")


def unit_error_symbol(unit: sp.Symbol) -> sp.Symbol:
    """``δ`` for a weighted input: ``z^l_j`` → ``delta^l_j`` (``∂C/∂z^l_j``).

    >>> unit_error_symbol(quantity("z", 3, 1))
    delta^3_1
    """
    name = unit.name
    if not name.startswith("z"):
        raise ValueError(f"{name} is not a weighted input")
    return sp.Symbol("delta" + name[1:])
