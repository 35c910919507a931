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


def named(name: str, latex: str) -> sp.Symbol:
    """A symbol with its LaTeX registered for the book printer.

    >>> from symbackprop import book_latex
    >>> book_latex(named("h^(0)_1", "h^{(0)}_{1}"))
    'h^{(0)}_{1}'
    """
    SYMBOL_LATEX[name] = latex
    return sp.Symbol(name)


def step_symbol(kind: str, t: int | None, *indices: int, prefix: str = "") -> sp.Symbol:
    """``kind^{prefix(t)}_{indices}``: a quantity of time step (or batch example)
    ``t``, None for one of no step.

    >>> step_symbol("z", 3, 1), step_symbol("delta", 2, 1), step_symbol("z", 2, 1, prefix="O")
    (z^(3)_1, delta^(2)_1, z^O(2)_1)
    >>> step_symbol("w", None, 1, 2, prefix="O")
    w^O_12
    >>> from symbackprop import book_latex
    >>> book_latex(step_symbol("zhat", 3, 1, prefix="2")), book_latex(step_symbol("sigma2", None, 1, prefix="2"))
    ('\\\\hat{z}^{2(3)}_{1}', '(\\\\sigma^{2}_{1})^{2}')
    """
    sub = index_text(indices)
    step = "" if t is None else f"({t})"
    sup = prefix + step
    name = f"{kind}^{sup}_{sub}" if sup else f"{kind}_{sub}"
    latex_sub = ",".join(str(i) for i in indices) if any(i > 9 for i in indices) else sub
    sup_latex = prefix + ("" if t is None else f"({t})")
    if kind == "sigma2":
        # the variance (σ^l_j)², not a quantity σ with a superscript 2
        return named(name, f"(\\sigma^{{{sup_latex}}}_{{{latex_sub}}})^{{2}}")
    head = _HEADS.get(kind, kind)
    return named(name, f"{head}^{{{sup_latex}}}_{{{latex_sub}}}" if sup_latex else f"{head}_{{{latex_sub}}}")


_HEADS = {"delta": r"\delta", "mu": r"\mu", "gamma": r"\gamma", "beta": r"\beta", "zhat": r"\hat{z}"}
