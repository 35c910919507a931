"""``symbackprop verify``: the δ route against the direct gradient, per parameter."""

from __future__ import annotations

import argparse

from ..errors import NetworkSpecError
from ..layers.pooling import POOLINGS
from ..proof.verify import verify, verify_claim
from .json_output import add_json_option, print_json
from .options import (
    BOOK_LAYERS,
    add_convolution_options,
    add_model_option,
    add_network_options,
    add_output_option,
    network_from_args,
    whole_number,
)
from .options import console as make_console
from .progress import stage_progress
from .sequence_options import add_sequence_options, sequence_model_from_args


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
    add_model_option(p)
    # No default here, so that --layers next to --cnn can be refused; without
    # either, the book's network.
    p.set_defaults(layers=None)
    p.add_argument("--exact", action="store_true", help="also prove each identity symbolically")
    p.add_argument("--param", help="check only this parameter (e.g. w^2_11)")
    p.add_argument("--claim", help="a formula for --param's gradient to check, e.g. 'delta^2_1*x_1'")
    p.add_argument("--claims", metavar="FILE",
                   help="a sheet of claims, one ∂C/∂p = formula per line (plain or LaTeX-ish): each is "
                   "checked and a wrong one diagnosed; exit 0 all right, 1 any wrong")
    p.add_argument("--full-point", action="store_true",
                   help="with --claims: list every value of the point where a wrong claim differs")
    p.add_argument("--points", type=whole_number, default=2, help="random points for the numeric checks (default 2)")
    p.add_argument("--seed", type=whole_number, default=0, help="seed of the random points (default 0)")
    p.add_argument("--force", action="store_true", help="build the direct route even when it is huge")
    p.add_argument("--cnn", nargs="?", const="6x6,3,3x3,2x2,3", metavar="SHAPE",
                   help="verify the chapter-5 CNN instead of --layers: image,filters,filter,pool,outputs "
                   "(default 6x6,3,3x3,2x2,3, the book's); --activation and --cost apply")
    p.add_argument("--pooling", choices=list(POOLINGS),
                   help="with --cnn: max, the book's (default), or average pooling")
    add_convolution_options(p, "with --cnn", channels=True)
    add_sequence_options(p)
    add_json_option(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..errors import UnknownNameError

    sequence = sequence_model_from_args(args, "1,2,1" if args.recurrent is not None else "2,2,1")
    cnn_options = [o for o in ("cnn", "pooling", "channels", "stride", "padding") if getattr(args, o) is not None]
    if sequence is not None and cnn_options:
        raise NetworkSpecError(
            f"--{cnn_options[0]} is for a convolutional network, a third kind of model; give --cnn, --recurrent "
            "or --batch-norm"
        )
    if sequence is not None:
        net = sequence
    elif args.cnn is not None:
        from ..engine.cnn import cnn_from_spec

        if args.layers is not None or args.model is not None:
            raise NetworkSpecError(
                f"--cnn and {'--layers' if args.model is None else '--model'} describe two different networks; give one of them"
            )
        if args.output is not None:
            raise NetworkSpecError("--output softmax is for --layers networks; the CNN's output layer has --activation")
        moves = {k: v for k, v in (("channels", args.channels), ("stride", args.stride), ("padding", args.padding),
                                   ("weight_decay", args.weight_decay)) if v is not None}
        net = cnn_from_spec(args.cnn, args.activation, args.cost, args.pooling or "max", **moves)
    else:
        for option in ("pooling", "channels", "stride", "padding"):
            if getattr(args, option) is not None:
                raise NetworkSpecError(
                    f"--{option} is an option of --cnn: a fully connected network has no convolution or pooling"
                )
        if args.layers is None:
            args.layers = BOOK_LAYERS
        net = network_from_args(args)
    console = make_console()
    if args.claims is not None:
        if args.json:
            raise NetworkSpecError("--json prints verify's own checks; --claims prints its sheet of claims as a table")
        return _claims(args, net, console)
    if args.claim is not None:
        if args.param is None:
            raise UnknownNameError("--claim needs --param: which parameter's gradient is claimed")
        report = verify_claim(net, args.param, args.claim, points=args.points, seed=args.seed, force=args.force)
    else:
        params = None if args.param is None else [args.param]
        with stage_progress() as progress:
            report = verify(
                net, exact=args.exact, points=args.points, seed=args.seed, parameters=params, force=args.force,
                progress=progress,
            )
    if args.json:
        print_json(json_document(net, report))
        return 0 if report.ok else 1
    console.print(report.table())
    if args.claim is not None and not report.ok:
        from ..proof.diagnose import diagnose

        console.print(diagnose(net, args.param, args.claim, seed=args.seed, force=args.force).text(),
                      markup=False, highlight=False)
    for note in report.notes:
        console.print(f"[yellow]note:[/] {note}")
    console.print(("[green]" if report.ok else "[bold red]") + report.summary() + "[/]")
    return 0 if report.ok else 1


def _claims(args: argparse.Namespace, net, console) -> int:
    from ..errors import DataError
    from ..files import read_text
    from ..proof.claims import check_claims

    if args.claim is not None or args.param is not None:
        raise NetworkSpecError("--claims reads every claim from its file; leave out --claim and --param")
    sheet = check_claims(net, read_text(args.claims, "claims file", DataError), seed=args.seed, force=args.force)
    console.print(sheet.table())
    for row in sheet.rows:
        if row.diagnosis.point is not None:
            d = row.diagnosis
            console.print(f"line {row.line}: at {d.point_text(full=args.full_point)}: claim {d.claimed_value:.12g}, gradient {d.true_value:.12g}",
                          markup=False, highlight=False)
    console.print(("[green]" if sheet.ok else "[bold red]") + sheet.summary() + "[/]")
    return 0 if sheet.ok else 1


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
