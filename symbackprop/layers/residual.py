"""The residual (skip) connection: a dense layer whose outputs add an earlier
layer's outputs of the same width.

``z^l_j = Σ_i w^l_{ji} a^{l−1}_i + b^l_j`` as in the dense layer, and
``a^l_j = a(z^l_j) + a^s_j`` with ``s < l`` the skip's source (``s = l − 2``
in the usual block). The model is then a graph, not a chain: ``a^s_j`` has
two consumers, ``z^{s+1}`` and ``a^l_j``, and the δ route sums over both, so
the error reaches layer ``s`` by two paths. Nothing here says so: the
engine reads it off these equations.

>>> import sympy as sp
>>> from symbackprop.functions.activations import get_activation
>>> x = sp.symbols("x_1 x_2")
>>> layer = Residual(2, x, get_activation("tanh"), skip=x, source=1)
>>> layer.equations[layer.a[1]]
x_2 + tanh(z^2_2)
"""

from __future__ import annotations

from collections.abc import Sequence

import sympy as sp

from ..errors import NetworkSpecError
from ..functions.activations import Activation
from .dense import Dense


class Residual(Dense):
    """A fully connected layer ``l`` with a skip connection from ``skip``, the
    outputs of the earlier layer ``source``: ``a^l_j = a(z^l_j) + skip_j``.
    Its width is the skip's.

    >>> import sympy as sp
    >>> from symbackprop.functions.activations import get_activation
    >>> layer = Residual(3, sp.symbols("a^2_1 a^2_2"), get_activation("generic"), skip=sp.symbols("x_1 x_2"), source=1)
    >>> layer.equations[layer.a[0]]
    x_1 + a(z^3_1)
    >>> Residual(3, sp.symbols("a^2_1 a^2_2"), get_activation("tanh"), skip=(), source=1)
    Traceback (most recent call last):
    ...
    symbackprop.errors.NetworkSpecError: the skip connection of layer 3 has no outputs to add; name an earlier layer
    """

    def __init__(
        self, index: int, inputs: Sequence[sp.Symbol], activation: Activation, skip: Sequence[sp.Symbol],
        source: int,
    ) -> None:
        self.skip = tuple(skip)
        #: The layer whose outputs are added, numbered like the book's layers (1: the inputs).
        self.skip_source = source
        if not self.skip:
            raise NetworkSpecError(f"the skip connection of layer {index} has no outputs to add; name an earlier layer")
        super().__init__(index, inputs, len(self.skip), activation)

    def output_equation(self, j: int) -> sp.Expr:
        """``a^l_{j+1} = a(z^l_{j+1}) + skip_{j+1}``.

        >>> import sympy as sp
        >>> from symbackprop.functions.activations import get_activation
        >>> x = sp.symbols("x_1:3")
        >>> Residual(2, x, get_activation("identity"), skip=x, source=1).output_equation(0)
        x_1 + z^2_1
        """
        return self.activation(self.z[j]) + self.skip[j]
