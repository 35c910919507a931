"""What every training run of the command line shares: the update rule
named by the options, the table of ``C_T``, and the end of a run (verdict,
saved parameters, chart, JSON document)."""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.table import Table

from ..errors import DataError
from ..numeric.optimizers import OPTIMIZERS, Adam, ExponentialDecay, GradientDescent, Momentum, StepDecay
from ..numeric.params import check_save_path, save_params
from ..numeric.train import TrainingResult
from ..numeric.trainable import describe
from .json_output import print_json
from .plot import check_plot_path, training_chart, write_chart


def optimizer_from_args(args: argparse.Namespace) -> GradientDescent | Momentum | Adam:
    """The update rule named by ``--optimizer`` (and ``--momentum``).

    >>> optimizer_from_args(argparse.Namespace(optimizer="momentum", momentum=0.5)).describe()
    'momentum μ = 0.5'
    >>> optimizer_from_args(argparse.Namespace(optimizer="gd", momentum=0.5))
    Traceback (most recent call last):
    ...
    symbackprop.errors.DataError: --momentum is the μ of --optimizer momentum; the gd rule has none
    """
    if args.momentum is not None and args.optimizer != "momentum":
        raise DataError(f"--momentum is the μ of --optimizer momentum; the {args.optimizer} rule has none")
    if args.optimizer == "momentum" and args.momentum is not None:
        return Momentum(args.momentum)
    return OPTIMIZERS[args.optimizer]()


def rule(optimizer: GradientDescent | Momentum | Adam, eta: float, schedule: StepDecay | ExponentialDecay | None) -> str:
    """The update rule and learning rate, for the first line of a run.

    >>> rule(GradientDescent(), 0.5, StepDecay(0.5, 10))
    'gradient descent, η = 0.5 (η × 0.5 every 10 epochs)'
    """
    return f"{optimizer.describe()}, η = {eta}" + (f" ({schedule.describe()})" if schedule is not None else "")


def check_outputs(args: argparse.Namespace) -> None:
    """Refuse a --save or --plot file that could not be written, before training."""
    if args.save is not None:
        check_save_path(args.save)
    if args.plot is not None:
        check_plot_path(args.plot)


def finish(args, console: Console, model, result: TrainingResult, eta: float, name: str, examples: int,
           held_out: int, classes, figures: dict, held_out_label: str, notes=None) -> int:
    """The end of every run: the verdict, the saved parameters, the chart and
    the JSON document; the exit status."""
    if result.problem:
        console.print(f"[bold red]training failed: {result.problem}[/]")
    saved = None
    if args.save is not None:
        if result.problem and not args.force:
            console.print(f"[bold red]parameters not saved to {args.save}[/] (--force saves them anyway)")
        else:
            saved = save_params(args.save, model, result.params, notes)
            console.print(f"parameters saved to {saved}")
    if args.plot is not None:
        path = check_plot_path(args.plot)
        write_chart(path, training_chart(result.history, result.tracked, held_out_label,
                                         f"Training {describe(model)} on {name}"))
        console.print(f"chart of C_T per epoch written to {path}")
    if args.json:
        print_json({
            "command": "train",
            "data": name,
            "network": describe(model),
            "optimizer": args.optimizer,
            "eta": eta,
            "lr_decay": args.lr_decay.describe() if args.lr_decay is not None else None,
            "epochs": len(result.history) - 1,
            "examples": examples,
            "held_out_examples": held_out,
            "classes": [str(c) for c in classes] if classes is not None else None,
            "history": result.history,
            "final_cost": result.final_cost,
            **figures,
            "problem": result.problem,
            "saved": str(saved) if saved is not None else None,
            "seconds": result.seconds,
        })
    return 1 if result.problem else 0


def cost_table(result: TrainingResult, every: int | None = None) -> Table:
    """``C_T`` after chosen epochs: all of them with ``every=1``, otherwise the
    first few, every tenth and the last.

    >>> cost_table(TrainingResult({}, history=[1.0 / (e + 1) for e in range(31)])).row_count
    9
    """
    history = result.history
    last = len(history) - 1
    if every:
        shown = range(0, last + 1, every)
    else:
        shown = sorted({e for e in range(0, min(last, 5) + 1)} | set(range(0, last + 1, 10)) | {last})
    table = Table(title="cost C_T = Σ_k C_k after each epoch", show_edge=False)
    table.add_column("epoch", justify="right")
    table.add_column("C_T", justify="right")
    for e in shown:
        table.add_row(str(e), f"{history[e]:.10g}")
    return table
