"""The recurrent network in NumPy array operations: backpropagation through time, for training.

The kernels are the formulas that :mod:`symbackprop.engine.recurrent` derives,
one array operation per step, in row form for a batch (row n is example n):
forward ``z^{(t)} = x^{(t)} Uᵀ + h^{(t−1)} Wᵀ + b``, ``h^{(t)} = a(z^{(t)})``;
backward ``δ^{(t)} = (δ^{(t+1)} W + δ^{O(t)} W^O) ⊙ a'(z^{(t)})`` from t = T down
to 1, and each shared parameter's gradient summed over the steps. The
activation, its derivative and the cost's derivative are compiled from the
symbolic network's own expressions; :func:`check_against_symbolic` compares
everything with the δ route compiled scalar by scalar. ``h^{(0)} = 0``.

It implements the trainer's interface (:mod:`symbackprop.numeric.train`): a
batch ``X`` has shape ``(n, T, inputs)``; targets have shape ``(n, outputs)``
(many-to-one) or ``(n, T·outputs)``, step by step (many-to-many).

>>> model = RecurrentArrays(3, 1, 2, 1)
>>> dict(model.parameter_shapes)
{'U': (2, 1), 'W': (2, 2), 'b': (2,), 'out_W': (1, 2), 'out_b': (1,)}
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from ..engine.recurrent import RecurrentNetwork
from ..errors import DataError, UnknownNameError
from ..functions.activations import activation_kernels, numpy_function
from .datasets import Dataset, one_hot

Params = dict[str, np.ndarray]


class RecurrentArrays:
    """The network of :class:`~symbackprop.engine.recurrent.RecurrentNetwork` with the
    same arguments, computed on whole batches of sequences.

    >>> RecurrentArrays(4, 2, 3, 2, every_step=True).output_size
    8
    """

    def __init__(self, steps: int, inputs: int = 1, width: int = 2, outputs: int = 1, activation="tanh",
                 output_activation="identity", cost="squared", every_step: bool = False) -> None:
        # The symbolic network validates the shapes and supplies a(z), a'(z), C.
        net = RecurrentNetwork(steps, inputs, width, outputs, activation, output_activation, cost, every_step)
        self.network = net
        a, t = sp.symbols("a t")
        self._a, self._slope = activation_kernels(net.activation)
        self._a_out, self._slope_out = activation_kernels(net.output.activation)
        term = net.cost.term(a, t)
        self._cost = numpy_function(net.output.activation, term, (a, t))
        self._dcost = numpy_function(net.output.activation, sp.diff(term, a), (a, t))
        self.steps, self.width, self.outputs, self.every_step = steps, width, outputs, bool(every_step)
        self.input_shape = (steps, inputs)
        self.output_size = outputs * (steps if every_step else 1)
        self.output_bounds = net.output.activation.bounds
        self.parameter_shapes = {"U": (width, inputs), "W": (width, width), "b": (width,),
                                 "out_W": (outputs, width), "out_b": (outputs,)}

    def describe(self) -> str:
        """E.g. ``T=3, 1-input, 2-unit recurrent, 1-output many-to-one``."""
        return self.network.describe()

    def _sequences(self, X) -> np.ndarray:
        X = np.asarray(X, dtype=float)
        if X.ndim != 3 or X.shape[1:] != tuple(self.input_shape):
            T, i = self.input_shape
            raise DataError(f"sequences have shape {X.shape}; this {self.describe()} network reads (n, {T}, {i}): "
                            f"n sequences of {T} steps of {i} values")
        return X

    def forward(self, params: Params, X) -> dict[str, list[np.ndarray]]:
        """``z[t]``, ``h[t]`` (``h[0] = 0``) for every step and ``zO``, ``aO`` for each step read.

        >>> m = RecurrentArrays(3, 1, 2, 1)
        >>> f = m.forward(m.initial_params(np.random.default_rng(0)), np.ones((5, 3, 1)))
        >>> len(f["h"]), f["h"][3].shape, len(f["aO"])
        (4, (5, 2), 1)
        """
        X = self._sequences(X)
        U, W, b, V, c = (params[k] for k in ("U", "W", "b", "out_W", "out_b"))
        h = [np.zeros((len(X), self.width))]
        z = [None]
        for t in range(1, self.steps + 1):
            z.append(X[:, t - 1] @ U.T + h[-1] @ W.T + b)
            h.append(self._a(z[-1]))
        read = self.network.output.read_steps
        zO = [h[t] @ V.T + c for t in read]
        return {"z": z, "h": h, "zO": zO, "aO": [self._a_out(v) for v in zO]}

    def predict(self, params: Params, X) -> np.ndarray:
        """The outputs, shape ``(n, output_size)`` (step by step when read at every step)."""
        return np.concatenate(self.forward(params, X)["aO"], axis=1)

    def backward(self, params: Params, X, T) -> dict:
        """The forward pass, ``C``, the output errors ``dO``, the unit errors through time
        ``delta[t]`` and ``dC_dh[t] = ∂C/∂h^{(t)}`` (the error before ``⊙ a'(z^{(t)})``).

        >>> m = RecurrentArrays(3, 1, 2, 1)
        >>> d = m.backward(m.initial_params(np.random.default_rng(0)), np.ones((2, 3, 1)), np.ones((2, 1)))
        >>> [d["delta"][t].shape for t in (1, 3)]
        [(2, 2), (2, 2)]
        """
        f = self.forward(params, X)
        T = np.asarray(T, dtype=float)
        if T.shape != (len(f["h"][0]), self.output_size):
            raise DataError(f"targets have shape {T.shape}; this {self.describe()} network needs "
                            f"({len(f['h'][0])}, {self.output_size})")
        W, V = params["W"], params["out_W"]
        read = self.network.output.read_steps
        targets = np.split(T, len(read), axis=1)
        dO = {t: self._dcost(a, y) * self._slope_out(z, a) for t, z, a, y in zip(read, f["zO"], f["aO"], targets)}
        C = float(sum(np.sum(self._cost(a, y)) for a, y in zip(f["aO"], targets)))
        delta: dict[int, np.ndarray] = {}
        dC_dh: dict[int, np.ndarray] = {}
        carry = np.zeros_like(f["h"][0])
        for t in range(self.steps, 0, -1):
            back = carry @ W  # the next step's errors, sent back through W
            if t in dO:
                back = back + dO[t] @ V
            dC_dh[t] = back
            delta[t] = back * self._slope(f["z"][t], f["h"][t])
            carry = delta[t]
        return {**f, "C": C, "dO": dO, "delta": delta, "dC_dh": dC_dh}

    def cost_and_gradient(self, params: Params, X, T) -> tuple[float, Params]:
        """``C_T`` and its gradient, each shared parameter's summed over the steps:
        ``∂C/∂U = Σ_t δ^{(t)ᵀ} x^{(t)}``, ``∂C/∂W = Σ_t δ^{(t)ᵀ} h^{(t−1)}``,
        ``∂C/∂b = Σ_t Σ_n δ^{(t)}``, and the output layer's over the steps it reads.

        >>> m = RecurrentArrays(2, 1, 2, 1)
        >>> C, g = m.cost_and_gradient(m.initial_params(np.random.default_rng(0)), np.ones((3, 2, 1)), np.zeros((3, 1)))
        >>> sorted(g) == sorted(m.parameter_shapes)
        True
        """
        X = self._sequences(X)
        d = self.backward(params, X, T)
        steps = range(1, self.steps + 1)
        grads = {
            "U": sum(d["delta"][t].T @ X[:, t - 1] for t in steps),
            "W": sum(d["delta"][t].T @ d["h"][t - 1] for t in steps),
            "b": sum(d["delta"][t].sum(axis=0) for t in steps),
            "out_W": sum(d["dO"][t].T @ d["h"][t] for t in d["dO"]),
            "out_b": sum(d["dO"][t].sum(axis=0) for t in d["dO"]),
        }
        return d["C"], grads

    def initial_params(self, rng: np.random.Generator) -> Params:
        """Weights drawn with variance 1/fan-in (Xavier), biases 0: a recurrent
        weight matrix of spectral radius near 1, so that the first gradients
        neither vanish nor explode."""
        width, inputs = self.width, self.input_shape[1]
        return {"U": rng.normal(0, 1 / np.sqrt(inputs), (width, inputs)),
                "W": rng.normal(0, 1 / np.sqrt(width), (width, width)), "b": np.zeros(width),
                "out_W": rng.normal(0, 1 / np.sqrt(width), (self.outputs, width)), "out_b": np.zeros(self.outputs)}

    def symbol_values(self, params: Params) -> dict[sp.Symbol, float]:
        """The parameters keyed by the symbolic network's symbols (``u_11``, ``w^O_12`` …).

        >>> m = RecurrentArrays(2, 1, 2, 1)
        >>> v = m.symbol_values(m.initial_params(np.random.default_rng(0)))
        >>> len(v) == m.network.parameter_count
        True
        """
        rnn, out = self.network.recurrent, self.network.output
        pairs = [(rnn.U, "U"), (rnn.W, "W"), (rnn.b, "b"), (out.W, "out_W"), (out.b, "out_b")]
        values: dict[sp.Symbol, float] = {}
        for matrix, name in pairs:
            array = params[name].reshape(matrix.shape)
            for (j, i), symbol in np.ndenumerate(np.array(matrix.tolist(), dtype=object)):
                values[symbol] = float(array[j, i])
        return values


def check_against_symbolic(model: RecurrentArrays, params: Params, X, T) -> float:
    """The largest relative difference between the array gradient (and ``C``) and
    the δ route of the symbolic network compiled scalar by scalar, with ``h^{(0)} = 0``.

    >>> m = RecurrentArrays(3, 2, 2, 1, every_step=True)
    >>> rng = np.random.default_rng(1)
    >>> check_against_symbolic(m, m.initial_params(rng), rng.normal(size=(4, 3, 2)), rng.normal(size=(4, 3))) < 1e-12
    True
    """
    from .scalar import compile_scalar, largest_difference

    X = model._sequences(X)
    C, grads = model.cost_and_gradient(params, X, T)
    flat_inputs = np.concatenate([X.reshape(len(X), -1), np.zeros((len(X), model.width))], axis=1)
    C_s, by_symbol = compile_scalar(model.network)(model.symbol_values(params), flat_inputs, np.asarray(T, float))
    return largest_difference(C, model.symbol_values(grads), C_s, by_symbol)


def sequence_sign(steps: int = 5, train: int = 1000, held_out: int = 400, seed: int = 0) -> Dataset:
    """Sequences of ``steps`` numbers drawn uniformly from [−1, 1], each labelled by the
    sign of its sum (0: negative, 1: positive): a task a recurrent network must read
    to the end to solve. ``X`` has shape ``(train, steps, 1)``.

    >>> data = sequence_sign()
    >>> data.X.shape, data.T.shape, data.test_X.shape, data.classes
    ((1000, 5, 1), (1000, 2), (400, 5, 1), ('negative', 'positive'))
    """
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, (train + held_out, steps, 1))
    labels = (X.sum(axis=(1, 2)) > 0).astype(int)
    return Dataset(
        "sequence-sign", X[:train], one_hot(labels[:train], 2), labels[:train], ("negative", "positive"),
        f"{train + held_out} random sequences of {steps} numbers in [-1, 1] (seed {seed})",
        X[train:], labels[train:], tuple(f"held-out {n + 1}" for n in range(held_out)),
    )


def sequence_model(path: str = "array") -> RecurrentArrays:
    """The model of ``sequence-sign``: 4 tanh units over 5 steps, 2 sigmoid outputs on the last state.

    >>> sequence_model().describe()
    'T=5, 1-input, 4-unit recurrent, 2-output many-to-one'
    """
    if path != "array":
        raise UnknownNameError(f"the recurrent network is trained on the array path only; got --path {path}")
    return RecurrentArrays(5, 1, 4, 2, activation="tanh", output_activation="sigmoid")
