"""derive past the direct route: the δ-route document alone, its size counted
from the widths, its rules instantiated for the first and last layers, and
its check at random points."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symbackprop import Network
from symbackprop.cli import main
from symbackprop.documents.large import direct_work, large_network_derivation, parameter_count
from symbackprop.engine import index_rules as ix
from symbackprop.engine.routes import estimate_direct_work
from symbackprop.guards import SAMPLED_PARAMETER_LIMIT
from symbackprop.proof.sampled import sampled_check


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sizes=st.lists(st.integers(1, 4), min_size=2, max_size=4),
    activation=st.sampled_from(["sigmoid", "tanh", "relu", "softsign", "identity", "z/(1+exp(-z))"]),
    cost=st.sampled_from(["squared", "cross-entropy"]),
    decay=st.sampled_from([0, "1/10"]),
)
def test_the_direct_route_is_counted_from_the_widths_as_the_engine_measures_it(sizes, activation, cost, decay):
    if cost == "cross-entropy":
        activation = [activation] * (len(sizes) - 2) + ["sigmoid"]
    network = Network(sizes, activation=activation, cost=cost, weight_decay=decay)
    small = Network([1] * len(sizes), activation=activation, cost=cost, weight_decay=decay)
    assert direct_work(sizes, small) == estimate_direct_work(network)
    assert parameter_count(sizes) == network.parameter_count


def test_the_sampled_check_finds_a_wrong_gradient(monkeypatch):
    # Break the derived δ^L (drop the factor a'(z^L)): both checks must notice.
    from symbackprop.proof import sampled

    real = sampled.derive_arrays

    def broken(network):
        d = real(network)
        out = d.layers[-1].delta
        d.deltas[out] = sp.Symbol("a^3") - sp.Symbol("t")
        return d

    monkeypatch.setattr(sampled, "derive_arrays", broken)
    report = sampled_check([3, 2, 2], "sigmoid", "squared", samples=1)
    assert not report.ok
    assert {c.method for c in report.checks if c.agrees is False} == {"50-digit numeric", "finite differences"}


@pytest.fixture(scope="module")
def document():
    return large_network_derivation([30, 20, 10], "tanh", "squared", "1/100", samples=1)


def test_the_document_instantiates_the_rules_for_the_first_and_last_layers(document):
    steps = {step.title: step for step in document.steps}
    output = dict(steps["The output layer, $L = 3$"].equations)
    a, t = ix.a[3, ix.j], ix.t[ix.j]
    # δ^L_j = (a^L_j − t_j) tanh'(z^L_j) = (a^L_j − t_j)(1 − (a^L_j)²)
    assert sp.expand(output[ix.delta[3, ix.j]] - (a - t) * (1 - a**2)) == 0
    first = dict(steps["The first layer, $l = 2$"].equations)
    k = first[ix.delta[2, ix.i]].atoms(sp.Sum).pop().limits[0][0]
    want = (1 - ix.a[2, ix.i] ** 2) * sp.Sum(ix.delta[3, k] * ix.w[3, k, ix.i], (k, 1, 10))
    assert first[ix.delta[2, ix.i]] == want
    assert document.title.endswith("(δ route only)")


def test_the_document_says_what_it_checked_instead(document):
    verdict = document.steps[-1]
    assert "not attempted" in verdict.note and "random point" in verdict.note
    assert "the δ route agrees with the central differences for all 4 parameters checked" in verdict.note


def test_derive_writes_the_delta_route_alone_past_the_direct_route(tmp_path: Path, capsys):
    out = tmp_path / "d.md"
    start = time.perf_counter()
    assert main(["derive", "--layers", "64,32,10", "--format", "markdown", "--out", str(out)]) == 0
    assert time.perf_counter() - start < 30
    text = out.read_text()
    assert "δ route only" in text and "4,010 operations" not in text
    assert main(["derive", "--layers", "64,32,10", "--expand"]) == 2
    assert main(["derive", "--layers", "2000,200,10"]) == 2
    err = capsys.readouterr().err
    assert "leave out --expand" in err and f"{SAMPLED_PARAMETER_LIMIT:,}" in err


def test_the_readme_states_the_sampled_limit():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    table = readme.split("<!-- limits -->", 1)[1].split("<!-- /limits -->", 1)[0]
    assert any("random points" in row and f"{SAMPLED_PARAMETER_LIMIT:,}" in row for row in table.splitlines())
