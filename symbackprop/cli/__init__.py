"""The command line: a thin shell over the library.

Every subcommand lives in its own module here and registers itself in
:data:`COMMANDS`. Any :class:`~symbackprop.errors.SymbackpropError` becomes
one line on standard error and exit status 2; no traceback.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence

from ..errors import SymbackpropError
from . import calc, compare, derivations, derive, evaluate, tour, train, verify

#: Subcommand modules; each has ``register(subparsers)``.
COMMANDS = [verify, calc, derive, derivations, train, evaluate, compare]


class UsageError(SymbackpropError):
    """A command line that argparse rejected."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2, as for every other error
        raise UsageError(f"{message} (see {self.prog} --help)")

    def _parse_optional(self, arg_string):
        # argparse reads -1 as a value but -1,2 as an unknown option; no option
        # starts with a digit, so --layers -1,2 reaches the check of the widths.
        if _NEGATIVE.match(arg_string):
            return None
        return super()._parse_optional(arg_string)


_NEGATIVE = re.compile(r"-\.?[0-9]")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="symbackprop",
        description="Backpropagation derived symbolically, in the notation of "
        "'The Mathematics of Deep Learning'. With no command: the book tour.",
    )
    sub = parser.add_subparsers(dest="command", parser_class=_Parser, metavar="COMMAND")
    for module in COMMANDS:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    try:
        if not args_list:
            return tour.run()
        args = build_parser().parse_args(args_list)
        if args.command is None:
            return tour.run()
        return args.run(args)
    except SymbackpropError as exc:
        print(f"symbackprop: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a file named on the command line cannot be read or written
        where = f" {exc.filename}" if exc.filename else ""
        print(f"symbackprop: error: cannot use{where}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("symbackprop: interrupted", file=sys.stderr)
        return 130
