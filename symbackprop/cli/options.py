"""Options shared by the commands that build a fully connected network."""

from __future__ import annotations

import argparse
import sys

from rich.console import Console

from ..engine.network import Network
from ..errors import NetworkSpecError

#: The book's network, 12-3-2: what commands build when no --layers is given.
BOOK_LAYERS = "12,3,2"


def add_network_options(parser: argparse.ArgumentParser, default_layers: str = BOOK_LAYERS) -> None:
    parser.add_argument(
        "--layers",
        default=default_layers,
        help=f"widths of layers 1..L, input first (default {default_layers}, the book's network)",
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
        help="squared, cross-entropy, or an expression in a and t (default squared)",
    )


def parse_layers(text: str) -> list[int]:
    """``"12,3,2"`` → ``[12, 3, 2]``, with a clear error for anything else.

    >>> parse_layers("12, 3, 2")
    [12, 3, 2]
    >>> parse_layers("12,x,2")
    Traceback (most recent call last):
    ...
    symbackprop.errors.NetworkSpecError: --layers must be comma-separated positive integers such as 12,3,2; 'x' is not an integer
    """
    sizes = []
    for part in text.split(","):
        part = part.strip()
        try:
            sizes.append(int(part))
        except ValueError:
            raise NetworkSpecError(
                f"--layers must be comma-separated positive integers such as 12,3,2; {part!r} is not an integer"
            ) from None
    return sizes


def activation_from_args(args: argparse.Namespace) -> str | list[str]:
    """``--activation``: one name or expression, or one per layer separated by ';'.

    >>> activation_from_args(argparse.Namespace(activation="tanh; sigmoid"))
    ['tanh', 'sigmoid']
    """
    activations = [a.strip() for a in args.activation.split(";")]
    return activations[0] if len(activations) == 1 else activations


def network_from_args(args: argparse.Namespace) -> Network:
    return Network(parse_layers(args.layers), activation=activation_from_args(args), cost=args.cost)


def console() -> Console:
    """The terminal output of every command. Piped into a file or another
    program, lines are not wrapped at 80 columns (tables still fit 80).

    >>> console().file is sys.stdout
    True
    """
    return Console(soft_wrap=not sys.stdout.isatty())
