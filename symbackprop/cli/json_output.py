"""``--json``: a command's result as one JSON document on standard output
(``verify``, ``compare``, ``calc``, ``train``, ``evaluate``).

One rule for every command's numbers: a float is a JSON number; a float
that JSON cannot hold is written as the string ``"NaN"``, ``"Infinity"`` or
``"-Infinity"``; an exact SymPy value is an object ``{"value": …, "exact":
"…"}`` with its float value (null when it is not a real number, such as a
formula in x) and its exact text, so that ``1/3`` stays ``1/3``. Symbols,
as keys or values, are their names in the book's notation (``w^2_11``).
The schemas of the documents of verify, compare and calc are in
``symbackprop/cli/schemas/``; train's and evaluate's are in the README.

>>> import sympy as sp
>>> to_json({"eta": sp.Rational(1, 3), "gap": float("inf"), "ok": True})
{'eta': {'value': 0.3333333333333333, 'exact': '1/3'}, 'gap': 'Infinity', 'ok': True}
"""

from __future__ import annotations

import dataclasses
import io
import json
import math
import sys
from collections.abc import Mapping
from importlib import resources
from typing import Any

import numpy as np
import sympy as sp
from rich.console import Console

#: How a float that JSON cannot hold is written.
NON_FINITE = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


def real(value: float) -> float | str:
    """A float as JSON holds it: itself, or ``"NaN"``, ``"Infinity"``, ``"-Infinity"``.

    >>> real(0.5), real(float("-inf"))
    (0.5, '-Infinity')
    """
    value = float(value)
    return value if math.isfinite(value) else NON_FINITE[str(value)]


def exact(value: sp.Basic) -> dict[str, Any]:
    """An exact SymPy value with its float value beside it.

    >>> exact(sp.sqrt(2))
    {'value': 1.4142135623730951, 'exact': 'sqrt(2)'}
    >>> exact(sp.Symbol("x") + 1)
    {'value': None, 'exact': 'x + 1'}
    """
    number: float | str | None = None
    if isinstance(value, sp.Expr) and not value.free_symbols and value.is_real is not False:
        try:
            number = real(float(value))
        except (TypeError, ValueError):
            number = None
    return {"value": number, "exact": str(value)}


def to_json(value: Any) -> Any:
    """``value`` as plain JSON data, by the rule of this module: dataclasses
    become objects of their fields, mappings objects with text keys,
    sequences and arrays lists.

    >>> import numpy as np
    >>> to_json({sp.Symbol("w^2_11"): np.float64(0.25), "shape": (2, 3)})
    {'w^2_11': 0.25, 'shape': [2, 3]}
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)) and not isinstance(value, np.bool_):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (float, np.floating)):
        return real(value)
    if isinstance(value, sp.Symbol):
        return value.name
    if isinstance(value, sp.MatrixBase):
        return [[to_json(e) for e in row] for row in value.tolist()]
    if isinstance(value, sp.Float):  # a float already: its digits are all it has
        return real(float(value))
    if isinstance(value, sp.Basic) and value.is_Boolean:
        return bool(value) if value in (sp.true, sp.false) else str(value)
    if isinstance(value, sp.Basic):
        return exact(value)
    if isinstance(value, np.ndarray):
        return [to_json(v) for v in value.tolist()] if value.ndim else to_json(value.item())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {(k.name if isinstance(k, sp.Symbol) else str(k)): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_json(v) for v in value]
    return str(value)


def dumps(document: Mapping[str, Any]) -> str:
    """The document as one line of JSON text (UTF-8 characters kept, no NaN literals).

    >>> dumps({"command": "verify", "ok": True})
    '{"command": "verify", "ok": true}'
    """
    return json.dumps(to_json(document), ensure_ascii=False, allow_nan=False)


def print_json(document: Mapping[str, Any]) -> None:
    """Print the document on standard output, alone, on one line.

    >>> print_json({"command": "evaluate", "cost": 0.5, "accuracy": None})
    {"command": "evaluate", "cost": 0.5, "accuracy": null}
    """
    sys.stdout.write(dumps(document) + "\n")


def quiet_console() -> Console:
    """A console whose output goes nowhere: with ``--json`` the document is
    all that standard output carries.

    >>> quiet_console().print("not shown")
    """
    return Console(file=io.StringIO())


def schema(command: str) -> dict[str, Any]:
    """The JSON Schema of a command's ``--json`` document.

    >>> schema("verify")["properties"]["command"]["const"]
    'verify'
    """
    text = resources.files(__package__).joinpath("schemas", f"{command}.json").read_text(encoding="utf-8")
    return json.loads(text)


def add_json_option(parser) -> None:
    """``--json``: print one JSON document instead of tables."""
    parser.add_argument("--json", action="store_true",
                        help="print the result as one JSON document (schema: README, 'Machine-readable output')")
