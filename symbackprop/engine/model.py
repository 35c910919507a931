"""A model built layer by layer from a list of layer specifications: the
network as a graph, not only a chain.

Each specification is a mapping with a ``kind`` and that kind's keys; the
kinds are a registry (:data:`LAYER_KINDS`), so a new kind of layer is one
more entry. Layers are numbered as in the book: the inputs are layer 1, the
first specification is layer 2.

============  =====================================================================
kind          keys
============  =====================================================================
dense         ``width``, ``activation`` (default sigmoid)
softmax       ``width``: ``a^l_j = e^{z^l_j} / Σ_k e^{z^l_k}``
residual      ``skip`` (an earlier layer s), ``activation``, ``width`` (optional, s's):
              ``a^l_j = a(z^l_j) + a^s_j``
equations     ``width``, ``output`` (text, e.g. ``z*sigmoid(z')``), ``units`` (optional)
============  =====================================================================

A model file also names the kinds ``convolution``, ``pooling``, ``recurrent``
and ``batch-norm``, which build the engine's fixed networks rather than a
graph (:mod:`symbackprop.engine.model_networks`).

A chain of dense layers is the :class:`~symbackprop.engine.network.Network`
of the same widths, equation for equation:

>>> model = Model(2, [{"kind": "dense", "width": 2, "activation": "tanh"},
...                   {"kind": "residual", "skip": 2, "activation": "tanh"},
...                   {"kind": "dense", "width": 1}])
>>> model.definition("a^3_1")
a^2_1 + tanh(z^3_1)
>>> model.describe(), model.sizes
('2-2-2r-1', (2, 2, 2, 1))
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import sympy as sp

from ..errors import NetworkSpecError, SymbackpropError, UnknownNameError, echo
from ..functions.activations import get_activation
from ..functions.costs import Cost, get_cost, weight_decay_rate
from ..guards import check_mapping, check_model_terms, check_sequence, is_count
from ..layers.dense import Dense
from ..layers.equations import EquationLayer
from ..layers.protocol import Layer
from ..layers.residual import Residual
from ..layers.softmax import Softmax
from .network import LayeredModel

#: ``build(index, inputs, outputs of layers 1..l−1, spec)`` → the layer.
Builder = Callable[[int, tuple[sp.Symbol, ...], list[tuple[sp.Symbol, ...]], Mapping], Layer]


@dataclass(frozen=True)
class LayerKind:
    """A kind of layer a model (and a model file) may name: its keys and how
    to build it. ``mark`` follows the layer's width in :meth:`Model.describe`."""

    name: str
    summary: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    build: Builder
    mark: str = ""


LAYER_KINDS: dict[str, LayerKind] = {}


def register_kind(kind: LayerKind) -> None:
    """Make a kind of layer known to :class:`Model` and to model files.

    >>> register_kind(LAYER_KINDS["dense"])  # registering again replaces it
    >>> sorted(LAYER_KINDS)
    ['dense', 'equations', 'residual', 'softmax']
    """
    LAYER_KINDS[kind.name] = kind


def _width(spec: Mapping) -> int:
    width = spec["width"]
    if not is_count(width):
        raise NetworkSpecError(f"width {echo(width)} is not a positive whole number of units")
    return int(width)


def _dense(index, inputs, outputs, spec):
    return Dense(index, inputs, _width(spec), get_activation(spec.get("activation", "sigmoid")))


def _softmax(index, inputs, outputs, spec):
    return Softmax(index, inputs, _width(spec))


def _residual(index, inputs, outputs, spec):
    source = spec["skip"]
    if not is_count(source, high=index - 1):
        raise NetworkSpecError(f"skip {echo(source)} is not an earlier layer; give a layer 1..{index - 1}")
    skip = outputs[source - 1]
    if "width" in spec and spec["width"] != len(skip):
        raise NetworkSpecError(
            f"width {echo(spec['width'])} does not match layer {source}'s {len(skip)}, whose outputs the skip adds"
        )
    return Residual(index, inputs, get_activation(spec.get("activation", "sigmoid")), skip, source)


def _equations(index, inputs, outputs, spec):
    return EquationLayer(index, inputs, _width(spec), spec["output"], units=spec.get("units"))


for _kind in (
    LayerKind("dense", "a^l_j = a(z^l_j), z^l_j = Σ_i w^l_ji a^{l−1}_i + b^l_j", ("width",), ("activation",), _dense),
    LayerKind("softmax", "a^l_j = e^{z^l_j} / Σ_k e^{z^l_k}", ("width",), (), _softmax, "s"),
    LayerKind("residual", "a^l_j = a(z^l_j) + a^s_j, s = skip", ("skip",), ("activation", "width"), _residual, "r"),
    LayerKind("equations", "a^l_j = output, a formula in z_j, z'_j, … and sum(…)", ("width", "output"),
              ("units",), _equations, "e"),
):
    register_kind(_kind)


class Model(LayeredModel):
    """Inputs, layers built from ``layers`` (mappings with a ``kind``; see the
    module's table) and a cost.

    >>> model = Model(1, [{"kind": "equations", "width": 1, "output": "z*sigmoid(z)"}], cost="squared")
    >>> model.definition("a^2_1")
    z^2_1*sigmoid(z^2_1)
    >>> Model(2, [{"kind": "residual", "skip": 1, "width": 3}])
    Traceback (most recent call last):
    ...
    symbackprop.errors.NetworkSpecError: layer 2 ('residual'): width 3 does not match layer 1's 2, whose outputs the skip adds
    """

    def __init__(
        self, inputs: int, layers: Sequence[Mapping], cost: str | Cost = "squared", weight_decay: object = 0
    ) -> None:
        if not is_count(inputs):
            raise NetworkSpecError(f"inputs {echo(inputs)} is not a positive whole number of input units")
        # Refused before a symbol exists: each input is a term of every unit of layer 2.
        check_model_terms(f"a model of {inputs:,} inputs", inputs, "choose fewer inputs")
        specs = check_sequence(layers, "the layers")
        if not specs:
            raise NetworkSpecError("a model needs at least one layer after its inputs")
        self.weight_decay = weight_decay_rate(weight_decay)
        self.cost = get_cost(cost)
        self.inputs = tuple(sp.Symbol(f"x_{i}") for i in range(1, inputs + 1))
        self.specs = tuple(dict(check_mapping(s, "a layer")) for s in specs)
        outputs: list[tuple[sp.Symbol, ...]] = [self.inputs]
        built: list[Layer] = []
        for index, spec in enumerate(self.specs, start=2):
            layer = build_layer(index, outputs, spec)
            built.append(layer)
            outputs.append(tuple(layer.outputs))
        self.layers = tuple(built)
        self.sizes = tuple(len(o) for o in outputs)
        self.targets = tuple(sp.Symbol(f"t_{j}") for j in range(1, self.sizes[-1] + 1))
        self._finish()

    def describe(self) -> str:
        marks = [LAYER_KINDS[spec["kind"]].mark for spec in self.specs]
        return "-".join([str(self.sizes[0])] + [f"{n}{m}" for n, m in zip(self.sizes[1:], marks)])

    def naming_hint(self) -> str:
        return (
            f"weights are w^l_ji with l = 2..{self.depth}, j a unit of layer l, i a unit of layer l-1 "
            "(e.g. w^2_11); a layer stated by equations also has w'^l_ji, b'^l_j, … for z'"
        )

    def __repr__(self) -> str:
        return f"Model({self.describe()}, cost={self.cost.name})"


def build_layer(index: int, outputs: list[tuple[sp.Symbol, ...]], spec: Mapping) -> Layer:
    """Layer ``index`` from its specification, reading the outputs of the
    layers below; every error names the layer and its kind.

    >>> import sympy as sp
    >>> build_layer(2, [sp.symbols("x_1:3")], {"kind": "dens", "width": 2})
    Traceback (most recent call last):
    ...
    symbackprop.errors.UnknownNameError: layer 2: unknown kind 'dens'; kinds: dense, equations, residual, softmax
    >>> build_layer(2, [sp.symbols("x_1:3")], {"kind": "dense", "width": 2, "skip": 1})
    Traceback (most recent call last):
    ...
    symbackprop.errors.NetworkSpecError: layer 2 ('dense'): unknown key 'skip'; a dense layer has width, activation
    """
    name = spec.get("kind")
    if not isinstance(name, str) or name not in LAYER_KINDS:
        raise UnknownNameError(f"layer {index}: unknown kind {echo(name)}; kinds: {', '.join(sorted(LAYER_KINDS))}")
    kind = LAYER_KINDS[name]
    where = f"layer {index} ({echo(name)})"
    keys = kind.required + kind.optional
    for key in spec:
        if key != "kind" and key not in keys:
            raise NetworkSpecError(f"{where}: unknown key {echo(key)}; a {name} layer has {', '.join(keys)}")
    missing = [key for key in kind.required if key not in spec]
    if missing:
        raise NetworkSpecError(f"{where}: missing {', '.join(missing)}; a {name} layer needs {', '.join(kind.required)}")
    try:
        return kind.build(index, outputs[-1], outputs, spec)
    except SymbackpropError as exc:
        message = _message(exc)
        # A layer's own message may already say which layer it is.
        own = f"layer {index}: "
        raise type(exc)(f"{where}: {message[len(own):] if message.startswith(own) else message}") from None


def _message(exc: Exception) -> str:
    # A KeyError's str() is the repr of its message; the message itself is the first argument.
    return str(exc.args[0]) if exc.args else str(exc)
