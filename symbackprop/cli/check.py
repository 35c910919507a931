"""``symbackprop check``: someone's backpropagation code against the derived gradient."""

from __future__ import annotations

import argparse

from ..errors import NetworkSpecError
from ..layers.pooling import POOLINGS
from ..proof.backprop_check import check_backprop
from .options import (
    BOOK_LAYERS,
    add_model_option,
    add_network_options,
    add_output_option,
    network_from_args,
    real_number,
    whole_number,
)
from .options import console as make_console


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "check",
        help="check a hand-written backpropagation function against the derived gradient",
        description="Call FUNCTION of MODULE.py as gradient(params, X, T) -> {'W2': …, 'b2': …, …} "
        "(W<l> of shape (n_l, n_{l-1}), b<l> of shape (n_l,), X examples × inputs, T examples × outputs; "
        "the gradients of C_T, the cost summed over the batch) in a separate Python process, at random "
        "and edge points, and compare each block with the derived gradient. A wrong block is diagnosed "
        "(transposed, wrong sign, 1/m, missing a'(z), layers shifted) or its wrong entries listed. "
        "Exit 0 when every block is right, 1 when one is wrong or the code fails, 2 on bad input.",
    )
    p.add_argument("function", metavar="MODULE.py:FUNCTION", help="the gradient function to check")
    add_network_options(p)
    add_output_option(p)
    add_model_option(p)
    # No default here, so that --layers next to --cnn can be refused; without either, the book's network.
    p.set_defaults(layers=None)
    p.add_argument("--cnn", nargs="?", const="6x6,3,3x3,2x2,3", metavar="SHAPE",
                   help="check a gradient of the chapter-5 CNN instead of --layers: image,filters,filter,pool,outputs "
                   "(default 6x6,3,3x3,2x2,3, the book's); blocks filters, filter_bias, out_W, out_b")
    p.add_argument("--pooling", choices=list(POOLINGS), help="with --cnn: max (default) or average pooling")
    p.add_argument("--seed", type=whole_number, default=0, help="seed of the random points (default 0)")
    p.add_argument("--timeout", type=real_number, default=60.0,
                   help="seconds the function may take for all points together (default 60)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    # A model object, not sizes: a model read from a file takes the same path.
    if args.cnn is not None:
        from ..engine.cnn import cnn_from_spec

        if args.layers is not None or args.output is not None or args.model is not None:
            raise NetworkSpecError("--layers, --output and --model describe another network than --cnn; "
                                   "give one of them")
        model = cnn_from_spec(args.cnn, args.activation, args.cost, args.pooling or "max",
                              weight_decay=0 if args.weight_decay is None else args.weight_decay)
    elif args.pooling is not None:
        raise NetworkSpecError("--pooling is an option of --cnn: a fully connected network has no pooling")
    else:
        if args.model is None:
            args.layers = BOOK_LAYERS if args.layers is None else args.layers
        model = network_from_args(args)
    console = make_console()
    report = check_backprop(model, args.function, seed=args.seed, timeout=args.timeout)
    if report.crash is not None:
        console.print(f"[bold red]{args.function} failed:[/]")
        # The checked code's own traceback, as it printed it: no markup.
        console.print(report.crash, markup=False, highlight=False)
    else:
        console.print(report.table())
    console.print(("[green]" if report.ok else "[bold red]") + report.summary() + "[/]")
    return 0 if report.ok else 1
