"""Expression swell on the logistic map: sizes counted by hand for n = 1, 2, 3.

The project counts as :func:`symbackprop.engine.routes.expression_size` does:
a sum or product of k terms is k − 1 operations, any other compound node
(a power, a function) is 1, a symbol or a number 0 ("as a tree": every
occurrence counted); "distinct nodes" counts each different subexpression
once, leaves (x and every number) included. SymPy writes ``−u`` as the
product ``(−1)·u`` and merges numeric factors of a product (4·(−4)… = one
number), and a number times a sum of two terms is distributed.

Write A = 1 − x = Add(1, Mul(−1, x)): 2 operations; nodes x, 1, −1, −x, A.

n = 1: l_1 = 4·x·A = Mul(4, x, A).
    tree: the product of 3 factors 2, A 2: 4. Nodes: 4, x, 1, −1, −x, A, l_1: 7.
    dl_1/dx (Leibniz): 4·A + 4·x·(−1) = (4 − 4x) − 4x = 4 − 8x = Add(4, Mul(−8, x)).
    tree: 1 + 1 = 2. Nodes: 4, −8, x, −8x, the sum: 5.

n = 2: 1 − l_1 = B = Add(1, Mul(−4, x, A)): 1 + 2 + A's 2 = 5 operations.
    l_2 = 4·l_1·B = Mul(16, x, A, B): 3 + 2 + 5 = 10.
    Nodes: 16, x, 1, −1, −4, −x, A, −4xA, B, l_2: 10.
    dl_2/dx: A' = −1; B' = −4·A + (−4)·x·(−1) = (−4 + 4x) + 4x = Add(−4, Mul(8, x)) =: C (2 operations).
    Leibniz: Mul(16, A, B) + Mul(−16, x, B) + Mul(16, x, A, C):
    tree: the sum 2; 16·A·B: 2 + 2 + 5 = 9; −16·x·B: 2 + 5 = 7; 16·x·A·C: 3 + 2 + 2 = 7: 25.
    Nodes: leaves 16, −16, x, 1, −1, −4, 8 (7); −x, A, −4xA, B, 8x, C, the three
    products and the sum (10): 17.

n = 3: D = 1 − l_2 = Add(1, Mul(−16, x, A, B)): 1 + 3 + 2 + 5 = 11 operations.
    l_3 = Mul(64, x, A, B, D): 4 + 2 + 5 + 11 = 22.
    Nodes: 64, −16, x, 1, −1, −4, −x, A, −4xA, B, −16xAB, D, l_3: 13.
    dl_3/dx = Mul(64, A, B, D) + Mul(−64, x, B, D) + Mul(64, x, A, C, D) + Mul(64, x, A, B, E)
    with E = D' = Mul(−16, A, B) + Mul(16, x, B) + Mul(−16, x, A, C):
    E: 2 + (2 + 2 + 5) + (2 + 5) + (3 + 2 + 2) = 25;
    tree: the sum 3; 64ABD: 3 + 2 + 5 + 11 = 21; −64xBD: 3 + 5 + 11 = 19;
    64xACD: 4 + 2 + 2 + 11 = 19; 64xABE: 4 + 2 + 5 + 25 = 36: 98.
    Nodes: leaves 64, −64, 16, −16, x, 1, −1, −4, 8 (9); −x, A, −4xA, B, 8x, C,
    −16xAB, D, −16AB, 16xB, −16xAC, E, the four products and the sum (17): 26.
"""

from __future__ import annotations

import pytest
import sympy as sp

from symbackprop.errors import NetworkSpecError
from symbackprop.measure.logistic import X, logistic_map, logistic_point, logistic_sweep

HAND = {  # n: (l_n tree, l_n nodes, dl_n/dx tree, dl_n/dx nodes), from the module docstring
    1: (4, 7, 2, 5),
    2: (10, 10, 25, 17),
    3: (22, 13, 98, 26),
}


@pytest.mark.parametrize("n", sorted(HAND))
def test_logistic_map_sizes_match_the_counts_by_hand(n):
    point = logistic_point(n)
    assert (point.map_size.tree_ops, point.map_size.graph_nodes,
            point.derivative_size.tree_ops, point.derivative_size.graph_nodes) == HAND[n]


def test_the_logistic_map_and_its_derivative_are_the_polynomials():
    x = X
    assert sp.expand(logistic_map(1) - 4 * x * (1 - x)) == 0
    assert logistic_point(1).derivative == 4 - 8 * x
    # l_2(x) = l_1(l_1(x)), and the chain rule: l_2' = l_1'(l_1) · l_1'
    l1 = 4 * x * (1 - x)
    assert sp.expand(logistic_map(2) - l1.subs(x, l1)) == 0
    assert sp.expand(logistic_point(2).derivative - (4 - 8 * l1) * (4 - 8 * x)) == 0


def test_the_tree_swells_while_the_graph_grows_slowly():
    points = logistic_sweep(list(range(1, 9))).points
    trees = [p.derivative_size.tree_ops for p in points]
    nodes = [p.derivative_size.graph_nodes for p in points]
    # The tree more than doubles with every step. The graph gains a number of
    # nodes linear in n (the Leibniz rule writes one new product per factor of
    # l_n's flattened product, and l_n has n + 2 factors): quadratic in all.
    assert all(b > 2 * a for a, b in zip(trees[1:], trees[2:]))
    assert all(b - a <= p.n + 10 for a, b, p in zip(nodes, nodes[1:], points[1:]))
    # l_n as a graph: 3 more nodes a step (4·l·(1 − l): a product, a negation, a sum)
    assert [p.map_size.graph_nodes for p in points] == [3 * n + 4 for n in range(1, 9)]


@pytest.mark.parametrize("points", [[0], [15], [], "1,2", [True], [1.5]])
def test_a_logistic_sweep_refuses_what_it_cannot_run(points):
    with pytest.raises(NetworkSpecError, match="logistic sweep"):
        logistic_sweep(points)
