"""``--recurrent T`` and ``--batch-norm m``: the options of ``derive`` and ``verify`` that
build a recurrent network or a batch-normalised one from ``--layers``, ``--activation``
and ``--cost`` instead of a plain network."""

from __future__ import annotations

import argparse

from ..engine.batchnorm import BatchNormNetwork, norm_epsilon
from ..engine.network import LayeredModel
from ..engine.recurrent import RecurrentNetwork
from ..errors import NetworkSpecError
from .options import activation_from_args, parse_layers, whole_number


def add_sequence_options(parser: argparse.ArgumentParser) -> None:
    """``--recurrent T``, ``--every-step``, ``--batch-norm m`` and ``--epsilon ε``.

    >>> p = argparse.ArgumentParser()
    >>> add_sequence_options(p)
    >>> p.parse_args(["--recurrent", "3", "--every-step"]).recurrent
    3
    """
    parser.add_argument("--recurrent", type=whole_number, metavar="T",
                        help="a recurrent layer unrolled over T steps instead of a plain network: --layers gives "
                        "inputs per step, recurrent units, outputs (e.g. 1,2,1); --activation one name, or two "
                        "separated by ';' (recurrent; output)")
    parser.add_argument("--every-step", action="store_true",
                        help="with --recurrent: an output at every step, the cost summed over the steps "
                        "(many-to-many; default: one output on the last state)")
    parser.add_argument("--batch-norm", type=whole_number, metavar="m",
                        help="batch-normalise every hidden layer over a batch of m ≥ 2 examples (training "
                        "mode); --layers as for a plain network, --activation one, or two separated by ';' "
                        "(hidden; output)")
    parser.add_argument("--epsilon", metavar="ε", help="with --batch-norm: ε > 0 of √(σ² + ε) (default 1e-5)")


def sequence_model_from_args(args: argparse.Namespace, default_layers: str) -> LayeredModel | None:
    """The recurrent or batch-normalised model the options ask for, or None (a plain network).

    >>> args = argparse.Namespace(recurrent=3, every_step=False, batch_norm=None, epsilon=None, layers="1,2,1",
    ...                           activation="generic", cost="squared", output=None, weight_decay=None)
    >>> sequence_model_from_args(args, "2,2,1").describe()
    'T=3, 1-input, 2-unit recurrent, 1-output many-to-one'
    >>> args.batch_norm = 2
    >>> sequence_model_from_args(args, "2,2,1")
    Traceback (most recent call last):
    ...
    symbackprop.errors.NetworkSpecError: --recurrent and --batch-norm build two different models; give one of them
    """
    recurrent, batch = getattr(args, "recurrent", None), getattr(args, "batch_norm", None)
    if recurrent is None and batch is None:
        for flag, value in (("--every-step", getattr(args, "every_step", False)),
                            ("--epsilon", getattr(args, "epsilon", None))):
            if value:
                raise NetworkSpecError(f"{flag} is an option of --recurrent or --batch-norm")
        return None
    if recurrent is not None and batch is not None:
        raise NetworkSpecError("--recurrent and --batch-norm build two different models; give one of them")
    if getattr(args, "model", None) is not None:
        raise NetworkSpecError(
            f"--model and {'--recurrent' if batch is None else '--batch-norm'} describe two different networks; "
            "give one of them"
        )
    for flag, value in (("--output softmax", getattr(args, "output", None)),
                        ("--weight-decay", getattr(args, "weight_decay", None))):
        if value is not None:
            raise NetworkSpecError(f"{flag} applies to plain networks, not to --recurrent or --batch-norm")
    sizes = parse_layers(default_layers if args.layers is None else args.layers)
    activation = activation_from_args(args)
    if not isinstance(activation, str) and len(activation) > 2:
        raise NetworkSpecError(f"give one activation, or two separated by ';'; got {len(activation)}")
    hidden, output = (activation, activation) if isinstance(activation, str) else activation
    if recurrent is not None:
        if args.epsilon is not None:
            raise NetworkSpecError("--epsilon is an option of --batch-norm")
        if len(sizes) != 3:
            raise NetworkSpecError(f"with --recurrent, --layers is inputs,units,outputs such as 1,2,1; got {args.layers}")
        return RecurrentNetwork(recurrent, *sizes, activation=hidden, output_activation=output,
                                cost=args.cost, every_step=args.every_step)
    if args.every_step:
        raise NetworkSpecError("--every-step is an option of --recurrent")
    epsilon = norm_epsilon(args.epsilon) if args.epsilon is not None else None
    return BatchNormNetwork(sizes, batch, hidden, output, args.cost,
                            **({} if epsilon is None else {"epsilon": epsilon}))
