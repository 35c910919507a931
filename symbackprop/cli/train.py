"""``symbackprop train``: gradient descent on a registered data set or a data file."""

from __future__ import annotations

import argparse

import numpy as np
from rich.console import Console

from ..errors import DataError, ParameterFileError
from ..layers.pooling import POOLINGS
from ..numeric.catalogue import DATASETS, DatasetSpec, dataset_spec
from ..numeric.datasets import Dataset, data_path
from ..numeric.optimizers import OPTIMIZERS, parse_schedule
from ..numeric.params import load_params
from ..numeric.train import TrainingResult, accuracy, check_settings, predicted_classes, total_cost, train
from ..numeric.trainable import describe
from . import data_files
from .json_output import quiet_console
from .options import (
    add_convolution_options,
    add_model_option,
    add_weight_decay_option,
    real_number,
    whole_number,
)
from .options import console as make_console
from .training import check_outputs, cost_table, finish, optimizer_from_args, rule


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train a network on a data set by gradient descent with the derived gradients",
        description="Gradient descent Δw = −η ∂C_T/∂w with the compiled gradients; full batch like the "
        "book unless --batch-size is given. Exit 0 when training went well; 1 when it failed (C_T rose, or "
        "stalled with the outputs pinned at the activation's bounds), and then --save writes nothing "
        "unless --force is given; 2 for bad input or when C_T overflowed. Data sets: "
        + "; ".join(f"{s.name}: {s.summary}" for s in DATASETS.values())
        + "; or a data file: .csv with a header row (--target or --targets), or .npz (X and T or labels)",
    )
    add_dataset_argument(p)
    p.add_argument("--init", help="initial parameters: 'book' (the book's own values) or a .npz/.json file; "
                   "default: normal random values drawn with --seed")
    p.add_argument("--save", help="write the trained parameters to this .npz or .json file")
    p.add_argument("--force", action="store_true",
                   help="with --save: save the parameters even when training failed (the exit status stays 1)")
    p.add_argument("--eta", type=real_number, help="learning rate η (default: the data set's, 0.2 for digits01; 0.1 for a data file)")
    p.add_argument("--epochs", type=whole_number, help="passes over the training set (default: the data set's; 100 for a data file)")
    p.add_argument("--batch-size", type=whole_number, help="examples per step (default: the data set's; digits01 "
                   "uses the full batch like the book; 16 for a data file)")
    p.add_argument("--seed", type=whole_number, default=0, help="seed of the initial values and batch order (default 0)")
    p.add_argument("--history", action="store_true", help="print C_T after every epoch")
    p.add_argument("--standardize", action="store_true",
                   help="data files: standardise each input, x' = (x − μ)/σ with the training examples' mean "
                   "and standard deviation (saved with the parameters, so evaluate applies the same)")
    p.add_argument("--optimizer", choices=list(OPTIMIZERS), default="gd",
                   help="update rule: gd, the book's w ← w − η ∂C_T/∂w (default); momentum, v ← μ v − η ∂C_T/∂w, "
                   "w ← w + v; adam (see the README)")
    p.add_argument("--momentum", type=real_number, metavar="μ",
                   help="with --optimizer momentum: the momentum μ, from 0 to below 1 (default 0.9)")
    p.add_argument("--lr-decay", type=lr_decay, metavar="SCHEDULE",
                   help="learning-rate schedule: exp:γ (η_e = η γ^(e−1)) or step:γ:k (η × γ every k epochs)")
    p.add_argument("--plot", help="draw C_T per epoch (and the held-out accuracy, or cost) into this .svg "
                   "(or .png, with CairoSVG or rsvg-convert installed)")
    p.add_argument("--json", action="store_true", help="print one JSON document instead of tables (see the README)")
    p.set_defaults(run=run)


def lr_decay(text: str):
    """``--lr-decay``, read by :func:`~symbackprop.numeric.optimizers.parse_schedule`.

    >>> lr_decay("exp:0.5").describe()
    'η × 0.5 each epoch'
    """
    try:
        return parse_schedule(text)
    except DataError as exc:  # argparse shows an ArgumentTypeError's own message
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_dataset_argument(p: argparse.ArgumentParser) -> None:
    """The data set (a registered name or a data file) of ``train`` and
    ``evaluate``, with the options that choose its model.

    >>> p = argparse.ArgumentParser()
    >>> add_dataset_argument(p)
    >>> args = p.parse_args(["digits01", "--path", "scalar"])
    >>> args.dataset, args.path
    ('digits01', 'scalar')
    """
    p.add_argument("dataset", help=f"data set: {', '.join(DATASETS)}; or a data file, .csv or .npz")
    data_files.add_data_file_options(p)
    p.add_argument("--path", choices=["array", "scalar"],
                   help="compiled gradients: array (matrix products, fast) or scalar (one expression per "
                   "weight, as the book's spreadsheet); default array")
    p.add_argument("--pooling", choices=list(POOLINGS),
                   help="the CNN's pooling (cnn123): max, the book's (default), or average")
    add_convolution_options(p, "the CNN's convolution (cnn123)")
    p.add_argument("--output", choices=["softmax"],
                   help="softmax: a softmax output layer trained on the categorical cross-entropy "
                   "(digits01, digits8x8; default: the data set's network)")
    add_weight_decay_option(p)
    p.add_argument("--batch-norm", action="store_true", default=None,
                   help="batch-normalise every hidden layer with the statistics of each batch of --batch-size "
                   "(digits01, digits8x8; training mode, array path)")
    add_model_option(p)


def model_from_args(spec: DatasetSpec, args: argparse.Namespace):
    """The data set's model on the chosen path (``--path``; by default the array path)."""
    if args.path is None:
        args.path = "array"
    network = None
    if args.model is not None:
        from ..engine.model_file import read_model
        from .options import check_model_alone

        check_model_alone(args, {})
        network = read_model(args.model)
    return spec.model(args.path, pooling=args.pooling, output=args.output, weight_decay=args.weight_decay,
                      stride=args.stride, padding=args.padding, batch_norm=args.batch_norm, model=network)


def run(args: argparse.Namespace) -> int:
    console = quiet_console() if args.json else make_console()
    if data_files.is_data_file(args.dataset):
        return data_files.train_file(args, console)
    data_files.refuse_file_options(args)
    spec = dataset_spec(args.dataset)
    eta = spec.eta if args.eta is None else args.eta
    epochs = spec.epochs if args.epochs is None else args.epochs
    batch = spec.batch_size if args.batch_size is None else args.batch_size
    check_settings(eta, epochs, batch, args.seed)
    optimizer = optimizer_from_args(args)
    check_outputs(args)
    data = spec.load()
    model = model_from_args(spec, args)
    params = initial_from(args.init, spec, model)
    seconds = getattr(model, "compile_seconds", None)
    compiled = f" (derived and compiled in {seconds:.2f} s)" if seconds is not None else ""
    console.print(
        f"[bold]{spec.name}[/]: {len(data.X)} training examples; {describe(model)} network, "
        f"{args.path} path{compiled}; {rule(optimizer, eta, args.lr_decay)}, "
        + (f"weight decay λ = {args.weight_decay}, " if args.weight_decay is not None else "")
        + ("full batch" if batch is None or batch >= len(data.X) else f"batches of {batch}")
        + f", {epochs} epochs, start: {args.init or f'normal random (seed {args.seed})'}"
    )
    held_out = data.test_X is not None
    track = (lambda p: accuracy(model, p, data.test_X, data.test_labels)) if args.plot and held_out else None
    result = train(model, data.X, data.T, params, eta=eta, epochs=epochs, batch_size=batch, seed=args.seed,
                   progress=console.is_terminal, optimizer=optimizer, schedule=args.lr_decay, track=track)
    console.print(cost_table(result, every=1 if args.history else None))
    report(console, model, result.params, data, result)
    figures = {
        "cost": result.final_cost,
        "accuracy": accuracy(model, result.params, data.X, data.labels),
        "held_out_accuracy": accuracy(model, result.params, data.test_X, data.test_labels) if held_out else None,
        "held_out_cost": None,
    }
    return finish(args, console, model, result, eta, spec.name, len(data.X),
                  len(data.test_X) if held_out else 0, data.classes, figures, "held-out accuracy")


def initial_from(init: str | None, spec: DatasetSpec, model):
    """The starting parameters named by ``--init`` (None: random, drawn by the trainer)."""
    return None if init is None else params_from(init, spec, model, "--init")


def params_from(name: str, spec: DatasetSpec, model, option: str):
    """Parameters named on the command line by ``option``: ``book`` (the
    book's values for the data set, shipped inside the package) or a file."""
    if name == "book":
        if spec.book_init is None:
            raise ParameterFileError(f"the book has no parameter values for {spec.name}; give {option} a file")
        return load_params(data_path(spec.book_init), model)
    return load_params(name, model)


def report(console: Console, model, params, data: Dataset, result: TrainingResult | None = None) -> None:
    """Final cost and accuracy, then the held-out examples."""
    cost = result.final_cost if result is not None else total_cost(model, params, data.X, data.T)
    correct = accuracy(model, params, data.X, data.labels)
    console.print(
        f"C_T = {cost!r} on the {len(data.X)} training examples; accuracy {correct:.2%} "
        f"({round(correct * len(data.X))}/{len(data.X)})"
    )
    if data.test_X is None:
        return
    held = accuracy(model, params, data.test_X, data.test_labels)
    if len(data.test_X) > 12:
        console.print(f"held-out accuracy {held:.2%} ({round(held * len(data.test_X))}/{len(data.test_X)})")
        return
    console.print("images outside the training set:")
    classes = predicted_classes(model, params, data.test_X)
    outputs = model.predict(params, data.test_X)
    for n, (name, label, guess) in enumerate(zip(data.test_names, data.test_labels, classes)):
        picture = " ".join(_picture(data.test_X[n], data.image_shape))
        mark = "[green]right[/]" if guess == label else "[red]wrong[/]"
        console.print(
            f"  {picture}  {name}: predicted {data.classes[guess]} "
            f"(a^L = {np.array2string(outputs[n], precision=3)}) {mark}"
        )


def _picture(x: np.ndarray, shape) -> list[str]:
    rows = np.asarray(x).reshape(shape) if shape else np.asarray(x).reshape(1, -1)
    return ["".join("█" if v > 0.5 else "·" for v in row) for row in rows]
