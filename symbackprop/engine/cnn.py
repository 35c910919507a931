"""Chapter 5: the convolutional network as three new layer types on the same engine.

A convolution layer (filters ``w^{F_k}_{uv}``, biases ``b^F_k``), a max-pooling
layer (a symbolic ``Max`` per block) and a fully connected output layer
(``w^O_{k,n,ij}``, ``b^O_n``) are :class:`~symbackprop.layers.protocol.Layer` s like the
dense layer: they state their local equations and nothing else, and
:func:`~symbackprop.engine.routes.delta_route` derives the book's unit errors from
them. The book's network is one line:

>>> net = ConvolutionalNetwork()
>>> net.parameter_count, net.describe()
(69, 'CNN 6x6, 3 filters 3x3, pool 2x2, 3 outputs')
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
digits is written with commas, as elsewhere (``z^F_1,10,3``).

**Max and its derivative.** ``∂ max(x_1…x_n)/∂x_m`` is the indicator
:class:`winner` ``[x_m is the block's maximum]``. At a tie the *first*
maximal input in row-major order wins (1) and the others get 0, so the
indicators of a block always sum to 1 (a valid subgradient) — the convention
of ``numpy.argmax`` and of the compiled code in :mod:`symbackprop.numeric.cnn_arrays`.
SymPy's own ``Max.diff`` (Heaviside products, ``H(0) = 1/2``) would give
every tied input ½, which sums to 3/2 at a triple tie; hence :class:`PoolMax`.

**Proofs.** :func:`~symbackprop.proof.verify.verify` with ``exact=True`` proves the
δ route equal to the direct gradient with every function value — ``a(z)``,
``a'(z)`` and each :class:`winner` indicator — as an independent atom, so the
identity holds for every pattern of winners (ties included, since both
routes use the same indicator). That the indicator *is* the derivative of
``Max`` is proved by :func:`prove_with_winners`: with the winners fixed,
``Max`` becomes its chosen input and the network is smooth; its plain
derivative must equal both routes.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence

import sympy as sp

from ..documents.derivation import Derivation, Step
from ..errors import NetworkSpecError
from ..functions.activations import Activation, get_activation
from ..functions.costs import Cost, get_cost
from ..guards import check_model_terms, cnn_terms
from ..layers.protocol import Layer, index_text, quantity
from ..notation.latex import SYMBOL_LATEX
from .network import LayeredModel, replace_quantities
from .routes import COST, Partial, _atomize, _atomizer, delta_route, direct_route

__all__ = [
    "Convolution",
    "ConvolutionalNetwork",
    "Correlation",
    "FullyConnectedOutput",
    "all_winner_choices",
    "MaxPooling",
    "PoolMax",
    "book_gradients",
    "cnn_from_spec",
    "book_unit_errors",
    "documents",
    "prove_with_winners",
    "winner",
]


def _book_symbol(kind: str, sup: str, *groups: Sequence[int]) -> sp.Symbol:
    """A quantity named like :func:`~symbackprop.layers.protocol.quantity`, with its book
    LaTeX (index groups separated by commas) registered for the printer."""
    indices = [i for group in groups for i in group]
    symbol = quantity(kind, sup, *indices)
    head = r"\delta" if kind == "delta" else kind
    sup_tex = re.sub(r"^([A-Z])(\d+)$", r"\1_{\2}", sup)
    SYMBOL_LATEX[symbol.name] = "%s^{%s}_{%s}" % (
        head, sup_tex, ",".join(index_text(g) for g in groups)
    )
    return symbol


# --- Max, honestly -------------------------------------------------------------

class winner(sp.Function):
    """``[x_m is the maximum of x_1…x_n]``: 1 for the first maximal input in the
    given order, 0 otherwise; written ``winner(m, x_1, …, x_n)``.

    It is piecewise constant, so its own derivative is 0 (away from ties).

    >>> winner(2, 3, 5, 5), winner(3, 3, 5, 5), winner(1, 3, 5, 5)
    (1, 0, 0)
    """

    @classmethod
    def eval(cls, m, *args):
        if args and all(a.is_number and a.is_comparable for a in args):
            best = max(range(len(args)), key=lambda j: (args[j], -j))
            return sp.S.One if best == int(m) - 1 else sp.S.Zero
        return None

    def fdiff(self, argindex=1):
        return sp.S.Zero

    def _conditions(self, printer) -> list[str]:
        m = int(self.args[0])
        xs = [printer._print(a) for a in self.args[1:]]
        # earlier inputs must be beaten strictly, later ones only matched: the first maximum wins
        return [
            f"({xs[m - 1]} {'>' if j < m - 1 else '>='} {x})"
            for j, x in enumerate(xs)
            if j != m - 1
        ] or ["True"]

    def _numpycode(self, printer) -> str:
        where = printer._module_format("numpy.where")
        return f"{where}({' & '.join(self._conditions(printer))}, 1.0, 0.0)"

    def _mpmathcode(self, printer) -> str:
        return f"(1 if ({' and '.join(self._conditions(printer))}) else 0)"

    _pythoncode = _mpmathcode

    def _latex(self, printer) -> str:
        # Not [x_m = max(…)]: that bracket is 1 for every tied input.
        return r"\left[\operatorname{winner}\left(%s\right) = %s\right]" % (
            ", ".join(printer._print(x) for x in self.args[1:]),
            printer._print(self.args[0]),
        )

    def definition(self) -> sp.Piecewise:
        """The first maximal input's position, as cases: the tie rule written out.

        >>> x = sp.symbols("x1:4")
        >>> winner(1, *x).definition().subs({x[0]: 2, x[1]: 2, x[2]: 1})
        1
        """
        xs = self.args[1:]
        cases = []
        for m, x in enumerate(xs, start=1):
            beats = [x > y for y in xs[: m - 1]] + [x >= y for y in xs[m:]]
            cases.append((m, sp.And(*beats) if m < len(xs) else True))
        return sp.Piecewise(*cases)


class PoolMax(sp.Max):
    """SymPy's ``Max`` over one pooling block, its inputs kept in row-major order,
    whose derivative by the m-th input is :class:`winner` ``(m, …)``.

    >>> x = sp.symbols("x1:5")
    >>> m = PoolMax(*x)
    >>> m.diff(x[1])
    winner(2, x1, x2, x3, x4)
    >>> m.xreplace(dict(zip(x, [1, 4, 4, 2])))
    4
    """

    def __new__(cls, *args, evaluate: bool = True):
        args = tuple(sp.sympify(a, strict=True) for a in args)
        if len(args) == 1:
            return args[0]
        if evaluate and all(a.is_number and a.is_comparable for a in args):
            return sp.Max(*args)
        obj = sp.Expr.__new__(cls, *args)
        obj._argset = frozenset(args)
        return obj

    def fdiff(self, argindex=1):
        return winner(argindex, *self.args)

    def _sympystr(self, printer) -> str:
        return "Max(%s)" % ", ".join(printer._print(a) for a in self.args)

    def _latex(self, printer) -> str:
        return r"\max\left(%s\right)" % ", ".join(printer._print(a) for a in self.args)

    def _mpmathcode(self, printer) -> str:
        return "max(%s)" % ", ".join(printer._print(a) for a in self.args)

    _pythoncode = _mpmathcode


# --- the three layers -------------------------------------------------------------

def _pair(value, what: str) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, int) else tuple(value) if isinstance(value, (tuple, list)) else ()
    if len(pair) != 2 or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in pair):
        raise NetworkSpecError(f"{what} must be a positive integer or a pair of them (rows, columns); got {value!r}")
    return pair


class Convolution(Layer):
    """Filters ``w^{F_k}`` slid over the image without flipping (correlation,
    stride 1, "valid" size): ``z^F_{k,ij} = Σ_{u,v} w^{F_k}_{uv} x_{i+u−1,j+v−1} + b^F_k``,
    ``a^F_{k,ij} = a(z^F_{k,ij})``.

    >>> layer = Convolution(2, ConvolutionalNetwork.pixels((3, 3)), 1, (2, 2), get_activation("generic"))
    >>> layer.equations[layer.z[0][1][1]]
    b^F_1 + w^F1_11*x_22 + w^F1_12*x_23 + w^F1_21*x_32 + w^F1_22*x_33
    """

    def __init__(
        self,
        index: int,
        image: Sequence[Sequence[sp.Symbol]],
        filters: int,
        size: tuple[int, int],
        activation: Activation,
    ) -> None:
        height, width = len(image), len(image[0])
        fh, fw = size
        if fh > height or fw > width:
            raise NetworkSpecError(
                f"a {fh}x{fw} filter does not fit in a {height}x{width} image; "
                "use a filter no larger than the input"
            )
        self.index, self.activation = index, activation
        self.map_shape = (height - fh + 1, width - fw + 1)
        rows, cols = self.map_shape
        K = range(1, filters + 1)
        self.w = [
            [[_book_symbol("w", f"F{k}", (u, v)) for v in range(1, fw + 1)] for u in range(1, fh + 1)]
            for k in K
        ]
        self.b = [_book_symbol("b", "F", (k,)) for k in K]
        self.z = [[[_book_symbol("z", "F", (k,), (i, j)) for j in range(1, cols + 1)]
                   for i in range(1, rows + 1)] for k in K]
        self.a = [[[_book_symbol("a", "F", (k,), (i, j)) for j in range(1, cols + 1)]
                   for i in range(1, rows + 1)] for k in K]
        for k in K:
            for i in range(1, rows + 1):
                for j in range(1, cols + 1):
                    _book_symbol("delta", "F", (k,), (i, j))
        self.parameters = tuple(s for f in self.w for row in f for s in row) + tuple(self.b)
        self.units = tuple(s for m in self.z for row in m for s in row)
        self.outputs = tuple(s for m in self.a for row in m for s in row)
        equations: dict[sp.Symbol, sp.Expr] = {}
        for k in range(filters):
            for i in range(rows):
                for j in range(cols):
                    equations[self.z[k][i][j]] = sp.Add(*(
                        self.w[k][u][v] * image[i + u][j + v] for u in range(fh) for v in range(fw)
                    )) + self.b[k]
        for k in range(filters):
            for i in range(rows):
                for j in range(cols):
                    equations[self.a[k][i][j]] = activation(self.z[k][i][j])
        self.equations = equations


class MaxPooling(Layer):
    """Max pooling over non-overlapping ``ph×pw`` blocks:
    ``z^P_{k,ij} = max`` of block ``(i, j)`` of ``a^F_k``, and ``a^P = z^P``.
    It has no parameters and no unit errors of its own (the book's δs live in
    the convolution and output layers).

    >>> net = ConvolutionalNetwork((4, 4), 1, (2, 2), pool=(1, 3), outputs=1)
    >>> net.layers[1].equations[net.symbol("z^P_111")]
    Max(a^F_111, a^F_112, a^F_113)
    """

    def __init__(self, index: int, maps: Sequence, block: tuple[int, int]) -> None:
        rows, cols = len(maps[0]), len(maps[0][0])
        ph, pw = block
        if rows % ph or cols % pw:
            raise NetworkSpecError(
                f"a {ph}x{pw} pooling block does not divide the {rows}x{cols} feature map; "
                f"choose a block whose sides divide {rows} and {cols}"
            )
        self.index, self.block = index, block
        self.activation = get_activation("identity")
        self.pooled_shape = (rows // ph, cols // pw)
        R, Q = self.pooled_shape
        K = range(1, len(maps) + 1)
        self.z = [[[_book_symbol("z", "P", (k,), (i, j)) for j in range(1, Q + 1)]
                   for i in range(1, R + 1)] for k in K]
        self.a = [[[_book_symbol("a", "P", (k,), (i, j)) for j in range(1, Q + 1)]
                   for i in range(1, R + 1)] for k in K]
        #: blocks[k][i][j]: the inputs of pooled cell (i, j) of map k, row-major.
        self.blocks = [[[tuple(maps[k][i * ph + u][j * pw + v] for u in range(ph) for v in range(pw))
                         for j in range(Q)] for i in range(R)] for k in range(len(maps))]
        self.parameters, self.units = (), ()
        self.outputs = tuple(s for m in self.a for row in m for s in row)
        equations: dict[sp.Symbol, sp.Expr] = {}
        for k in range(len(maps)):
            for i in range(R):
                for j in range(Q):
                    equations[self.z[k][i][j]] = PoolMax(*self.blocks[k][i][j])
        for k in range(len(maps)):
            for i in range(R):
                for j in range(Q):
                    equations[self.a[k][i][j]] = self.activation(self.z[k][i][j])
        self.equations = equations


class FullyConnectedOutput(Layer):
    """The output layer, fully connected to the pooled maps:
    ``z^O_n = Σ_k Σ_{ij} w^O_{k,n,ij} a^P_{k,ij} + b^O_n``, ``a^O_n = a(z^O_n)``.

    >>> net = ConvolutionalNetwork((3, 3), 1, (2, 2), pool=(2, 2), outputs=2)
    >>> net.definition("z^O_2")
    a^P_111*w^O_1211 + b^O_2
    """

    def __init__(self, index: int, pooled: Sequence, outputs: int, activation: Activation) -> None:
        self.index, self.activation = index, activation
        K, R, Q = len(pooled), len(pooled[0]), len(pooled[0][0])
        N = range(1, outputs + 1)
        #: w[n][k][i][j], the layout of the book's out_W.
        self.w = [[[[_book_symbol("w", "O", (k + 1,), (n,), (i + 1, j + 1)) for j in range(Q)]
                    for i in range(R)] for k in range(K)] for n in N]
        self.b = [_book_symbol("b", "O", (n,)) for n in N]
        self.z = [_book_symbol("z", "O", (n,)) for n in N]
        self.a = [_book_symbol("a", "O", (n,)) for n in N]
        self.parameters = tuple(s for wn in self.w for m in wn for row in m for s in row) + tuple(self.b)
        self.units, self.outputs = tuple(self.z), tuple(self.a)
        equations: dict[sp.Symbol, sp.Expr] = {}
        for n in range(outputs):
            equations[self.z[n]] = sp.Add(*(
                self.w[n][k][i][j] * pooled[k][i][j] for k in range(K) for i in range(R) for j in range(Q)
            )) + self.b[n]
        for n in range(outputs):
            equations[self.a[n]] = activation(self.z[n])
        self.equations = equations


# --- the network --------------------------------------------------------------

class ConvolutionalNetwork(LayeredModel):
    """Image → convolution (``filters`` of ``filter_size``) → max pooling →
    ``outputs`` units. The defaults are the book's network (6×6 → 3 filters
    3×3 → 4×4 maps → 2×2 pooling → 3 sigmoid outputs, squared error).

    >>> ConvolutionalNetwork((8, 8), 4, 3, pool=3, outputs=2).parameter_count
    74
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
    ) -> None:
        self.image_shape = _pair(image, "the image size")
        self.filter_size = _pair(filter_size, "the filter size")
        self.pool = _pair(pool, "the pooling block")
        for value, what in ((filters, "filters"), (outputs, "outputs")):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise NetworkSpecError(f"the number of {what} must be a positive integer; got {value!r}")
        self.filters, self.outputs = filters, outputs
        # Refused before any symbol exists: building is what takes the time and memory.
        check_model_terms(
            "a CNN with a {}x{} image, {} filters and {} outputs".format(*self.image_shape, filters, outputs),
            cnn_terms(self.image_shape, filters, self.filter_size, self.pool, outputs),
            "choose a smaller image or fewer filters or outputs (the book's 6x6, 3 filters, 3 outputs has 666 terms)",
        )
        self.activation = get_activation(activation)
        self.cost = get_cost(cost)
        self.image = self.pixels(self.image_shape)
        self.inputs = tuple(s for row in self.image for s in row)
        self.targets = tuple(sp.Symbol(f"t_{n}") for n in range(1, outputs + 1))
        conv = Convolution(2, self.image, filters, self.filter_size, self.activation)
        pooling = MaxPooling(3, conv.a, self.pool)
        out = FullyConnectedOutput(4, pooling.a, outputs, self.activation)
        for n in range(1, outputs + 1):
            _book_symbol("delta", "O", (n,))
        self.convolution, self.pooling, self.output = conv, pooling, out
        self.layers = (conv, pooling, out)
        self._finish()

    @staticmethod
    def pixels(shape: tuple[int, int]) -> list[list[sp.Symbol]]:
        """The input image ``x_{ij}`` as rows of symbols.

        >>> ConvolutionalNetwork.pixels((2, 2))
        [[x_11, x_12], [x_21, x_22]]
        """
        return [[sp.Symbol(f"x_{index_text((i, j))}") for j in range(1, shape[1] + 1)]
                for i in range(1, shape[0] + 1)]

    def find_symbol(self, name: str | sp.Symbol) -> sp.Symbol | None:
        """Also accepts the LaTeX spelling ``w^{F_1}_{12}``.

        >>> ConvolutionalNetwork().symbol("w^{F_2}_{13}")
        w^F2_13
        """
        if isinstance(name, str):
            name = re.sub(r"\^\{?([FPO])_?\{?(\d*)\}?\}?_", r"^\1\2_", name.strip())
        return super().find_symbol(name)

    def describe(self) -> str:
        (h, w), (fh, fw), (ph, pw) = self.image_shape, self.filter_size, self.pool
        filters = f"{self.filters} filter{'s' * (self.filters != 1)}"
        outputs = f"{self.outputs} output{'s' * (self.outputs != 1)}"
        return f"CNN {h}x{w}, {filters} {fh}x{fw}, pool {ph}x{pw}, {outputs}"

    def naming_hint(self) -> str:
        return (
            "filter weights are w^Fk_uv (e.g. w^F1_12), filter biases b^F_k, feature maps z^F_kij, "
            "pooled values z^P_kij, output weights w^O_knij, output biases b^O_n"
        )

    def __repr__(self) -> str:
        return f"ConvolutionalNetwork({self.describe()}, activation={self.activation.name}, cost={self.cost.name})"


def cnn_from_spec(spec: str, activation: str | Activation = "sigmoid", cost: str | Cost = "squared"):
    """A CNN from ``image,filters,filter,pool,outputs`` text (sizes as ``6x6`` or ``6``).

    >>> cnn_from_spec("6x6,3,3x3,2x2,3").parameter_count
    69
    >>> cnn_from_spec("6x6,3,3x3")
    Traceback (most recent call last):
    ...
    symbackprop.errors.NetworkSpecError: a CNN is given as image,filters,filter,pool,outputs such as 6x6,3,3x3,2x2,3; got '6x6,3,3x3'
    """
    parts = [p.strip() for p in spec.split(",")]
    try:
        if len(parts) != 5:
            raise ValueError
        # "6" means 6x6; _pair checks the values
        image, filter_size, pool = (
            tuple(int(v) for v in parts[i].lower().split("x")) for i in (0, 2, 3)
        )
        filters, outputs = int(parts[1]), int(parts[4])
    except ValueError:
        raise NetworkSpecError(
            f"a CNN is given as image,filters,filter,pool,outputs such as 6x6,3,3x3,2x2,3; got {spec!r}"
        ) from None
    image, filter_size, pool = (t[0] if len(t) == 1 else t for t in (image, filter_size, pool))
    return ConvolutionalNetwork(image, filters, filter_size, pool, outputs, activation, cost)


# --- the book's formulas, to compare the derived ones with --------------------------

def _activation_slope(model: ConvolutionalNetwork, z: sp.Symbol) -> sp.Expr:
    """``a'(z)`` written in layer quantities (``σ' = a(1 − a)``) as the route writes it."""
    return _atomize(model.activation.derivative(z), _atomizer(model))


def book_unit_errors(model: ConvolutionalNetwork) -> dict[sp.Symbol, sp.Expr]:
    """The book's unit errors, typed from chapter 5:
    ``δ^O_n = ∂C/∂a^O_n · a'(z^O_n)`` and
    ``δ^F_{k,ij} = (Σ_n δ^O_n w^O_{k,n,i'j'}) [a^F_{k,ij} wins its block] a'(z^F_{k,ij})``.

    >>> net = ConvolutionalNetwork((3, 3), 1, (2, 2), pool=(2, 2), outputs=1)
    >>> book_unit_errors(net)[net.symbol("delta^F_112")]
    a^F_112*delta^O_1*w^O_1111*(1 - a^F_112)*winner(2, a^F_111, a^F_112, a^F_121, a^F_122)
    """
    out, conv, pool = model.output, model.convolution, model.pooling
    reverse = _atomizer(model)
    deltas: dict[sp.Symbol, sp.Expr] = {}
    delta_O = [sp.Symbol("delta" + z.name[1:]) for z in out.z]
    for n, z in enumerate(out.z):
        dC_da = _atomize(sp.diff(model.cost_expression, out.a[n]), reverse)
        deltas[delta_O[n]] = dC_da * _activation_slope(model, z)
    ph, pw = model.pool
    for k, zmap in enumerate(conv.z):
        for i, row in enumerate(zmap):
            for j, z in enumerate(row):
                ip, jp = i // ph, j // pw
                m = (i % ph) * pw + (j % pw) + 1
                back = sp.Add(*(delta_O[n] * out.w[n][k][ip][jp] for n in range(len(out.z))))
                indicator = winner(m, *pool.blocks[k][ip][jp])
                deltas[sp.Symbol("delta" + z.name[1:])] = back * indicator * _activation_slope(model, z)
    return deltas


def book_gradients(model: ConvolutionalNetwork) -> dict[sp.Symbol, sp.Expr]:
    """The book's gradients: ``∂C/∂w^{F_k}_{uv} = Σ_{ij} δ^F_{k,ij} x_{i+u−1,j+v−1}``,
    ``∂C/∂b^F_k = Σ_{ij} δ^F_{k,ij}``, ``∂C/∂w^O_{k,n,ij} = δ^O_n a^P_{k,ij}``,
    ``∂C/∂b^O_n = δ^O_n``.

    >>> net = ConvolutionalNetwork((3, 3), 1, (2, 2), pool=(2, 2), outputs=1)
    >>> book_gradients(net)[net.symbol("w^F1_21")]
    delta^F_111*x_21 + delta^F_112*x_22 + delta^F_121*x_31 + delta^F_122*x_32
    """
    conv, out = model.convolution, model.output
    rows, cols = conv.map_shape
    image = model.image
    grads: dict[sp.Symbol, sp.Expr] = {}
    deltas_F = [[[sp.Symbol("delta" + z.name[1:]) for z in row] for row in zmap] for zmap in conv.z]
    for k, filt in enumerate(conv.w):
        for u, wrow in enumerate(filt):
            for v, w in enumerate(wrow):
                grads[w] = sp.Add(*(deltas_F[k][i][j] * image[i + u][j + v]
                                    for i in range(rows) for j in range(cols)))
        grads[conv.b[k]] = sp.Add(*(d for row in deltas_F[k] for d in row))
    for n, wn in enumerate(out.w):
        delta = sp.Symbol("delta" + out.z[n].name[1:])
        for k, wk in enumerate(wn):
            for i, wrow in enumerate(wk):
                for j, w in enumerate(wrow):
                    grads[w] = delta * model.pooling.a[k][i][j]
        grads[out.b[n]] = delta
    return grads


# --- exact proof with the pooling winners fixed ----------------------------------------

def prove_with_winners(model: ConvolutionalNetwork, choices=None) -> dict[tuple, dict[sp.Symbol, bool]]:
    """Exact proof with the pooling winners fixed, for each choice in ``choices``
    (default: :func:`all_winner_choices`). A choice names one winner per
    pooling block (its position, 0-based, row-major; blocks in map order).

    For each choice, every ``Max`` is replaced by its chosen input and every
    :class:`winner` by 1 or 0; then, for every parameter, the direct
    gradient, the δ-route gradient and the derivative of the Max-free
    (smooth) network must be the same expression. Over all choices this
    proves both routes equal wherever the maxima are strict, and that the
    indicators are the true derivative of ``Max``.

    >>> net = ConvolutionalNetwork((2, 3), 1, (2, 2), pool=(1, 2), outputs=1, activation="generic")
    >>> proofs = prove_with_winners(net)
    >>> sorted(proofs), all(all(v.values()) for v in proofs.values())
    ([(0,), (1,)], True)
    """
    full = model.full_substitution()
    blocks = [blk for m in model.pooling.blocks for row in m for blk in row]
    index_of = {}
    for b, block in enumerate(blocks):
        index_of[block] = b
        index_of[tuple(replace_quantities(s, full) for s in block)] = b
    route = delta_route(model)
    direct = direct_route(model, force=True)
    by_delta = {p: route.expanded(p) for p in model.parameters}
    results: dict[tuple, dict[sp.Symbol, bool]] = {}
    for choice in all_winner_choices(model) if choices is None else choices:
        choice = tuple(choice)
        if len(choice) != len(blocks):
            raise NetworkSpecError(f"one winner per pooling block: {len(blocks)} blocks, got {len(choice)} choices")

        def fix(expr: sp.Expr, choice=choice) -> sp.Expr:
            expr = expr.replace(
                winner, lambda m, *args: sp.S.One if choice[index_of[args]] == int(m) - 1 else sp.S.Zero
            )
            return expr.replace(PoolMax, lambda *args: args[choice[index_of[args]]])

        smooth_cost = fix(direct.cost)
        verdicts = {}
        for p in model.parameters:
            smooth = sp.diff(smooth_cost, p)
            verdicts[p] = (
                sp.expand(smooth - fix(by_delta[p])) == 0 and sp.expand(smooth - fix(direct.gradients[p])) == 0
            )
        results[choice] = verdicts
    return results


def all_winner_choices(model: ConvolutionalNetwork):
    """Every way of choosing one winner per pooling block.

    >>> len(list(all_winner_choices(ConvolutionalNetwork((3, 3), 2, 2, pool=2, outputs=1))))
    16
    """
    ph, pw = model.pool
    count = sum(1 for m in model.pooling.blocks for row in m for _ in row)
    return itertools.product(range(ph * pw), repeat=count)


# --- the derivation document ---------------------------------------------------------

class Correlation(sp.Expr):
    """``X ⋆ K``: the valid correlation of a matrix with a smaller one (no flip),
    ``(X ⋆ K)_{uv} = Σ_{ij} K_{ij} X_{i+u−1, j+v−1}``; :meth:`doit` computes it.

    >>> X = sp.Matrix(3, 3, sp.symbols("x1:10"))
    >>> K = sp.Matrix(2, 2, sp.symbols("k1:5"))
    >>> Correlation(X, K).doit()[0, 0]
    k1*x1 + k2*x2 + k3*x4 + k4*x5
    """

    def __new__(cls, image, kernel):
        return sp.Expr.__new__(cls, sp.ImmutableMatrix(image), sp.ImmutableMatrix(kernel))

    def doit(self, **hints):
        X, K = self.args
        rows, cols = X.rows - K.rows + 1, X.cols - K.cols + 1
        return sp.ImmutableMatrix(rows, cols, lambda u, v: sp.Add(*(
            K[i, j] * X[i + u, j + v] for i in range(K.rows) for j in range(K.cols)
        )))

    def _latex(self, printer) -> str:
        return r"%s \star %s" % (printer._print(self.args[0]), printer._print(self.args[1]))

    def _sympystr(self, printer) -> str:
        return "%s ⋆ %s" % (printer._print(self.args[0]), printer._print(self.args[1]))


def _same(left: sp.Expr, right: sp.Expr) -> bool:
    return sp.expand(left - right) == 0


def _derivation(model: ConvolutionalNetwork) -> Derivation:
    route = delta_route(model)
    conv, pool, out = model.convolution, model.pooling, model.output
    book_d, book_g = book_unit_errors(model), book_gradients(model)
    z11, a11 = conv.z[0][0][0], conv.a[0][0][0]
    zP, aP = pool.z[0][0][0], pool.a[0][0][0]
    dO = sp.Symbol("delta" + out.z[0].name[1:])
    dF = sp.Symbol("delta" + z11.name[1:])
    w11, b1, wO = conv.w[0][0][0], conv.b[0], out.w[0][0][0][0]
    block = pool.blocks[0][0][0]
    C = COST
    rows, cols = conv.map_shape
    fh, fw = model.filter_size
    delta_map = sp.ImmutableMatrix(rows, cols, lambda i, j: sp.Symbol("delta" + conv.z[0][i][j].name[1:]))
    correlation = Correlation(sp.ImmutableMatrix(model.image), delta_map)
    gradient = sp.ImmutableMatrix(fh, fw, lambda u, v: route.gradients[conv.w[0][u][v]])
    # The gradient matrix by its name: a matrix of fractions would crowd its rows.
    filter_matrix = sp.Symbol("W^F1")
    SYMBOL_LATEX[filter_matrix.name] = r"W^{F_{1}}"
    is_correlation = all(_same(a, b) for a, b in zip(correlation.doit(), gradient))
    last = conv.w[0][fh - 1][fw - 1]

    def matches(derived: sp.Expr, book: sp.Expr, what: str) -> str:
        verdict = "is" if _same(derived, book) else "is NOT"
        return f"The derived {what} {verdict} the book's formula (their difference expands to 0)."

    steps = [
        Step("Convolution", "each filter slides over the image without being flipped: a correlation, "
             "stride 1, no padding",
             [(z11, model.definitions[z11]), (a11, model.definitions[a11])]),
        Step("Max pooling", "each pooled value is the largest output of its block, and $a^P = z^P$",
             [(zP, model.definitions[zP]), (aP, model.definitions[aP])]),
        Step("Output layer", "every output unit is connected to every pooled value",
             [(out.z[0], model.definitions[out.z[0]]), (out.a[0], model.definitions[out.a[0]])]),
        Step("Cost", "the squared error of one image", [(C, model.cost_expression)]),
        Step("Derivative of Max", "the indicator of the block's winner, the position of its first largest "
             "input in row-major order: beaten strictly by no earlier input and by no later one, so at a "
             "tie exactly one input gets 1 and the indicators sum to 1",
             [(sp.Function("winner")(*block), winner(1, *block).definition()),
              *((Partial(zP, x), pool.equations[zP].diff(x)) for x in block)]),
        Step("Output unit error", "the unit error of an output unit, derived by the engine from the "
             "local equations",
             [(dO, route.deltas[dO])], note=matches(route.deltas[dO], book_d[dO], "unit error")),
        Step("Convolution unit error", "the error reaches a feature-map unit only through its pooled "
             "value, and only if it won its block",
             [(dF, route.deltas[dF])], note=matches(route.deltas[dF], book_d[dF], "unit error")),
        Step("Filter weight and bias gradients", "each filter weight is used at every position of the "
             "feature map, so its gradient sums the unit errors of the whole map",
             [(Partial(C, w11), route.gradients[w11]), (Partial(C, b1), route.gradients[b1])],
             note=matches(route.gradients[w11], book_g[w11], "gradient")),
        Step("The filter gradient is a correlation",
             f"of the input image with the map of unit errors ($\\partial C/\\partial W^{{F_1}}$ is the "
             f"{fh}×{fw} matrix of the $\\partial C/\\partial w^{{F_1}}_{{uv}}$): the same sliding sum as the "
             "forward pass, with the δ map in place of the filter",
             [(Partial(C, filter_matrix), correlation), (Partial(C, last), correlation.doit()[fh - 1, fw - 1])],
             note="Every entry of the correlation is the engine's gradient: "
             f"{'yes' if is_correlation else 'NO'}, for all {fh * fw} weights of filter 1."),
        Step("Output weight gradients", "an output weight multiplies one pooled value",
             [(Partial(C, wO), route.gradients[wO]), (Partial(C, out.b[0]), route.gradients[out.b[0]])],
             note=matches(route.gradients[wO], book_g[wO], "gradient")),
    ]
    return Derivation(
        f"Backpropagation through a convolutional network ({model.describe()})",
        steps,
        intro="The book's chapter 5. The unit errors are derived by the same engine as for the fully "
        "connected network, from the local equations of a convolution, a max-pooling and an output "
        "layer; `symbackprop verify --cnn --exact` proves that they give the direct derivative.",
        book_order=True,
    )


def documents() -> dict[str, Derivation]:
    """The chapter-5 derivation, by file stem: the book's network (sigmoid).

    >>> doc = documents()["cnn"]
    >>> len(doc.steps) >= 8
    True
    """
    return {"cnn": _derivation(ConvolutionalNetwork())}
