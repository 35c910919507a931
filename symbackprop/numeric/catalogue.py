"""The data sets the ``train`` and ``evaluate`` commands know, each with its model.

Every one is a :class:`DatasetSpec` in :data:`DATASETS`: how to load it,
which model to build for it and how to train it by default. A new one is one
call to :func:`register`, as the chapter-5 ``cnn123`` is at the end of this
module. ``make_model(path)`` receives ``"array"`` or ``"scalar"`` (the
``--path`` option), and the keyword options named in ``model_options`` (such
as the CNN's ``pooling``, a dense network's ``output="softmax"`` or its
``weight_decay``), and returns any :class:`~symbackprop.numeric.trainable.Trainable`.

>>> spec = dataset_spec("cnn123")
>>> spec.eta, spec.epochs, spec.book_init
(0.2, 400, 'book_cnn_init.json')
>>> data = load_dataset("digits01")
>>> data.X.shape, data.T.shape, data.labels[:3].tolist(), data.classes
((64, 12), (64, 2), [0, 0, 0], (0, 1))
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..engine.batchnorm import BatchNormNetwork
from ..engine.cnn import ConvolutionalNetwork
from ..engine.model import Model
from ..engine.network import Network
from ..engine.recurrent import RecurrentNetwork
from ..errors import NetworkSpecError, UnknownNameError, echo
from .arrays import ArrayModel
from .batchnorm_arrays import BatchNormArrays
from .cnn_arrays import book_digits, cnn_model
from .datasets import Dataset, load_digits01, load_digits8x8
from .model_arrays import trainable_for
from .recurrent_arrays import sequence_model, sequence_sign
from .scalar import ScalarModel


@dataclass(frozen=True)
class DatasetSpec:
    """A data set the command line can train on, with its model and defaults."""

    name: str
    summary: str
    load: Callable[[], Dataset]
    make_model: Callable[[str], object]
    eta: float
    epochs: int
    batch_size: int | None = None
    book_init: str | None = None
    #: the keyword options make_model takes besides the path
    model_options: tuple[str, ...] = ()

    def model(self, path: str, **options: object) -> object:
        """``make_model(path, …)`` with the options given (None: not given), refusing
        one that this data set's model does not take.

        >>> dataset_spec("cnn123").model("array", pooling="average").describe()
        '6x6-input, 3-filter 3x3, 2x2 average-pool, 3-output convolutional'
        >>> dataset_spec("digits01").model("array", pooling="average")
        Traceback (most recent call last):
        ...
        symbackprop.errors.NetworkSpecError: the digits01 model has no pooling option; it is an option of cnn123
        """
        given = {name: value for name, value in options.items() if value is not None}
        for name in given:
            if name not in self.model_options:
                takers = [s.name for s in DATASETS.values() if name in s.model_options]
                raise NetworkSpecError(
                    f"the {self.name} model has no {name} option; "
                    + (f"it is an option of {', '.join(takers)}" if takers else "no data set's model has it")
                )
        return self.make_model(path, **given)


DATASETS: dict[str, DatasetSpec] = {}


def register(spec: DatasetSpec) -> None:
    """Make a data set known to ``symbackprop train`` and ``evaluate``.

    >>> spec = dataset_spec("digits01")
    >>> register(spec)  # registering again under the same name replaces it
    >>> dataset_spec("digits01") is spec
    True
    """
    DATASETS[spec.name] = spec


def dataset_spec(name: str) -> DatasetSpec:
    """The registered data set called ``name``.

    >>> dataset_spec("digits01").eta
    0.2
    >>> dataset_spec("mnist")
    Traceback (most recent call last):
    ...
    symbackprop.errors.UnknownNameError: unknown data set 'mnist'; known: cnn123, digits01, digits8x8, sequence-sign
    """
    if not isinstance(name, str) or name not in DATASETS:
        raise UnknownNameError(f"unknown data set {echo(name)}; known: {', '.join(sorted(DATASETS))}")
    return DATASETS[name]


def load_dataset(name: str) -> Dataset:
    """Load a registered data set by name.

    >>> load_dataset("digits01").X.shape
    (64, 12)
    """
    return dataset_spec(name).load()


def dense_model(sizes: Sequence[int], activation: str = "sigmoid", cost: str = "squared", init: str = "book"):
    """A model factory for a fully connected network on either path; with the
    option ``output="softmax"``, a softmax output layer and the categorical
    cross-entropy; with ``model``, a :class:`~symbackprop.engine.model.Model`
    (from a model file) whose inputs and outputs fit the data set.

    >>> dense_model([2, 1])("scalar").describe()
    '2-1'
    >>> dense_model([2, 1])("array", weight_decay="1/100").network.weight_decay
    1/100
    >>> dense_model([2, 2])("scalar", output="softmax").network
    Network(2-2, activation=softmax, cost=categorical-cross-entropy)
    >>> from symbackprop.engine.model import Model
    >>> dense_model([2, 2])("array", model=Model(3, [{"kind": "dense", "width": 2}]))
    Traceback (most recent call last):
    ...
    symbackprop.errors.NetworkSpecError: the model 3-2 reads 3 inputs and has 2 outputs; this data set has 2 inputs and 2 classes
    """

    def make(path: str, output: str | None = None, weight_decay: object = 0, batch_norm: bool = False,
             model: Model | BatchNormNetwork | None = None):
        if batch_norm:
            return batch_norm_model(sizes, activation, cost, path, output, weight_decay)
        if model is not None:
            if not isinstance(model, (Model, BatchNormNetwork)):
                raise NetworkSpecError(f"the {model.describe()} network reads images or sequences; this data set "
                                       "gives each example as one row of inputs")
            if (model.sizes[0], model.sizes[-1]) != (sizes[0], sizes[-1]):
                raise NetworkSpecError(
                    f"the model {model.describe()} reads {model.sizes[0]} inputs and has {model.sizes[-1]} outputs; "
                    f"this data set has {sizes[0]} inputs and {sizes[-1]} classes"
                )
            if isinstance(model, BatchNormNetwork):
                return trainable_for(model, path)
            network = model
        else:
            network = Network(list(sizes), activation, "categorical-cross-entropy" if output else cost,
                              weight_decay=weight_decay, output=output)
        if path == "array":
            return ArrayModel(network, init=init)
        if path == "scalar":
            return ScalarModel(network, init=init)
        raise UnknownNameError(f"unknown path {path!r}; use array or scalar")

    return make


def batch_norm_model(sizes: Sequence[int], activation: str, cost: str, path: str, output, weight_decay):
    """The dense network with every hidden layer batch-normalised (array path only).

    >>> batch_norm_model([4, 3, 2], "sigmoid", "squared", "array", None, 0).describe()
    '4-3-2 batch-normalised'
    """
    if path != "array" or output is not None or weight_decay:
        raise NetworkSpecError("--batch-norm trains on the array path, without --output softmax or --weight-decay")
    return BatchNormArrays(list(sizes), activation, cost=cost)


register(DatasetSpec(
    "digits01", "the book's 64 images of 0 and 1 in 4×3 pixels; the 12-3-2 network",
    load_digits01, dense_model([12, 3, 2]), eta=0.2, epochs=50, book_init="book_nn_4_4_init.json",
    model_options=("output", "weight_decay", "batch_norm", "model"),
))
register(DatasetSpec(
    "digits8x8", "scikit-learn's 1,797 handwritten digits in 8×8 pixels; a 64-32-10 network",
    load_digits8x8, dense_model([64, 32, 10], init="fan-in"), eta=0.5, epochs=60, batch_size=16,
    model_options=("output", "weight_decay", "batch_norm", "model"),
))


def file_model(kind: type, default: Callable[..., object], fits: Callable[[object], bool], shape: str):
    """A model factory that builds ``default(path, …)``, or with the option
    ``model`` the network of a model file: a ``kind`` that ``fits`` the data
    set (``shape`` says what fits).

    >>> make = file_model(ConvolutionalNetwork, cnn_model, lambda net: net.outputs == 3, "3 outputs")
    >>> make("array", model=ConvolutionalNetwork(outputs=2))
    Traceback (most recent call last):
    ...
    symbackprop.errors.NetworkSpecError: the model file's 6x6-input, 3-filter 3x3, 2x2-pool, 2-output convolutional network does not fit this data set: it needs 3 outputs
    """

    def make(path: str, model: object = None, **options: object):
        if model is None:
            return default(path, **options)
        if options:
            raise NetworkSpecError(f"--model describes the whole network; leave out --{next(iter(options))}")
        if not isinstance(model, kind) or not fits(model):
            raise NetworkSpecError(f"the model file's {model.describe()} network does not fit this data set: "
                                   f"it needs {shape}")
        return trainable_for(model, path)

    return make


register(DatasetSpec(
    "cnn123", "the book's 96 images of 1, 2 and 3 in 6×6 pixels; the chapter-5 CNN (3 filters 3×3, 2×2 max pooling, "
    "or average pooling with --pooling average; --stride and --padding move its filters)",
    book_digits,
    file_model(ConvolutionalNetwork, cnn_model,
               lambda net: (net.image_shape, net.channels, net.outputs) == ((6, 6), 1, 3),
               "a convolutional network reading 6x6 images of 1 channel, with 3 outputs"),
    eta=0.2, epochs=400, book_init="book_cnn_init.json",
    model_options=("pooling", "stride", "padding", "weight_decay", "model"),
))
register(DatasetSpec(
    "sequence-sign", "1,400 random sequences of 5 numbers in [-1, 1], labelled by the sign of their sum; a "
    "recurrent network of 4 tanh units with 2 sigmoid outputs on the last state",
    sequence_sign,
    file_model(RecurrentNetwork, sequence_model,
               lambda net: (net.steps, len(net.recurrent.x[0]), net.outputs, net.every_step) == (5, 1, 2, False),
               "a recurrent network of 5 steps of 1 input, with 2 outputs on the last step"),
    eta=0.02, epochs=100, batch_size=20, model_options=("model",),
))
