"""Chapter 5: the convolutional network, built from three kinds of layer on the same engine.

A convolution layer (filters ``w^{F_k}_{uv}``, biases ``b^F_k``), a pooling
layer (a symbolic ``Max`` per block, the book's, or the block's mean with
``pooling="average"``) and a fully connected output layer
(``w^O_{k,n,ij}``, ``b^O_n``) are :class:`~symbackprop.layers.protocol.Layer` s like the
dense layer: they state their local equations and nothing else, and
:func:`~symbackprop.engine.routes.delta_route` derives the book's unit errors from
them. The book's network is one line:

>>> net = ConvolutionalNetwork()
>>> net.parameter_count, net.describe()
(69, '6x6-input, 3-filter 3x3, 2x2-pool, 3-output convolutional')
>>> net.definition("z^F_111")
b^F_1 + w^F1_11*x_11 + w^F1_12*x_12 + w^F1_13*x_13 + w^F1_21*x_21 + w^F1_22*x_22 + w^F1_23*x_23 + w^F1_31*x_31 + w^F1_32*x_32 + w^F1_33*x_33
>>> net.definition("z^P_111")
Max(a^F_111, a^F_112, a^F_121, a^F_122)

Names (what :meth:`~symbackprop.engine.network.LayeredModel.symbol` accepts): the
input pixel ``x_{ij}`` is ``x_ij``; filter k's weight ``w^{F_k}_{uv}`` is
``w^Fk_uv`` (``w^{F_k}_{uv}`` is accepted too); ``b^F_k``; the feature map
``z^F_{k,ij}``, ``a^F_{k,ij}`` and its unit error ``δ^F_{k,ij}`` are
``z^F_kij``, ``a^F_kij``, ``delta^F_kij``; pooled values ``z^P_kij`` =
``a^P_kij``; output weights ``w^O_{k,n,ij}`` are ``w^O_knij``; then ``b^O_n``,
``z^O_n``, ``a^O_n``, ``delta^O_n`` and targets ``t_n``. An index of two
digits is written with commas, as elsewhere (``z^F_1,10,3``). With several
input channels the channel comes first: pixel ``x_{c,ij}`` is ``x_cij`` and
weight ``w^{F_k}_{c,uv}`` is ``w^Fk_cuv``; with ``input_errors=True`` the input
layer's units are ``z^I_cij`` = ``a^I_cij`` with unit errors ``delta^I_cij``.

The derivative of ``Max`` is the winner indicator of
:mod:`symbackprop.layers.pooling`; :mod:`symbackprop.proof.winners` proves
it, and :mod:`symbackprop.documents.cnn` writes the chapter as a document.
"""

from __future__ import annotations

import re

import sympy as sp

from ..errors import NetworkSpecError, echo
from ..functions.activations import Activation, get_activation
from ..functions.costs import Cost, get_cost, weight_decay_rate
from ..guards import check_model_terms, cnn_terms, is_count
from ..layers.convolution import Convolution, InputMaps, output_size
from ..layers.output import FullyConnectedOutput
from ..layers.pooling import pooling_kind, winner
from ..layers.protocol import book_symbol
from ..notation.latex import SYMBOL_LATEX
from ..notation.symbols import index_text
from .network import LayeredModel
from .routes import atomize, atomizer


def check_pair(value: object, what: str, low: int = 1) -> tuple[int, int]:
    """A size given as one whole number or as (rows, columns), as a pair, each at
    least ``low``; ``what`` names it in the message.

    >>> check_pair(3, "the filter size"), check_pair([2, 1], "the stride")
    ((3, 3), (2, 1))
    >>> check_pair((2, -1), "the padding", low=0)
    Traceback (most recent call last):
    ...
    symbackprop.errors.NetworkSpecError: the padding must be a whole number from 0 or a pair of them (rows, columns); got (2, -1)
    """
    pair = (value, value) if isinstance(value, int) else tuple(value) if isinstance(value, (tuple, list)) else ()
    if len(pair) != 2 or not all(is_count(v, low) for v in pair):
        kind = "positive integer" if low == 1 else "whole number from 0"
        raise NetworkSpecError(f"{what} must be a {kind} or a pair of them (rows, columns); got {echo(value)}")
    return int(pair[0]), int(pair[1])


# --- the network --------------------------------------------------------------

class ConvolutionalNetwork(LayeredModel):
    """Image → convolution (``filters`` of ``filter_size``) → pooling →
    ``outputs`` units. The defaults are the book's network (6×6 → 3 filters
    3×3 → 4×4 maps → 2×2 max pooling → 3 sigmoid outputs, squared error);
    ``pooling="average"`` pools by the block's mean instead. ``channels``,
    ``stride`` and ``padding`` extend the convolution (the map side is
    ``(n + 2p − f)/s + 1``, refused when ``s`` does not divide ``n + 2p − f``),
    and ``input_errors=True`` puts a layer of units in front so that the δ
    route derives ``∂C/∂x``. ``weight_decay`` is λ ≥ 0 of L2 weight decay, as
    in :class:`~symbackprop.engine.network.Network`: ``C`` gains ``(λ/2) Σ w²``
    over the filter weights ``w^{F_k}_{c,uv}`` and the output weights
    ``w^O_{k,n,ij}`` (not the biases), so each of their gradients gains ``λ w``.

    >>> ConvolutionalNetwork((3, 3), 1, 3, pool=1, outputs=1, weight_decay="1/10").cost_expression
    w^F1_11**2/20 + w^F1_12**2/20 + w^F1_13**2/20 + w^F1_21**2/20 + w^F1_22**2/20 + w^F1_23**2/20 + w^F1_31**2/20 + w^F1_32**2/20 + w^F1_33**2/20 + w^O_1111**2/20 + (-a^O_1 + t_1)**2/2
    >>> ConvolutionalNetwork((8, 8), 4, 3, pool=3, outputs=2).parameter_count
    74
    >>> ConvolutionalNetwork(pooling="average").definition("z^P_111")
    a^F_111/4 + a^F_112/4 + a^F_121/4 + a^F_122/4
    >>> ConvolutionalNetwork((4, 4), 1, 2, pool=3, outputs=1, channels=2, stride=2, padding=1).definition("z^F_111")
    b^F_1 + w^F1_122*x_111 + w^F1_222*x_211
    >>> ConvolutionalNetwork((6, 6), 3, (7, 3))
    Traceback (most recent call last):
    ...
    symbackprop.errors.NetworkSpecError: a 7x3 filter does not fit in a 6x6 image; use a filter no larger than the input
    >>> ConvolutionalNetwork((4096, 4096))
    Traceback (most recent call last):
    ...
    symbackprop.errors.SizeLimitError: a CNN with a 4096x4096 image, 3 filters and 3 outputs has 670,449,826 terms in its equations; the engine builds at most 100,000 (about 6 s on 2 cores, and the δ route as long again): choose a smaller image or fewer filters or outputs (the book's 6x6, 3 filters, 3 outputs has 666 terms)
    """

    def __init__(
        self,
        image: int | tuple[int, int] = (6, 6),
        filters: int = 3,
        filter_size: int | tuple[int, int] = (3, 3),
        pool: int | tuple[int, int] = (2, 2),
        outputs: int = 3,
        activation: str | Activation = "sigmoid",
        cost: str | Cost = "squared",
        pooling: str = "max",
        *,
        channels: int = 1,
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        input_errors: bool = False,
        weight_decay: object = 0,
    ) -> None:
        pooling_layer = pooling_kind(pooling)
        self.weight_decay = weight_decay_rate(weight_decay)
        self.image_shape = check_pair(image, "the image size")
        self.filter_size = check_pair(filter_size, "the filter size")
        self.pool = check_pair(pool, "the pooling block")
        self.stride = check_pair(stride, "the stride")
        self.padding = check_pair(padding, "the padding", low=0)
        for value, what in ((filters, "filters"), (outputs, "outputs"), (channels, "channels")):
            if not is_count(value):
                raise NetworkSpecError(f"the number of {what} must be a positive integer; got {echo(value)}")
        if not isinstance(input_errors, bool):
            raise NetworkSpecError(f"input_errors is True or False; got {echo(input_errors)}")
        self.filters, self.outputs, self.channels = filters, outputs, channels
        for n, f, st, pad, what in zip(self.image_shape, self.filter_size, self.stride, self.padding, ("row", "column")):
            if pad or f <= n:  # a filter larger than an unpadded image: the layer says so
                output_size(n, f, st, pad, what)
        # Refused before any symbol exists: building is what takes the time and memory.
        check_model_terms(
            "a CNN with a {}x{} image, {} filters and {} outputs".format(*self.image_shape, filters, outputs),
            cnn_terms(self.image_shape, filters, self.filter_size, self.pool, outputs,
                      channels=channels, stride=self.stride, padding=self.padding, input_layer=input_errors),
            "choose a smaller image or fewer filters or outputs (the book's 6x6, 3 filters, 3 outputs has 666 terms)",
        )
        self.activation = get_activation(activation)
        self.cost = get_cost(cost)
        #: maps[c][i][j]: the input image, one map per channel
        self.maps = [self.pixels(self.image_shape, c + 1 if channels > 1 else None) for c in range(channels)]
        self.image = self.maps[0]
        self.inputs = tuple(s for m in self.maps for row in m for s in row)
        self.targets = tuple(sp.Symbol(f"t_{n}") for n in range(1, outputs + 1))
        first = [InputMaps(1, self.maps)] if input_errors else []
        conv = Convolution(2, first[0].a if first else self.maps, filters, self.filter_size, self.activation,
                           self.stride, self.padding)
        pooling = pooling_layer(3, conv.a, self.pool)
        out = FullyConnectedOutput(4, pooling.a, outputs, self.activation)
        for n in range(1, outputs + 1):
            book_symbol("delta", "O", (n,))
        self.convolution, self.pooling, self.output = conv, pooling, out
        self.input_maps = first[0] if first else None
        self.layers = (*first, conv, pooling, out)
        self._finish()

    @staticmethod
    def pixels(shape: tuple[int, int], channel: int | None = None) -> list[list[sp.Symbol]]:
        """The input image ``x_{ij}`` as rows of symbols, or channel ``c`` of it, ``x_{c,ij}``.

        >>> ConvolutionalNetwork.pixels((2, 2))
        [[x_11, x_12], [x_21, x_22]]
        >>> ConvolutionalNetwork.pixels((1, 2), channel=2)
        [[x_211, x_212]]
        """
        def pixel(i: int, j: int) -> sp.Symbol:
            if channel is None:
                return sp.Symbol(f"x_{index_text((i, j))}")
            symbol = sp.Symbol(f"x_{index_text((channel, i, j))}")
            SYMBOL_LATEX[symbol.name] = f"x_{{{channel},{index_text((i, j))}}}"
            return symbol

        return [[pixel(i, j) for j in range(1, shape[1] + 1)] for i in range(1, shape[0] + 1)]

    def find_symbol(self, name: str | sp.Symbol) -> sp.Symbol | None:
        """Also accepts the LaTeX spelling ``w^{F_1}_{12}``.

        >>> ConvolutionalNetwork().symbol("w^{F_2}_{13}")
        w^F2_13
        """
        if isinstance(name, str):
            name = re.sub(r"\^\{?([FPO])_?\{?(\d*)\}?\}?_", r"^\1\2_", name.strip())
        return super().find_symbol(name)

    def describe(self) -> str:
        """E.g. ``6x6-input, 3-filter 3x3, 2x2-pool, 3-output convolutional``; channels,
        stride and padding are named when they are not the book's.

        >>> ConvolutionalNetwork((5, 5), 2, 3, pool=1, outputs=1, channels=2, stride=2, padding=1).describe()
        '2-channel 5x5-input, 2-filter 3x3 stride 2 padding 1, 1x1-pool, 1-output convolutional'
        """
        # Compound adjectives, like "12-3-2": messages go on "… network".
        (h, w), (fh, fw), (ph, pw) = self.image_shape, self.filter_size, self.pool
        # the book's max pooling, one channel, stride 1 and no padding go unnamed, as they always have
        kind = "" if self.pooling.kind == "max" else f" {self.pooling.kind}"
        channels = "" if self.channels == 1 else f"{self.channels}-channel "
        moves = "".join(
            f" {name} {a if a == b else f'{a}x{b}'}"
            for name, (a, b), book in (("stride", self.stride, (1, 1)), ("padding", self.padding, (0, 0)))
            if (a, b) != book
        )
        return (
            f"{channels}{h}x{w}-input, {self.filters}-filter {fh}x{fw}{moves}, {ph}x{pw}{kind}-pool, "
            f"{self.outputs}-output convolutional"
        )

    def naming_hint(self) -> str:
        return (
            ("filter weights are w^Fk_uv (e.g. w^F1_12)" if self.channels == 1
             else "filter weights are w^Fk_cuv (e.g. w^F1_212: filter 1, channel 2)")
            + ", filter biases b^F_k, feature maps z^F_kij, "
            "pooled values z^P_kij, output weights w^O_knij, output biases b^O_n"
        )

    def __repr__(self) -> str:
        decay = f", weight_decay={self.weight_decay}" if self.weight_decay != 0 else ""
        return (f"ConvolutionalNetwork({self.describe()}, activation={self.activation.name}, "
                f"cost={self.cost.name}{decay})")


def cnn_from_spec(
    spec: str, activation: str | Activation = "sigmoid", cost: str | Cost = "squared", pooling: str = "max",
    *, channels: int = 1, stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] = 0,
    weight_decay: object = 0,
):
    """A CNN from ``image,filters,filter,pool,outputs`` text (sizes as ``6x6`` or ``6``),
    pooling by ``pooling`` (``max`` or ``average``), reading ``channels`` maps
    with its filters moved by ``stride`` over ``padding`` rings of zeros, its
    weights decayed at the rate ``weight_decay``.

    >>> cnn_from_spec("5x5,2,3x3,3x3,1", channels=2, stride=2, padding=1).describe()
    '2-channel 5x5-input, 2-filter 3x3 stride 2 padding 1, 3x3-pool, 1-output convolutional'

    >>> cnn_from_spec("6x6,3,3x3,2x2,3").parameter_count
    69
    >>> cnn_from_spec("4x4,1,3x3,2x2,1", pooling="average").describe()
    '4x4-input, 1-filter 3x3, 2x2 average-pool, 1-output convolutional'
    >>> cnn_from_spec("6x6,3,3x3")
    Traceback (most recent call last):
    ...
    symbackprop.errors.NetworkSpecError: a CNN is given as image,filters,filter,pool,outputs such as 6x6,3,3x3,2x2,3; got '6x6,3,3x3'
    """
    parts = [p.strip() for p in spec.split(",")]
    wrong = NetworkSpecError(
        f"a CNN is given as image,filters,filter,pool,outputs such as 6x6,3,3x3,2x2,3; got {echo(spec)}"
    )
    if len(parts) != 5:
        raise wrong
    try:
        # "6" means 6x6; check_pair checks the values
        image, filter_size, pool = (
            tuple(_digits(v) for v in parts[i].lower().split("x")) for i in (0, 2, 3)
        )
        filters, outputs = _digits(parts[1]), _digits(parts[4])
    except ValueError:  # text that is not a whole number written in ASCII digits
        raise wrong from None
    image, filter_size, pool = (t[0] if len(t) == 1 else t for t in (image, filter_size, pool))
    return ConvolutionalNetwork(image, filters, filter_size, pool, outputs, activation, cost, pooling,
                                channels=channels, stride=stride, padding=padding, weight_decay=weight_decay)


def _digits(text: str) -> int:
    # int() would also take "٦", "+6" and "6_0": numbers are ASCII digits everywhere.
    if not (text.isascii() and text.isdigit()):
        raise ValueError(text)
    return int(text)


# --- the book's formulas, to compare the derived ones with --------------------------

def _activation_slope(model: ConvolutionalNetwork, z: sp.Symbol) -> sp.Expr:
    """``a'(z)`` written in layer quantities (``σ' = a(1 − a)``) as the route writes it."""
    return atomize(model.activation.derivative(z), atomizer(model))


def book_unit_errors(model: ConvolutionalNetwork) -> dict[sp.Symbol, sp.Expr]:
    """The book's unit errors, typed from chapter 5:
    ``δ^O_n = ∂C/∂a^O_n · a'(z^O_n)`` and
    ``δ^F_{k,ij} = (Σ_n δ^O_n w^O_{k,n,i'j'}) [a^F_{k,ij} wins its block] a'(z^F_{k,ij})``;
    with average pooling every input of a block takes an equal share of its error,
    ``δ^F_{k,ij} = (1/(ph·pw)) (Σ_n δ^O_n w^O_{k,n,i'j'}) a'(z^F_{k,ij})``.

    >>> net = ConvolutionalNetwork((3, 3), 1, (2, 2), pool=(2, 2), outputs=1)
    >>> book_unit_errors(net)[net.symbol("delta^F_112")]
    a^F_112*delta^O_1*w^O_1111*(1 - a^F_112)*winner(2, a^F_111, a^F_112, a^F_121, a^F_122)
    >>> net = ConvolutionalNetwork((3, 3), 1, (2, 2), pool=(2, 2), outputs=1, pooling="average")
    >>> book_unit_errors(net)[net.symbol("delta^F_112")]
    a^F_112*delta^O_1*w^O_1111*(1 - a^F_112)/4
    """
    out, conv, pool = model.output, model.convolution, model.pooling
    reverse = atomizer(model)
    deltas: dict[sp.Symbol, sp.Expr] = {}
    delta_O = [sp.Symbol("delta" + z.name[1:]) for z in out.z]
    for n, z in enumerate(out.z):
        dC_da = atomize(sp.diff(model.cost_expression, out.a[n]), reverse)
        deltas[delta_O[n]] = dC_da * _activation_slope(model, z)
    ph, pw = model.pool
    for k, zmap in enumerate(conv.z):
        for i, row in enumerate(zmap):
            for j, z in enumerate(row):
                ip, jp = i // ph, j // pw
                m = (i % ph) * pw + (j % pw) + 1
                back = sp.Add(*(delta_O[n] * out.w[n][k][ip][jp] for n in range(len(out.z))))
                if pool.kind == "average":
                    share = sp.Rational(1, ph * pw)
                else:
                    share = winner(m, *pool.blocks[k][ip][jp])
                deltas[sp.Symbol("delta" + z.name[1:])] = back * share * _activation_slope(model, z)
    return deltas


def book_gradients(model: ConvolutionalNetwork) -> dict[sp.Symbol, sp.Expr]:
    """The book's gradients, with channels, stride and padding:
    ``∂C/∂w^{F_k}_{c,uv} = Σ_{ij} δ^F_{k,ij} x_{c, s(i−1)+u−p, s(j−1)+v−p}`` (the
    input correlated with the δ map; a padded position is 0),
    ``∂C/∂b^F_k = Σ_{ij} δ^F_{k,ij}``, ``∂C/∂w^O_{k,n,ij} = δ^O_n a^P_{k,ij}``,
    ``∂C/∂b^O_n = δ^O_n``; with weight decay each weight's gradient gains ``λ w``.

    >>> net = ConvolutionalNetwork((3, 3), 1, (2, 2), pool=(2, 2), outputs=1)
    >>> book_gradients(net)[net.symbol("w^F1_21")]
    delta^F_111*x_21 + delta^F_112*x_22 + delta^F_121*x_31 + delta^F_122*x_32
    >>> net = ConvolutionalNetwork((4, 4), 1, (2, 2), pool=(1, 1), outputs=1, stride=2, padding=1)
    >>> book_gradients(net)[net.symbol("w^F1_21")]
    delta^F_112*x_12 + delta^F_113*x_14 + delta^F_122*x_32 + delta^F_123*x_34
    >>> net = ConvolutionalNetwork((2, 2), 1, (2, 2), pool=(1, 1), outputs=1, weight_decay=sp.Symbol("lambda"))
    >>> book_gradients(net)[net.symbol("w^O_1111")]
    a^P_111*delta^O_1 + lambda*w^O_1111
    """
    conv, out = model.convolution, model.output
    rows, cols = conv.map_shape
    (sh, sw), (ph, pw), (H, W) = model.stride, model.padding, model.image_shape
    grads: dict[sp.Symbol, sp.Expr] = {}
    deltas_F = [[[sp.Symbol("delta" + z.name[1:]) for z in row] for row in zmap] for zmap in conv.z]
    for k, filt in enumerate(conv.w):
        for c, channel in enumerate(filt):
            for u, wrow in enumerate(channel):
                for v, w in enumerate(wrow):
                    grads[w] = sp.Add(*(
                        deltas_F[k][i][j] * model.maps[c][sh * i + u - ph][sw * j + v - pw]
                        for i in range(rows) for j in range(cols)
                        if 0 <= sh * i + u - ph < H and 0 <= sw * j + v - pw < W
                    )) + model.weight_decay * w
        grads[conv.b[k]] = sp.Add(*(d for row in deltas_F[k] for d in row))
    for n, wn in enumerate(out.w):
        delta = sp.Symbol("delta" + out.z[n].name[1:])
        for k, wk in enumerate(wn):
            for i, wrow in enumerate(wk):
                for j, w in enumerate(wrow):
                    grads[w] = delta * model.pooling.a[k][i][j] + model.weight_decay * w
        grads[out.b[n]] = delta
    return grads
