"""The book tour: what ``symbackprop`` with no arguments shows."""

from __future__ import annotations

import time

from rich.console import Console
from rich.panel import Panel

from ..engine.network import Network
from ..engine.routes import chain_rule_expansion, delta_route, direct_route
from ..notation.text import book_text
from ..proof.verify import verify
from .options import console as make_console


def run() -> int:
    console = make_console()
    net = Network([12, 3, 2])
    show_banner(console, net)
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
    console.print(f"  derived recurrence: {book_text(d)} = {book_text(route.deltas[d])}")
    report = verify(net, exact=True)
    console.print(report.table(grouped=True))
    console.print(("[green]" if report.ok else "[bold red]") + report.summary() + "[/]")
    trained = _compile_and_train(console)
    return 0 if report.ok and trained else 1


def show_banner(console: Console, net: Network) -> None:
    """The tour's title panel. A panel lays out its own lines, so it wraps even
    where the console does not (piped output is printed with soft wrap, which
    would cut the panel's text at its right edge)."""
    console.print(Panel.fit(
        "The book's network: 4×3-pixel images of 0 and 1, 12 inputs, 3 hidden and 2 output "
        f"sigmoid units, squared-error cost. {net.parameter_count} parameters.",
        title="symbackprop · the book tour",
    ), soft_wrap=False)


def _compile_and_train(console: Console) -> bool:
    """The array form, both compiled paths, and the book's training run."""
    from ..numeric.arrays import ArrayModel, verify_arrays
    from ..numeric.datasets import data_path, load_digits01
    from ..numeric.params import load_params
    from ..numeric.scalar import ScalarModel
    from ..numeric.train import accuracy, train
    from .train import report

    array = ArrayModel([12, 3, 2])
    console.print("[bold]Array form[/] (the same δ route in index form, widths symbolic):")
    for layer in reversed(array.derivation.layers):
        console.print(f"  {array.derivation.delta_text(layer.index)}")
    console.print("  " + "; ".join(array.derivation.gradient_text(n) for n in ("W2", "b2")))
    proof = verify_arrays([12, 3, 2], activation="generic", batch=2)
    console.print(
        f"  equals the scalar δ route entry by entry at 12-3-2 with 2 examples: "
        f"{sum(proof.checks.values())}/{len(proof.checks)} identities proved for every activation a"
    )
    scalar = ScalarModel([12, 3, 2])
    data = load_digits01()
    params = load_params(data_path("book_nn_4_4_init.json"), array)
    c_scalar, g_scalar = scalar.cost_and_gradient(params, data.X, data.T)
    c_array, g_array = array.cost_and_gradient(params, data.X, data.T)
    gap = max([abs(c_scalar - c_array)] + [float(abs(g_scalar[k] - g_array[k]).max()) for k in g_array])
    console.print(
        f"[bold]Compiled to NumPy[/]: scalar path ({len(scalar.network.parameters)} expressions) in "
        f"{scalar.compile_seconds:.2f} s, array path (matrix products) in {array.compile_seconds:.2f} s; "
        f"at the book's initial weights both give C_T = {c_array:.10g}, gradients within {gap:.1e}"
    )
    result = train(array, data.X, data.T, params, eta=0.2, epochs=50)
    h = result.history
    curve = " → ".join(f"{h[e]:.4g} ({e})" for e in (0, 1, 2, 5, 10, 20, 50))
    console.print(
        f"[bold]Training[/] from the book's initial weights, η = 0.2, full batch, 50 iterations "
        f"in {result.seconds * 1000:.0f} ms:\n  C_T (after iteration): {curve}"
    )
    report(console, array, result.params, data, result)
    return accuracy(array, result.params, data.X, data.labels) == 1.0
