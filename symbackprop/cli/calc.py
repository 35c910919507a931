"""``symbackprop calc``: chapter 2 of the book, one subcommand per idea.

    symbackprop calc minimum "(x-1)**2 + 2*(y+1)**2 + x*y"
    symbackprop calc lagrange "x*y" --constraint "x + y = 1"
    symbackprop calc approx "exp(x)*sin(y)" --at 0,1
    symbackprop calc steepest "x**2 + y**2" --at 3,2
    symbackprop calc gd "x**2 + y**2" --start 3,2 --eta 0.1 --steps 30
    symbackprop calc regression data.csv        (or --x 1,2,3 --y 2,4,7)
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable

from rich.console import Console

from ..calculus import approximation, descent, lagrange, minimum, regression, solving
from ..calculus.multivariable import DEFAULT_VARIABLES
from ..documents.derivation import Derivation
from ..errors import DataError, OutputPathError
from ..files import check_output_path, write_text
from .json_output import add_json_option, print_json
from .options import whole_number


def _numbers(text: str) -> list[str]:
    return [part.strip() for part in text.split(",")]


def _formula_friendly(base: type[argparse.ArgumentParser]) -> type[argparse.ArgumentParser]:
    """``base``, except that ``-x**2-y**2`` is read as a formula, not as an unknown option.

    The topics' only single-dash option is ``-h``; every other word starting
    with one dash is a formula or a value (``--at -1,2``).

    >>> parser = _formula_friendly(argparse.ArgumentParser)()
    >>> _ = parser.add_argument("function")
    >>> parser.parse_args(["-x**2-y**2"]).function
    '-x**2-y**2'
    """

    class FormulaParser(base):
        def _parse_optional(self, arg_string):
            if arg_string.startswith("-") and not arg_string.startswith("--") and arg_string != "-h":
                return None
            return super()._parse_optional(arg_string)

    return FormulaParser


def register(sub: argparse._SubParsersAction) -> None:
    calc = sub.add_parser(
        "calc",
        help="chapter 2: minimum, Lagrange multipliers, approximation, gradient descent, regression",
        description="The mathematics of chapter 2, exactly and step by step, for a function you type "
        "(use x, y, z or name your variables with --vars; ** or ^ for powers).",
    )
    topics = calc.add_subparsers(
        dest="topic", metavar="TOPIC", required=True, parser_class=_formula_friendly(type(calc))
    )

    def topic(name: str, help_: str, run) -> argparse.ArgumentParser:
        p = topics.add_parser(name, help=help_, description=help_)
        p.add_argument(
            "--format", choices=["text", "markdown", "latex"], default="text",
            help="text (default, for a terminal), markdown, or a standalone LaTeX document",
        )
        p.add_argument(
            "--vars", default=",".join(DEFAULT_VARIABLES),
            help=f"the variable names the function may use (default {','.join(DEFAULT_VARIABLES)})",
        )
        p.add_argument("--out", help="write to this file instead of standard output")
        add_json_option(p)
        p.set_defaults(run=lambda args: _show(run, args))
        return p

    p = topic("minimum", "solve ∂f/∂x = ∂f/∂y = … = 0 exactly and classify by the Hessian", _minimum)
    p.add_argument("function", help='f, e.g. "(x-1)**2 + 2*(y+1)**2 + x*y"')
    _seconds_option(p)
    p = topic("lagrange", "extremes of f under a constraint g = 0 by Lagrange multipliers", _lagrange)
    p.add_argument("function", help='f, e.g. "x*y"')
    p.add_argument("--constraint", required=True, help='g (meaning g = 0) or "left = right", e.g. "x + y = 1"')
    _seconds_option(p)
    p = topic("approx", "the approximation formula Δz ≈ ∂z/∂x Δx + ∂z/∂y Δy at a point, checked", _approx)
    p.add_argument("function", help='z, e.g. "exp(x)*sin(y)"')
    p.add_argument("--at", required=True, help="the point, e.g. 0,1")
    p.add_argument("--direction", help="the direction of the test steps (default 1,1,…)")
    p = topic("steepest", "why gradient descent steps along −∇f (Cauchy–Schwarz)", _steepest)
    p.add_argument("function", nargs="?", default="x**2 + y**2", help="f (default x**2 + y**2)")
    p.add_argument("--at", default="3,2", help="the point (default 3,2)")
    book = descent.book_example()
    p = topic("gd", "gradient descent Δx = −η∇f: the path, convergence or divergence", _gd)
    p.add_argument("function", nargs="?", default=book["function"], help=f"f (default the book's {book['function']})")
    p.add_argument("--start", default=",".join(str(c) for c in book["start"]), help="the start point (default 3,2)")
    p.add_argument("--eta", default=book["eta"], help=f"the learning rate η > 0 (default {book['eta']})")
    p.add_argument("--steps", type=whole_number, default=book["steps"], help=f"how many steps (default {book['steps']})")
    p.add_argument("--compare", help="also run these η, e.g. 0.01,0.1,1.1, and compare")
    p = topic("regression", "fit y = p x + q by least squares, exactly and by gradient descent", _regression)
    p.add_argument("data", nargs="?", help="a CSV file (two columns x,y; header optional) or JSON "
                   '{"x": […], "y": […]}; default: the book\'s 7 students')
    p.add_argument("--x", help="the x values, e.g. 1,2,3 (with --y instead of a file)")
    p.add_argument("--y", help="the y values, e.g. 2,4,7")
    p.add_argument("--eta", help="learning rate of the descent on standardised data (default 1/(2n))")


def _seconds_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--seconds", type=float, default=solving.SOLVE_SECONDS,
        help=f"time for the exact solution before a numeric answer is given instead (default {solving.SOLVE_SECONDS:g})",
    )


#: What a topic shows: its result (None when the derivation is all there is) and its derivation.
Shown = tuple[object, Derivation]


def _with_derivation(result) -> Shown:
    return result, result.derivation


def _vars(args: argparse.Namespace) -> list[str]:
    return [v for v in _numbers(args.vars) if v]


def _minimum(args) -> Shown:
    return _with_derivation(minimum.minimum(args.function, _vars(args), seconds=args.seconds))


def _lagrange(args) -> Shown:
    return _with_derivation(lagrange.lagrange(args.function, args.constraint, _vars(args), seconds=args.seconds))


def _approx(args) -> Shown:
    direction = _numbers(args.direction) if args.direction else None
    return _with_derivation(approximation.approximation(args.function, _numbers(args.at), direction, _vars(args)))


def _steepest(args) -> Shown:
    return None, approximation.steepest_descent(args.function, _numbers(args.at), _vars(args))


def _gd(args) -> Shown:
    start, variables = _numbers(args.start), _vars(args)
    run = descent.gradient_descent(args.function, start, args.eta, args.steps, variables=variables)
    derivation = run.derivation
    if args.compare:
        effect = descent.learning_rate_effect(args.function, start, _numbers(args.compare), args.steps,
                                              variables=variables)
        derivation.steps += effect.steps
    return run, derivation


def _regression(args) -> Shown:
    if args.data and (args.x or args.y):
        raise DataError("give either a data file or --x and --y, not both")
    if args.data:
        x, y = regression.read_data(args.data)
        source = args.data
    elif args.x or args.y:
        if not (args.x and args.y):
            raise DataError("--x and --y go together: give both, e.g. --x 1,2,3 --y 2,4,7")
        x, y = regression.parse_numbers(args.x, "--x"), regression.parse_numbers(args.y, "--y")
        source = "the command line"
    else:
        x, y, source = regression.book_data()
    return _with_derivation(regression.regression(x, y, eta=args.eta, source=source))


def _show(derive: Callable[[argparse.Namespace], Shown], args: argparse.Namespace) -> int:
    # --out is checked before the mathematics, which can take a while.
    out = None if args.out is None else check_output_path(
        args.out, None, "", {"text": "result.txt", "markdown": "result.md", "latex": "result.tex"}[args.format],
        OutputPathError,
    )
    result, derivation = derive(args)
    if args.json:
        if out is not None or args.format != "text":
            raise OutputPathError("--json prints one JSON document on standard output; leave out --out and --format")
        print_json(json_document(args.topic, result, derivation))
        return 0
    if args.format == "text" and out is None:
        Console().print(derivation.text(), markup=False, highlight=False, soft_wrap=True)
        return 0
    text = {"text": derivation.text, "markdown": derivation.markdown, "latex": derivation.latex_document}[args.format]()
    text = text if text.endswith("\n") else text + "\n"
    if out is None:
        print(text, end="")
    else:
        write_text(out, text)
    return 0


def json_document(topic: str, result: object, derivation: Derivation) -> dict:
    """``calc TOPIC --json`` (schema: ``schemas/calc.json``): the topic's result, its
    fields as the library names them (null for a topic whose result is its
    derivation), and the derivation's steps with their formulas in LaTeX."""
    fields = None if result is None else {
        f.name: getattr(result, f.name) for f in dataclasses.fields(result) if f.name != "derivation"
    }
    steps = [{"title": step.title, "justification": step.justification, "formulas": step.formulas(),
              "note": step.note} for step in derivation.steps]
    return {"command": "calc", "topic": topic, "title": derivation.title, "result": fields, "steps": steps}
