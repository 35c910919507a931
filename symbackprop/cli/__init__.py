"""The command line: a thin shell over the library.

Every subcommand lives in its own module here and registers itself in
:data:`COMMANDS`. Any :class:`~symbackprop.errors.SymbackpropError` becomes
one line on standard error and exit status 2; no traceback. Output into
a pipe that closes early (``symbackprop verify | head -c1``) ends the command
quietly with status 141, as a tool killed by SIGPIPE ends: never 1, which
``verify`` reserves for checks that disagree.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Sequence

from .. import __version__
from ..errors import SymbackpropError
from . import calc, check, compare, derivations, derive, evaluate, export, tour, train, vanishing, verify

#: Subcommand modules; each has ``register(subparsers)``.
COMMANDS = [verify, calc, derive, derivations, export, train, evaluate, compare, check, vanishing]

#: The status of a command whose output pipe closed: 128 + SIGPIPE (13), as the
#: shell reports a process that SIGPIPE ended.
PIPE_CLOSED = 141


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
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__}"
    )
    sub = parser.add_subparsers(dest="command", parser_class=_Parser, metavar="COMMAND")
    for module in COMMANDS:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser().parse_args(args_list) if args_list else None
        status = tour.run() if args is None or args.command is None else args.run(args)
        # Buffered output reaches a closed pipe here, while it can still be told apart.
        sys.stdout.flush()
        return status
    except SymbackpropError as exc:
        print(f"symbackprop: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # before OSError, of which it is one
        return _pipe_closed()
    except OSError as exc:  # a file named on the command line cannot be read or written
        where = f" {exc.filename}" if exc.filename else ""
        print(f"symbackprop: error: cannot use{where}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("symbackprop: interrupted", file=sys.stderr)
        return 130
    except SystemExit as exc:
        # rich turns a write into a closed pipe into SystemExit(1), raised
        # while it handles the BrokenPipeError: the reader left, no verdict.
        if isinstance(exc.__context__, BrokenPipeError):
            return _pipe_closed()
        raise


def _pipe_closed() -> int:
    # Later writes and the interpreter's last flush go nowhere instead of
    # raising again on the way out.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return PIPE_CLOSED
