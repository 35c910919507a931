"""The fully connected layer of chapters 3 and 4: every unit reads every output
of the layer below.

>>> from symbackprop.functions.activations import get_activation
>>> import sympy as sp
>>> layer = Dense(2, sp.symbols("x_1 x_2"), 1, get_activation("sigmoid"))
>>> layer.equations[layer.z[0]]
b^2_1 + w^2_11*x_1 + w^2_12*x_2
>>> layer.equations[layer.a[0]]
sigmoid(z^2_1)
"""

from __future__ import annotations

from collections.abc import Sequence

import sympy as sp

from ..errors import ArgumentError, NetworkSpecError, echo
from ..functions.activations import Activation
from ..guards import check_model_terms, check_sequence, is_count
from ..notation.symbols import quantity
from .protocol import Layer


class Dense(Layer):
    """A fully connected layer ``l``: ``z^l_j = Σ_i w^l_{ji} a^{l−1}_i + b^l_j``,
    ``a^l_j = a(z^l_j)``.

    >>> import sympy as sp
    >>> from symbackprop.functions.activations import get_activation
    >>> layer = Dense(3, sp.symbols("a^2_1 a^2_2"), 2, get_activation("generic"))
    >>> layer.W
    Matrix([
    [w^3_11, w^3_12],
    [w^3_21, w^3_22]])
    >>> layer.parameter_count
    6
    """

    def __init__(
        self, index: int, inputs: Sequence[sp.Symbol], width: int, activation: Activation
    ) -> None:
        if not is_count(index, low=2):
            raise NetworkSpecError(f"a layer with equations is numbered l = 2, 3, …; got {index!r}")
        self.inputs = tuple(check_sequence(inputs, f"the inputs of layer {index}"))
        if not all(isinstance(s, sp.Symbol) for s in self.inputs):
            raise ArgumentError(f"the inputs of layer {index} must be SymPy symbols; got {echo(self.inputs)}")
        if not is_count(width):
            raise NetworkSpecError(f"layer {index} has width {width!r}; a layer needs a positive integer number of units")
        if not isinstance(activation, Activation):
            raise ArgumentError(f"the activation must be an Activation, such as get_activation('tanh'); got {echo(activation)}")
        n_in = len(self.inputs)
        check_model_terms(f"layer {index} ({width} units of {n_in} inputs)", width * (n_in + 2), "choose a narrower layer")
        self.index = index
        self.activation = activation
        #: W^l: row j holds the weights *to* unit j, column i those *from* unit i.
        self.W = sp.ImmutableMatrix(
            width, n_in, lambda j, i: quantity("w", index, j + 1, i + 1)
        )
        self.b = sp.ImmutableMatrix([quantity("b", index, j + 1) for j in range(width)])
        self.z = tuple(quantity("z", index, j + 1) for j in range(width))
        self.a = tuple(quantity("a", index, j + 1) for j in range(width))
        self.weights = tuple(self.W)
        self.parameters = self.weights + tuple(self.b)
        #: The parameter arrays by the names the numeric models give them (W2, b2).
        self.matrices = {f"W{index}": self.W, f"b{index}": self.b}
        self.units = self.z
        self.outputs = self.a
        equations: dict[sp.Symbol, sp.Expr] = {}
        for j in range(width):
            equations[self.z[j]] = (
                sp.Add(*(self.W[j, i] * self.inputs[i] for i in range(n_in))) + self.b[j]
            )
        for j in range(width):
            equations[self.a[j]] = self.output_equation(j)
        self.equations = equations

    def output_equation(self, j: int) -> sp.Expr:
        """``a^l_{j+1}``'s equation: the activation of its own weighted input.

        >>> import sympy as sp
        >>> from symbackprop.functions.activations import get_activation
        >>> Dense(2, sp.symbols("x_1:2"), 2, get_activation("tanh")).output_equation(1)
        tanh(z^2_2)
        """
        return self.activation(self.z[j])

    @property
    def width(self) -> int:
        return len(self.z)

    def matrix_equation(self) -> sp.Eq:
        """The matrix view ``z^l = W^l a^{l−1} + b^l``, unevaluated.

        >>> import sympy as sp
        >>> from symbackprop.functions.activations import get_activation
        >>> Dense(2, sp.symbols("x_1 x_2"), 1, get_activation("sigmoid")).matrix_equation()
        Eq(Matrix([[z^2_1]]), Matrix([[b^2_1]]) + Matrix([[w^2_11, w^2_12]])*Matrix([
        [x_1],
        [x_2]]))
        """
        product = sp.MatMul(self.W, sp.ImmutableMatrix(self.inputs), evaluate=False)
        rhs = sp.MatAdd(product, self.b, evaluate=False)
        return sp.Eq(sp.ImmutableMatrix(self.z), rhs, evaluate=False)
