"""The output layer of chapter 5: every output unit reads every pooled value."""

from __future__ import annotations

from collections.abc import Sequence

import sympy as sp

from ..functions.activations import Activation
from .protocol import Layer, book_symbol


class FullyConnectedOutput(Layer):
    """The output layer, fully connected to the pooled maps:
    ``z^O_n = Σ_k Σ_{ij} w^O_{k,n,ij} a^P_{k,ij} + b^O_n``, ``a^O_n = a(z^O_n)``.

    >>> from symbackprop import ConvolutionalNetwork
    >>> net = ConvolutionalNetwork((3, 3), 1, (2, 2), pool=(2, 2), outputs=2)
    >>> net.definition("z^O_2")
    a^P_111*w^O_1211 + b^O_2
    """

    def __init__(self, index: int, pooled: Sequence, outputs: int, activation: Activation) -> None:
        self.index, self.activation = index, activation
        K, R, Q = len(pooled), len(pooled[0]), len(pooled[0][0])
        N = range(1, outputs + 1)
        #: w[n][k][i][j], the layout of the book's out_W.
        self.w = [[[[book_symbol("w", "O", (k + 1,), (n,), (i + 1, j + 1)) for j in range(Q)]
                    for i in range(R)] for k in range(K)] for n in N]
        self.b = [book_symbol("b", "O", (n,)) for n in N]
        self.z = [book_symbol("z", "O", (n,)) for n in N]
        self.a = [book_symbol("a", "O", (n,)) for n in N]
        self.weights = tuple(s for wn in self.w for m in wn for row in m for s in row)
        self.parameters = self.weights + tuple(self.b)
        self.units, self.outputs = tuple(self.z), tuple(self.a)
        equations: dict[sp.Symbol, sp.Expr] = {}
        for n in range(outputs):
            equations[self.z[n]] = sp.Add(*(
                self.w[n][k][i][j] * pooled[k][i][j] for k in range(K) for i in range(R) for j in range(Q)
            )) + self.b[n]
        for n in range(outputs):
            equations[self.a[n]] = activation(self.z[n])
        self.equations = equations
