"""Pooling layers: max pooling (the book's) with the honest derivative of
``max``, and average pooling.

``∂ max(x_1…x_n)/∂x_m`` is the indicator :class:`winner` ``[x_m is the
block's maximum]``. At a tie the *first* maximal input in row-major order
wins (1) and the others get 0, so the indicators of a block always sum to 1
(a valid subgradient) — the convention of ``numpy.argmax`` and of the
compiled code in :mod:`symbackprop.numeric.cnn_arrays`. SymPy's own
``Max.diff`` (Heaviside products, ``H(0) = 1/2``) would give every tied
input ½, which sums to 3/2 at a triple tie; hence :class:`PoolMax`.

Average pooling needs nothing of the kind: its block mean is a sum, and SymPy's
derivative of it, ``1/(ph·pw)`` for every input, is already exact.
"""

from __future__ import annotations

from collections.abc import Sequence

import sympy as sp

from ..errors import NetworkSpecError, UnknownNameError, echo
from ..functions.activations import get_activation
from .protocol import Layer, book_symbol


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

class Pooling(Layer):
    """Pooling over non-overlapping ``ph×pw`` blocks: ``z^P_{k,ij}`` =
    :meth:`combine` of block ``(i, j)`` of ``a^F_k``, and ``a^P = z^P``.
    It has no parameters and no unit errors of its own (the book's δs live in
    the convolution and output layers). A kind of pooling is a subclass that
    says how a block combines; the δ route derives its derivative.
    """

    #: the name of the kind, as ``ConvolutionalNetwork(pooling=…)`` takes it
    kind: str

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
        self.z = [[[book_symbol("z", "P", (k,), (i, j)) for j in range(1, Q + 1)]
                   for i in range(1, R + 1)] for k in K]
        self.a = [[[book_symbol("a", "P", (k,), (i, j)) for j in range(1, Q + 1)]
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
                    equations[self.z[k][i][j]] = self.combine(self.blocks[k][i][j])
        for k in range(len(maps)):
            for i in range(R):
                for j in range(Q):
                    equations[self.a[k][i][j]] = self.activation(self.z[k][i][j])
        self.equations = equations

    def combine(self, block: tuple[sp.Expr, ...]) -> sp.Expr:
        """``z^P`` of one block from its inputs, in row-major order."""
        raise NotImplementedError


class MaxPooling(Pooling):
    """Max pooling, the book's: ``z^P_{k,ij} = max`` of block ``(i, j)`` of
    ``a^F_k``, as a :class:`PoolMax`.

    >>> from symbackprop import ConvolutionalNetwork
    >>> net = ConvolutionalNetwork((4, 4), 1, (2, 2), pool=(1, 3), outputs=1)
    >>> net.layers[1].equations[net.symbol("z^P_111")]
    Max(a^F_111, a^F_112, a^F_113)
    """

    kind = "max"

    def combine(self, block: tuple[sp.Expr, ...]) -> sp.Expr:
        return PoolMax(*block)


class AveragePooling(Pooling):
    """Average pooling: ``z^P_{k,ij} = (1/(ph·pw)) Σ_{block} a^F_k``.

    >>> from symbackprop import ConvolutionalNetwork
    >>> net = ConvolutionalNetwork((4, 4), 1, (2, 2), pool=(1, 3), outputs=1, pooling="average")
    >>> net.layers[1].equations[net.symbol("z^P_111")]
    a^F_111/3 + a^F_112/3 + a^F_113/3
    """

    kind = "average"

    def combine(self, block: tuple[sp.Expr, ...]) -> sp.Expr:
        return sp.Add(*block) / len(block)


#: The kinds of pooling by name; the first is the book's.
POOLINGS: dict[str, type[Pooling]] = {cls.kind: cls for cls in (MaxPooling, AveragePooling)}


def pooling_kind(name: object) -> type[Pooling]:
    """The pooling layer called ``name`` (``max`` or ``average``).

    >>> pooling_kind("average").__name__
    'AveragePooling'
    >>> pooling_kind("mean")
    Traceback (most recent call last):
    ...
    symbackprop.errors.UnknownNameError: unknown pooling 'mean'; use max or average
    """
    if not isinstance(name, str) or name not in POOLINGS:
        raise UnknownNameError(f"unknown pooling {echo(name)}; use {' or '.join(POOLINGS)}")
    return POOLINGS[name]
