"""Options shared by the commands that build a fully connected network."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import sympy as sp
from rich.console import Console

from ..engine.model import Model
from ..engine.model_file import read_model
from ..engine.network import Network
from ..errors import ExpressionError, NetworkSpecError, echo
from ..functions.costs import weight_decay_rate
from ..functions.parsing import parse_number

#: The book's network, 12-3-2: what most commands build when no --layers is given.
BOOK_LAYERS = "12,3,2"


def add_network_options(parser: argparse.ArgumentParser, default_layers: str = BOOK_LAYERS) -> None:
    """``--layers``, ``--activation``, ``--cost`` and ``--weight-decay``: the network of
    :func:`network_from_args`, by default the book's.

    >>> p = argparse.ArgumentParser()
    >>> add_network_options(p)
    >>> args = p.parse_args(["--activation", "tanh"])
    >>> args.layers, args.activation, args.cost
    ('12,3,2', 'tanh', 'squared')
    """
    parser.add_argument(
        "--layers",
        default=default_layers,
        help=f"widths of layers 1..L, input first (default {default_layers}"
        + (", the book's network)" if default_layers == BOOK_LAYERS else ")"),
    )
    parser.add_argument(
        "--activation",
        default="sigmoid",
        help="sigmoid, tanh, softsign, relu, identity, step, generic, or an expression in z "
        "(default sigmoid); several comma-free names separated by ';' give one per layer",
    )
    parser.add_argument(
        "--cost",
        default="squared",
        help="squared, cross-entropy, categorical-cross-entropy (with --output softmax), or an expression "
        "in a and t (default squared)",
    )
    add_weight_decay_option(parser)
    parser.set_defaults(default_layers=default_layers)


def add_model_option(parser: argparse.ArgumentParser) -> None:
    """``--model FILE``: the network a JSON or TOML model file describes,
    instead of ``--layers`` (see :mod:`symbackprop.engine.model_file`).

    >>> p = argparse.ArgumentParser()
    >>> add_model_option(p)
    >>> p.parse_args(["--model", "net.toml"]).model
    'net.toml'
    """
    parser.add_argument(
        "--model", metavar="FILE",
        help="a .json or .toml model file describing the network layer by layer (dense, softmax, residual, "
        "equations; or convolution, pooling, dense; recurrent, dense; batch-norm …, dense); it gives the layers, activations and cost, so --layers, --activation, --cost, --output "
        "and --weight-decay stay unset",
    )


#: The options a model file replaces, with their defaults (argparse's, or None).
_MODEL_FILE_GIVES = (
    "layers", "activation", "cost", "output", "weight_decay", "batch_norm", "pooling", "channels", "stride", "padding",
)


def check_model_alone(args: argparse.Namespace, defaults: dict[str, object]) -> None:
    """Refuse ``--model`` beside an option the model file gives.

    >>> check_model_alone(argparse.Namespace(model="m.json", layers="3,2", cost="squared"), {"layers": "2,2,1"})
    Traceback (most recent call last):
    ...
    symbackprop.errors.NetworkSpecError: --model describes the whole network; leave out --layers (the model file gives it)
    """
    for name in _MODEL_FILE_GIVES:
        # False: a flag (--batch-norm) left out
        if getattr(args, name, None) not in (None, False, defaults.get(name)):
            raise NetworkSpecError(
                f"--model describes the whole network; leave out --{name.replace('_', '-')} (the model file gives it)"
            )


def add_output_option(parser: argparse.ArgumentParser) -> None:
    """``--output softmax``, for the commands that build the network with
    :func:`network_from_args`.

    >>> p = argparse.ArgumentParser()
    >>> add_output_option(p)
    >>> p.parse_args(["--output", "softmax"]).output
    'softmax'
    """
    parser.add_argument(
        "--output",
        choices=["softmax"],
        help="softmax: layer L is a softmax over its weighted inputs, and --activation names "
        "the hidden layers' (default: layer L has the activation too)",
    )


def add_weight_decay_option(parser: argparse.ArgumentParser) -> None:
    """``--weight-decay λ``, read exactly (:func:`weight_decay`); absent, no decay.

    >>> p = argparse.ArgumentParser()
    >>> add_weight_decay_option(p)
    >>> p.parse_args(["--weight-decay", "0.01"]).weight_decay, p.parse_args([]).weight_decay
    (1/100, None)
    """
    parser.add_argument(
        "--weight-decay", type=weight_decay, metavar="λ",
        help="L2 weight decay: the cost gains (λ/2) Σ w² over the weights, not the biases (default 0)",
    )


def weight_decay(text: str) -> sp.Expr:
    """``--weight-decay λ``: a number 0 or more, read exactly.

    >>> weight_decay("0.001")
    1/1000
    >>> weight_decay("-1")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: the weight decay λ must be 0 or more; got -1
    """
    try:
        return weight_decay_rate(text)
    except NetworkSpecError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def parse_layers(text: str) -> list[int]:
    """``"12,3,2"`` → ``[12, 3, 2]``, with a clear error for anything else.

    Whether each is a possible width is the network's check.

    >>> parse_layers("12, 3, 2"), parse_layers("-1,2")
    ([12, 3, 2], [-1, 2])
    >>> parse_layers("12,x,2")
    Traceback (most recent call last):
    ...
    symbackprop.errors.NetworkSpecError: --layers must be comma-separated positive integers such as 12,3,2; 'x' is not a number
    >>> parse_layers(" ")
    Traceback (most recent call last):
    ...
    symbackprop.errors.NetworkSpecError: --layers is empty; give the widths of layers 1..L, input first, such as 12,3,2
    """
    if not text.strip():
        raise NetworkSpecError("--layers is empty; give the widths of layers 1..L, input first, such as 12,3,2")
    return whole_numbers(text, "--layers must be comma-separated positive integers such as 12,3,2")


def whole_numbers(text: str, rule: str) -> list[int]:
    """Comma-separated integers, each read as every typed number is
    (:func:`~symbackprop.parsing.parse_number`); ``rule`` says what is expected.

    >>> whole_numbers("1, 2,3", "--points must be whole numbers")
    [1, 2, 3]
    >>> whole_numbers("1,2.5", "--points must be whole numbers")
    Traceback (most recent call last):
    ...
    symbackprop.errors.NetworkSpecError: --points must be whole numbers; '2.5' is not an integer
    """
    numbers = []
    for part in text.split(","):
        try:
            number = parse_number(part)
        except ExpressionError as exc:
            raise NetworkSpecError(f"{rule}; {exc}") from None
        if not number.is_integer:
            raise NetworkSpecError(f"{rule}; {echo(part.strip())} is not an integer")
        numbers.append(int(number))
    return numbers


def whole_number(text: str) -> int:
    """An integer option such as ``--epochs 50``, read as every typed number is.

    >>> whole_number("1e3")
    1000
    >>> whole_number("٣")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: '٣' is not a number: write its digits as ASCII 0-9
    """
    number = _number(text)
    if not number.is_integer:
        raise argparse.ArgumentTypeError(f"{echo(text)} is not a whole number")
    return int(number)


def real_number(text: str) -> float:
    """A real option such as ``--eta 0.2``, read as every typed number is, as a float.

    >>> real_number("2.5e-1")
    0.25
    >>> real_number("３")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: '３' is not a number: write its digits as ASCII 0-9
    """
    return float(_number(text))


def _number(text: str) -> sp.Rational:
    # argparse shows an ArgumentTypeError's message; for a ValueError only 'invalid value'.
    try:
        return parse_number(text)
    except ExpressionError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def activation_from_args(args: argparse.Namespace) -> str | list[str]:
    """``--activation``: one name or expression, or one per layer separated by ';';
    sigmoid where the command leaves it out (a data file's options have no default).

    >>> activation_from_args(argparse.Namespace(activation="tanh; sigmoid"))
    ['tanh', 'sigmoid']
    >>> activation_from_args(argparse.Namespace(activation=None))
    'sigmoid'
    """
    text = "sigmoid" if args.activation is None else args.activation
    activations = [a.strip() for a in text.split(";")]
    return activations[0] if len(activations) == 1 else activations


def dense_network(args: argparse.Namespace, sizes: Sequence[int], cost: str | None = None) -> Network:
    """The fully connected network of ``sizes`` with ``--activation``, ``--output``,
    ``--weight-decay`` and ``cost`` (by default ``--cost``).

    >>> args = argparse.Namespace(activation="tanh", cost="squared", output=None, weight_decay=None)
    >>> dense_network(args, [2, 3, 1]).describe()
    '2-3-1'
    """
    return Network(
        sizes, activation=activation_from_args(args), cost=args.cost if cost is None else cost,
        weight_decay=0 if args.weight_decay is None else args.weight_decay, output=args.output,
    )


def network_from_args(args: argparse.Namespace) -> Network | Model:
    """The network of ``--model FILE``, or of ``--layers`` and its options."""
    if getattr(args, "model", None) is not None:
        check_model_alone(args, {"layers": getattr(args, "default_layers", None), "activation": "sigmoid",
                                 "cost": "squared"})
        return read_model(args.model)
    return dense_network(args, parse_layers(args.layers))


def console() -> Console:
    """The terminal output of every command. Piped into a file or another
    program, lines are not wrapped at 80 columns (tables still fit 80).

    >>> console().file is sys.stdout
    True
    """
    return Console(soft_wrap=not sys.stdout.isatty())


def add_convolution_options(parser: argparse.ArgumentParser, which: str, channels: bool = False) -> None:
    """``--stride`` and ``--padding`` of a CNN's convolution (and ``--channels``), for ``which`` CNN.

    >>> parser = argparse.ArgumentParser()
    >>> add_convolution_options(parser, "with --cnn", channels=True)
    >>> vars(parser.parse_args(["--stride", "2x1", "--padding", "1"]))
    {'channels': None, 'stride': (2, 1), 'padding': 1}
    """
    if channels:
        parser.add_argument("--channels", type=whole_number,
                            help=f"{which}: input channels, each filter has one f×f slice per channel (default 1)")
    parser.add_argument("--stride", type=size_pair, metavar="S",
                        help=f"{which}: the filters' step, as 2 or 2x1 (rows x columns; default 1)")
    parser.add_argument("--padding", type=size_pair, metavar="P",
                        help=f"{which}: rings of zeros around the image, as 1 or 1x0 (default 0); "
                        "(n + 2p − f) must be a multiple of the stride")


def size_pair(text: str) -> int | tuple[int, int]:
    """A size such as ``2`` or ``2x1`` (rows x columns), read as every typed number is.

    >>> size_pair("2"), size_pair("2x1")
    (2, (2, 1))
    >>> size_pair("2x1x3")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: '2x1x3' is not a size: write one whole number or two joined by x, such as 2 or 2x1
    """
    parts = text.lower().split("x")
    if len(parts) > 2:
        raise argparse.ArgumentTypeError(
            f"{echo(text)} is not a size: write one whole number or two joined by x, such as 2 or 2x1"
        )
    numbers = tuple(whole_number(part) for part in parts)
    return numbers[0] if len(numbers) == 1 else numbers
