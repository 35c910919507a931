"""A recurrent layer unrolled over T time steps, and the dense output read from it.

The book has no recurrent network; the notation added here follows its
pattern. Step ``t = 1..T`` reads the input ``x^{(t)}_i`` and the previous
state ``h^{(t−1)}_i`` (``h^{(0)}`` given):

``z^{(t)}_j = Σ_i u_{ji} x^{(t)}_i + Σ_i w_{ji} h^{(t−1)}_i + b_j``,
``h^{(t)}_j = a(z^{(t)}_j)``.

The same ``u_{ji}``, ``w_{ji}``, ``b_j`` serve every step: the unrolled layer
is one :class:`~symbackprop.layers.protocol.Layer` whose equations are all
the steps in time order, so the δ route sums each shared parameter's
contributions over the steps by itself, as it sums a CNN filter's over
positions. The unit error of step t is ``δ^{(t)}_j = ∂C/∂z^{(t)}_j``.

>>> import sympy as sp
>>> from symbackprop.functions.activations import get_activation
>>> layer = Recurrent(2, 1, 2, get_activation("tanh"))
>>> layer.equations[layer.z[1][0]]
b_1 + h^(1)_1*w_11 + h^(1)_2*w_12 + u_11*x^(2)_1
"""

from __future__ import annotations

from collections.abc import Sequence

import sympy as sp

from ..functions.activations import Activation
from .protocol import Layer, step_symbol


class Recurrent(Layer):
    """``T`` steps of ``width`` units reading ``inputs`` values per step.

    ``x[t−1]`` and ``h[t]`` hold step t's inputs and states (``h[0]`` is the
    given ``h^{(0)}``); ``U``, ``W`` are the input and recurrent weight matrices.

    >>> from symbackprop.functions.activations import get_activation
    >>> layer = Recurrent(3, 2, 2, get_activation("generic"))
    >>> layer.W, layer.parameter_count
    (Matrix([
    [w_11, w_12],
    [w_21, w_22]]), 10)
    >>> len(layer.units), layer.outputs
    (6, (h^(3)_1, h^(3)_2))
    """

    def __init__(self, steps: int, inputs: int, width: int, activation: Activation, index: int = 2) -> None:
        self.index = index
        self.steps, self.width, self.activation = steps, width, activation
        self.x = [tuple(step_symbol("x", t, i) for i in range(1, inputs + 1)) for t in range(1, steps + 1)]
        self.h = [tuple(step_symbol("h", t, j) for j in range(1, width + 1)) for t in range(steps + 1)]
        self.z = [tuple(step_symbol("z", t, j) for j in range(1, width + 1)) for t in range(1, steps + 1)]
        for t in range(1, steps + 1):
            for j in range(1, width + 1):
                step_symbol("delta", t, j)
        self.U = sp.ImmutableMatrix(width, inputs, lambda j, i: step_symbol("u", None, j + 1, i + 1))
        self.W = sp.ImmutableMatrix(width, width, lambda j, i: step_symbol("w", None, j + 1, i + 1))
        self.b = sp.ImmutableMatrix([step_symbol("b", None, j) for j in range(1, width + 1)])
        self.weights = tuple(self.U) + tuple(self.W)
        self.parameters = self.weights + tuple(self.b)
        self.units = tuple(z for step in self.z for z in step)
        self.outputs = self.h[steps]
        equations: dict[sp.Symbol, sp.Expr] = {}
        for t in range(1, steps + 1):
            x, previous = self.x[t - 1], self.h[t - 1]
            for j in range(width):
                equations[self.z[t - 1][j]] = (
                    sp.Add(*(self.U[j, i] * x[i] for i in range(inputs)))
                    + sp.Add(*(self.W[j, i] * previous[i] for i in range(width)))
                    + self.b[j]
                )
            for j in range(width):
                equations[self.h[t][j]] = activation(self.z[t - 1][j])
        self.equations = equations


class StepOutput(Layer):
    """A dense output layer read at the given steps of a recurrent layer:
    ``z^{O(t)}_j = Σ_i w^O_{ji} h^{(t)}_i + b^O_j``, ``a^{O(t)}_j = a(z^{O(t)}_j)``,
    with the same ``w^O``, ``b^O`` at every step. Read at the last step only
    (many-to-one) the step is left out of the names: ``z^O_j``, ``a^O_j``.

    >>> from symbackprop.functions.activations import get_activation
    >>> rnn = Recurrent(2, 1, 1, get_activation("tanh"))
    >>> StepOutput(rnn, 1, get_activation("sigmoid"), every_step=False).outputs
    (a^O_1,)
    >>> StepOutput(rnn, 1, get_activation("sigmoid"), every_step=True).outputs
    (a^O(1)_1, a^O(2)_1)
    """

    def __init__(self, recurrent: Recurrent, width: int, activation: Activation, every_step: bool) -> None:
        self.index = recurrent.index + 1
        self.activation = activation
        self.every_step = every_step
        self.read_steps: tuple[int, ...] = tuple(range(1, recurrent.steps + 1)) if every_step else (recurrent.steps,)
        hidden = recurrent.width
        self.W = sp.ImmutableMatrix(width, hidden, lambda j, i: step_symbol("w", None, j + 1, i + 1, prefix="O"))
        self.b = sp.ImmutableMatrix([step_symbol("b", None, j, prefix="O") for j in range(1, width + 1)])
        self.weights = tuple(self.W)
        self.parameters = self.weights + tuple(self.b)
        self.z: list[tuple[sp.Symbol, ...]] = []
        self.a: list[tuple[sp.Symbol, ...]] = []
        equations: dict[sp.Symbol, sp.Expr] = {}
        for t in self.read_steps:
            step = t if every_step else None
            z = tuple(step_symbol("z", step, j, prefix="O") for j in range(1, width + 1))
            a = tuple(step_symbol("a", step, j, prefix="O") for j in range(1, width + 1))
            for j in range(1, width + 1):
                step_symbol("delta", step, j, prefix="O")
            h = recurrent.h[t]
            for j in range(width):
                equations[z[j]] = sp.Add(*(self.W[j, i] * h[i] for i in range(hidden))) + self.b[j]
            for j in range(width):
                equations[a[j]] = activation(z[j])
            self.z.append(z)
            self.a.append(a)
        self.units = tuple(s for step in self.z for s in step)
        self.outputs = tuple(s for step in self.a for s in step)
        self.equations = equations


def flat(rows: Sequence[Sequence[sp.Symbol]]) -> tuple[sp.Symbol, ...]:
    """Rows of symbols as one tuple, row by row.

    >>> flat([sp.symbols("a b"), sp.symbols("c,")])
    (a, b, c)
    """
    return tuple(s for row in rows for s in row)
