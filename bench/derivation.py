"""Derivation benchmark: time and size of the direct route and the δ route.

Run: ``python bench/derivation.py``. Prints a Markdown table (the README's
figures come from it). Sizes are tree operations (the expression written
out, the honest measure of "derivative hell") and distinct subexpressions
(what SymPy stores).
"""

from __future__ import annotations

import time

from symbackprop import Network, delta_route, direct_route, verify
from symbackprop.engine.routes import DIRECT_ROUTE_LIMIT, estimate_direct_work

SHAPES = [[2, 2, 1], [12, 3, 2], [3, 3, 3, 2], [4, 4, 4, 4], [64, 32, 10], [64, 64, 64, 10]]


def best_of(n: int, fn):
    best, result = float("inf"), None
    for _ in range(n):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    print("| network | params | δ route: time | δ route: ops (distinct) | δ written out: ops "
          "| direct: time | direct: ops (distinct) | both routes + exact proof (generic a) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for sizes in SHAPES:
        net = Network(sizes)
        t_delta, route = best_of(3, lambda net=net: delta_route(net))
        size = route.size()
        small = estimate_direct_work(net) <= DIRECT_ROUTE_LIMIT
        if small:
            expanded = f"{route.expanded_size().tree_ops:,}"
            t_direct, direct = best_of(1, lambda net=net: direct_route(net))
            dsize = direct.size()
            direct_cells = f"{t_direct:.2f} s | {dsize.tree_ops:,} ({dsize.graph_nodes:,})"
            generic = Network(sizes, activation="generic")
            t_proof, report = best_of(1, lambda g=generic: verify(g, exact=True))
            proof = f"{t_proof:.2f} s ({'all agree' if report.ok else 'FAILED'})"
        else:
            expanded = "—"
            direct_cells = f"refused (est. {estimate_direct_work(net):.1e} ops) | —"
            proof = "—"
        print(
            f"| {net.describe()} | {net.parameter_count:,} | {t_delta * 1000:.0f} ms "
            f"| {size.tree_ops:,} ({size.graph_nodes:,}) | {expanded} | {direct_cells} | {proof} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
