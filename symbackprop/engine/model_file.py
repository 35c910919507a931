"""The model file: a network described layer by layer, in JSON or TOML.

A JSON model file::

    {"inputs": 4, "cost": "squared",
     "layers": [{"kind": "dense", "width": 3, "activation": "tanh"},
                {"kind": "residual", "skip": 2, "activation": "tanh"},
                {"kind": "equations", "width": 2, "output": "z*sigmoid(z')"}]}

and the same in TOML (read with the standard library's ``tomllib``)::

    inputs = 4
    cost = "squared"
    [[layers]]
    kind = "dense"
    width = 3
    activation = "tanh"
    …

The top-level keys are ``inputs`` (the width of layer 1), ``layers`` (one
table per layer 2..L, see :mod:`symbackprop.engine.model` for the kinds and
their keys), and optionally ``cost`` and ``weight_decay``. Every error is one
line that names the file and, where it can, the line of the bad layer:
``net.json:5:18: layer 3 ('residual'): …``.

>>> import tempfile, pathlib
>>> with tempfile.TemporaryDirectory() as folder:
...     path = pathlib.Path(folder) / "net.json"
...     _ = path.write_text('{"inputs": 2,\\n "layers": [{"kind": "dense", "width": 2},\\n'
...                         '  {"kind": "residual", "skip": 2, "width": 3}]}')
...     read_model(path)
Traceback (most recent call last):
...
symbackprop.errors.NetworkSpecError: .../net.json:3:3: layer 3 ('residual'): width 3 does not match layer 2's 2, whose outputs the skip adds
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from ..errors import NetworkSpecError, SymbackpropError, UnknownNameError, echo
from ..files import parse_json, read_text
from ..guards import MODEL_FILE_LIMIT, check_path
from .model import LAYER_KINDS, Model
from .model_networks import STRUCTURED_KINDS, is_structured, network_from_layers
from .network import LayeredModel

#: Every kind a model file may name: the graph's and the structured networks'.
KINDS = tuple(sorted({*LAYER_KINDS, *STRUCTURED_KINDS}))

_TOP_KEYS = ("inputs", "layers", "cost", "weight_decay")


def read_model(path: str | os.PathLike) -> Model | LayeredModel:
    """The :class:`~symbackprop.engine.model.Model` a ``.json`` or ``.toml`` file
    describes, or the convolutional, recurrent or batch-normalised network
    (:mod:`symbackprop.engine.model_networks`) when its layers are of those kinds."""
    document, positions, where = read_model_document(path)
    return model_from_document(document, where, positions)


def read_model_document(path: str | os.PathLike) -> tuple[object, list[str], str]:
    """A model file as read, before any model is built: its document (JSON
    values, whichever the format), the ``line:column`` of each layer's entry
    and the file's name, for :func:`model_from_document`. The document is what
    ``train --save`` keeps with the parameters, so that ``evaluate`` builds the
    same network without the file."""
    path = Path(check_path(path, "the model file"))
    text = read_text(path, "model file", NetworkSpecError, MODEL_FILE_LIMIT,
                     f"a model file describes its layers in a few lines each, in at most {MODEL_FILE_LIMIT:,} bytes")
    if path.suffix.lower() == ".toml":
        document, positions = _toml(text, path)
    elif path.suffix.lower() == ".json":
        document = parse_json(text, str(path), "model file", NetworkSpecError)
        positions = _json_positions(text, document)
    else:
        raise NetworkSpecError(f"{path}: a model file ends in .json or .toml")
    return document, positions, str(path)


def model_from_document(document: object, where: str, positions: list[str] | None = None) -> Model | LayeredModel:
    """The model a parsed file describes; ``positions`` holds ``line:column``
    of each layer's entry, for the messages.

    >>> model_from_document({"inputs": 1, "layers": [{"kind": "dense", "width": 1}]}, "m.json").describe()
    '1-1'
    >>> model_from_document({"inputs": 1, "layer": []}, "m.json")
    Traceback (most recent call last):
    ...
    symbackprop.errors.NetworkSpecError: m.json: unknown key 'layer'; a model file has inputs, layers, cost, weight_decay
    """
    if not isinstance(document, dict):
        raise NetworkSpecError(f"{where}: a model file is a table of inputs, layers and cost; got {echo(document)}")
    for key in document:
        if key not in _TOP_KEYS:
            raise NetworkSpecError(f"{where}: unknown key {echo(key)}; a model file has {', '.join(_TOP_KEYS)}")
    for key in ("inputs", "layers"):
        if key not in document:
            raise NetworkSpecError(f"{where}: no {key}; a model file gives inputs (a width) and layers (a list)")
    layers = document["layers"]
    if not isinstance(layers, list) or not all(isinstance(layer, dict) for layer in layers):
        raise NetworkSpecError(f"{where}: layers must be a list of tables, one per layer; got {echo(layers)}")
    try:
        for index, layer in enumerate(layers, start=2):
            if layer.get("kind") not in KINDS:
                raise UnknownNameError(f"layer {index}: unknown kind {echo(layer.get('kind'))}; kinds: {', '.join(KINDS)}")
        if is_structured(layers) or isinstance(document["inputs"], dict):
            if layers and isinstance(document["inputs"], dict) and not is_structured(layers):
                raise NetworkSpecError(f"layer 2 ({echo(layers[0].get('kind'))}): an image input is read by a "
                                       "convolution layer first")
            return network_from_layers(document["inputs"], layers, document.get("cost", "squared"),
                                       document.get("weight_decay", 0))
        return Model(
            document["inputs"], layers, cost=document.get("cost", "squared"),
            weight_decay=document.get("weight_decay", 0),
        )
    except SymbackpropError as exc:
        message = str(exc.args[0]) if exc.args else str(exc)
        found = re.match(r"layer (\d+)\b", message)
        position = ""
        if found and positions and 0 <= int(found.group(1)) - 2 < len(positions):
            position = ":" + positions[int(found.group(1)) - 2]
        raise NetworkSpecError(f"{where}{position}: {message}") from None


def _json_positions(text: str, document: object) -> list[str]:
    # Each entry of "layers" decoded once more from where it starts, to learn that place.
    found = re.search(r'"layers"\s*:\s*\[', text)
    if not found or not isinstance(document, dict) or not isinstance(document.get("layers"), list):
        return []
    decoder, at, positions = json.JSONDecoder(), found.end(), []
    for _ in document["layers"]:
        at = re.compile(r"[\s,]*").match(text, at).end()
        line = text.count("\n", 0, at) + 1
        positions.append(f"{line}:{at - text.rfind(chr(10), 0, at)}")
        try:
            at = decoder.raw_decode(text, at)[1]
        except json.JSONDecodeError:
            return []
    return positions


def _toml(text: str, path: Path) -> tuple[object, list[str]]:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        raise NetworkSpecError(f"{path}: TOML model files need Python 3.11 or later; write the model as JSON") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise NetworkSpecError(f"{path}: not a valid TOML model file ({exc})") from None
    lines = [n for n, line in enumerate(text.splitlines(), start=1) if re.match(r"\s*\[\[\s*layers\s*\]\]", line)]
    return document, [f"{n}:1" for n in lines]
