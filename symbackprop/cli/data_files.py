"""``train`` and ``evaluate`` on a data file (CSV or ``.npz``) with a network of your choosing.

The network is built from ``--layers``, ``--activation``, ``--cost`` (and
``--output``, ``--weight-decay``), or read from ``--model FILE`` (its inputs
and outputs the data's columns and classes; an image or a sequence is read
from each row in order); a held-out share (``--test-fraction``)
is drawn with ``--seed``, so ``evaluate`` with the same two options holds
out the same examples. The classes' order, the inputs' standardisation and
the options that built the network are saved with the parameters and
applied again by ``evaluate``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from ..engine.model_file import model_from_document, read_model_document
from ..errors import DataError, NetworkSpecError
from ..functions.costs import weight_decay_rate
from ..numeric.datafile import Standardizer, Table, read_data_file, split
from ..numeric.model_arrays import input_width, output_width, trainable_for
from ..numeric.params import (
    MAX_OPTION_LENGTH,
    NETWORK_OPTIONS,
    NOTES_KEY,
    DataNotes,
    load_notes,
    load_params,
    read_param_file,
)
from ..numeric.train import accuracy, check_settings, total_cost, train
from ..numeric.trainable import describe
from .json_output import print_json
from .options import check_model_alone, dense_network, parse_layers, real_number
from .training import check_outputs, cost_table, finish, optimizer_from_args, rule

#: Training defaults for a data file: small batches, like digits8x8.
ETA, EPOCHS, BATCH_SIZE = 0.1, 100, 16
#: Units of the one hidden layer when --layers is not given.
HIDDEN = 10
#: The options that only a data file takes.
FILE_OPTIONS = ("target", "targets", "test_fraction", "layers", "activation", "cost")


def is_data_file(name: str) -> bool:
    """Whether ``train``/``evaluate`` was given a data file rather than a data set's name.

    >>> is_data_file("blobs.csv"), is_data_file("digits01")
    (True, False)
    """
    return Path(name).suffix.lower() in (".csv", ".npz")


def add_data_file_options(p: argparse.ArgumentParser) -> None:
    """The options that only a data file takes (:data:`FILE_OPTIONS`), none with a
    default, so that :func:`refuse_file_options` can tell which were given.

    >>> p = argparse.ArgumentParser()
    >>> add_data_file_options(p)
    >>> args = p.parse_args(["--target", "kind", "--test-fraction", "0.25"])
    >>> args.target, args.test_fraction, args.layers
    ('kind', 0.25, None)
    """
    p.add_argument("--target", metavar="COLUMN", help="CSV: the column of the class label (the inputs are the rest)")
    p.add_argument("--targets", type=columns, metavar="COL,COL",
                   help="CSV: numeric columns to fit, for regression (the inputs are the rest)")
    p.add_argument("--test-fraction", type=real_number, metavar="F",
                   help="data files: hold out this share of the examples, drawn with --seed, and report on them")
    p.add_argument("--layers", help=f"data files: widths of layers 1..L, input first (default: inputs,{HIDDEN},outputs "
                   "for train; the parameter file's for evaluate)")
    p.add_argument("--activation", help="data files: sigmoid (default), tanh, relu, identity, …, or one per layer "
                   "separated by ';'")
    p.add_argument("--cost", help="data files: squared (default), cross-entropy, or an expression in a and t")


def columns(text: str) -> list[str]:
    """``--targets``: comma-separated column names.

    >>> columns("y1, y2")
    ['y1', 'y2']
    """
    names = [name.strip() for name in text.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError(f"--targets names columns separated by commas, such as y1,y2; got {text!r}")
    return names


def refuse_file_options(args: argparse.Namespace) -> None:
    """A registered data set brings its own network and split."""
    given = [name for name in FILE_OPTIONS if getattr(args, name, None) is not None]
    if getattr(args, "standardize", False):
        given.append("standardize")
    if given:
        option = "--" + given[0].replace("_", "-")
        raise DataError(f"{option} is for data files (.csv, .npz); the data set {args.dataset} has its own network "
                        "and examples")


def model_for(args: argparse.Namespace, sizes: list[int] | None):
    """The network of ``--model FILE``, or of ``--layers`` etc., on the array
    path (``--path scalar`` for the scalar path); ``sizes`` None: a model file's."""
    for option in ("pooling", "stride", "padding"):
        if getattr(args, option, None) is not None:
            where = "the model file describes the convolution" if args.model is not None else \
                "a data file trains the network of --layers or --model"
            raise NetworkSpecError(f"--{option} is an option of the cnn123 data set; {where}")
    if args.path is None:
        args.path = "array"
    if args.model is not None:
        check_model_alone(args, {})
        args.model_document, positions, where = read_model_document(args.model)
        return trainable_for(model_from_document(args.model_document, where, positions), args.path)
    if getattr(args, "model_document", None) is not None:  # saved with the parameters
        return trainable_for(model_from_document(args.model_document, _model_name(args)), args.path)
    cost = args.cost if args.cost is not None else ("categorical-cross-entropy" if args.output else "squared")
    return trainable_for(dense_network(args, sizes, cost), args.path)


def _model_fits(args: argparse.Namespace, model, table: Table) -> None:
    """Refuse a model file whose network's inputs or outputs are not the data's columns or classes."""
    network = model.network
    inputs, outputs = input_width(network), getattr(model, "output_size", output_width(network))
    if (inputs, outputs) != (table.X.shape[1], table.T.shape[1]):
        what = "classes" if table.is_classification else "targets"
        raise NetworkSpecError(
            f"the {model.describe()} network of {_model_name(args)} reads {inputs} inputs and has {outputs} outputs; "
            f"{args.dataset} has {table.X.shape[1]} input columns and {table.T.shape[1]} {what}"
        )


def _model_name(args: argparse.Namespace) -> str:
    return args.model if args.model is not None else f"{args.params} (the model it was trained as)"


def _shaped(model, table: Table | None) -> None:
    """Each example's row of inputs as the network reads it, its ``input_shape``: an image
    (channels, rows, columns) for a convolutional network, steps of inputs for a recurrent
    one, the row itself for the rest (its width was checked against the network's)."""
    if table is not None:
        table.X = table.X.reshape(len(table.X), *model.input_shape)


def _network_options(args: argparse.Namespace) -> dict[str, str]:
    """The options that built the network, as typed, to be saved with it."""
    given = {name: getattr(args, name) for name in NETWORK_OPTIONS}
    return {name: str(value) for name, value in given.items() if value is not None}


def _saved_network_options(args: argparse.Namespace) -> None:
    """Fill the network options not given to ``evaluate`` from the parameter file's notes."""
    notes = read_param_file(args.params)[1].get(NOTES_KEY)
    saved = notes.get("network") if isinstance(notes, dict) else None
    if args.model is None and args.layers is None and isinstance(notes, dict) and isinstance(notes.get("model"), dict):
        args.model_document = notes["model"]
    if not isinstance(saved, dict):
        return
    for name in NETWORK_OPTIONS:
        value = saved.get(name)
        if getattr(args, name) is None and isinstance(value, str) and len(value) <= MAX_OPTION_LENGTH:
            setattr(args, name, weight_decay_rate(value) if name == "weight_decay" else value)


def _sizes(args: argparse.Namespace, table: Table, default: list[int]) -> list[int]:
    sizes = parse_layers(args.layers) if args.layers is not None else default
    inputs, outputs = table.X.shape[1], table.T.shape[1]
    if len(sizes) < 2 or sizes[0] != inputs or sizes[-1] != outputs:
        what = f"{outputs} classes" if table.is_classification else f"{outputs} targets"
        raise NetworkSpecError(
            f"--layers {args.layers} does not fit {args.dataset}: it has {inputs} inputs and {what}, so the "
            f"layers run from {inputs} to {outputs}, such as {inputs},{HIDDEN},{outputs}"
        )
    return sizes


def _describe_table(table: Table, notes: DataNotes | None) -> str:
    inputs = ", ".join(table.inputs[:8]) + (f", … ({len(table.inputs)})" if len(table.inputs) > 8 else "")
    scaled = " (standardised)" if notes is not None and notes.mean is not None else ""
    if table.is_classification:
        what = f"classes, in the order of the output units: {', '.join(table.classes)}"
    else:
        what = f"targets: {', '.join(table.targets)}"
    return escape(f"inputs: {inputs}{scaled}; {what}")


def train_file(args: argparse.Namespace, console: Console) -> int:
    """``symbackprop train FILE``."""
    eta = ETA if args.eta is None else args.eta
    epochs = EPOCHS if args.epochs is None else args.epochs
    batch = BATCH_SIZE if args.batch_size is None else args.batch_size
    check_settings(eta, epochs, batch, args.seed)
    optimizer = optimizer_from_args(args)
    if args.init is not None:
        raise DataError("--init is for registered data sets; a data file's network starts from random values")
    check_outputs(args)
    table = read_data_file(args.dataset, args.target, args.targets)
    training, held = split(table, args.test_fraction, args.seed) if args.test_fraction is not None else (table, None)
    scaler = Standardizer.fit(training.X) if args.standardize else None
    if scaler is not None:
        training.X = scaler.apply(training.X)
        if held is not None:
            held.X = scaler.apply(held.X)
    notes = DataNotes(table.inputs, table.targets, table.classes,
                      None if scaler is None else scaler.mean, None if scaler is None else scaler.scale,
                      _network_options(args))
    if args.model is not None:
        model = model_for(args, None)
        _model_fits(args, model, table)
        notes.model = args.model_document
    else:
        model = model_for(args, _sizes(args, table, [table.X.shape[1], HIDDEN, table.T.shape[1]]))
    _shaped(model, training)
    _shaped(model, held)
    console.print(
        f"[bold]{escape(args.dataset)}[/]: {len(training.X)} training examples"
        + (f", {len(held.X)} held out (seed {args.seed})" if held is not None else "")
        + f"; {_describe_table(table, notes)}"
    )
    console.print(
        f"{describe(model)} network, {args.path} path; {rule(optimizer, eta, args.lr_decay)}, "
        + ("full batch" if batch is None or batch >= len(training.X) else f"batches of {batch}")
        + f", {epochs} epochs, start: normal random (seed {args.seed})"
    )
    track = None
    if held is not None and args.plot:
        track = _held_out_figure(model, held)
    result = train(model, training.X, training.T, eta=eta, epochs=epochs, batch_size=batch, seed=args.seed,
                   progress=console.is_terminal, optimizer=optimizer, schedule=args.lr_decay, track=track)
    console.print(cost_table(result, every=1 if args.history else None))
    figures = _figures(console, model, result.params, training, held, result.final_cost)
    label = "held-out accuracy" if table.is_classification else "held-out cost C_T"
    return finish(args, console, model, result, eta, args.dataset, len(training.X),
                  0 if held is None else len(held.X), table.classes, figures, label, notes)


def _held_out_figure(model, held: Table):
    if held.is_classification:
        return lambda p: accuracy(model, p, held.X, held.labels)
    return lambda p: total_cost(model, p, held.X, held.T)


def _figures(console: Console, model, params, examples: Table, held: Table | None, cost: float | None = None) -> dict:
    """Print and return the cost and accuracy on the examples and on the held-out ones."""
    cost = total_cost(model, params, examples.X, examples.T) if cost is None else cost
    figures: dict = {"cost": cost, "accuracy": None, "held_out_accuracy": None, "held_out_cost": None}
    line = f"C_T = {cost!r} on the {len(examples.X)} examples"
    if examples.is_classification:
        figures["accuracy"] = accuracy(model, params, examples.X, examples.labels)
        line += f"; accuracy {figures['accuracy']:.2%}"
    console.print(line)
    if held is not None:
        figures["held_out_cost"] = total_cost(model, params, held.X, held.T)
        line = f"held out: C_T = {figures['held_out_cost']!r} on {len(held.X)} examples"
        if held.is_classification:
            figures["held_out_accuracy"] = accuracy(model, params, held.X, held.labels)
            right = round(figures["held_out_accuracy"] * len(held.X))
            line += f"; held-out accuracy {figures['held_out_accuracy']:.2%} ({right}/{len(held.X)})"
        console.print(line)
    return figures


def sizes_from_file(path: str) -> list[int]:
    """The widths of a fully connected network read from its parameter file's
    ``W^l`` (``W2``, ``W3``, … or the book's ``hidden_W``, ``output_W``)."""
    import numpy as np

    arrays, _ = read_param_file(path)
    named = {"hidden_W": "W2", "output_W": "W3", **{k: k for k in arrays}}
    shapes = {}
    for key, value in arrays.items():
        name = named.get(key, key)
        if name.startswith("W") and name[1:].isdigit():
            try:
                shapes[int(name[1:])] = np.asarray(value, dtype=float).shape
            except (TypeError, ValueError):
                shapes = {}
                break
    layers = sorted(shapes)
    if not layers or layers != list(range(2, 2 + len(layers))) or any(len(shapes[l]) != 2 for l in layers):
        raise NetworkSpecError(f"{path}: cannot tell the network's layers from the file; give --layers or --model")
    return [shapes[2][1]] + [shapes[l][0] for l in layers]


def evaluate_file(args: argparse.Namespace, console: Console) -> int:
    """``symbackprop evaluate FILE --params P``."""
    _saved_network_options(args)
    from_file = args.model is not None or getattr(args, "model_document", None) is not None
    sizes = None
    if not from_file:
        sizes = parse_layers(args.layers) if args.layers is not None else sizes_from_file(args.params)
    model = model_for(args, sizes)
    params = load_params(args.params, model)
    notes = load_notes(args.params, model)
    classes = None if notes is None else notes.classes
    if notes is not None and args.target is None and not args.targets and Path(args.dataset).suffix == ".csv":
        # The columns the network was trained on are in its notes.
        if classes is not None:
            args.target = notes.targets[0]
        else:
            args.targets = list(notes.targets)
    table = read_data_file(args.dataset, args.target, args.targets, classes=classes)
    if notes is not None and table.inputs != notes.inputs and Path(args.dataset).suffix == ".csv":
        raise DataError(
            f"{args.dataset}: the inputs are {', '.join(table.inputs)}, but {args.params} was trained on "
            f"{', '.join(notes.inputs)}; give a file with the same columns"
        )
    if from_file:
        _model_fits(args, model, table)
    else:
        _sizes(args, table, sizes)
    held = split(table, args.test_fraction, args.seed)[1] if args.test_fraction is not None else None
    if notes is not None and notes.mean is not None:
        scaler = Standardizer(notes.mean, notes.scale)
        table.X = scaler.apply(table.X)
        if held is not None:
            held.X = scaler.apply(held.X)
    _shaped(model, table)
    _shaped(model, held)
    console.print(f"[bold]{escape(args.dataset)}[/]: {len(table.X)} examples; {describe(model)} network; "
                  f"{_describe_table(table, notes)}")
    figures = _figures(console, model, params, table, held)
    if args.json:
        print_json({
            "command": "evaluate",
            "data": args.dataset,
            "network": describe(model),
            "examples": len(table.X),
            "held_out_examples": 0 if held is None else len(held.X),
            "classes": list(table.classes) if table.classes is not None else None,
            **figures,
        })
    return 0
