"""SymEngine's LLVM ``Lambdify`` as a compiled backend for the scalar path (optional).

The scalar path's expressions are graphs: written out as trees they are
huge, but their distinct subexpressions are few. The conversion to
SymEngine therefore walks the *graph*, memoised node by node (SymEngine's
own ``sympify`` would walk the tree), and a layer quantity named in a later
expression is replaced by its converted definition, so SymEngine shares it.
``Lambdify(..., backend="llvm", cse=True)`` then compiles everything to
machine code evaluating one example per row.

Needs the optional extra ``symengine`` (``pip install 'symbackprop[symengine]'``).

>>> import pytest, sympy as sp
>>> _ = pytest.importorskip("symengine")
>>> x, y = sp.symbols("x y")
>>> f = lambdify_llvm([x, y], [sp.exp(x) + y, x * y])
>>> f([[0.0, 2.0], [1.0, 3.0]]).round(6).tolist()
[[3.0, 0.0], [5.718282, 3.0]]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import sympy as sp

from ..errors import DataError, NotDifferentiableError
from ..functions.elementary import relu, sigmoid, softsign


def _symengine():
    try:
        import symengine
    except ImportError:
        raise DataError(
            "the symengine backend needs SymEngine: pip install 'symbackprop[symengine]'"
        ) from None
    return symengine


def _converters(se) -> dict[type, Callable]:
    return {
        sp.Add: lambda *a: se.Add(*a),
        sp.Mul: lambda *a: se.Mul(*a),
        sp.Pow: lambda b, e: b**e,
        sp.exp: se.exp,
        sp.log: se.log,
        sp.tanh: se.tanh,
        sp.Abs: se.Abs,
        sp.Max: lambda *a: se.Max(*a),
        sigmoid: lambda z: 1 / (1 + se.exp(-z)),
        softsign: lambda z: z / (1 + se.Abs(z)),
        relu: lambda z: se.Max(z, 0),
    }


def to_symengine(exprs: Sequence[sp.Expr], definitions: Sequence[tuple[sp.Symbol, sp.Expr]] = ()) -> list:
    """SymEngine versions of ``exprs``, each named quantity in ``definitions``
    (in order of computation) replaced by its converted definition.

    >>> import pytest
    >>> _ = pytest.importorskip("symengine")
    >>> a, z, w = sp.symbols("a z w")
    >>> to_symengine([a * w], [(z, 2 * w), (a, sigmoid(z))])
    [w/(1 + exp(-2*w))]
    """
    se = _symengine()
    convert = _converters(se)
    memo: dict[sp.Basic, object] = {}

    def visit(root: sp.Basic):
        stack: list[tuple[sp.Basic, bool]] = [(root, False)]
        while stack:
            node, ready = stack.pop()
            if node in memo:
                continue
            if node.is_Symbol:
                memo[node] = se.Symbol(node.name)
            elif node.is_Integer:
                memo[node] = se.Integer(int(node))
            elif node.is_Rational:
                memo[node] = se.Rational(int(node.p), int(node.q))
            elif node.is_Float:
                memo[node] = se.RealDouble(float(node))
            elif not ready:
                stack.append((node, True))
                stack.extend((arg, False) for arg in node.args if arg not in memo)
            else:
                kind = type(node) if type(node) in convert else node.func
                if kind not in convert:
                    raise NotDifferentiableError(
                        f"the symengine backend cannot compile {node.func.__name__}; use the numpy backend"
                    )
                memo[node] = convert[kind](*(memo[arg] for arg in node.args))
        return memo[root]

    for symbol, definition in definitions:
        memo[symbol] = visit(definition)
    return [visit(e) for e in exprs]


def lambdify_llvm(
    args: Sequence[sp.Symbol], exprs: Sequence[sp.Expr], definitions: Sequence[tuple[sp.Symbol, sp.Expr]] = ()
):
    """A SymEngine LLVM function of a matrix whose rows are argument values;
    it returns one row of expression values per input row."""
    se = _symengine()
    converted = to_symengine(exprs, definitions)
    return se.Lambdify([se.Symbol(a.name) for a in args], converted, backend="llvm", cse=True)
