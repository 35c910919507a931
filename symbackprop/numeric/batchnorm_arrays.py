"""The batch-normalised network in NumPy array operations, in training mode, for training.

Each hidden layer is ``z = a_prev Wᵀ`` (no bias: ``β`` takes its place), then
normalised with the batch's own statistics, ``ẑ = (z − μ)/√(σ² + ε)``,
``y = γ ẑ + β``, ``a = a(y)``; the output layer is dense. The backward pass
through the normalisation is the compact formula that
:func:`~symbackprop.engine.batchnorm.staged_equals_compact` proves equal to the
staged one, ``∂C/∂z_k = (γ / (m √(σ²+ε))) (m g_k − Σ_j g_j − ẑ_k Σ_j g_j ẑ_j)``,
one array operation per layer. :func:`check_against_symbolic` compares it with
the δ route of :class:`~symbackprop.engine.batchnorm.BatchNormNetwork` compiled
scalar by scalar.

The whole batch given to :meth:`BatchNormArrays.cost_and_gradient` is the
batch of the statistics (``m = n``), and so is the batch given to
:meth:`~BatchNormArrays.predict`: a held-out set is normalised with its own
statistics (training mode throughout, no running averages).

>>> model = BatchNormArrays([4, 3, 2])
>>> dict(model.parameter_shapes)
{'W2': (3, 4), 'gamma2': (3,), 'beta2': (3,), 'W3': (2, 3), 'b3': (2,)}
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from ..engine.batchnorm import DEFAULT_EPSILON, BatchNormNetwork
from ..errors import DataError
from ..functions.activations import activation_kernels, numpy_function
from ..notation.symbols import index_text

Params = dict[str, np.ndarray]


class BatchNormArrays:
    """A dense network of widths ``sizes`` (input first) with every hidden layer
    batch-normalised before its activation.

    >>> BatchNormArrays([64, 16, 10]).describe()
    '64-16-10 batch-normalised'
    """

    def __init__(self, sizes, activation="sigmoid", output_activation=None, cost="squared",
                 epsilon=DEFAULT_EPSILON) -> None:
        # The symbolic network (on a batch of 2) validates the sizes and ε and supplies a(z), a'(z), C.
        net = BatchNormNetwork(sizes, 2, activation, output_activation, cost, epsilon)
        self.network, self.sizes = net, tuple(net.sizes)
        a, t = sp.symbols("a t")
        self._a, self._slope = activation_kernels(net.activation)
        self._a_out, self._slope_out = activation_kernels(net.output_activation)
        term = net.cost.term(a, t)
        self._cost = numpy_function(net.output_activation, term, (a, t))
        self._dcost = numpy_function(net.output_activation, sp.diff(term, a), (a, t))
        self.epsilon = float(net.epsilon)
        self.input_shape = (self.sizes[0],)
        self.output_size = self.sizes[-1]
        self.output_bounds = net.output_activation.bounds
        shapes: dict[str, tuple[int, ...]] = {}
        L = len(self.sizes)
        for l in range(2, L):
            n = self.sizes[l - 1]
            shapes |= {f"W{l}": (n, self.sizes[l - 2]), f"gamma{l}": (n,), f"beta{l}": (n,)}
        shapes |= {f"W{L}": (self.sizes[-1], self.sizes[-2]), f"b{L}": (self.sizes[-1],)}
        self.parameter_shapes = shapes

    def describe(self) -> str:
        return f"{'-'.join(map(str, self.sizes))} batch-normalised"

    def initial_params(self, rng: np.random.Generator) -> Params:
        """Weights with variance 1/fan-in, ``γ = 1``, ``β = 0``, biases 0 (PyTorch's start for γ, β)."""
        params: Params = {}
        for name, shape in self.parameter_shapes.items():
            if name.startswith("W"):
                params[name] = rng.normal(0, 1 / np.sqrt(shape[1]), shape)
            else:
                params[name] = np.ones(shape) if name.startswith("gamma") else np.zeros(shape)
        return params

    def forward(self, params: Params, X) -> list[dict[str, np.ndarray]]:
        """Per layer 2..L: the layer's quantities over the batch (``z``, and for a
        hidden layer ``mu``, ``var``, ``zhat``, ``y``; ``a``)."""
        X = np.asarray(X, dtype=float)
        if X.ndim != 2 or X.shape[1] != self.sizes[0]:
            raise DataError(f"inputs have shape {X.shape}; this {self.describe()} network reads (n, {self.sizes[0]})")
        L = len(self.sizes)
        a, layers = X, []
        for l in range(2, L):
            z = a @ params[f"W{l}"].T
            mu, var = z.mean(axis=0), z.var(axis=0)
            zhat = (z - mu) / np.sqrt(var + self.epsilon)
            y = params[f"gamma{l}"] * zhat + params[f"beta{l}"]
            a = self._a(y)
            layers.append({"z": z, "mu": mu, "var": var, "zhat": zhat, "y": y, "a": a, "input": layers[-1]["a"] if layers else X})
        z = a @ params[f"W{L}"].T + params[f"b{L}"]
        layers.append({"z": z, "a": self._a_out(z), "input": a})
        return layers

    def predict(self, params: Params, X) -> np.ndarray:
        """``a^L`` for every example, the batch normalised with its own statistics."""
        return self.forward(params, X)[-1]["a"]

    def cost_and_gradient(self, params: Params, X, T) -> tuple[float, Params]:
        """``C_T = Σ_k C_k`` over the batch and its gradient; through each normalised
        layer by the compact formula (``g = ∂C/∂y``):
        ``δ = (γ / (m √(σ²+ε))) (m g − Σ_k g_k − ẑ Σ_k g_k ẑ_k)``,
        ``∂C/∂γ = Σ_k g_k ẑ_k``, ``∂C/∂β = Σ_k g_k``, ``∂C/∂W = δᵀ a_prev``.

        >>> m = BatchNormArrays([2, 3, 1])
        >>> rng = np.random.default_rng(0)
        >>> C, g = m.cost_and_gradient(m.initial_params(rng), rng.normal(size=(5, 2)), rng.random((5, 1)))
        >>> g["W2"].shape, sorted(g) == sorted(m.parameter_shapes)
        ((3, 2), True)
        """
        layers = self.forward(params, X)
        T = np.asarray(T, dtype=float)
        out = layers[-1]
        if T.shape != out["a"].shape:
            raise DataError(f"targets have shape {T.shape}; this {self.describe()} network needs {out['a'].shape}")
        L = len(self.sizes)
        C = float(np.sum(self._cost(out["a"], T)))
        delta = self._dcost(out["a"], T) * self._slope_out(out["z"], out["a"])
        grads = {f"W{L}": delta.T @ out["input"], f"b{L}": delta.sum(axis=0)}
        for l in range(L - 1, 1, -1):
            layer = layers[l - 2]
            back = delta @ params[f"W{l + 1}"]
            g = back * self._slope(layer["y"], layer["a"])
            m = len(g)
            zhat = layer["zhat"]
            grads[f"gamma{l}"] = (g * zhat).sum(axis=0)
            grads[f"beta{l}"] = g.sum(axis=0)
            scale = params[f"gamma{l}"] / (m * np.sqrt(layer["var"] + self.epsilon))
            delta = scale * (m * g - g.sum(axis=0) - zhat * (g * zhat).sum(axis=0))
            grads[f"W{l}"] = delta.T @ layer["input"]
        return C, {name: grads[name] for name in self.parameter_shapes}

    def symbol_values(self, params: Params) -> dict[sp.Symbol, float]:
        """The parameters keyed by the symbols of a :class:`BatchNormNetwork` of the same sizes.

        >>> m = BatchNormArrays([2, 2, 1])
        >>> v = m.symbol_values(m.initial_params(np.random.default_rng(0)))
        >>> v[sp.Symbol("gamma^2_1")], len(v) == m.network.parameter_count
        (1.0, True)
        """
        values: dict[sp.Symbol, float] = {}
        for name, array in params.items():
            kind = name.rstrip("0123456789")
            layer = name[len(kind):]
            kind = kind.lower()  # W2 holds the w^2_ji
            for index, value in np.ndenumerate(array):
                values[sp.Symbol(f"{kind}^{layer}_{index_text([i + 1 for i in index])}")] = float(value)
        return values


def check_against_symbolic(model: BatchNormArrays, params: Params, X, T) -> float:
    """The largest relative difference between the array gradient (and ``C``) and
    the δ route of the symbolic network over the same batch, compiled scalar by scalar.

    >>> m = BatchNormArrays([2, 2, 1], activation="tanh")
    >>> rng = np.random.default_rng(1)
    >>> p = m.initial_params(rng) | {"gamma2": rng.normal(size=2), "beta2": rng.normal(size=2)}
    >>> check_against_symbolic(m, p, rng.normal(size=(3, 2)), rng.random((3, 1))) < 1e-12
    True
    """
    from .scalar import compile_scalar, largest_difference

    X = np.asarray(X, dtype=float)
    T = np.asarray(T, dtype=float)
    net = model.network
    symbolic = BatchNormNetwork(model.sizes, len(X), net.activation, net.output_activation, net.cost, net.epsilon)
    C, grads = model.cost_and_gradient(params, X, T)
    C_s, by_symbol = compile_scalar(symbolic)(model.symbol_values(params), X.reshape(1, -1), T.reshape(1, -1))
    return largest_difference(C, model.symbol_values(grads), C_s, by_symbol)
