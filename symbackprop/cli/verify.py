"""``symbackprop verify``: the δ route against the direct gradient, per parameter."""

from __future__ import annotations

import argparse

from ..errors import NetworkSpecError
from ..layers.pooling import POOLINGS
from ..proof.verify import verify, verify_claim
from .json_output import add_json_option, print_json
from .options import BOOK_LAYERS, add_network_options, add_output_option, network_from_args, whole_number
from .options import console as make_console


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "verify",
        help="check that backpropagation equals the symbolic gradient, parameter by parameter",
        description="Check, for every parameter, that the δ-recurrence gradient equals the direct "
        "derivative: numerically at 50 digits and against finite differences; --exact adds the "
        "symbolic proof. Exit 0 when everything agrees, 1 otherwise.",
    )
    add_network_options(p)
    add_output_option(p)
    # No default here, so that --layers next to --cnn can be refused; without
    # either, the book's network.
    p.set_defaults(layers=None)
    p.add_argument("--exact", action="store_true", help="also prove each identity symbolically")
    p.add_argument("--param", help="check only this parameter (e.g. w^2_11)")
    p.add_argument("--claim", help="a formula for --param's gradient to check, e.g. 'delta^2_1*x_1'")
    p.add_argument("--points", type=whole_number, default=2, help="random points for the numeric checks (default 2)")
    p.add_argument("--seed", type=whole_number, default=0, help="seed of the random points (default 0)")
    p.add_argument("--force", action="store_true", help="build the direct route even when it is huge")
    p.add_argument("--cnn", nargs="?", const="6x6,3,3x3,2x2,3", metavar="SHAPE",
                   help="verify the chapter-5 CNN instead of --layers: image,filters,filter,pool,outputs "
                   "(default 6x6,3,3x3,2x2,3, the book's); --activation and --cost apply")
    p.add_argument("--pooling", choices=list(POOLINGS),
                   help="with --cnn: max, the book's (default), or average pooling")
    add_json_option(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..errors import UnknownNameError

    if args.cnn is not None:
        from ..engine.cnn import cnn_from_spec

        if args.layers is not None:
            raise NetworkSpecError("--cnn and --layers describe two different networks; give one of them")
        if args.output is not None:
            raise NetworkSpecError("--output softmax is for --layers networks; the CNN's output layer has --activation")

        if args.weight_decay is not None:
            raise NetworkSpecError("--weight-decay applies to the fully connected networks of --layers, not to --cnn")
        net = cnn_from_spec(args.cnn, args.activation, args.cost, args.pooling or "max")
    else:
        if args.pooling is not None:
            raise NetworkSpecError("--pooling is an option of --cnn: a fully connected network has no pooling")
        if args.layers is None:
            args.layers = BOOK_LAYERS
        net = network_from_args(args)
    console = make_console()
    if args.claim is not None:
        if args.param is None:
            raise UnknownNameError("--claim needs --param: which parameter's gradient is claimed")
        report = verify_claim(net, args.param, args.claim, points=args.points, seed=args.seed, force=args.force)
    else:
        params = None if args.param is None else [args.param]
        report = verify(
            net, exact=args.exact, points=args.points, seed=args.seed, parameters=params, force=args.force
        )
    if args.json:
        print_json(json_document(net, report))
        return 0 if report.ok else 1
    console.print(report.table())
    for note in report.notes:
        console.print(f"[yellow]note:[/] {note}")
    console.print(("[green]" if report.ok else "[bold red]") + report.summary() + "[/]")
    return 0 if report.ok else 1


def json_document(net, report) -> dict:
    """``verify --json``: the verdict and every check (schema: ``schemas/verify.json``)."""
    return {
        "command": "verify",
        "network": net.describe(),
        "title": report.title,
        "ok": report.ok,
        "summary": report.summary(),
        "largest_difference": report.largest_difference(),
        "checks": report.checks,
        "failures": [f"{c.parameter} ({c.method})" for c in report.failures()],
        "notes": report.notes,
    }
