"""The array path: the array form of the δ recurrence compiled to NumPy matrix
products over a batch, trained as :class:`ArrayModel`, and checked against
the scalar δ route by :func:`verify_arrays`.

>>> model = ArrayModel([12, 3, 2])
>>> sorted(model.parameter_shapes)
['W2', 'W3', 'b2', 'b3']
>>> print(model.compiled.source.splitlines()[0])  # doctest: +ELLIPSIS
def ...
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixElement
from sympy.printing.numpy import NumPyPrinter

from ..engine.network import Network
from ..errors import ArgumentError, NetworkSpecError, NotDifferentiableError, echo
from ..functions.activations import NUMPY_FUNCTIONS
from ..guards import MAX_SYMBOLIC_BATCH, check_count
from ..notation.symbols import unit_error_symbol
from .array_form import NUMPY_FUNCTIONS as COLUMN_NUMPY
from .array_form import ONES, ArrayDerivation, I, K, M, derive_arrays
from .dense import (
    book_file_aliases,
    check_init,
    initial_values,
    numeric_network,
    parameter_shapes,
)
from .stable import NUMPY_FUNCTIONS as STABLE_NUMPY

_NUMPY = {**NUMPY_FUNCTIONS, **STABLE_NUMPY, **COLUMN_NUMPY}


# --- compiling to NumPy -------------------------------------------------------------

class ArrayPrinter(NumPyPrinter):
    """NumPy code for the derived matrix expressions.

    Products with the row of ones are recognised for what they are: ``b u``
    copies a column to every example (NumPy broadcasting does that inside
    the sum ``W a + b u``) and ``δ u^T`` sums over the examples.
    """

    def _print_MatMul(self, expr):
        factors = list(expr.args)
        scalars = [f for f in factors if not f.is_Matrix]
        if scalars:
            # A number times a matrix, such as the m λ W^l of weight decay: not a matrix product.
            matrices = [f for f in factors if f.is_Matrix]
            rest = sp.MatMul(*matrices) if len(matrices) > 1 else matrices[0]
            return "%s*%s" % (self.parenthesize(sp.Mul(*scalars), 50), self.parenthesize(rest, 50))
        if factors[-1] == ONES:
            return self._print(sp.MatMul(*factors[:-1]) if len(factors) > 2 else factors[0])
        if factors[-1] == ONES.T:
            rest = sp.MatMul(*factors[:-1]) if len(factors) > 2 else factors[0]
            # the method, not numpy.sum: at the book's sizes numpy.sum's Python dispatch costs as much as the sum
            return "%s.sum(axis=1, keepdims=True)" % self.parenthesize(rest, 1000, strict=True)
        return self._product(factors)

    def _product(self, factors) -> str:
        return " @ ".join(self.parenthesize(f, 50) for f in factors)

    def _print_AppliedUndef(self, expr):
        # SymPy looks no method up by an undefined function's own name, so squares is recognised here.
        if expr.func == _squares:
            e = self._print(expr.args[0])
            return "numpy.vdot(%s, %s)" % (e, e)
        return self._print_Function(expr)

    def _print_MatrixSymbol(self, expr):
        if expr == ONES:
            raise NotDifferentiableError("the row of ones u is only used in b u and δ u^T")
        return super()._print_MatrixSymbol(expr)


class _CompilePrinter(ArrayPrinter):
    """The printer of the compiled functions: a matrix product as NumPy's
    ``A.dot(B)``, which at the book's sizes takes about two thirds of the
    time of ``A @ B`` (the operator's dispatch costs as much as the product).

    >>> W, a = sp.MatrixSymbol("W", 3, 4), sp.MatrixSymbol("a", 4, 5)
    >>> _CompilePrinter().doprint(W.T.T @ a), ArrayPrinter().doprint(W @ a)
    ('W.dot(a)', 'W @ a')
    """

    def _product(self, factors) -> str:
        head, *rest = factors
        return self.parenthesize(head, 1000, strict=True) + "".join(".dot(%s)" % self._print(f) for f in rest)


def _code_name(name: str) -> str:
    # Book names (W^2, delta^3, a^1, W'^4) are not identifiers: W2, delta3, a1, Wp4.
    return name.replace("^", "").replace("'", "p")


def _code_names(expr: sp.Basic) -> sp.Basic:
    mapping: dict[sp.Basic, sp.Basic] = {}
    for s in expr.atoms(sp.MatrixSymbol):
        if s != ONES:
            mapping[s] = sp.MatrixSymbol(_code_name(s.name), *s.shape)
    for s in expr.atoms(sp.Symbol):
        if s.name != _code_name(s.name):
            mapping[s] = sp.Symbol(_code_name(s.name))
    return expr.xreplace(mapping)


_total = sp.Function("total")
#: Σ e² over every entry of a named array e: one dot product e·e.
_squares = sp.Function("squares")
#: The number of columns of an array: the batch size m of the inputs a^1.
_columns = sp.Function("columns")


@dataclass
class CompiledArrays:
    """The compiled array path: ``gradient(a1, t, W2, b2, …)`` returns
    ``(C_T, ∂C_T/∂W2, ∂C_T/∂b2, …)`` and ``forward(a1, W2, b2, …)`` returns
    ``a^L``, examples as columns like the book's matrix form. ``source`` is
    the generated code; ``derivation`` the equations it came from."""

    derivation: ArrayDerivation
    gradient: object
    forward: object
    source: str


def compile_arrays(derivation: ArrayDerivation) -> CompiledArrays:
    """Lambdify the derivation: forward pass, δs backwards, gradients, each a
    NumPy array operation over the whole batch.

    >>> c = compile_arrays(derive_arrays([12, 3, 2]))
    >>> print(c.source.split("return")[0].strip().splitlines()[-2].strip())
    S2 = W3.T.dot(delta3)
    """
    if not isinstance(derivation, ArrayDerivation):
        raise ArgumentError(
            f"compile_arrays compiles what derive_arrays returns, such as derive_arrays([12, 3, 2]); got {echo(derivation)}"
        )
    for act in derivation.activations:
        act.require_trainable()
        if act.is_generic:
            raise NotDifferentiableError(
                "the generic activation a(z) has no values; choose a concrete activation to compute numbers"
            )
    steps: list[tuple[sp.Basic, sp.Basic]] = list(derivation.forward)
    computed: set[sp.Symbol] = set()
    for layer in reversed(derivation.layers):
        for unit in layer.units:
            value = derivation.deltas[unit.delta]
            # A product two δs read (a skip's source and the layer above it) is computed once.
            for product in sorted((value.atoms(sp.Symbol) & set(derivation.products)) - computed, key=str):
                steps.append((product, derivation.products[product]))
                computed.add(product)
            steps.append((sp.Symbol(unit.delta.name), value))
    if derivation.weight_decay.free_symbols:
        raise ArgumentError(
            f"the weight decay λ = {derivation.weight_decay} is a symbol; give it a number to compute gradients"
        )
    if derivation.decay_entries:
        # m appears in the gradients of a decayed W^l (m λ W^l) and in C_T's decay term.
        steps.append((M, _columns(derivation.inputs)))
    steps, forward_count = _name_repeated_calls(steps, len(derivation.forward))
    cost = _total(derivation.cost_entry)
    steps, cost, forward_count = _name_shared_differences(steps, cost, forward_count)
    cost = _as_squares(cost)
    params = [m for layer in derivation.layers for unit in layer.units for m in (unit.W, unit.b)]
    args = [_code_names(derivation.inputs), _code_names(derivation.targets)] + [_code_names(p) for p in params]
    decay = M * sp.Add(*(_total(entry) for entry in derivation.decay_entries))
    outputs = [cost + decay] + list(derivation.gradients.values())
    common = [(_code_names(lhs), _code_names(rhs)) for lhs, rhs in steps]
    modules = [{**_NUMPY, **_own_functions(derivation), "total": np.sum, "columns": lambda a: a.shape[1],
                "numpy": np}, "numpy"]
    printer = _CompilePrinter({"fully_qualified_modules": False, "inline": True, "allow_unknown_functions": True})
    gradient = sp.lambdify(
        args, [_code_names(o) for o in outputs], modules=modules, printer=printer,
        cse=lambda exprs: (common, exprs), use_imps=False, docstring_limit=0,
    )
    last = derivation.layers[-1].a
    forward = sp.lambdify(
        [args[0]] + args[2:], _code_names(sp.Symbol(last.name)), modules=modules,
        printer=printer, cse=lambda exprs: (common[:forward_count], exprs),
        use_imps=False, docstring_limit=0,
    )
    import inspect

    return CompiledArrays(derivation, gradient, forward, inspect.getsource(gradient))


def _name_repeated_calls(steps: list[tuple], forward_count: int) -> tuple[list[tuple], int]:
    """Each activation value the steps use more than once (``σ(z'^2)`` of a gated
    layer in its output and both its δs, ``tanh(z^4)`` of a residual layer in
    its output and its δ) computed once, as a named step before its first use;
    also how many steps the forward pass now has.

    >>> z = sp.Symbol("z")
    >>> _name_repeated_calls([(sp.Symbol("a"), z * sp.tanh(z)), (sp.Symbol("d"), 1 - sp.tanh(z)**2)], 1)
    ([(F0, tanh(z)), (a, F0*z), (d, 1 - F0**2)], 2)
    """
    uses: dict[sp.Expr, int] = {}
    for _, value in steps:
        for call in value.atoms(sp.Function):
            uses[call] = uses.get(call, 0) + value.count(call)
    repeated = sorted((call for call, n in uses.items() if n > 1), key=sp.default_sort_key)
    named: dict[sp.Expr, sp.Symbol] = {}
    out: list[tuple] = []
    for position, (lhs, value) in enumerate(steps):
        for call in repeated:
            if call not in named and value.has(call):
                named[call] = sp.Symbol(f"F{len(named)}")
                out.append((named[call], call))
                forward_count += position < forward_count
        out.append((lhs, value.xreplace(named)))
    return out, forward_count


def _name_shared_differences(steps: list[tuple], cost: sp.Expr, forward_count: int) -> tuple[list[tuple], sp.Expr, int]:
    """Each sum in C_T that a step also computes, up to its sign (the output
    error a^L − t of ``δ^L = a'(z^L) ∘ (a^L − t)`` and of ``C_T = ½ Σ (t − a^L)²``),
    computed once as a named step ``E0``, … before its first use; also C_T
    and the forward pass's count of steps after the naming.

    >>> a, t = sp.symbols("a t")
    >>> _name_shared_differences([(sp.Symbol("d"), a * (a - t))], (t - a)**2 / 2, 0)
    ([(E0, a - t), (d, E0*a)], E0**2/2, 0)
    """
    out = list(steps)
    for term in sorted(cost.atoms(sp.Add), key=sp.default_sort_key):
        for shared in (term, -term):
            first = next((i for i, (_, value) in enumerate(out) if value.has(shared)), None)
            if first is None:
                continue
            name = sp.Symbol(f"E{sum(1 for lhs, _ in out if lhs.name.startswith('E'))}")
            out = [(lhs, value.xreplace({shared: name})) for lhs, value in out]
            out.insert(first, (name, shared))
            forward_count += first < forward_count
            # (−e)² is e²: the sign goes with squaring
            cost = cost.xreplace({shared: name, -shared: -name})
            break
    return out, cost, forward_count


def _as_squares(cost: sp.Expr) -> sp.Expr:
    """``total(c e²)`` of a named array e (the output error of the squared
    error) as ``c squares(e)``, one dot product instead of a square, a product
    and a sum.

    >>> e = sp.Symbol("E0")
    >>> _as_squares(_total(e**2 / 2)), _as_squares(_total((e - 1)**2))
    (squares(E0)/2, total((E0 - 1)**2))
    """
    if cost.func != _total:
        return cost
    coefficient, square = cost.args[0].as_coeff_Mul()
    if square.is_Pow and square.exp == 2 and square.base.is_Symbol:
        return coefficient * _squares(square.base)
    return cost


def _own_functions(derivation: ArrayDerivation) -> dict:
    own: dict = {}
    for act in derivation.activations:
        own.update(act.numpy_functions)
    return own


class ArrayModel:
    """A fully connected network trained by the compiled array path; a
    :class:`~symbackprop.numeric.trainable.Trainable`.

    The derivation does not depend on the widths, so with ``reuse`` a network
    of the same depth, activations and cost reuses the compiled functions.
    Parameters are ``W2, b2, …, WL, bL``: ``W^l`` of shape ``(n_l, n_{l−1})``
    (row j holds the weights *to* unit j, as ``w^l_{ji}``) and ``b^l`` of
    shape ``(n_l,)``.

    >>> model = ArrayModel([12, 3, 2])
    >>> dict(model.parameter_shapes)
    {'W2': (3, 12), 'b2': (3,), 'W3': (2, 3), 'b3': (2,)}
    >>> model.file_aliases["hidden_W"], model.file_aliases["output_b"]
    ('W2', 'b3')
    """

    path = "array"

    def __init__(
        self, sizes_or_network, activation="sigmoid", cost="squared", init: str = "book", reuse: bool = True
    ) -> None:
        self.init = check_init(init)
        self.network = numeric_network(sizes_or_network, activation, cost)
        start = time.perf_counter()
        key = _reuse_key(self.network) if reuse else None
        if key is None or key not in _COMPILED:
            compiled = compile_arrays(derive_arrays(self.network))
            if key is not None:
                _COMPILED[key] = compiled
        self.compiled = _COMPILED[key] if key is not None else compiled
        self.derivation = self.compiled.derivation
        self.compile_seconds = time.perf_counter() - start
        self.sizes = self.network.sizes
        self.parameter_shapes = parameter_shapes(self.network)
        # (name, is a bias b^l): biases travel as columns (n_l, 1) in the book's matrix form
        self._columns = tuple((name, name[0] == "b") for name in self.parameter_shapes)
        self.file_aliases = book_file_aliases(len(self.sizes))
        self.input_shape = (self.sizes[0],)
        self.output_size = self.sizes[-1]
        self.output_bounds = self.network.output_layer.activation.bounds

    def describe(self) -> str:
        return self.network.describe()

    def initial_params(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Normal initial values; see :func:`~symbackprop.numeric.dense.dense_initial_params`."""
        return initial_values(self.parameter_shapes, rng, self.init)

    def _arrays(self, params) -> list[np.ndarray]:
        return [params[name][:, None] if bias else params[name] for name, bias in self._columns]

    def cost_and_gradient(self, params, X, T):
        """``C_T`` and ``∂C_T/∂p`` of a batch (``X``: examples × inputs).

        >>> model = ArrayModel([1, 1], activation="identity")
        >>> model.cost_and_gradient({"W2": np.array([[2.0]]), "b2": np.array([1.0])},
        ...                         np.array([[1.0]]), np.array([[0.0]]))
        (4.5, {'W2': array([[3.]]), 'b2': array([3.])})
        """
        cost, *values = self.compiled.gradient(X.T, T.T, *self._arrays(params))
        gradient = {name: value[:, 0] if bias else value for (name, bias), value in zip(self._columns, values)}
        return float(cost), gradient

    def predict(self, params, X):
        """The outputs ``a^L`` of each example (examples × output units)."""
        return self.compiled.forward(X.T, *self._arrays(params)).T


#: Compiled array paths by (activations, cost) of built-in names.
_COMPILED: dict[tuple, CompiledArrays] = {}


def _reuse_key(network: Network) -> tuple | None:
    from ..functions.activations import BUILTIN as ACTIVATIONS
    from ..functions.costs import BUILTIN as COSTS

    if not isinstance(network, Network):
        return None  # a Model's derivation depends on more than its activations: its kinds and skips
    acts = tuple(layer.activation for layer in network.layers)
    if all(ACTIVATIONS.get(a.name) is a for a in acts) and COSTS.get(network.cost.name) is network.cost:
        return tuple(a.name for a in acts), network.cost.name, network.weight_decay
    return None


# --- verification against the scalar derivation -------------------------------------

def _scalar_units(layer) -> list[tuple]:
    """``(W, b, z, δ)`` of each weighted input of a scalar layer, in the array path's order."""
    from ..layers.equations import EquationLayer

    if isinstance(layer, EquationLayer):
        return [(layer.W[n], layer.b[n], layer.z[n], tuple(unit_error_symbol(z) for z in layer.z[n]))
                for n in layer.unit_names]
    return [(layer.W, layer.b, layer.z, layer.unit_errors)]


@dataclass
class ArrayVerification:
    """Each entry of the matrix form compared, exactly, with the scalar δ route:
    ``checks`` maps a quantity (``z^2_1^(1)``, ``delta^2_3^(2)``, ``w^2_11``) to
    whether the two derivations agree."""

    network: Network
    batch: int
    checks: dict[str, bool]

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(self.checks.values())

    def failures(self) -> list[str]:
        return [name for name, agrees in self.checks.items() if not agrees]


def verify_arrays(
    sizes_or_network: Sequence[int] | Network, activation="generic", cost="squared", batch: int = 2
) -> ArrayVerification:
    """Prove the matrix form equal to the scalar δ route at these sizes.

    Widths and the batch size are made concrete, every matrix entry is
    written out, and each forward equation, each ``δ^l_j`` of each example
    and each ``∂C_T/∂p`` (the scalar gradients summed over the examples) is
    compared by expanding the difference to 0. With the generic activation
    ``a`` the identities hold for every activation.

    >>> report = verify_arrays([3, 2, 2], batch=2)
    >>> report.ok, len(report.checks)
    (True, 30)
    """
    from ..engine.routes import delta_route

    check_count(batch, "the batch of symbolic examples", 1, MAX_SYMBOLIC_BATCH, NetworkSpecError)
    network = numeric_network(sizes_or_network, activation, cost)
    # constrained: the array path, like the scalar one, applies Σ_j t_j = 1 where the cost assumes it
    route = delta_route(network).cancelled().constrained()
    d = derive_arrays(network)
    sizes = dict(zip(d.widths, network.sizes)) | {M: batch}
    # What every example shares: the parameters and a symbolic weight decay λ.
    shared = set(network.parameters) | network.weight_decay.free_symbols

    def example(symbol: sp.Symbol, k: int) -> sp.Symbol:
        return symbol if symbol in shared else sp.Symbol(f"{symbol.name}^({k + 1})")

    units = [list(zip(layer.units, _scalar_units(dense))) for layer, dense in zip(d.layers, network.layers)]
    scalar_of: dict[sp.Basic, sp.Basic] = {}
    for k in range(batch):
        for i, x in enumerate(network.inputs):
            scalar_of[d.inputs[i, k]] = example(x, k)
        for j, t in enumerate(network.targets):
            scalar_of[d.targets[j, k]] = example(t, k)
        for layer, dense, pairs in zip(d.layers, network.layers, units):
            for j in range(dense.width):
                scalar_of[layer.a[j, k]] = example(dense.outputs[j], k)
                for unit, (_, _, z, delta) in pairs:
                    scalar_of[unit.z[j, k]] = example(z[j], k)
                    scalar_of[unit.delta[j, k]] = example(delta[j], k)
        scalar_of[ONES[0, k]] = sp.S.One
    for pairs in units:
        for unit, (W, b, _, _) in pairs:
            for j in range(W.rows):
                scalar_of[unit.b[j, 0]] = b[j]
                for i in range(W.cols):
                    scalar_of[unit.W[j, i]] = W[j, i]

    # Entries are looked up by name and position: substituting the widths
    # makes new matrix symbols with concrete shapes.
    by_position = {(e.parent.name, int(e.i), int(e.j)): v for e, v in scalar_of.items()}

    def scalar(expr: sp.Expr) -> sp.Expr:
        entries = expr.atoms(MatrixElement)
        return expr.xreplace({e: by_position[(e.parent.name, int(e.i), int(e.j))] for e in entries})

    def per_example(expr: sp.Expr, k: int) -> sp.Expr:
        return expr.xreplace({s: example(s, k) for s in expr.free_symbols})

    def per_example_full(expr: sp.Expr, k: int) -> sp.Expr:
        # Derivatives a'(z) carry their variable inside; rename it there too.
        renamed = {s: example(s, k) for s in expr.free_symbols}
        derivatives = {dv: dv.xreplace(renamed) for dv in expr.atoms(sp.Derivative)}
        return expr.xreplace(derivatives).xreplace(renamed)

    checks: dict[str, bool] = {}
    forward = dict(d.forward)
    for pairs in units:
        for unit, (W, b, z, delta) in pairs:
            z_matrix = forward[unit.z].subs(sizes).as_explicit()
            entries = d.entry_deltas[unit.delta].subs(sizes)
            for k in range(batch):
                for j in range(W.rows):
                    want = per_example(network.definitions[z[j]], k)
                    checks[str(example(z[j], k))] = sp.expand(scalar(z_matrix[j, k]) - want) == 0
                    derived = scalar(entries.xreplace({I: j, K: k}).doit())
                    want = per_example_full(route.deltas[delta[j]], k)
                    checks[str(example(delta[j], k))] = sp.expand(derived - want) == 0
            for matrix_symbol, symbols in ((unit.W, W), (unit.b, b)):
                matrix = d.gradients[matrix_symbol.name.replace("^", "")].subs(sizes).as_explicit()
                for r in range(symbols.rows):
                    for c in range(symbols.cols):
                        p = symbols[r, c]
                        want = sp.Add(*(per_example(route.gradients[p], k) for k in range(batch)))
                        checks[str(p)] = sp.expand(scalar(matrix[r, c]) - want) == 0
    return ArrayVerification(network, batch, checks)
