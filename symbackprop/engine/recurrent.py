"""A recurrent network unrolled over T steps: backpropagation through time.

A :class:`~symbackprop.layers.recurrent.Recurrent` layer (shared ``u_{ji}``,
``w_{ji}``, ``b_j`` at every step) and a dense output layer read from
``h^{(T)}`` (many-to-one) or from every ``h^{(t)}`` (many-to-many, the cost
summed over the steps). The δ route derives the unit errors *through time*
from the local equations: nothing about time is typed in.

>>> net = RecurrentNetwork(3, 1, 2, 1, activation="generic")
>>> net.parameter_count, net.describe()
(11, 'T=3, 1-input, 2-unit recurrent, 1-output many-to-one')
>>> from symbackprop.engine.routes import delta_route
>>> route = delta_route(net)
>>> route.deltas[net.symbol("delta^(2)_1")]
(delta^(3)_1*w_11 + delta^(3)_2*w_21)*Derivative(a(z^(2)_1), z^(2)_1)
>>> route.gradients[net.symbol("w_12")]
delta^(1)_1*h^(0)_2 + delta^(2)_1*h^(1)_2 + delta^(3)_1*h^(2)_2
"""

from __future__ import annotations

import re

import sympy as sp

from ..errors import ArgumentError, NetworkSpecError, echo
from ..functions.activations import Activation, get_activation
from ..functions.costs import Cost, get_cost
from ..guards import MAX_TIME_STEPS, MODEL_TERM_LIMIT, check_count, check_model_terms, recurrent_terms
from ..layers.recurrent import Recurrent, StepOutput, flat, step_symbol
from .network import LayeredModel
from .routes import atomize, atomizer, local_derivative


class RecurrentNetwork(LayeredModel):
    """``steps`` (T) steps of a ``width``-unit recurrent layer reading ``inputs``
    values per step, and ``outputs`` dense output units on ``h^{(T)}``
    (``every_step=False``, many-to-one, targets ``t_j``) or on every step
    (``every_step=True``, many-to-many, targets ``t^{(t)}_j`` and
    ``C = Σ_t C^{(t)}``). The model's inputs are every ``x^{(t)}_i`` and the
    given ``h^{(0)}_i``.

    >>> RecurrentNetwork(2, 1, 1, 1, every_step=True).cost_expression
    (-a^O(1)_1 + t^(1)_1)**2/2 + (-a^O(2)_1 + t^(2)_1)**2/2
    >>> RecurrentNetwork(0, 1, 1, 1)
    Traceback (most recent call last):
    ...
    symbackprop.errors.NetworkSpecError: the number of time steps T must be a whole number from 1 to 200; got 0
    """

    def __init__(
        self,
        steps: int,
        inputs: int = 1,
        width: int = 2,
        outputs: int = 1,
        activation: str | Activation = "tanh",
        output_activation: str | Activation = "identity",
        cost: str | Cost = "squared",
        every_step: bool = False,
    ) -> None:
        check_count(steps, "the number of time steps T", 1, MAX_TIME_STEPS, NetworkSpecError)
        # Each count alone past the term limit is refused here; together, by check_model_terms below.
        for value, what in ((inputs, "inputs per step"), (width, "recurrent units"), (outputs, "outputs")):
            check_count(value, f"the number of {what}", 1, MODEL_TERM_LIMIT, NetworkSpecError)
        if not isinstance(every_step, bool):
            raise ArgumentError(f"every_step is True (an output at every step) or False (one on the last); "
                                f"got {echo(every_step)}")
        self.every_step = every_step
        check_model_terms(
            f"a recurrent network of T={steps} steps, {inputs} inputs, {width} units and {outputs} outputs",
            recurrent_terms(steps, inputs, width, outputs, self.every_step),
            "choose fewer steps or narrower layers (T=10 of 8 units has 1,000-odd terms)",
        )
        self.steps, self.width, self.outputs = steps, width, outputs
        self.activation = get_activation(activation)
        self.cost = get_cost(cost)
        self.recurrent = Recurrent(steps, inputs, width, self.activation)
        self.output = StepOutput(self.recurrent, outputs, get_activation(output_activation), self.every_step)
        self.inputs = flat(self.recurrent.x) + self.recurrent.h[0]
        self.targets = tuple(
            step_symbol("t", t if self.every_step else None, j, prefix="")
            for t in self.output.read_steps for j in range(1, outputs + 1)
        )
        self.layers = (self.recurrent, self.output)
        self._finish()

    def find_symbol(self, name: str | sp.Symbol) -> sp.Symbol | None:
        """The exact name, or its LaTeX spelling without braces (``h^{(0)}_{1}``, ``δ^{(2)}_1``).

        >>> RecurrentNetwork(2).symbol("δ^{(1)}_{2}")
        delta^(1)_2
        """
        if isinstance(name, str):
            name = re.sub(r"[{}\s]", "", name).replace("δ", "delta")
        return super().find_symbol(name)

    def describe(self) -> str:
        kind = "many-to-many" if self.every_step else "many-to-one"
        return (f"T={self.steps}, {len(self.recurrent.x[0])}-input, {self.width}-unit recurrent, "
                f"{self.outputs}-output {kind}")

    def naming_hint(self) -> str:
        return ("input weights are u_ji, recurrent weights w_ji, biases b_j, output weights w^O_ji and biases "
                "b^O_j; step t's quantities are x^(t)_i, z^(t)_j, h^(t)_j, delta^(t)_j")

    def __repr__(self) -> str:
        return f"RecurrentNetwork({self.describe()}, activation={self.activation.name}, cost={self.cost.name})"


def through_time_unit_errors(model: RecurrentNetwork) -> dict[sp.Symbol, sp.Expr]:
    """The unit errors through time as they are taught, typed in to compare with
    the derived ones: ``δ^{(t)} = (W^T δ^{(t+1)} + W^{O T} δ^{O(t)}) ⊙ a'(z^{(t)})``,
    the first term absent at ``t = T`` and the second where no output reads step t.

    >>> net = RecurrentNetwork(2, 1, 1, 1, activation="generic")
    >>> through_time_unit_errors(net)[net.symbol("delta^(1)_1")]
    delta^(2)_1*w_11*Derivative(a(z^(1)_1), z^(1)_1)
    """
    rnn, out = model.recurrent, model.output
    reverse = atomizer(model)
    errors: dict[sp.Symbol, sp.Expr] = {}
    read = {t: k for k, t in enumerate(out.read_steps)}
    for t in range(1, rnn.steps + 1):
        for j, z in enumerate(rnn.z[t - 1]):
            back = sp.S.Zero
            if t < rnn.steps:
                later = rnn.z[t]
                back += sp.Add(*(rnn.W[k, j] * step_symbol("delta", t + 1, k + 1) for k in range(len(later))))
            if t in read:
                back += sp.Add(*(out.W[n, j] * sp.Symbol("delta" + zo.name[1:])
                                 for n, zo in enumerate(out.z[read[t]])))
            slope = atomize(model.activation.derivative(z), reverse)
            errors[step_symbol("delta", t, j + 1)] = back * slope
    return errors


def through_time_gradients(model: RecurrentNetwork) -> dict[sp.Symbol, sp.Expr]:
    """The shared parameters' gradients as sums over the steps:
    ``∂C/∂u_{ji} = Σ_t δ^{(t)}_j x^{(t)}_i``, ``∂C/∂w_{ji} = Σ_t δ^{(t)}_j h^{(t−1)}_i``,
    ``∂C/∂b_j = Σ_t δ^{(t)}_j``.

    >>> net = RecurrentNetwork(2, 1, 1, 1)
    >>> through_time_gradients(net)[net.symbol("b_1")]
    delta^(1)_1 + delta^(2)_1
    """
    rnn = model.recurrent
    grads: dict[sp.Symbol, sp.Expr] = {}
    steps = range(1, rnn.steps + 1)
    for j in range(rnn.width):
        delta = [step_symbol("delta", t, j + 1) for t in steps]
        for i in range(rnn.U.cols):
            grads[rnn.U[j, i]] = sp.Add(*(d * rnn.x[t - 1][i] for d, t in zip(delta, steps)))
        for i in range(rnn.width):
            grads[rnn.W[j, i]] = sp.Add(*(d * rnn.h[t - 1][i] for d, t in zip(delta, steps)))
        grads[rnn.b[j]] = sp.Add(*delta)
    return grads


def step_jacobian(model: RecurrentNetwork, t: int) -> sp.ImmutableMatrix:
    """``∂h^{(t)}/∂h^{(t−1)} = diag(a'(z^{(t)})) W``, derived from step t's equations:
    the factor that backpropagation through time multiplies once per step, whose
    product over many steps vanishes or explodes.

    >>> net = RecurrentNetwork(2, 1, 2, 1, activation="generic")
    >>> step_jacobian(net, 2)[0, 1]
    w_12*Derivative(a(z^(2)_1), z^(2)_1)
    """
    rnn = model.recurrent
    check_count(t, "the step t", 1, rnn.steps, NetworkSpecError)
    z, h, previous = rnn.z[t - 1], rnn.h[t], rnn.h[t - 1]
    return sp.ImmutableMatrix(rnn.width, rnn.width, lambda j, i: (
        local_derivative(model, h[j], z[j]) * local_derivative(model, z[j], previous[i])))
