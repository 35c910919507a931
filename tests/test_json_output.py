"""``--json`` on verify, compare and calc: one JSON document that parses, that
validates against the schema in symbackprop/cli/schemas, and whose numbers are
the mathematics' (checked here by hand, not copied from the output)."""

from __future__ import annotations

import json
import math

import pytest
import sympy as sp

from symbackprop.cli import main
from symbackprop.cli.json_output import dumps, schema, to_json

# --- a small structural checker of the JSON Schema subset the schemas use -----------

_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
}
_KNOWN = {"$schema", "$id", "$defs", "title", "description", "type", "const", "enum", "oneOf", "properties",
          "required", "additionalProperties", "items", "$ref"}


def _resolve(ref: str, here: dict) -> tuple[dict, dict]:
    document, _, pointer = ref.partition("#")
    root = schema(document.removesuffix(".json")) if document else here
    node = root
    for part in pointer.strip("/").split("/"):
        node = node[part]
    return node, root


def errors(value, node: dict, root: dict, where: str = "$") -> list[str]:
    """Where ``value`` breaks the schema ``node`` (empty: it validates)."""
    unknown = set(node) - _KNOWN
    assert not unknown, f"the checker does not know {unknown}"
    if "$ref" in node:
        target, target_root = _resolve(node["$ref"], root)
        return errors(value, target, target_root, where)
    found: list[str] = []
    if "type" in node:
        types = node["type"] if isinstance(node["type"], list) else [node["type"]]
        if not any(_TYPES[t](value) for t in types):
            return [f"{where}: {value!r} is not {types}"]
    if "const" in node and value != node["const"]:
        found.append(f"{where}: {value!r} is not {node['const']!r}")
    if "enum" in node and value not in node["enum"]:
        found.append(f"{where}: {value!r} is not one of {node['enum']}")
    if "oneOf" in node:
        matching = [n for n in node["oneOf"] if not errors(value, n, root, where)]
        if len(matching) != 1:
            found.append(f"{where}: {value!r} matches {len(matching)} of oneOf, not exactly one")
    if isinstance(value, dict):
        for key in node.get("required", []):
            if key not in value:
                found.append(f"{where}: {key} is missing")
        properties = node.get("properties", {})
        for key, item in value.items():
            if key in properties:
                found += errors(item, properties[key], root, f"{where}.{key}")
            elif node.get("additionalProperties", True) is False:
                found.append(f"{where}: {key} is not in the schema")
    if isinstance(value, list) and "items" in node:
        for n, item in enumerate(value):
            found += errors(item, node["items"], root, f"{where}[{n}]")
    return found


def _run(capsys, argv: list[str]) -> tuple[int, dict]:
    status = main(argv)
    out = capsys.readouterr().out
    assert out.count("\n") == 1, "one document on one line, nothing else"
    return status, json.loads(out)


def _valid(document: dict, command: str) -> None:
    assert errors(document, schema(command), schema(command)) == []


# --- the checker itself must fail where it should -----------------------------------

def test_the_checker_rejects_what_breaks_the_schema() -> None:
    verify = schema("verify")
    assert errors({"command": "verify"}, verify, verify)  # required fields missing
    real = {"$ref": "common.json#/$defs/real"}
    assert errors("NaN", real, verify) == [] and errors(0.5, real, verify) == []
    assert errors("nan", real, verify) and errors(True, real, verify)


def test_numbers_are_numbers_and_exact_values_keep_their_text() -> None:
    document = to_json({"x": sp.Rational(1, 3), "n": sp.Integer(2), "f": 0.25, "bad": [math.nan, -math.inf]})
    assert document == {"x": {"value": 1 / 3, "exact": "1/3"}, "n": {"value": 2.0, "exact": "2"}, "f": 0.25,
                        "bad": ["NaN", "-Infinity"]}
    text = dumps({"v": math.inf})
    assert json.loads(text) == {"v": "Infinity"} and "Infinity" in text
    common = schema("common")
    assert errors(document["x"], common["$defs"]["exact"], common) == []


# --- verify ------------------------------------------------------------------------

def test_verify_json_lists_every_check_and_validates(capsys) -> None:
    status, document = _run(capsys, ["verify", "--layers", "2,2,1", "--exact", "--json"])
    _valid(document, "verify")
    assert status == 0 and document["ok"] is True and document["failures"] == []
    # 2-2-1 has 9 parameters, each checked three ways
    assert len(document["checks"]) == 27
    assert {c["parameter"] for c in document["checks"]} == {
        "w^2_11", "w^2_12", "w^2_21", "w^2_22", "b^2_1", "b^2_2", "w^3_11", "w^3_12", "b^3_1"}
    assert all(c["agrees"] is True for c in document["checks"])


def test_verify_json_reports_a_wrong_claim_with_status_1(capsys) -> None:
    # ∂C/∂w^3_11 = δ^3_1 a^2_1; the claim drops the factor a^2_1
    status, document = _run(capsys, ["verify", "--layers", "2,2,1", "--param", "w^3_11",
                                     "--claim", "(a^3_1 - t_1)*a^3_1*(1 - a^3_1)", "--json"])
    _valid(document, "verify")
    assert status == 1 and document["ok"] is False and document["failures"]


# --- compare -----------------------------------------------------------------------

def test_compare_json_routes_agree_and_validate(capsys) -> None:
    status, document = _run(capsys, ["compare", "--layers", "2,2,1", "--batch", "4", "--no-proof",
                                     "--weight-decay", "0.01", "--json"])
    _valid(document, "compare")
    assert status == 0 and document["sweep"] is None
    (one,) = document["comparisons"]
    assert one["parameters"] == 9 and one["network"]["weight_decay"] == {"value": 0.01, "exact": "1/100"}
    computed = [r["gradient"] for r in one["routes"] if r["gradient"] is not None]
    assert len(computed) >= 2 and all(len(g) == 9 for g in computed)
    # the routes compute one gradient
    assert one["agreement"] < 1e-10


# --- calc --------------------------------------------------------------------------

def test_calc_minimum_json_is_exact(capsys) -> None:
    # f = (x−1)² + 2(y+1)² + xy: 2(x−1) + y = 0 and 4(y+1) + x = 0 give x = 12/7, y = −10/7
    status, document = _run(capsys, ["calc", "minimum", "(x-1)**2 + 2*(y+1)**2 + x*y", "--json"])
    _valid(document, "calc")
    (point,) = document["result"]["candidates"]
    assert point["point"] == {"x": {"value": 12 / 7, "exact": "12/7"}, "y": {"value": -10 / 7, "exact": "-10/7"}}
    assert point["kind"] == "local minimum"


@pytest.mark.parametrize("argv", [
    ["lagrange", "x*y", "--constraint", "x + y = 1"],
    ["approx", "exp(x)*sin(y)", "--at", "0,1"],
    ["steepest"],
    ["gd", "--steps", "3"],
    ["regression", "--x", "1,2,3", "--y", "2,4,7"],
])
def test_calc_json_validates_for_every_topic(capsys, argv) -> None:
    status, document = _run(capsys, ["calc", *argv, "--json"])
    _valid(document, "calc")
    assert status == 0 and document["topic"] == argv[0] and document["steps"]


def test_calc_gd_json_follows_the_descent(capsys) -> None:
    # f = x² + y² from (3, 2) with η = 1/10: each step multiplies the point by 1 − 2η = 4/5
    _, document = _run(capsys, ["calc", "gd", "x**2 + y**2", "--start", "3,2", "--eta", "0.1", "--steps", "2",
                                "--json"])
    points = [c for point in document["result"]["points"] for c in point]
    assert points == pytest.approx([3, 2, 2.4, 1.6, 1.92, 1.28])


def test_calc_json_refuses_out(capsys, tmp_path) -> None:
    assert main(["calc", "steepest", "--json", "--out", str(tmp_path / "r.txt")]) == 2
    assert "--json" in capsys.readouterr().err
