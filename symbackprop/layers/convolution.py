"""The convolution layer of chapter 5: filters slid over the image.

A :class:`~symbackprop.layers.protocol.Layer` like the dense one: it states
``z^F_{k,ij}`` and ``a^F_{k,ij}`` and nothing else; the engine derives the
filter gradient (a correlation of the input with the δ map) from them.
"""

from __future__ import annotations

from collections.abc import Sequence

import sympy as sp

from ..errors import NetworkSpecError
from ..functions.activations import Activation
from .protocol import Layer, book_symbol


class Convolution(Layer):
    """Filters ``w^{F_k}`` slid over the image without flipping (correlation,
    stride 1, "valid" size): ``z^F_{k,ij} = Σ_{u,v} w^{F_k}_{uv} x_{i+u−1,j+v−1} + b^F_k``,
    ``a^F_{k,ij} = a(z^F_{k,ij})``.

    >>> from symbackprop import ConvolutionalNetwork, get_activation
    >>> layer = Convolution(2, ConvolutionalNetwork.pixels((3, 3)), 1, (2, 2), get_activation("generic"))
    >>> layer.equations[layer.z[0][1][1]]
    b^F_1 + w^F1_11*x_22 + w^F1_12*x_23 + w^F1_21*x_32 + w^F1_22*x_33
    """

    def __init__(
        self,
        index: int,
        image: Sequence[Sequence[sp.Symbol]],
        filters: int,
        size: tuple[int, int],
        activation: Activation,
    ) -> None:
        height, width = len(image), len(image[0])
        fh, fw = size
        if fh > height or fw > width:
            raise NetworkSpecError(
                f"a {fh}x{fw} filter does not fit in a {height}x{width} image; "
                "use a filter no larger than the input"
            )
        self.index, self.activation = index, activation
        self.map_shape = (height - fh + 1, width - fw + 1)
        rows, cols = self.map_shape
        K = range(1, filters + 1)
        self.w = [
            [[book_symbol("w", f"F{k}", (u, v)) for v in range(1, fw + 1)] for u in range(1, fh + 1)]
            for k in K
        ]
        self.b = [book_symbol("b", "F", (k,)) for k in K]
        self.z = [[[book_symbol("z", "F", (k,), (i, j)) for j in range(1, cols + 1)]
                   for i in range(1, rows + 1)] for k in K]
        self.a = [[[book_symbol("a", "F", (k,), (i, j)) for j in range(1, cols + 1)]
                   for i in range(1, rows + 1)] for k in K]
        for k in K:
            for i in range(1, rows + 1):
                for j in range(1, cols + 1):
                    book_symbol("delta", "F", (k,), (i, j))
        self.parameters = tuple(s for f in self.w for row in f for s in row) + tuple(self.b)
        self.units = tuple(s for m in self.z for row in m for s in row)
        self.outputs = tuple(s for m in self.a for row in m for s in row)
        equations: dict[sp.Symbol, sp.Expr] = {}
        for k in range(filters):
            for i in range(rows):
                for j in range(cols):
                    equations[self.z[k][i][j]] = sp.Add(*(
                        self.w[k][u][v] * image[i + u][j + v] for u in range(fh) for v in range(fw)
                    )) + self.b[k]
        for k in range(filters):
            for i in range(rows):
                for j in range(cols):
                    equations[self.a[k][i][j]] = activation(self.z[k][i][j])
        self.equations = equations
