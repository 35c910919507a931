"""``symbackprop vanishing``: ‖∂C/∂h^{(1)}‖ of a recurrent layer against the length T."""

from __future__ import annotations

import argparse

from rich import box
from rich.table import Table

from ..errors import DataError, ExpressionError, NetworkSpecError, echo
from ..files import check_output_path, write_text
from ..functions.parsing import parse_number
from ..measure.vanishing import (
    ACTIVATIONS,
    LENGTHS,
    RADII,
    vanishing_chart,
    vanishing_gradients,
    vanishing_table,
)
from .options import console, whole_number, whole_numbers


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "vanishing",
        help="vanishing and exploding gradients through time: ‖∂C/∂h^(1)‖ against T",
        description="Backpropagation through time multiplies the error by diag(a'(z^(t))) W once per step. "
        "For W = ρQ (Q orthogonal, spectral radius ρ) and ‖∂C/∂h^(T)‖ = 1, measure ‖∂C/∂h^(1)‖ for "
        "each activation, ρ and length T, as a table and optionally an SVG chart.",
    )
    p.add_argument("--lengths", default=",".join(map(str, LENGTHS)),
                   help=f"the lengths T, comma-separated (default {','.join(map(str, LENGTHS))})")
    p.add_argument("--radii", default=",".join(map(str, RADII)),
                   help=f"the spectral radii ρ of W, comma-separated (default {','.join(map(str, RADII))})")
    p.add_argument("--activations", default=",".join(ACTIVATIONS),
                   help=f"the activations, comma-separated (default {','.join(ACTIVATIONS)})")
    p.add_argument("--width", type=whole_number, default=8, help="units of the recurrent layer (default 8)")
    p.add_argument("--seed", type=whole_number, default=0, help="seed of W, U and the input sequences (default 0)")
    p.add_argument("--chart", help="also write the measurements as an SVG chart (log scale) to this file")
    p.set_defaults(run=run, parser=p)


def radii(text: str) -> list[float]:
    """``--radii``: positive numbers, comma-separated.

    >>> radii("0.5, 1.5")
    [0.5, 1.5]
    >>> radii("0.5,x")
    Traceback (most recent call last):
    ...
    symbackprop.errors.DataError: --radii must be comma-separated numbers such as 0.5,0.9,1.1,1.5; 'x' is not one
    """
    values = []
    for part in text.split(","):
        try:
            values.append(float(parse_number(part)))
        except ExpressionError:
            raise DataError(f"--radii must be comma-separated numbers such as 0.5,0.9,1.1,1.5; {echo(part.strip())} is not one") from None
    return values


def run(args: argparse.Namespace) -> int:
    chart = None if args.chart is None else check_output_path(
        args.chart, (".svg",), "the chart is written as SVG; give a file name ending in .svg", "vanishing.svg",
        NetworkSpecError)
    lengths = whole_numbers(args.lengths, "--lengths must be comma-separated whole numbers such as 1,2,4,8")
    activations = [a.strip() for a in args.activations.split(",") if a.strip()]
    rows = vanishing_gradients(lengths, radii(args.radii), activations, width=args.width, seed=args.seed)
    out = console()
    table = Table(title="‖∂C/∂h⁽¹⁾‖ against T (‖∂C/∂h⁽ᵀ⁾‖ = 1)", box=box.SIMPLE_HEAD, pad_edge=False,
                  padding=(0, 1))
    table.add_column("a(z)", min_width=8)
    table.add_column("ρ", justify="right")
    for t in dict.fromkeys(r.steps for r in rows):
        table.add_column(f"T={t}", justify="right", min_width=7)
    table.add_column("per step", justify="right", min_width=4)
    for row in vanishing_table(rows, digits=2):
        table.add_row(*row)
    out.print(table)
    if chart is not None:
        write_text(chart, vanishing_chart(rows))
        out.print(f"chart written to {chart}", markup=False, highlight=False)
    return 0
