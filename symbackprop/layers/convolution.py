"""The convolution layer of chapter 5: filters slid over the image, extended to
several input channels, a stride and zero padding.

A :class:`~symbackprop.layers.protocol.Layer` like the dense one: it states
``z^F_{k,ij}`` and ``a^F_{k,ij}`` and nothing else; the engine derives the
filter gradient (a correlation of the input with the δ map) and the unit
errors of what the layer reads (the full convolution of δ with the flipped
filter) from them.
"""

from __future__ import annotations

from collections.abc import Sequence

import sympy as sp

from ..errors import NetworkSpecError
from ..functions.activations import Activation, get_activation
from .protocol import Layer, book_symbol


def output_size(n: int, f: int, s: int, p: int, what: str = "side") -> int:
    """The side of a feature map, ``⌊(n + 2p − f)/s⌋ + 1``, for a side ``n``
    read by a filter of side ``f`` with stride ``s`` and padding ``p`` — or a
    :class:`~symbackprop.errors.NetworkSpecError` naming sizes that work when
    ``s`` does not divide ``n + 2p − f`` (a silent crop would drop pixels).

    >>> output_size(6, 3, 1, 0), output_size(5, 3, 2, 1)
    (4, 3)
    >>> output_size(6, 3, 2, 0, "row")
    Traceback (most recent call last):
    ...
    symbackprop.errors.NetworkSpecError: a filter of 3 rows with stride 2 and padding 0 does not tile an image of 6 rows: 6 + 2·0 − 3 = 3 is not a multiple of 2 (the last 1 row would be dropped); use an image of 5 or 7 rows, or stride 1 or 3
    """
    if p >= f:
        raise NetworkSpecError(
            f"padding {p} is not less than the filter's {f} {what}s: a window would read padding only; "
            f"use a padding below {f}"
        )
    span = n + 2 * p - f
    if span < 0:
        raise NetworkSpecError(
            f"a filter of {f} {what}s does not fit in an image of {n} {what}s with padding {p}; "
            f"use a filter of at most {n + 2 * p} {what}s or more padding"
        )
    if span % s:
        rest = span % s
        images = [m for m in (n - rest, n - rest + s) if m + 2 * p >= f and m >= 1]
        paddings = [q for q in range(f) if (n + 2 * q - f) >= 0 and (n + 2 * q - f) % s == 0]
        strides = [t for t in range(1, min(span, 12) + 1) if span % t == 0]
        ways = [f"an image of {' or '.join(map(str, images))} {what}s"] if images else []
        if paddings:
            ways.append(f"padding {' or '.join(map(str, paddings))}")
        ways.append(f"stride {' or '.join(map(str, strides))}")
        raise NetworkSpecError(
            f"a filter of {f} {what}s with stride {s} and padding {p} does not tile an image of {n} {what}s: "
            f"{n} + 2·{p} − {f} = {span} is not a multiple of {s} (the last {rest} {what}"
            f"{'s' if rest > 1 else ''} would be dropped); use {', or '.join(ways)}"
        )
    return span // s + 1


class Convolution(Layer):
    """``K`` filters ``w^{F_k}`` slid over ``C`` input maps without flipping
    (correlation) with stride ``s`` and zero padding ``p``:
    ``z^F_{k,ij} = Σ_c Σ_{u,v} w^{F_k}_{c,uv} x_{c, s(i−1)+u−p, s(j−1)+v−p} + b^F_k``,
    ``a^F_{k,ij} = a(z^F_{k,ij})``; a padded position is a zero, so its term is
    absent. With one channel the channel index is left out, as in the book
    (``w^{F_k}_{uv}``). ``name`` is the letter of its quantities (``F``); a second
    convolution reading the first one's maps takes another (``G``).

    >>> from symbackprop import ConvolutionalNetwork, get_activation
    >>> layer = Convolution(2, [ConvolutionalNetwork.pixels((3, 3))], 1, (2, 2), get_activation("generic"))
    >>> layer.equations[layer.z[0][1][1]]
    b^F_1 + w^F1_11*x_22 + w^F1_12*x_23 + w^F1_21*x_32 + w^F1_22*x_33
    >>> padded = Convolution(2, [ConvolutionalNetwork.pixels((4, 4))], 1, (2, 2), get_activation("generic"),
    ...                      stride=(2, 2), padding=(1, 1))
    >>> padded.map_shape, padded.equations[padded.z[0][0][0]]
    ((3, 3), b^F_1 + w^F1_22*x_11)
    """

    def __init__(
        self,
        index: int,
        maps: Sequence[Sequence[Sequence[sp.Symbol]]],
        filters: int,
        size: tuple[int, int],
        activation: Activation,
        stride: tuple[int, int] = (1, 1),
        padding: tuple[int, int] = (0, 0),
        name: str = "F",
    ) -> None:
        channels, height, width = len(maps), len(maps[0]), len(maps[0][0])
        fh, fw = size
        if padding == (0, 0) and (fh > height or fw > width):
            raise NetworkSpecError(
                f"a {fh}x{fw} filter does not fit in a {height}x{width} image; "
                "use a filter no larger than the input"
            )
        self.index, self.activation = index, activation
        self.channels, self.stride, self.padding = channels, stride, padding
        (sh, sw), (ph, pw) = stride, padding
        self.map_shape = (output_size(height, fh, sh, ph, "row"), output_size(width, fw, sw, pw, "column"))
        rows, cols = self.map_shape
        K = range(1, filters + 1)
        # w[k][c][u][v]; one channel keeps the book's name w^{F_k}_{uv}
        channel = (lambda c: ()) if channels == 1 else (lambda c: ((c,),))
        self.w = [
            [[[book_symbol("w", f"{name}{k}", *channel(c), (u, v)) for v in range(1, fw + 1)]
              for u in range(1, fh + 1)] for c in range(1, channels + 1)]
            for k in K
        ]
        self.b = [book_symbol("b", name, (k,)) for k in K]
        self.z = [[[book_symbol("z", name, (k,), (i, j)) for j in range(1, cols + 1)]
                   for i in range(1, rows + 1)] for k in K]
        self.a = [[[book_symbol("a", name, (k,), (i, j)) for j in range(1, cols + 1)]
                   for i in range(1, rows + 1)] for k in K]
        for k in K:
            for i in range(1, rows + 1):
                for j in range(1, cols + 1):
                    book_symbol("delta", name, (k,), (i, j))
        self.weights = tuple(s for f in self.w for m in f for row in m for s in row)
        self.parameters = self.weights + tuple(self.b)
        self.units = tuple(s for m in self.z for row in m for s in row)
        self.outputs = tuple(s for m in self.a for row in m for s in row)
        equations: dict[sp.Symbol, sp.Expr] = {}
        for k in range(filters):
            for i in range(rows):
                for j in range(cols):
                    equations[self.z[k][i][j]] = sp.Add(*(
                        self.w[k][c][u][v] * maps[c][sh * i + u - ph][sw * j + v - pw]
                        for c in range(channels) for u in range(fh) for v in range(fw)
                        if 0 <= sh * i + u - ph < height and 0 <= sw * j + v - pw < width
                    )) + self.b[k]
        for k in range(filters):
            for i in range(rows):
                for j in range(cols):
                    equations[self.a[k][i][j]] = activation(self.z[k][i][j])
        self.equations = equations


class InputMaps(Layer):
    """The input image as a layer of units, ``z^I_{c,ij} = x_{c,ij}`` and
    ``a^I_{c,ij} = z^I_{c,ij}``, so that the δ route derives
    ``δ^I_{c,ij} = ∂C/∂x_{c,ij}``: the error a convolution sends back to what
    it reads. It has no parameters.

    >>> from symbackprop import ConvolutionalNetwork
    >>> layer = InputMaps(1, [ConvolutionalNetwork.pixels((2, 2))])
    >>> layer.equations[layer.z[0][1][0]], layer.units[:2]
    (x_21, (z^I_111, z^I_112))
    """

    def __init__(self, index: int, maps: Sequence[Sequence[Sequence[sp.Symbol]]]) -> None:
        self.index, self.activation = index, get_activation("identity")
        C, H, W = len(maps), len(maps[0]), len(maps[0][0])
        self.z = [[[book_symbol("z", "I", (c,), (i, j)) for j in range(1, W + 1)] for i in range(1, H + 1)]
                  for c in range(1, C + 1)]
        self.a = [[[book_symbol("a", "I", (c,), (i, j)) for j in range(1, W + 1)] for i in range(1, H + 1)]
                  for c in range(1, C + 1)]
        for c in range(1, C + 1):
            for i in range(1, H + 1):
                for j in range(1, W + 1):
                    book_symbol("delta", "I", (c,), (i, j))
        self.parameters = ()
        self.units = tuple(s for m in self.z for row in m for s in row)
        self.outputs = tuple(s for m in self.a for row in m for s in row)
        equations: dict[sp.Symbol, sp.Expr] = {}
        for c in range(C):
            for i in range(H):
                for j in range(W):
                    equations[self.z[c][i][j]] = maps[c][i][j]
        for c in range(C):
            for i in range(H):
                for j in range(W):
                    equations[self.a[c][i][j]] = self.activation(self.z[c][i][j])
        self.equations = equations
