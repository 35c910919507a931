"""The book tour: what ``symbackprop`` with no arguments shows."""

from __future__ import annotations

import time

from rich.console import Console
from rich.panel import Panel

from ..derive import chain_rule_expansion, delta_route, direct_route
from ..network import Network
from ..verify import verify


def run() -> int:
    console = Console()
    net = Network([12, 3, 2])
    console.print(Panel.fit(
        "The book's network: 4×3-pixel images of 0 and 1, 12 inputs, 3 hidden and 2 output "
        f"sigmoid units, squared-error cost. {net.parameter_count} parameters.",
        title="symbackprop · the book tour",
    ))
    start = time.perf_counter()
    direct = direct_route(net)
    size = direct.size()
    console.print(
        f"[bold]Direct route[/] (\"derivative hell\"): C written out and differentiated by each of "
        f"{net.parameter_count} parameters in {time.perf_counter() - start:.2f} s; "
        f"{size.tree_ops:,} operations written out ({size.graph_nodes:,} distinct subexpressions)."
    )
    expansion = chain_rule_expansion(net, "w^2_11")
    console.print(
        f"  chain rule for ∂C/∂w^2_11: {expansion.term_count} paths, e.g. "
        + " · ".join(str(f) for f in expansion.paths[0])
    )
    route = delta_route(net)
    dsize = route.size()
    console.print(
        f"[bold]δ route[/] (backpropagation): {len(route.deltas)} unit errors and "
        f"{len(route.gradients)} gradients in {route.seconds:.3f} s; {dsize.tree_ops:,} operations."
    )
    d = net.symbol("delta^2_1")
    console.print(f"  derived recurrence: {d} = {route.deltas[d]}")
    report = verify(net, exact=True)
    console.print(report.table())
    console.print(("[green]" if report.ok else "[bold red]") + report.summary() + "[/]")
    return 0 if report.ok else 1
