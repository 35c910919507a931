"""Differentiating each distinct node once gives SymPy's own derivative, node for node,
and the verification that uses it shows its progress on a terminal only."""

from __future__ import annotations

import os
import pty
import subprocess
import sys

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from symbackprop import ConvolutionalNetwork, Network
from symbackprop.engine.batchnorm import BatchNormNetwork
from symbackprop.engine.recurrent import RecurrentNetwork
from symbackprop.engine.routes import direct_route
from symbackprop.engine.shared_derivative import shared_diff
from symbackprop.errors import ArgumentError

MODELS = [
    Network([2, 2, 2, 2], activation="generic"),
    Network([4, 3, 3], output="softmax", cost="categorical-cross-entropy"),
    Network([2, 2, 1], activation=["tanh", "sigmoid"], cost="cross-entropy"),
    Network([2, 2, 2], activation="relu", weight_decay=sp.Symbol("lambda")),
    Network([2, 2, 1], activation="z/(1+exp(-z))", cost="abs(a-t)"),
    ConvolutionalNetwork((3, 3), 1, (2, 2), pool=(1, 2), outputs=1, activation="generic"),
    ConvolutionalNetwork((5, 5), 1, (2, 2), pool=(2, 2), outputs=2, pooling="average"),
    ConvolutionalNetwork((5, 5), 2, (2, 2), pool=(2, 2), outputs=2),
    RecurrentNetwork(3, 1, 2, 1, activation="tanh", every_step=True),
    BatchNormNetwork([1, 1, 1], batch=3, activation="generic"),
]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.describe())
def test_the_shared_direct_route_is_sympys_diff_expression_for_expression(model):
    plain = direct_route(model, force=True)
    shared = direct_route(model, force=True, shared=True)
    assert shared.gradients == plain.gradients


x, y = sp.symbols("x y")
leaves = st.sampled_from([x, y, sp.Integer(2), sp.Rational(-1, 3)])


def _combine(children):
    unary = st.sampled_from([sp.exp, sp.sin, sp.log, sp.tanh, sp.Abs]).flatmap(
        lambda f: children.map(f))
    binary = st.tuples(children, children).flatmap(
        lambda pair: st.sampled_from([pair[0] + pair[1], pair[0] * pair[1], pair[0] ** 3, pair[0] ** pair[1]]))
    return unary | binary


@settings(max_examples=60, deadline=None)
@given(st.recursive(leaves, _combine, max_leaves=8))
def test_shared_diff_equals_sympy_diff_on_any_expression(expr):
    # Max is the CNN models' (constants such as log(log(1/3)) cannot be compared).
    # A node shared by both operands of a product is differentiated once, yet
    # the result is the one sympy.diff builds.
    shared = expr * (expr + x)
    assert shared_diff(shared, x) == sp.diff(shared, x)
    assert shared_diff(expr, y) == sp.diff(expr, y)


def test_shared_diff_refuses_what_is_not_a_symbol():
    with pytest.raises(ArgumentError, match="SymPy symbol"):
        shared_diff(x, "x")
    with pytest.raises(ArgumentError, match="SymPy expression"):
        shared_diff("x", x)


def _verify(stderr) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "symbackprop", "verify", "--layers", "2,1", "--exact"],
                          stdout=subprocess.PIPE, stderr=stderr, timeout=120)


def test_verify_draws_its_progress_on_a_terminal_and_nowhere_else():
    piped = _verify(subprocess.PIPE)
    assert piped.returncode == 0 and piped.stderr == b""
    master, slave = pty.openpty()
    try:
        done = _verify(slave)
        os.close(slave)
        drawn = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the terminal closed: all was read
                break
            if not chunk:
                break
            drawn += chunk
    finally:
        os.close(master)
    assert done.returncode == 0 and done.stdout == piped.stdout
    text = drawn.decode("utf-8", "replace")
    for stage in ("δ route", "direct route", "exact proof", "random points", "finite differences"):
        assert stage in text
    assert "3/3" in text  # the 3 parameters of 2-1, each differentiated and proved


def test_direct_time_splits_the_direct_route_into_its_stages():
    from symbackprop.measure.direct_time import direct_time

    model = Network([3, 2, 1])
    timed = direct_time(model)
    size = direct_route(model).size()
    assert (timed.tree_ops, timed.graph_nodes, timed.parameters) == (size.tree_ops, size.graph_nodes, 11)
    assert 0 < timed.walk_share < 1
    assert min(timed.substitute, timed.differentiate, timed.shared, timed.simplify) > 0
