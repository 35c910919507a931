"""``symbackprop derive``: a network's backpropagation, derived step by step."""

from __future__ import annotations

import argparse
import sys

from rich.console import Console
from rich.text import Text

from ..documents.backprop import network_derivation
from ..documents.derivation import Derivation, text_prose
from ..documents.graph import model_derivation
from ..documents.large import direct_work, large_network_derivation
from ..engine.model import Model
from ..engine.network import Network
from ..errors import OutputPathError, SizeLimitError
from ..files import check_output_path, write_text
from ..guards import DIRECT_ROUTE_LIMIT
from .options import (
    add_model_option,
    add_network_options,
    add_output_option,
    dense_network,
    network_from_args,
    parse_layers,
)
from .sequence_options import add_sequence_options, sequence_model_from_args

FORMATS = ("text", "latex", "markdown")
#: A file name for each format, for messages about --out.
EXAMPLES = {"text": "derivation.txt", "latex": "derivation.tex", "markdown": "derivation.md"}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "derive",
        help="derive backpropagation step by step (LaTeX, Markdown or text)",
        description="Derive ∂C/∂p for one parameter two ways — by the chain rule path by path, and by "
        "the unit errors δ and their recurrence — and show that they agree, step by step in the book's "
        "notation. LaTeX output is a standalone document for pdflatex.",
    )
    add_network_options(p, default_layers="2,2,1")
    add_output_option(p)
    add_model_option(p)
    p.add_argument("--param", help="the parameter to derive, e.g. w^2_11 (default: the first weight, w^2_11)")
    p.add_argument("--format", choices=FORMATS, default="text", help="output format (default text)")
    p.add_argument("--expand", action="store_true",
                   help="also write z, a and δ out in the inputs and parameters")
    p.add_argument("--force", action="store_true", help="build and print even when it is huge (a network too "
                   "large for the direct route otherwise gets the δ-route document alone, checked at random points)")
    p.add_argument("--out", help="write to this file instead of standard output")
    p.add_argument("--fragment", action="store_true",
                   help="with --format latex: only the body, to \\input into your own document (needs amsmath)")
    add_sequence_options(p)
    p.set_defaults(run=run, parser=p)


def run(args: argparse.Namespace) -> int:
    if args.fragment and args.format != "latex":
        args.parser.error(f"--fragment is for --format latex only, not {args.format}")
    # Checked before the derivation, which can take a while.
    out = None if args.out is None else check_output_path(args.out, None, "", EXAMPLES[args.format], OutputPathError)
    doc = sequence_derivation(args) or _large_derivation(args)
    if doc is None:
        network = network_from_args(args)
        if isinstance(network, (Model, Network)):
            derivation = model_derivation if isinstance(network, Model) else network_derivation
            doc = derivation(network, args.param, expand=args.expand, force=args.force)
        else:
            doc = structured_derivation(network, args)
    if args.out is None and args.format == "text" and sys.stdout.isatty():
        console = Console()
        console.rule(Text(text_prose(doc.title)))
        for panel in doc.panels():
            console.print(panel)
        return 0
    latex = doc.latex if args.fragment else doc.latex_document
    text = {"text": doc.text, "latex": latex, "markdown": doc.markdown}[args.format]()
    if out is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    else:
        write_text(out, text)
    return 0


def structured_derivation(network, args: argparse.Namespace):
    """The document of a convolutional, recurrent or batch-normalised network read from ``--model``."""
    from ..documents.batchnorm import batch_norm_derivation
    from ..documents.cnn import cnn_derivation, strided_derivation
    from ..documents.recurrent import recurrent_derivation
    from ..engine.cnn import ConvolutionalNetwork
    from ..engine.recurrent import RecurrentNetwork
    from ..errors import NetworkSpecError

    if args.param is not None or args.expand:
        raise NetworkSpecError(f"--param and --expand are for networks of dense, softmax, residual and equations "
                               f"layers; the {network.describe()} network derives every unit error and gradient")
    if isinstance(network, ConvolutionalNetwork):
        if (network.channels, network.stride, network.padding) == (1, (1, 1), (0, 0)):
            return cnn_derivation(network)
        # Channels, stride or padding: the document that also derives δ of the input, from a layer of input units.
        return strided_derivation(ConvolutionalNetwork(
            network.image_shape, network.filters, network.filter_size, network.pool, network.outputs,
            network.activation, network.cost, network.pooling.kind, channels=network.channels,
            stride=network.stride, padding=network.padding, input_errors=True,
        ))
    return recurrent_derivation(network) if isinstance(network, RecurrentNetwork) else batch_norm_derivation(network)


def sequence_derivation(args: argparse.Namespace):
    """The document of ``--recurrent T`` or ``--batch-norm m``, or None for a plain network."""
    from ..documents.batchnorm import batch_norm_derivation
    from ..documents.recurrent import recurrent_derivation
    from ..engine.recurrent import RecurrentNetwork
    from ..errors import NetworkSpecError

    model = sequence_model_from_args(args, "2,2,1")
    if model is None:
        return None
    if args.param is not None or args.expand:
        raise NetworkSpecError("--param and --expand are for plain networks; --recurrent and --batch-norm derive "
                               "every unit error and gradient of the model")
    return recurrent_derivation(model) if isinstance(model, RecurrentNetwork) else batch_norm_derivation(model)


def _large_derivation(args: argparse.Namespace) -> Derivation | None:
    """The δ-route document alone, for a network whose direct route is past
    :data:`DIRECT_ROUTE_LIMIT` (None for any other network, or with --force).
    The size is counted from the widths, so the network is never built."""
    if args.force or args.output is not None or args.model is not None:
        return None
    sizes = parse_layers(args.layers)
    small = dense_network(args, [1] * len(sizes))
    if min(sizes) < 1 or direct_work(sizes, small) <= DIRECT_ROUTE_LIMIT:
        return None
    for flag in ("param", "expand"):
        if getattr(args, flag):
            raise SizeLimitError(
                f"the {'-'.join(map(str, sizes))} network is too large for the direct route, so derive writes the "
                f"δ-route document alone, for every parameter; leave out --{flag} (or give --force to build "
                "both routes anyway)"
            )
    layers = [layer.activation for layer in small.layers]
    return large_network_derivation(sizes, layers, small.cost, small.weight_decay)
