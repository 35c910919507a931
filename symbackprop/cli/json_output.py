"""``--json`` of ``train`` and ``evaluate``: one JSON document on standard output.

The shape of each document is in the README ("Machine-readable output of
train and evaluate"); numbers are JSON numbers, absent figures ``null``.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Mapping

from rich.console import Console


def print_json(document: Mapping[str, object]) -> None:
    """Write ``document`` as one line of JSON (NaN and infinity are refused:
    they are not JSON).

    >>> print_json({"command": "evaluate", "cost": 0.5, "accuracy": None})
    {"command": "evaluate", "cost": 0.5, "accuracy": null}
    """
    sys.stdout.write(json.dumps(document, ensure_ascii=False, allow_nan=False) + "\n")


def quiet_console() -> Console:
    """A console whose output goes nowhere: with ``--json`` the document is
    all that standard output carries.

    >>> quiet_console().print("not shown")
    """
    return Console(file=io.StringIO())
