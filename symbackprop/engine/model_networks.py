"""The networks a model file describes that are not a graph of layers: the
convolutional, recurrent and batch-normalised networks, each a fixed
structure that the file spells out layer by layer.

==============  =====================================================================
kind            keys
==============  =====================================================================
convolution     ``filters``, ``size`` (n or [rows, columns]), ``stride`` (default 1),
                ``padding`` (default 0), ``activation`` (default sigmoid); its
                channels are the input's: ``"inputs": {"image": [6, 6], "channels": 1}``
pooling         ``size`` (n or [rows, columns]), ``pooling`` (max, the book's, or average)
recurrent       ``steps`` (T), ``width`` (units), ``activation`` (default tanh),
                ``every_step`` (default false: the next layer reads only h^(T))
batch-norm      ``width``, ``batch`` (m ≥ 2), ``epsilon`` (default 1e-5), ``activation``:
                a dense layer whose z is normalised over the batch before a(z)
==============  =====================================================================

The engine builds these structures and no other, so the file must read:
convolution, pooling, dense (the output, with the convolution's activation);
recurrent, dense; or batch-norm layers (one batch and ε) then a dense output.
Layers are numbered as in the book (the inputs are layer 1) and every error
names the layer:

>>> network_from_layers({"image": [6, 6]}, [
...     {"kind": "convolution", "filters": 3, "size": 3},
...     {"kind": "pooling", "size": 2}, {"kind": "dense", "width": 3}], "squared").describe()
'6x6-input, 3-filter 3x3, 2x2-pool, 3-output convolutional'
>>> network_from_layers({"image": [6, 6]}, [
...     {"kind": "convolution", "filters": 1, "size": 3, "stride": 2},
...     {"kind": "pooling", "size": 1}, {"kind": "dense", "width": 1}], "squared")
Traceback (most recent call last):
...
symbackprop.errors.NetworkSpecError: layer 2 ('convolution'): a filter of 3 rows with stride 2 and padding 0 does not tile an image of 6 rows: 6 + 2·0 − 3 = 3 is not a multiple of 2 (the last 1 row would be dropped); use an image of 5 or 7 rows, or stride 1 or 3
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from ..errors import NetworkSpecError, SymbackpropError, echo
from ..functions.activations import get_activation
from ..guards import is_count
from ..layers.convolution import output_size
from ..layers.pooling import pooling_kind
from .batchnorm import DEFAULT_EPSILON, BatchNormNetwork, norm_epsilon
from .cnn import ConvolutionalNetwork, check_pair
from .recurrent import RecurrentNetwork

#: kind → (required keys, optional keys)
STRUCTURED_KINDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "convolution": (("filters", "size"), ("stride", "padding", "activation")),
    "pooling": (("size",), ("pooling",)),
    "recurrent": (("steps", "width"), ("activation", "every_step")),
    "batch-norm": (("width", "batch"), ("epsilon", "activation")),
}
_DENSE_KEYS = (("width",), ("activation",))


def is_structured(layers: Sequence[Mapping]) -> bool:
    """Whether the layers name a kind that only a structured network has.

    >>> is_structured([{"kind": "recurrent"}]), is_structured([{"kind": "dense"}])
    (True, False)
    """
    return any(layer.get("kind") in STRUCTURED_KINDS for layer in layers)


def network_from_layers(inputs: object, layers: Sequence[Mapping], cost: object, weight_decay: object = 0):
    """The convolutional, recurrent or batch-normalised network of ``layers``
    (see the module's table), reading ``inputs`` (a width, or for a
    convolution ``{"image": [rows, columns], "channels": c}``); ``weight_decay``
    (λ) is the convolutional network's only.

    >>> network_from_layers(1, [{"kind": "recurrent", "steps": 2, "width": 2},
    ...                         {"kind": "dense", "width": 1, "activation": "identity"}], "squared").describe()
    'T=2, 1-input, 2-unit recurrent, 1-output many-to-one'
    >>> network_from_layers(2, [{"kind": "batch-norm", "width": 2, "batch": 3},
    ...                         {"kind": "dense", "width": 2}], "squared").describe()
    '2-2-2 batch-normalised, batch of 3'
    >>> network_from_layers(2, [{"kind": "recurrent", "steps": 2, "width": 2}, {"kind": "softmax", "width": 1}],
    ...                     "squared")
    Traceback (most recent call last):
    ...
    symbackprop.errors.NetworkSpecError: layer 3 ('softmax'): a recurrent model is a recurrent layer, then a dense output layer
    >>> network_from_layers(1, [{"kind": "recurrent", "steps": 2, "width": 2}, {"kind": "dense", "width": 1}],
    ...                     "squared", weight_decay=0.1)
    Traceback (most recent call last):
    ...
    symbackprop.errors.NetworkSpecError: weight_decay is for models of dense, softmax, residual, equations or convolution layers; leave it out of a recurrent or batch-norm model
    """
    for index, layer in enumerate(layers, start=2):
        _check_keys(index, layer)
    first = layers[0].get("kind")
    if first in ("convolution", "pooling"):
        return _convolutional(inputs, layers, cost, weight_decay)
    if weight_decay:
        raise NetworkSpecError("weight_decay is for models of dense, softmax, residual, equations or convolution "
                               "layers; leave it out of a recurrent or batch-norm model")
    if first == "recurrent" or any(layer.get("kind") == "recurrent" for layer in layers):
        return _recurrent(inputs, layers, cost)
    return _batch_norm(inputs, layers, cost)


def _where(index: int, layer: Mapping) -> str:
    return f"layer {index} ({echo(layer.get('kind'))})"


def _check_keys(index: int, layer: Mapping) -> None:
    kind = layer.get("kind")
    required, optional = STRUCTURED_KINDS.get(kind, _DENSE_KEYS)
    if kind not in STRUCTURED_KINDS and kind != "dense":
        return  # the structure check names it
    for key in layer:
        if key != "kind" and key not in required + optional:
            raise NetworkSpecError(f"{_where(index, layer)}: unknown key {echo(key)}; a {kind} layer has "
                                   f"{', '.join(required + optional)}")
    missing = [key for key in required if key not in layer]
    if missing:
        raise NetworkSpecError(f"{_where(index, layer)}: missing {', '.join(missing)}; a {kind} layer needs "
                               f"{', '.join(required)}")


def _shape(kinds: Sequence[str], layers: Sequence[Mapping], rule: str) -> None:
    """Refuse, at the first layer out of place, a sequence other than ``kinds``."""
    for index, layer in enumerate(layers, start=2):
        if index - 2 >= len(kinds) or layer.get("kind") != kinds[index - 2]:
            raise NetworkSpecError(f"{_where(index, layer)}: {rule}")
    if len(layers) < len(kinds):
        index = len(layers) + 1
        raise NetworkSpecError(f"{_where(index, layers[-1])}: {rule}; the file stops here")


def _at(index: int, layer: Mapping, build: Callable[[], object]) -> object:
    """``build()``, its error named after layer ``index``."""
    try:
        return build()
    except SymbackpropError as exc:
        message = str(exc.args[0]) if exc.args else str(exc)
        raise type(exc)(f"{_where(index, layer)}: {message}") from None


def _convolutional(inputs: object, layers: Sequence[Mapping], cost: object, weight_decay: object
                   ) -> ConvolutionalNetwork:
    if not isinstance(inputs, dict) or "image" not in inputs or set(inputs) - {"image", "channels"}:
        raise NetworkSpecError(
            f'a convolutional model reads an image: give "inputs" as {{"image": [rows, columns], "channels": 1}}; '
            f"got {echo(inputs)}"
        )
    image = check_pair(inputs["image"], "the image size")
    channels = inputs.get("channels", 1)
    _shape(("convolution", "pooling", "dense"), layers,
           "a convolutional model is a convolution layer, a pooling layer, then one dense output layer")
    conv, pool, out = layers
    activation = conv.get("activation", "sigmoid")
    filter_size = _at(2, conv, lambda: check_pair(conv["size"], "the filter size"))
    stride = _at(2, conv, lambda: check_pair(conv.get("stride", 1), "the stride"))
    padding = _at(2, conv, lambda: check_pair(conv.get("padding", 0), "the padding", low=0))
    maps = _at(2, conv, lambda: tuple(
        output_size(n, f, s, p, what) for n, f, s, p, what in zip(image, filter_size, stride, padding, ("row", "column"))
    ))
    block = _at(3, pool, lambda: check_pair(pool["size"], "the pooling block"))
    _at(3, pool, lambda: pooling_kind(pool.get("pooling", "max")))
    if maps[0] % block[0] or maps[1] % block[1]:
        raise NetworkSpecError(
            f"{_where(3, pool)}: a {block[0]}x{block[1]} pooling block does not divide the {maps[0]}x{maps[1]} "
            f"feature map; choose a block whose sides divide {maps[0]} and {maps[1]}"
        )
    if get_activation(out.get("activation", activation)).name != _at(2, conv, lambda: get_activation(activation)).name:
        raise NetworkSpecError(
            f"{_where(4, out)}: the CNN's output layer has the convolution's activation {echo(activation)}; "
            "write the same or leave it out"
        )
    return _at(4, out, lambda: ConvolutionalNetwork(
        image, conv["filters"], filter_size, block, out["width"], activation, cost, pool.get("pooling", "max"),
        channels=channels, stride=stride, padding=padding, weight_decay=weight_decay,
    ))


def _recurrent(inputs: object, layers: Sequence[Mapping], cost: object) -> RecurrentNetwork:
    _shape(("recurrent", "dense"), layers, "a recurrent model is a recurrent layer, then a dense output layer")
    rec, out = layers
    if not is_count(inputs):
        raise NetworkSpecError(f"inputs {echo(inputs)} is not a positive whole number of inputs per step")
    every_step = rec.get("every_step", False)
    _at(2, rec, lambda: RecurrentNetwork(1, inputs, rec["width"], 1, rec.get("activation", "tanh"),
                                         every_step=every_step))
    _at(3, out, lambda: (get_activation(out.get("activation", "sigmoid")), _positive(out["width"], "width")))
    return _at(2, rec, lambda: RecurrentNetwork(
        rec["steps"], inputs, rec["width"], out["width"], rec.get("activation", "tanh"),
        out.get("activation", "sigmoid"), cost, every_step,
    ))


def _batch_norm(inputs: object, layers: Sequence[Mapping], cost: object) -> BatchNormNetwork:
    hidden = len(layers) - 1
    _shape(("batch-norm",) * max(hidden, 1) + ("dense",), layers,
           "a batch-normalised model is batch-norm layers (one batch and ε), then a dense output layer")
    first = layers[0]
    activation = first.get("activation", "sigmoid")
    epsilon = _at(2, first, lambda: norm_epsilon(first.get("epsilon", DEFAULT_EPSILON)))
    for index, layer in enumerate(layers[1:-1], start=3):
        if layer["batch"] != first["batch"]:
            raise NetworkSpecError(f"{_where(index, layer)}: batch {echo(layer['batch'])} differs from layer 2's "
                                   f"{echo(first['batch'])}; every layer normalises over the same batch")
        if _at(index, layer, lambda layer=layer: norm_epsilon(layer.get("epsilon", DEFAULT_EPSILON))) != epsilon:
            raise NetworkSpecError(f"{_where(index, layer)}: epsilon {echo(layer.get('epsilon'))} differs from "
                                   "layer 2's; give every batch-norm layer the same ε")
        if layer.get("activation", "sigmoid") != activation:
            raise NetworkSpecError(f"{_where(index, layer)}: activation {echo(layer.get('activation', 'sigmoid'))} "
                                   f"differs from layer 2's {echo(activation)}; the hidden layers share one")
    for index, layer in enumerate(layers, start=2):
        _at(index, layer, lambda layer=layer: _positive(layer["width"], "width"))
    if not is_count(inputs):
        raise NetworkSpecError(f"inputs {echo(inputs)} is not a positive whole number of input units")
    sizes = [inputs] + [layer["width"] for layer in layers]
    return _at(2, first, lambda: BatchNormNetwork(
        sizes, first["batch"], activation, layers[-1].get("activation", "sigmoid"), cost, epsilon,
    ))


def _positive(value: object, what: str) -> int:
    if not is_count(value):
        raise NetworkSpecError(f"{what} {echo(value)} is not a positive whole number of units")
    return int(value)
