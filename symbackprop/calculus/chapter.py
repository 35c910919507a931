"""The documents of chapter 2: one derivation per topic, on the book's examples.

:mod:`symbackprop.documents.topics` collects them into ``derivations/`` (this
module is one of its providers).
"""

from __future__ import annotations

from ..documents.derivation import Derivation
from .approximation import approximation, steepest_descent
from .descent import book_gradient_descent
from .lagrange import lagrange
from .minimum import minimum
from .regression import book_regression


def documents() -> dict[str, Derivation]:
    """One derivation per topic of chapter 2, on the book's examples (file stem → derivation).

    >>> sorted(documents())[:2]
    ['approximation-formula', 'gradient-descent']
    """
    return {
        "minimum-condition": minimum("(x-1)**2 + 2*(y+1)**2 + x*y").derivation,
        "lagrange-multipliers": lagrange("x + y", "x**2 + y**2 = 1").derivation,
        "approximation-formula": approximation("exp(x)*sin(y) + x**2", at=[0, 1]).derivation,
        "why-minus-gradient": steepest_descent(),
        "gradient-descent": book_gradient_descent(),
        "regression": book_regression().derivation,
    }
