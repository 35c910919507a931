"""The layer protocol: what every kind of layer states, and nothing else.

A layer knows its symbols and its *local* forward equations, nothing else:
the engine derives the direct route and the δ route from those equations,
so a new kind of layer (convolution, pooling) plugs into the same engine.

A layer has
- ``parameters``: the symbols gradient descent adjusts;
- ``weights``: those of the parameters that weight decay shrinks (not the
  biases);
- ``units``: the weighted inputs ``z`` that carry a unit error ``δ = ∂C/∂z``;
- ``outputs``: the values the next layer reads (``a``);
- ``equations``: each of its quantities defined in terms of the previous
  layer's outputs, its parameters and its own earlier quantities.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import sympy as sp

from ..functions.activations import Activation
from ..notation.latex import SYMBOL_LATEX
from ..notation.symbols import index_text, quantity, unit_error_symbol


class Layer:
    """Base of all layers: the four things the engine reads.

    Subclasses fill ``index``, ``parameters``, ``units``, ``outputs`` and
    ``equations`` (in the order the quantities are computed).
    """

    index: int
    parameters: tuple[sp.Symbol, ...]
    #: The parameters weight decay's ``(λ/2) Σ w²`` sums over; none unless a layer says.
    weights: tuple[sp.Symbol, ...] = ()
    units: tuple[sp.Symbol, ...]
    outputs: tuple[sp.Symbol, ...]
    equations: dict[sp.Symbol, sp.Expr]
    activation: Activation

    @property
    def unit_errors(self) -> tuple[sp.Symbol, ...]:
        """The unit errors ``δ`` of this layer, one per unit."""
        return tuple(unit_error_symbol(u) for u in self.units)

    @property
    def parameter_count(self) -> int:
        return len(self.parameters)


def book_symbol(kind: str, sup: str, *groups: Sequence[int]) -> sp.Symbol:
    """A quantity named like :func:`~symbackprop.notation.symbols.quantity`, with its
    book LaTeX (index groups separated by commas) registered for the printer.

    >>> from symbackprop import book_latex
    >>> w = book_symbol("w", "O", (1,), (2,), (1, 1))
    >>> w, book_latex(w)
    (w^O_1211, 'w^{O}_{1,2,11}')
    """
    indices = [i for group in groups for i in group]
    symbol = quantity(kind, sup, *indices)
    head = r"\delta" if kind == "delta" else kind
    sup_tex = re.sub(r"^([A-Z])(\d+)$", r"\1_{\2}", sup)
    SYMBOL_LATEX[symbol.name] = "%s^{%s}_{%s}" % (
        head, sup_tex, ",".join(index_text(g) for g in groups)
    )
    return symbol
