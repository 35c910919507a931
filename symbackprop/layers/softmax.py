"""The softmax output layer: the dense layer's weighted sums, normalized into
a distribution over the output units.

``z^L_j = Σ_i w^L_{ji} a^{L−1}_i + b^L_j`` as in the dense layer, and
``a^L_j = e^{z^L_j} / Σ_k e^{z^L_k}``: each output reads *every* weighted
input of the layer, so ``δ^L_k = Σ_j ∂C/∂a^L_j · ∂a^L_j/∂z^L_k`` has a term
for every output. The engine derives it from these equations and the
softmax's own derivative ``a_j(δ_jk − a_k)``
(:class:`~symbackprop.functions.softmax.softmax`), as for any other layer.
"""

from __future__ import annotations

from collections.abc import Sequence

import sympy as sp

from ..functions.softmax import SOFTMAX, softmax
from .dense import Dense


class Softmax(Dense):
    """A fully connected layer ``L`` with softmax outputs:
    ``a^L_j = softmax_j(z^L_1, …, z^L_n)``.

    >>> import sympy as sp
    >>> layer = Softmax(2, sp.symbols("x_1 x_2"), 3)
    >>> layer.equations[layer.z[0]]
    b^2_1 + w^2_11*x_1 + w^2_12*x_2
    >>> layer.equations[layer.a[1]]
    softmax(2, z^2_1, z^2_2, z^2_3)
    >>> layer.activation.name
    'softmax'
    """

    def __init__(self, index: int, inputs: Sequence[sp.Symbol], width: int) -> None:
        super().__init__(index, inputs, width, SOFTMAX)

    def output_equation(self, j: int) -> sp.Expr:
        return softmax(j + 1, *self.z)
