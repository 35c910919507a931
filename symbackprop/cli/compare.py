"""``symbackprop compare``: derivative hell against the δ recurrence, measured."""

from __future__ import annotations

import argparse
from pathlib import Path

import sympy as sp
from rich.console import Console

from ..engine.model_file import model_from_document, read_model_document
from ..errors import NetworkSpecError
from ..files import check_output_path, write_atomically
from ..guards import SWEEP_LARGEST
from ..measure.compare import compare, compare_model
from ..measure.stages import ROUTES, ModelSpec
from ..measure.sweep import default_points, sweep, sweep_sizes
from .json_output import add_json_option, exact, print_json
from .options import (
    activation_from_args,
    add_model_option,
    add_network_options,
    check_model_alone,
    parse_layers,
    real_number,
    whole_number,
    whole_numbers,
)
from .options import console as make_console

#: The largest depth and width a sweep goes to unless --max says otherwise.
DEFAULT_MAX = {"depth": 6, "width": 16, "logistic": 10}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "compare",
        help="measure the direct route ('derivative hell') against the δ recurrence",
        description="Derive, size, compile and run the four routes to the gradient (direct "
        "differentiation; the δ recurrence; the δ recurrence written out; the array form) on one "
        "network, or, with --sweep, on networks of growing depth or width with fitted growth laws. "
        "Each route runs under a time cap; a route past the cap is reported, not waited for. "
        "Ctrl-C ends a sweep with the rows so far.",
    )
    add_network_options(p)
    add_model_option(p)
    p.add_argument("--batch", type=whole_number, default=64, help="examples in the batch each gradient is run on (default 64)")
    p.add_argument("--cap", type=real_number, help="seconds a route may take on one network before it is stopped "
                   "(default 60; 20 per network in a sweep)")
    p.add_argument("--sweep", choices=["depth", "width", "logistic"], help="grow the hidden layers of --layers: "
                   "their number (depth) or their width; or iterate the logistic map l_{n+1} = 4 l_n (1 - l_n) "
                   "n times and size its derivative (logistic: the network options do not apply)")
    p.add_argument("--max", type=whole_number, help="largest depth, width or n of a sweep "
                   "(default: depth 6, width 16, logistic 10)")
    p.add_argument("--points", help="the depths or widths of a sweep, comma-separated (instead of --max)")
    p.add_argument("--chart", help="write the sweep as an SVG chart (log scale) to this file")
    p.add_argument("--format", choices=["text", "markdown"], default="text",
                   help="text: rich tables (default); markdown: tables to paste into a document")
    p.add_argument("--no-proof", action="store_true",
                   help="skip the exact proof that the direct and δ gradients are equal")
    p.add_argument("--seed", type=whole_number, default=0, help="seed of the batch and the parameter values (default 0)")
    add_json_option(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.sweep == "logistic":
        if args.model is not None:
            raise NetworkSpecError("--sweep logistic differentiates the logistic map, not a network; leave out --model")
        return _logistic(args)
    if args.model is not None:
        check_model_alone(args, {"layers": args.default_layers, "activation": "sigmoid", "cost": "squared"})
        document, positions, where = read_model_document(args.model)
        model = model_from_document(document, where, positions)
        chain = dense_chain(model)
        if chain is None:
            if args.sweep is not None:
                raise NetworkSpecError(f"{where}: a sweep grows the hidden layers of a chain of dense layers; "
                                       f"compare the {model.describe()} network alone (leave out --sweep)")
            _check_no_sweep_flags(args)
            return _compare(args, lambda: compare_model(document, where, batch=args.batch, cap=_cap(args),
                                                        seed=args.seed, prove=not args.no_proof),
                            model.describe())
        sizes, activation, args.cost, args.weight_decay = chain
    else:
        sizes = parse_layers(args.layers)
        activation = activation_from_args(args)
    if args.sweep is None:
        _check_no_sweep_flags(args)
        return _compare(args, lambda: compare(sizes, activation, args.cost, batch=args.batch, cap=_cap(args),
                                              seed=args.seed, prove=not args.no_proof,
                                              weight_decay=args.weight_decay or 0),
                        "-".join(map(str, sizes)))
    return _sweep(args, sizes, activation)


def _check_no_sweep_flags(args: argparse.Namespace) -> None:
    for flag in ("max", "points", "chart"):
        if getattr(args, flag) is not None:
            raise NetworkSpecError(f"--{flag} belongs to a sweep; add --sweep depth or --sweep width")


def _cap(args: argparse.Namespace) -> float:
    return 60.0 if args.cap is None else args.cap


def dense_chain(model) -> tuple[list[int], str | list[str], str, object] | None:
    """The widths, activations, cost and weight decay of a model file's chain of
    dense layers (one activation for all its layers when they share it, so that
    a sweep can add layers): ``compare`` measures it as the fully connected
    network it is. None for a model with layers of other kinds.

    >>> from symbackprop.engine.model import Model
    >>> dense_chain(Model(2, [{"kind": "dense", "width": 2, "activation": "tanh"}, {"kind": "dense", "width": 1}]))
    ([2, 2, 1], ['tanh', 'sigmoid'], 'squared', 0)
    >>> dense_chain(Model(2, [{"kind": "residual", "skip": 1}])) is None
    True
    """
    specs = getattr(model, "specs", None)
    if specs is None or any(spec["kind"] != "dense" for spec in specs):
        return None
    activations = [layer.activation.name for layer in model.layers]
    shared = activations[0] if len(set(activations)) == 1 else activations
    return list(model.sizes), shared, model.cost.name, model.weight_decay


def _compare(args: argparse.Namespace, measure, name: str) -> int:
    console = make_console()
    with console.status(f"measuring {len(ROUTES)} routes on {name}…"):
        result = measure()
    if args.json:
        print_json({"command": "compare", "sweep": None, "comparisons": [comparison_json(result)]})
        return 0
    if args.format == "markdown":
        console.print(result.markdown(), markup=False, highlight=False)
    else:
        console.print(result.table())
        console.print(result.ratio_table())
        for line in result.verdicts():
            console.print(line, markup=False, highlight=False)
    return 0


def _logistic(args: argparse.Namespace) -> int:
    from ..measure.logistic import logistic_sweep

    console = make_console()
    points = _points(args)
    chart = _chart_path(args.chart) if args.chart is not None else None
    with console.status(f"differentiating the logistic map up to n = {max(points)}…"):
        result = logistic_sweep(points)
    if args.format == "markdown":
        console.print(result.markdown(), markup=False, highlight=False)
    else:
        console.print(result.table())
        console.print(result.laws_table())
    if chart is not None:
        svg = result.chart()
        write_atomically(chart, lambda stream: stream.write(svg.encode("utf-8")))
        console.print(f"chart written to {chart}", markup=False, highlight=False)
    return 0


def _points(args: argparse.Namespace) -> list[int]:
    if args.points is not None:
        if args.max is not None:
            raise NetworkSpecError("give --points or --max, not both")
        return whole_numbers(args.points, "--points must be comma-separated whole numbers such as 1,2,3")
    largest = DEFAULT_MAX[args.sweep] if args.max is None else args.max
    if not 1 <= largest <= SWEEP_LARGEST[args.sweep]:
        raise NetworkSpecError(
            f"--max must be from 1 to {SWEEP_LARGEST[args.sweep]} for a sweep over {args.sweep}; got {largest}"
        )
    return default_points(args.sweep, largest)


def _chart_path(text: str) -> Path:
    """Checked before the sweep, so that a long sweep is not lost to a typo."""
    return check_output_path(
        text, (".svg",), "the chart is written as SVG; give a file name ending in .svg", "sweep.svg",
        NetworkSpecError,
    )


def _sweep(args: argparse.Namespace, sizes: list[int], activation) -> int:
    from rich.progress import Progress

    console = make_console()
    points = _points(args)
    networks = sweep_sizes(args.sweep, sizes, points)
    chart = _chart_path(args.chart) if args.chart is not None else None
    cap = 20.0 if args.cap is None else args.cap
    # Without a terminal (a log, a pipe) there is no progress bar: one line per
    # network on standard error says how far a long sweep has come.
    log = None if console.is_terminal else Console(stderr=True, soft_wrap=True)
    started = []
    with Progress(console=console, transient=True, disable=log is not None) as progress:
        task = progress.add_task("sweep", total=len(networks) * len(ROUTES))

        def on_route(network: tuple[int, ...], route: str) -> None:
            name = "-".join(map(str, network))
            if route == ROUTES[0]:
                started.append(network)
                if log is not None:
                    log.print(f"measuring {name} ({len(started)} of {len(networks)})", markup=False, highlight=False)
            progress.update(task, description=f"{name}: {route}",
                            completed=(len(started) - 1) * len(ROUTES) + ROUTES.index(route))

        result = sweep(args.sweep, sizes, points, activation, args.cost, batch=args.batch, cap=cap,
                       seed=args.seed, on_route=on_route, weight_decay=args.weight_decay or 0)
    if args.json:
        print_json({
            "command": "compare",
            "sweep": {"over": result.over, "base": result.base, "interrupted": result.interrupted,
                      "laws": result.laws()},
            "comparisons": [comparison_json(point.comparison, point.x) for point in result.points],
        })
    elif args.format == "markdown":
        console.print(result.markdown(), markup=False, highlight=False)
    else:
        console.print(result.table())
        console.print(result.ratio_table())
        console.print(result.laws_table())
    if args.json:  # standard output holds the JSON document alone
        console = Console(stderr=True, soft_wrap=True)
    if chart is not None:
        svg = result.chart()
        if svg is None:
            console.print("no chart: nothing was measured", markup=False, highlight=False)
        else:
            write_atomically(chart, lambda stream: stream.write(svg.encode("utf-8")))
            console.print(f"chart written to {chart}", markup=False, highlight=False)
    if result.interrupted:
        console.print(f"interrupted: {len(result.points)} of {len(networks)} networks measured",
                      markup=False, highlight=False)
        return 130
    return 0


def comparison_json(comparison, x: int | None = None) -> dict:
    """One network's routes for ``compare --json`` (schema: ``schemas/compare.json``);
    ``x`` is its depth or width in a sweep."""
    spec = comparison.spec
    if isinstance(spec, ModelSpec):
        network = {"file": spec.where, "model": spec.network().describe(), "document": spec.document}
    else:
        network = {"sizes": spec.sizes, "activation": spec.activation, "cost": spec.cost,
                   "weight_decay": exact(sp.sympify(spec.weight_decay))}
    return {
        "x": x,
        "network": network,
        "parameters": comparison.parameters,
        "batch": comparison.batch,
        "cap": comparison.cap,
        "routes": comparison.rows,
        "agreement": comparison.agreement(),
        "verdicts": comparison.verdicts(),
    }
