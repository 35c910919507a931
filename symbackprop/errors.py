"""The exception family: every error the library raises on bad input.

The CLI maps any :class:`SymbackpropError` to one line on standard error and
exit status 2, so each message says what was wrong *and* what to do instead.

>>> from symbackprop import Network
>>> Network([12, 0, 2])
Traceback (most recent call last):
...
symbackprop.errors.NetworkSpecError: layer 2 has width 0; every layer needs a positive integer number of units
"""

from __future__ import annotations

#: How many characters of the user's text a message quotes before cutting it short.
ECHO_LIMIT = 60


def echo(value: object, limit: int = ECHO_LIMIT) -> str:
    """A value as a message quotes it: text in quotes, anything else as Python
    writes it, and cut short when long, so that a mistyped 100 KB option
    still gives a one-line error.

    >>> echo("x + 1"), echo(None), echo([1, 2])
    ("'x + 1'", 'None', '[1, 2]')
    >>> echo("1," * 5000)
    "'1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,'… (10,000 characters)"
    """
    if isinstance(value, str):
        return repr(value) if len(value) <= limit else f"{value[:limit]!r}… ({len(value):,} characters)"
    shown = repr(value)
    return shown if len(shown) <= limit else f"{shown[:limit]}… ({len(shown):,} characters)"


class SymbackpropError(Exception):
    """Base of every error symbackprop raises on bad input."""


class ArgumentError(SymbackpropError, TypeError):
    """An argument of the wrong kind: ``None`` where a network is needed, a
    number where a list is, text where a number is."""


class NetworkSpecError(SymbackpropError, ValueError):
    """Layer sizes or layer options that do not describe a network."""


class UnknownNameError(SymbackpropError, KeyError):
    """An activation, cost, parameter or data-set name that does not exist."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class ExpressionError(SymbackpropError, ValueError):
    """User text that is not a safe, well-formed mathematical expression."""


class SizeLimitError(SymbackpropError, ValueError):
    """A model or derivation that would be too large to build; the message says what
    is practical, or how to force it."""


class NotDifferentiableError(SymbackpropError, ValueError):
    """A quantity whose gradient is useless for training (e.g. the unit step)."""


class DataError(SymbackpropError, ValueError):
    """Data or parameters of the wrong shape, or with NaN/inf or labels out of range."""


class ParameterFileError(SymbackpropError, ValueError):
    """A parameter file that is missing, corrupt or does not fit the network."""


class OutputPathError(SymbackpropError, ValueError):
    """A file or folder to write that cannot be written there: no name, a missing folder, a link."""


class NoSolutionError(SymbackpropError, ValueError):
    """A problem with no answer: no real solution of ∇f = 0, or no minimum (f unbounded below)."""


class WorkerError(SymbackpropError, RuntimeError):
    """The process that measures routes under a time cap could not start."""
