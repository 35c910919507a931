"""``symbackprop evaluate``: ``C_T`` and accuracy of given parameters, no training."""

from __future__ import annotations

import argparse

from ..numeric.catalogue import dataset_spec
from ..numeric.train import accuracy, total_cost
from ..numeric.trainable import describe
from . import data_files
from .json_output import print_json, quiet_console
from .options import console as make_console
from .options import whole_number
from .train import add_dataset_argument, model_from_args, params_from, report


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate",
        help="print C_T (full precision) and accuracy of given parameters on a data set or data file",
        description="Evaluate parameters without training: the total cost C_T = Σ_k C_k on the training "
        "set, written to full precision so it can be compared with a spreadsheet, and the accuracy. "
        "On a data file: on all its examples, and with --test-fraction and --seed on the same held-out "
        "examples as train; the classes' order and standardisation saved with the parameters are applied.",
    )
    add_dataset_argument(p)
    p.add_argument("--params", required=True,
                   help="'book' (the book's initial values, as 'train --init book'), a .npz/.json file "
                   "saved by 'train --save', or JSON in the book's layout (hidden_W, hidden_b, output_W, output_b)")
    p.add_argument("--seed", type=whole_number, default=0,
                   help="data files: the seed of the held-out split, as given to train (default 0)")
    p.add_argument("--json", action="store_true", help="print one JSON document instead of text (see the README)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    console = quiet_console() if args.json else make_console()
    if data_files.is_data_file(args.dataset):
        return data_files.evaluate_file(args, console)
    data_files.refuse_file_options(args)
    spec = dataset_spec(args.dataset)
    model = model_from_args(spec, args)
    params = params_from(args.params, spec, model, "--params")  # before the data: a wrong file fails fast
    data = spec.load()
    report(console, model, params, data)
    if args.json:
        held_out = data.test_X is not None
        print_json({
            "command": "evaluate",
            "data": spec.name,
            "network": describe(model),
            "examples": len(data.X),
            "held_out_examples": len(data.test_X) if held_out else 0,
            "classes": [str(c) for c in data.classes],
            "cost": total_cost(model, params, data.X, data.T),
            "accuracy": accuracy(model, params, data.X, data.labels),
            "held_out_accuracy": accuracy(model, params, data.test_X, data.test_labels) if held_out else None,
            "held_out_cost": None,
        })
    return 0
