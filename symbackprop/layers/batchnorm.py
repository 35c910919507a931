"""Batch normalisation, and the dense layer that feeds it, over a batch of m examples.

The book has no batch normalisation; the notation added here follows its
pattern. Example k of the batch (``k = 1..m``) is a superscript ``(k)``:
``z^{l(k)}_j``. Unit j of layer l is normalised over the batch:

``μ^l_j = (1/m) Σ_k z^{l(k)}_j``,
``(σ^l_j)² = (1/m) Σ_k (z^{l(k)}_j − μ^l_j)²``,
``ẑ^{l(k)}_j = (z^{l(k)}_j − μ^l_j) / √((σ^l_j)² + ε)``,
``y^{l(k)}_j = γ^l_j ẑ^{l(k)}_j + β^l_j``, ``a^{l(k)}_j = a(y^{l(k)}_j)``.

Because ``μ`` and ``σ²`` read every example, the examples are no longer
independent: the layer's "example" is the whole batch.

>>> import sympy as sp
>>> from symbackprop.functions.activations import get_activation
>>> x = [sp.symbols(f"x^({k})_1:3") for k in (1, 2)]
>>> dense = BatchDense(2, x, 1, None)
>>> dense.equations[dense.z[0][0]]
w^2_11*x^(1)_1 + w^2_12*x^(1)_2
>>> norm = BatchNorm(2, dense.z, get_activation("tanh"), sp.Rational(1, 1000))
>>> norm.equations[norm.mu[0]]
z^2(1)_1/2 + z^2(2)_1/2
"""

from __future__ import annotations

from collections.abc import Sequence

import sympy as sp

from ..functions.activations import Activation, get_activation
from .protocol import Layer, step_symbol


class BatchDense(Layer):
    """A fully connected layer ``l`` applied to each example k of a batch with the
    same weights: ``z^{l(k)}_j = Σ_i w^l_{ji} a^{l−1(k)}_i + b^l_j`` and, with an
    activation, ``a^{l(k)}_j = a(z^{l(k)}_j)``. Without one (``activation=None``)
    it feeds a :class:`BatchNorm` and has no bias: ``β`` takes its place, and a bias
    there would get the gradient ``Σ_k δ^{l(k)}_j = 0``.

    ``inputs[k]`` are example k's inputs; ``z[k]`` and ``outputs`` follow the batch.

    >>> import sympy as sp
    >>> from symbackprop.functions.activations import get_activation
    >>> x = [sp.symbols(f"x^({k})_1:2") for k in (1, 2)]
    >>> BatchDense(3, x, 1, get_activation("sigmoid")).outputs
    (a^3(1)_1, a^3(2)_1)
    """

    def __init__(self, index: int, inputs: Sequence[Sequence[sp.Symbol]], width: int,
                 activation: Activation | None) -> None:
        self.index = index
        n_in = len(inputs[0])
        # a layer that only feeds batch normalisation passes z on unchanged
        self.activation = activation if activation is not None else get_activation("identity")
        self.W = sp.ImmutableMatrix(width, n_in, lambda j, i: step_symbol("w", None, j + 1, i + 1, prefix=str(index)))
        self.weights = tuple(self.W)
        biased = activation is not None
        self.b = sp.ImmutableMatrix([step_symbol("b", None, j, prefix=str(index)) for j in range(1, width + 1)])
        self.parameters = self.weights + (tuple(self.b) if biased else ())
        self.z = [tuple(step_symbol("z", k, j, prefix=str(index)) for j in range(1, width + 1))
                  for k in range(1, len(inputs) + 1)]
        self.a = [tuple(step_symbol("a", k, j, prefix=str(index)) for j in range(1, width + 1))
                  for k in range(1, len(inputs) + 1)] if biased else self.z
        for k in range(1, len(inputs) + 1):
            for j in range(1, width + 1):
                step_symbol("delta", k, j, prefix=str(index))
        equations: dict[sp.Symbol, sp.Expr] = {}
        for k, x in enumerate(inputs):
            for j in range(width):
                equations[self.z[k][j]] = (sp.Add(*(self.W[j, i] * x[i] for i in range(n_in)))
                                           + (self.b[j] if biased else 0))
            if biased:
                for j in range(width):
                    equations[self.a[k][j]] = self.activation(self.z[k][j])
        self.units = tuple(s for row in self.z for s in row)
        self.outputs = tuple(s for row in self.a for s in row)
        self.equations = equations


class BatchNorm(Layer):
    """Batch normalisation of the weighted inputs ``z[k][j]`` of layer ``index``
    over the batch, then the activation. Its units are the normalised-and-scaled
    ``y^{l(k)}_j``, whose errors are written ``g^{l(k)}_j = ∂C/∂y^{l(k)}_j``;
    ``γ^l_j``, ``β^l_j`` are its parameters, ``ε > 0`` a constant.

    >>> import sympy as sp
    >>> from symbackprop.functions.activations import get_activation
    >>> z = [sp.symbols(f"z^2({k})_1:2") for k in (1, 2, 3)]
    >>> norm = BatchNorm(2, z, get_activation("identity"), sp.Symbol("epsilon", positive=True))
    >>> norm.equations[norm.zhat[0][0]]
    (-mu^2_1 + z^2(1)_1)/sqrt(epsilon + sigma2^2_1)
    >>> norm.unit_errors[:2], norm.parameters
    ((g^2(1)_1, g^2(2)_1), (gamma^2_1, beta^2_1))
    """

    def __init__(self, index: int, z: Sequence[Sequence[sp.Symbol]], activation: Activation,
                 epsilon: sp.Expr) -> None:
        self.index, self.activation, self.epsilon = index, activation, epsilon
        m, width = len(z), len(z[0])
        self.batch = m
        sup = str(index)
        self.mu = tuple(step_symbol("mu", None, j, prefix=sup) for j in range(1, width + 1))
        self.var = tuple(step_symbol("sigma2", None, j, prefix=sup) for j in range(1, width + 1))
        self.gamma = tuple(step_symbol("gamma", None, j, prefix=sup) for j in range(1, width + 1))
        self.beta = tuple(step_symbol("beta", None, j, prefix=sup) for j in range(1, width + 1))

        def per_example(kind: str) -> list[tuple[sp.Symbol, ...]]:
            return [tuple(step_symbol(kind, k, j, prefix=sup) for j in range(1, width + 1)) for k in range(1, m + 1)]

        self.zhat, self.y, self.a = per_example("zhat"), per_example("y"), per_example("a")
        self.g = per_example("g")
        self.parameters = self.gamma + self.beta
        equations: dict[sp.Symbol, sp.Expr] = {}
        for j in range(width):
            column = [z[k][j] for k in range(m)]
            equations[self.mu[j]] = sp.Add(*column) / m
            equations[self.var[j]] = sp.Add(*((zk - self.mu[j]) ** 2 for zk in column)) / m
        for k in range(m):
            for j in range(width):
                equations[self.zhat[k][j]] = (z[k][j] - self.mu[j]) / sp.sqrt(self.var[j] + epsilon)
        for k in range(m):
            for j in range(width):
                equations[self.y[k][j]] = self.gamma[j] * self.zhat[k][j] + self.beta[j]
        for k in range(m):
            for j in range(width):
                equations[self.a[k][j]] = activation(self.y[k][j])
        self.units = tuple(s for row in self.y for s in row)
        self.outputs = tuple(s for row in self.a for s in row)
        self.equations = equations

    @property
    def unit_errors(self) -> tuple[sp.Symbol, ...]:
        """``g^{l(k)}_j = ∂C/∂y^{l(k)}_j``, one per unit, example by example."""
        return tuple(s for row in self.g for s in row)
