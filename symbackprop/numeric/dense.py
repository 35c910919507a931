"""What the array and the scalar models of a layered network share:
the network they compute (a :class:`Network` or a
:class:`~symbackprop.engine.model.Model`), their parameters' shapes and
initial values, and the names the book's spreadsheet files give those
parameters.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import sympy as sp

from ..engine.model import Model
from ..engine.network import Network
from ..errors import NetworkSpecError


def dense_parameter_shapes(sizes: Sequence[int]) -> dict[str, tuple[int, ...]]:
    """``W^l`` (to × from) and ``b^l`` of every layer l = 2..L.

    >>> dense_parameter_shapes([2, 3, 1])
    {'W2': (3, 2), 'b2': (3,), 'W3': (1, 3), 'b3': (1,)}
    """
    shapes: dict[str, tuple[int, ...]] = {}
    for l in range(2, len(sizes) + 1):
        shapes[f"W{l}"] = (sizes[l - 1], sizes[l - 2])
        shapes[f"b{l}"] = (sizes[l - 1],)
    return shapes


def parameter_matrices(network: Network | Model) -> dict[str, sp.ImmutableMatrix]:
    """Every layer's parameters as the arrays numeric models hold: ``W2``,
    ``b2`` (a column), and a layer's own further ones (``W'2``, ``b'2``).

    >>> list(parameter_matrices(Network([2, 3, 1])))
    ['W2', 'b2', 'W3', 'b3']
    """
    return {name: m for layer in network.layers for name, m in layer.matrices.items()}


def parameter_shapes(network: Network | Model) -> dict[str, tuple[int, ...]]:
    """The shape of each parameter array: ``W`` to × from, ``b`` a vector.

    >>> parameter_shapes(Model(2, [{"kind": "equations", "width": 1, "output": "z*sigmoid(z')",
    ...                              "units": ["z", "z'"]}]))
    {'W2': (1, 2), 'b2': (1,), "W'2": (1, 2), "b'2": (1,)}
    """
    return {name: (m.rows,) if name.startswith("b") else m.shape for name, m in parameter_matrices(network).items()}


def parameter_places(network: Network | Model) -> list[tuple[str, tuple[int, ...]]]:
    """Where each of the network's parameters (in its order) sits: array name and index.

    >>> parameter_places(Network([2, 1]))
    [('W2', (0, 0)), ('W2', (0, 1)), ('b2', (0,))]
    """
    place = {}
    for name, m in parameter_matrices(network).items():
        for r in range(m.rows):
            for c in range(m.cols):
                place[m[r, c]] = (name, (r,) if name.startswith("b") else (r, c))
    return [place[p] for p in network.parameters]


def numeric_network(sizes_or_network, activation="sigmoid", cost="squared") -> Network | Model:
    """The network a numeric model computes: given, or built from layer sizes
    (which :class:`Network` checks).

    >>> numeric_network([2, 1], cost="cross-entropy").describe()
    '2-1'
    >>> numeric_network(12)
    Traceback (most recent call last):
    ...
    symbackprop.errors.NetworkSpecError: layer sizes must be a list of integers, got 12
    """
    if isinstance(sizes_or_network, (Network, Model)):
        return sizes_or_network
    return Network(sizes_or_network, activation=activation, cost=cost)


INITS = ("book", "fan-in")


def check_init(init: str) -> str:
    """The name of an initialisation, checked.

    >>> check_init("xavier")
    Traceback (most recent call last):
    ...
    symbackprop.errors.NetworkSpecError: unknown initialisation 'xavier'; use book or fan-in
    """
    if init not in INITS:
        raise NetworkSpecError(f"unknown initialisation {init!r}; use {' or '.join(INITS)}")
    return init


def dense_initial_params(sizes: Sequence[int], rng: np.random.Generator, init: str = "book") -> dict[str, np.ndarray]:
    """Initial weights from a normal distribution.

    ``book``: every weight and bias standard normal, as the book draws them.
    ``fan-in``: ``w^l_{ji}`` normal with standard deviation ``1/√n_{l−1}`` and
    biases 0, so that ``z`` starts of order 1 however many inputs a unit
    has (with 64 inputs, standard normal weights saturate the sigmoid).

    >>> p = dense_initial_params([64, 32, 10], np.random.default_rng(0), "fan-in")
    >>> round(float(p["W2"].std() * 8), 1), float(abs(p["b2"]).max())
    (1.0, 0.0)
    """
    return initial_values(dense_parameter_shapes(sizes), rng, init)


def initial_values(shapes: dict[str, tuple[int, ...]], rng: np.random.Generator, init: str = "book") -> dict[str, np.ndarray]:
    """Initial values of weights ``W…`` and biases ``b…`` of these shapes; see :func:`dense_initial_params`.

    >>> initial_values({"W'2": (1, 4), "b'2": (1,)}, np.random.default_rng(0), "fan-in")["b'2"]
    array([0.])
    """
    params: dict[str, np.ndarray] = {}
    for name, shape in shapes.items():
        if init == "book":
            params[name] = rng.standard_normal(shape)
        elif name.startswith("W"):
            params[name] = rng.standard_normal(shape) / np.sqrt(shape[1])
        else:
            params[name] = np.zeros(shape)
    return params


def book_file_aliases(depth: int) -> dict[str, str]:
    """The keys of the book's JSON layout for a network of ``depth`` layers.

    The book's 3-layer file has ``hidden_W, hidden_b, output_W, output_b``.
    Deeper networks number their hidden layers from the input:
    ``hidden1_W`` is ``W^2``, ``hidden2_W`` is ``W^3``, …, and ``output_W``
    is ``W^L`` (with one hidden layer ``hidden1_W`` means ``hidden_W``).

    >>> book_file_aliases(4)
    {'hidden1_W': 'W2', 'hidden1_b': 'b2', 'hidden2_W': 'W3', 'hidden2_b': 'b3', 'output_W': 'W4', 'output_b': 'b4'}
    """
    aliases: dict[str, str] = {}
    for l in range(2, depth):
        aliases[f"hidden{l - 1}_W"], aliases[f"hidden{l - 1}_b"] = f"W{l}", f"b{l}"
    if depth == 3:
        aliases["hidden_W"], aliases["hidden_b"] = "W2", "b2"
    aliases["output_W"], aliases["output_b"] = f"W{depth}", f"b{depth}"
    return aliases
