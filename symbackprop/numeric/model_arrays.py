"""The trainable model of a network read from a model file: the array (or
scalar) path that computes it on whole batches.

>>> from symbackprop.engine.model_networks import network_from_layers
>>> net = network_from_layers(1, [{"kind": "recurrent", "steps": 2, "width": 2},
...                               {"kind": "dense", "width": 1, "activation": "identity"}], "squared")
>>> trainable_for(net, "array").describe()
'T=2, 1-input, 2-unit recurrent, 1-output many-to-one'
"""

from __future__ import annotations

from ..engine.batchnorm import BatchNormNetwork
from ..engine.cnn import ConvolutionalNetwork
from ..engine.network import LayeredModel
from ..engine.recurrent import RecurrentNetwork
from ..errors import NetworkSpecError, UnknownNameError
from .arrays import ArrayModel
from .batchnorm_arrays import BatchNormArrays
from .cnn_arrays import CNNArrays, CNNScalar
from .recurrent_arrays import RecurrentArrays
from .scalar import ScalarModel


def trainable_for(network: LayeredModel, path: str, init: str = "fan-in"):
    """``network`` on the ``array`` or ``scalar`` path (the recurrent and
    batch-normalised networks have the array path only); ``init`` names the
    random start of a fully connected network.

    >>> from symbackprop.engine.cnn import ConvolutionalNetwork
    >>> trainable_for(ConvolutionalNetwork((4, 4), 1, 3, pool=2, outputs=2), "array").parameter_shapes["out_W"]
    (2, 1, 1, 1)
    >>> trainable_for(BatchNormNetwork([2, 2, 1], batch=2), "scalar")
    Traceback (most recent call last):
    ...
    symbackprop.errors.NetworkSpecError: the 2-2-1 batch-normalised, batch of 2 network trains on the array path only; leave out --path scalar
    """
    if path not in ("array", "scalar"):
        raise UnknownNameError(f"unknown path {path!r}; use array or scalar")
    if isinstance(network, ConvolutionalNetwork):
        return (CNNArrays if path == "array" else CNNScalar)(
            network.image_shape, network.filters, network.filter_size, network.pool, network.outputs,
            network.activation, network.cost, network.pooling.kind, channels=network.channels,
            stride=network.stride, padding=network.padding, weight_decay=network.weight_decay,
        )
    if isinstance(network, (RecurrentNetwork, BatchNormNetwork)) and path != "array":
        raise NetworkSpecError(f"the {network.describe()} network trains on the array path only; leave out --path scalar")
    if isinstance(network, RecurrentNetwork):
        return RecurrentArrays(network.steps, len(network.recurrent.x[0]), network.width, network.outputs,
                               network.activation, network.output.activation, network.cost, network.every_step)
    if isinstance(network, BatchNormNetwork):
        return BatchNormArrays(list(network.sizes), network.activation, network.output_activation, network.cost,
                               network.epsilon)
    return (ArrayModel if path == "array" else ScalarModel)(network, init=init)


def input_width(network: LayeredModel) -> int:
    """The values one example gives the network: pixels × channels, inputs per step × steps, or layer 1's width.

    >>> input_width(ConvolutionalNetwork((6, 6), channels=2)), input_width(RecurrentNetwork(5, 2))
    (72, 10)
    """
    if isinstance(network, ConvolutionalNetwork):
        return network.channels * network.image_shape[0] * network.image_shape[1]
    if isinstance(network, RecurrentNetwork):
        return network.steps * len(network.recurrent.x[0])
    return network.sizes[0]


def output_width(network: LayeredModel) -> int:
    """The network's output units (of one step, for a recurrent network read at every step).

    >>> output_width(ConvolutionalNetwork()), output_width(BatchNormNetwork([4, 3, 2], batch=2))
    (3, 2)
    """
    if isinstance(network, (ConvolutionalNetwork, RecurrentNetwork)):
        return network.outputs
    return network.sizes[-1]
