"""``symbackprop export``: the derived gradient written as a standalone Python module."""

from __future__ import annotations

import argparse

from ..errors import NetworkSpecError, OutputPathError
from ..files import check_output_path
from ..layers.pooling import POOLINGS
from ..numeric.arrays import ArrayModel
from ..numeric.catalogue import DATASETS, dataset_spec
from ..numeric.cnn_arrays import CNNArrays
from ..numeric.export import TARGETS, write_export
from .options import (
    BOOK_LAYERS,
    activation_from_args,
    add_convolution_options,
    add_model_option,
    add_network_options,
    add_output_option,
    network_from_args,
    parse_layers,
)
from .options import console as make_console


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        help="write the derived gradient as a Python module (NumPy, or a PyTorch autograd function)",
        description="Write a module that computes C_T and every ∂C_T/∂p with the derived formulas of the "
        "array path, each line commented with the formula it implements in the book's notation. "
        "--target numpy imports only NumPy and has cost_and_gradient(params, X, T) and forward(params, X); "
        "--target torch defines DerivedCost, a torch.autograd.Function whose backward is the derived δ "
        "recurrence, and cost(params, X, T). A convolutional network (--dataset cnn123, or a model file of "
        "convolution, pooling and dense layers) exports to both targets.",
    )
    add_network_options(p)
    add_output_option(p)
    add_model_option(p)
    p.set_defaults(layers=None)
    p.add_argument("--dataset", help=f"the network of a data set instead of --layers: {', '.join(DATASETS)}")
    p.add_argument("--pooling", choices=list(POOLINGS),
                   help="the CNN's pooling (cnn123): max, the book's (default), or average")
    add_convolution_options(p, "the CNN's convolution (cnn123)")
    p.add_argument("--target", choices=TARGETS, default="numpy", help="numpy (default) or torch")
    p.add_argument("--out", required=True, help="the .py file to write, e.g. grad.py")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    out = check_output_path(args.out, (".py",), "the exported module is a Python file ending in .py",
                            "grad.py", OutputPathError)
    given = [flag for flag in ("layers", "model", "dataset") if getattr(args, flag) is not None]
    if len(given) > 1:
        raise NetworkSpecError(f"--{given[0]} and --{given[1]} describe two different networks; give one of them")
    cnn_options = {"pooling": args.pooling, "stride": args.stride, "padding": args.padding}
    if args.dataset is not None:
        # The data set's network has its own activation and cost; these would be dropped without a word.
        for name, default in (("activation", "sigmoid"), ("cost", "squared")):
            if getattr(args, name) != default:
                raise NetworkSpecError(f"--{name} is for --layers; the {args.dataset} network has its own")
        model = dataset_spec(args.dataset).model("array", weight_decay=args.weight_decay, output=args.output,
                                                 **cnn_options)
        if not isinstance(model, (ArrayModel, CNNArrays)):
            raise NetworkSpecError(f"the {args.dataset} model has no export yet; give --layers or --model instead")
        path = write_export(out, model, target=args.target)
    elif stray := [name for name, value in cnn_options.items() if value is not None]:
        raise NetworkSpecError(f"--{stray[0]} is an option of --dataset cnn123 (a model file's convolution and "
                               "pooling layers give their own)")
    elif args.model is not None:
        path = write_export(out, network_from_args(args), target=args.target)
    else:
        # Only the widths: the network itself is never built, so 784,100,10 exports in moments.
        decay = 0 if args.weight_decay is None else args.weight_decay
        path = write_export(out, parse_layers(BOOK_LAYERS if args.layers is None else args.layers), activation_from_args(args), args.cost,
                            decay, target=args.target, output=args.output)
    make_console().print(f"wrote {path} ({args.target}): cost and gradients by the derived formulas")
    return 0
