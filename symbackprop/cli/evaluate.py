"""``symbackprop evaluate``: ``C_T`` and accuracy of given parameters, no training."""

from __future__ import annotations

import argparse

from ..numeric.catalogue import dataset_spec
from .options import console as make_console
from .train import add_dataset_argument, model_from_args, params_from, report


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate",
        help="print C_T (full precision) and accuracy of given parameters on a data set",
        description="Evaluate parameters without training: the total cost C_T = Σ_k C_k on the training "
        "set, written to full precision so it can be compared with a spreadsheet, and the accuracy.",
    )
    add_dataset_argument(p)
    p.add_argument("--params", required=True,
                   help="'book' (the book's initial values, as 'train --init book'), a .npz/.json file "
                   "saved by 'train --save', or JSON in the book's layout (hidden_W, hidden_b, output_W, output_b)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    spec = dataset_spec(args.dataset)
    model = model_from_args(spec, args)
    params = params_from(args.params, spec, model, "--params")  # before the data: a wrong file fails fast
    data = spec.load()
    report(make_console(), model, params, data)
    return 0
