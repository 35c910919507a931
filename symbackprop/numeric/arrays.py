"""The array path: the δ recurrence derived once more, in index form, for any widths.

The scalar path writes one expression per weight, so its cost grows with
the network. Here every layer is written once with *symbolic* sizes, as the
book's matrix form reads entry by entry (``k`` numbers the examples of a
batch, ``u`` is the row of ``m`` ones that copies the bias to every example)::

    z^l[j,k] = Σ_h w^l[j,h] a^{l−1}[h,k] + b^l[j,0] u[0,k]
    a^l[j,k] = a(z^l[j,k])
    C_T      = Σ_{j,k} c(a^L[j,k], t[j,k])

and the derivation is the δ route's, entry by entry: the adjoint of a
quantity ``Y[i,k]`` is ``Σ_{j,k'} G_X[j,k'] ∂X[j,k']/∂Y[i,k]`` over the
quantities ``X`` that use it, with SymPy differentiating the equation and
the Kronecker deltas of the derivative collapsing the sums. What is left is
a contraction times an entrywise factor; SymPy's array expressions
recognise the contraction as a matrix product
(``convert_indexed_to_array`` → ``convert_array_to_matrix``):

>>> d = derive_arrays([12, 3, 2])
>>> d.delta_text(2)
'delta^2 = (W^3.T*delta^3) ⊙ (a^2) ⊙ (1 - a^2)'
>>> d.gradient_text("W2"), d.gradient_text("b2")
('∂C_T/∂W^2 = delta^2*a^1.T', '∂C_T/∂b^2 = delta^2*u.T')

The derivation does not depend on the widths: 12-3-2 and 64-32-10 share it.
:func:`verify_arrays` checks it, entry by entry and exactly, against the
scalar δ route at small sizes, and :class:`ArrayModel` compiles it to NumPy
matrix products over the batch.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixElement
from sympy.printing.numpy import NumPyPrinter
from sympy.tensor.array.expressions import convert_array_to_matrix, convert_indexed_to_array

from ..engine.network import Network
from ..errors import ArgumentError, NetworkSpecError, NotDifferentiableError
from ..functions.activations import NUMPY_FUNCTIONS, Activation
from ..functions.costs import Cost
from ..functions.elementary import sigmoid
from ..guards import MAX_SYMBOLIC_BATCH, check_count
from .stable import NUMPY_FUNCTIONS as STABLE_NUMPY
from .stable import stable_logs

#: The batch size and the free indices of every entry equation.
M = sp.Symbol("m", integer=True, positive=True)
I, K = sp.symbols("i k", integer=True, nonnegative=True)
_C = sp.Symbol("c", integer=True, nonnegative=True)
#: The row of m ones that copies a bias to every example: ``z = W a + b u``.
ONES = sp.MatrixSymbol("u", 1, M)


_NUMPY = {**NUMPY_FUNCTIONS, **STABLE_NUMPY}


@dataclass
class ArrayLayer:
    """Layer ``l`` with symbolic widths: its matrices and its entry equations."""

    index: int
    activation: Activation
    width: sp.Symbol
    W: sp.MatrixSymbol
    b: sp.MatrixSymbol
    z: sp.MatrixSymbol
    a: sp.MatrixSymbol
    delta: sp.MatrixSymbol
    z_equation: sp.Expr
    a_equation: sp.Expr


@dataclass
class ArrayDerivation:
    """The δ recurrence and the gradients as matrix expressions.

    ``forward`` and ``deltas`` list ``(matrix, value)`` in order of
    computation; a value is either a matrix expression or an *entrywise*
    expression in whole arrays (``products`` names the matrix products it
    uses). ``gradients`` maps ``W2``, ``b2``, … to ``∂C_T/∂W^l`` as a matrix
    expression; ``entry_deltas`` keeps each ``δ^l[i,k]`` as derived, in index
    form, before the matrix products were recognised.
    """

    activations: tuple[Activation, ...]
    cost: Cost
    inputs: sp.MatrixSymbol
    targets: sp.MatrixSymbol
    layers: list[ArrayLayer]
    cost_entry: sp.Expr
    forward: list[tuple[sp.MatrixSymbol, sp.Expr]]
    products: dict[sp.Symbol, sp.MatrixExpr]
    deltas: dict[sp.MatrixSymbol, sp.Expr]
    entry_deltas: dict[sp.MatrixSymbol, sp.Expr]
    gradients: dict[str, sp.MatrixExpr]
    seconds: float = 0.0
    widths: tuple[sp.Symbol, ...] = field(default=())

    def layer(self, l: int) -> ArrayLayer:
        return self.layers[l - 2]

    def delta_text(self, l: int) -> str:
        """``δ^l`` as derived, in plain text (``⊙`` is the entrywise product)."""
        layer = self.layer(l)
        return f"{layer.delta.name} = {_entrywise_text(self.deltas[layer.delta], self.products)}"

    def gradient_text(self, name: str) -> str:
        """``∂C_T/∂W^l`` or ``∂C_T/∂b^l`` as a matrix product."""
        return f"∂C_T/∂{name[0]}^{name[1:]} = {self.gradients[name]}"

    def latex(self) -> list[str]:
        """Every derived equation in LaTeX, output layer first.

        >>> derive_arrays([2, 1]).latex()[0]
        '\\\\delta^{2} = \\\\left(a^{2}\\\\right) \\\\odot \\\\left(1 - a^{2}\\\\right) \\\\odot \\\\left(a^{2} - t\\\\right)'
        """
        from ..notation.latex import book_latex

        lines = []
        for layer in reversed(self.layers):
            lines.append(
                f"{book_latex(layer.delta)} = {_entrywise_latex(self.deltas[layer.delta], self.products)}"
            )
        for name, value in self.gradients.items():
            lines.append(rf"\frac{{\partial C_T}}{{\partial {name[0]}^{{{name[1:]}}}}} = {book_latex(value)}")
        return lines


# --- sums with Kronecker deltas ----------------------------------------------------

def _fresh_bound(expr: sp.Expr) -> sp.Expr:
    """``expr`` with every summation index renamed to a new dummy, so that
    renaming free indices cannot capture a bound one."""

    def rename(function, *limits):
        fresh = {lim[0]: sp.Dummy(lim[0].name, integer=True, nonnegative=True) for lim in limits}
        return sp.Sum(function.xreplace(fresh), *[(fresh[v], lo, hi) for v, lo, hi in limits])

    return expr.replace(sp.Sum, rename)


def _collapse(expr: sp.Expr) -> sp.Expr:
    """Sum out Kronecker deltas: ``Σ_j f(j) δ_{j i} = f(i)`` for ``i`` in the
    range of ``j``."""
    return expr.replace(lambda e: isinstance(e, sp.Sum), _collapse_sum)


def _collapse_sum(s: sp.Sum) -> sp.Expr:
    function, limits = _collapse(s.function), list(s.limits)
    if isinstance(function, sp.Add):
        return sp.Add(*(_collapse_sum(sp.Sum(term, *limits)) for term in function.args))
    progress = True
    while progress and limits:
        progress = False
        factors = sp.Mul.make_args(function)
        for limit in limits:
            v = limit[0]
            for factor in factors:
                if isinstance(factor, sp.KroneckerDelta) and v in factor.args[:2]:
                    other = factor.args[1] if factor.args[0] == v else factor.args[0]
                    rest = sp.Mul(*(f for f in factors if f is not factor))
                    function = rest.xreplace({v: other})
                    limits.remove(limit)
                    progress = True
                    break
            if progress:
                break
    if function == 0:
        return sp.S.Zero
    return sp.Sum(function, *limits) if limits else function


def _adjoint(users: list[tuple[sp.Expr, sp.Expr, sp.Symbol, sp.Symbol]], wrt: sp.Expr) -> sp.Expr:
    """``Σ_X Σ_{j,k'} G_X[j,k'] ∂X[j,k']/∂wrt`` for users ``(G_X(i,k), X(j,k'), j, k')``
    with their bounds, collapsed."""
    total = []
    for adjoint, equation, (j, j_top), (k2, k_top) in users:
        # The adjoint is a template in (i, k); rename to the equation's (j, k').
        g = _fresh_bound(adjoint).xreplace({I: j, K: k2})
        local = sp.diff(equation, wrt)
        total.append(_collapse(sp.Sum(g * local, (j, 0, j_top - 1), (k2, 0, k_top - 1)).doit()))
    return _in_range(sp.Add(*total))


def _in_range(expr: sp.Expr) -> sp.Expr:
    # SymPy guards a collapsed sum with "if 0 ≤ i ≤ n − 1"; the free indices
    # are positions in their arrays, so the guard always holds.
    return expr.replace(sp.Piecewise, lambda *pairs: pairs[0][0])


# --- from index form to matrices ------------------------------------------------

def _to_matrix(expr: sp.Expr, indices: Sequence[sp.Symbol]) -> sp.MatrixExpr:
    return convert_array_to_matrix(convert_indexed_to_array(expr, first_indices=list(indices)))


def _split_entrywise(
    expr: sp.Expr, products: dict[sp.Symbol, sp.MatrixExpr], name: str
) -> sp.Expr:
    """Each sum in ``expr[i,k]`` becomes a named matrix product; each entry
    ``X[i,k]`` the whole array ``X``: what remains is entrywise."""
    sums = sorted(expr.atoms(sp.Sum), key=sp.default_sort_key)
    replacements: dict[sp.Expr, sp.Expr] = {}
    for n, s in enumerate(sums):
        symbol = sp.Symbol(f"{name}_{n}" if len(sums) > 1 else name)
        products[symbol] = _to_matrix(s, (I, K))
        replacements[s] = symbol
    expr = expr.xreplace(replacements)
    for entry in expr.atoms(MatrixElement):
        if tuple(entry.indices) != (I, K):
            raise NotDifferentiableError(
                f"the entry {entry} is not taken at [i, k]: this equation is not entrywise, "
                "so the array path cannot compile it"
            )
    return expr.xreplace({e: sp.Symbol(e.parent.name) for e in expr.atoms(MatrixElement)})


def derive_arrays(
    sizes_or_network: Sequence[int] | Network,
    activation="sigmoid",
    cost="squared",
) -> ArrayDerivation:
    """Derive the δ recurrence and the gradients in matrix form.

    Only the depth, the activations and the cost matter; widths stay symbolic.

    >>> d = derive_arrays([4, 3, 2], activation="generic")
    >>> d.delta_text(3)
    'delta^3 = (a^3 - t) ⊙ (Derivative(a(z^3), z^3))'
    """
    network = numeric_network(sizes_or_network, activation, cost)
    start = time.perf_counter()
    depth = network.depth
    widths = tuple(sp.Symbol(f"n_{l}", integer=True, positive=True) for l in range(1, depth + 1))
    j, h, k2 = (sp.Symbol(s, integer=True, nonnegative=True) for s in ("j", "h", "k'"))
    previous = sp.MatrixSymbol("a^1", widths[0], M)
    inputs = previous
    layers: list[ArrayLayer] = []
    for l, dense in enumerate(network.layers, start=2):
        n, n_prev = widths[l - 1], widths[l - 2]
        W = sp.MatrixSymbol(f"W^{l}", n, n_prev)
        b = sp.MatrixSymbol(f"b^{l}", n, 1)
        z = sp.MatrixSymbol(f"z^{l}", n, M)
        a = sp.MatrixSymbol(f"a^{l}", n, M)
        z_eq = sp.Sum(W[I, h] * previous[h, K], (h, 0, n_prev - 1)) + sp.Sum(
            b[I, _C] * ONES[_C, K], (_C, 0, 0)
        )
        a_eq = dense.activation(z[I, K])
        layers.append(ArrayLayer(l, dense.activation, n, W, b, z, a, sp.MatrixSymbol(f"delta^{l}", n, M), z_eq, a_eq))
        previous = a
    targets = sp.MatrixSymbol("t", widths[-1], M)
    out = layers[-1]
    cost_entry = network.cost.term(out.a[I, K], targets[I, K])
    # C_T = Σ_{j,k} c(a^L[j,k], t[j,k]); its adjoint for a^L[i,k]:
    cost_total = sp.Sum(cost_entry.xreplace({I: j, K: k2}), (j, 0, out.width - 1), (k2, 0, M - 1))
    adjoint_a = _in_range(_collapse(sp.diff(cost_total, out.a[I, K]).doit()))

    products: dict[sp.Symbol, sp.MatrixExpr] = {}
    deltas: dict[sp.MatrixSymbol, sp.Expr] = {}
    entry_deltas: dict[sp.MatrixSymbol, sp.Expr] = {}
    gradients: dict[str, sp.MatrixExpr] = {}
    for position in range(len(layers) - 1, -1, -1):
        layer = layers[position]
        # δ^l[i,k] = ∂C_T/∂z^l[i,k]: through a^l[j,k'] = a(z^l[j,k']).
        template = layer.a_equation.xreplace({I: j, K: k2})
        delta_entry = _adjoint([(adjoint_a, template, (j, layer.width), (k2, M))], layer.z[I, K])
        delta_entry = _atomize_entry(delta_entry, layer)
        if any(p.exp.is_negative for p in delta_entry.atoms(sp.Pow)):
            delta_entry = sp.factor(sp.cancel(delta_entry))
        entry_deltas[layer.delta] = delta_entry
        deltas[layer.delta] = _split_entrywise(delta_entry, products, f"S{layer.index}")
        # The gradients and the next adjoint read δ^l as a named array.
        z_template = _fresh_bound(layer.z_equation).xreplace({I: j, K: k2})
        users = [(layer.delta[I, K], z_template, (j, layer.width), (k2, M))]
        w_entry = _adjoint(users, layer.W[I, K])
        b_entry = _adjoint(users, layer.b[I, K])
        gradients[f"W{layer.index}"] = _to_matrix(w_entry, (I, K))
        gradients[f"b{layer.index}"] = _to_matrix(b_entry, (I, K))
        if position > 0:
            below = layers[position - 1]
            adjoint_a = _adjoint(users, below.a[I, K])
    gradients = dict(sorted(gradients.items(), key=lambda item: (int(item[0][1:]), item[0][0] != "W")))

    forward: list[tuple[sp.MatrixSymbol, sp.Expr]] = []
    for layer in layers:
        forward.append((layer.z, _to_matrix(layer.z_equation, (I, K))))
        forward.append((layer.a, _split_entrywise(layer.a_equation, products, f"P{layer.index}")))
    outputs = {sp.Symbol(out.a.name): sp.Symbol(out.z.name)} if out.activation.function is sigmoid else {}
    cost_arrays = _split_entrywise(cost_entry, products, "PC")
    cost_arrays = stable_logs(cost_arrays, outputs)
    return ArrayDerivation(
        tuple(layer.activation for layer in layers),
        network.cost,
        inputs,
        targets,
        layers,
        cost_arrays,
        forward,
        products,
        deltas,
        entry_deltas,
        gradients,
        time.perf_counter() - start,
        widths,
    )


def _atomize_entry(expr: sp.Expr, layer: ArrayLayer) -> sp.Expr:
    # a(z^l[i,k]) is the named output a^l[i,k]; a derivative a'(z) keeps its z.
    protected = {d: sp.Dummy() for d in expr.atoms(sp.Derivative, sp.Subs)}
    named = expr.xreplace(protected).xreplace({layer.a_equation: layer.a[I, K]})
    return named.xreplace({dummy: d for d, dummy in protected.items()})


def _entrywise_text(expr: sp.Expr, products: dict[sp.Symbol, sp.MatrixExpr]) -> str:
    factors = sp.Mul.make_args(expr)
    shown = [f"({products[f]})" if f in products else f"({f})" for f in factors]
    return " ⊙ ".join(shown)


def _entrywise_latex(expr: sp.Expr, products: dict[sp.Symbol, sp.MatrixExpr]) -> str:
    from ..notation.latex import book_latex

    shown = [book_latex(products.get(f, f)) for f in sp.Mul.make_args(expr)]
    return r" \odot ".join(rf"\left({s}\right)" for s in shown)


# --- compiling to NumPy -------------------------------------------------------------

class ArrayPrinter(NumPyPrinter):
    """NumPy code for the derived matrix expressions.

    Products with the row of ones are recognised for what they are: ``b u``
    copies a column to every example (NumPy broadcasting does that inside
    the sum ``W a + b u``) and ``δ u^T`` sums over the examples.
    """

    def _print_MatMul(self, expr):
        factors = list(expr.args)
        if factors[-1] == ONES:
            return self._print(sp.MatMul(*factors[:-1]) if len(factors) > 2 else factors[0])
        if factors[-1] == ONES.T:
            rest = sp.MatMul(*factors[:-1]) if len(factors) > 2 else factors[0]
            return "numpy.sum(%s, axis=1, keepdims=True)" % self._print(rest)
        return " @ ".join(self.parenthesize(f, 50) for f in factors)

    def _print_MatrixSymbol(self, expr):
        if expr == ONES:
            raise NotDifferentiableError("the row of ones u is only used in b u and δ u^T")
        return super()._print_MatrixSymbol(expr)


def _code_name(name: str) -> str:
    # Book names (W^2, delta^3, a^1) are not identifiers: W2, delta3, a1.
    return name.replace("^", "")


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
    S2 = W3.T @ delta3
    """
    if not isinstance(derivation, ArrayDerivation):
        raise ArgumentError(
            f"compile_arrays compiles what derive_arrays returns, such as derive_arrays([12, 3, 2]); got {derivation!r:.60}"
        )
    for act in derivation.activations:
        act.require_trainable()
        if act.is_generic:
            raise NotDifferentiableError(
                "the generic activation a(z) has no values; choose a concrete activation to compute numbers"
            )
    steps: list[tuple[sp.Basic, sp.Basic]] = list(derivation.forward)
    for layer in reversed(derivation.layers):
        value = derivation.deltas[layer.delta]
        for product in sorted(value.atoms(sp.Symbol) & set(derivation.products), key=str):
            steps.append((product, derivation.products[product]))
        steps.append((sp.Symbol(layer.delta.name), value))
    params = [m for layer in derivation.layers for m in (layer.W, layer.b)]
    args = [_code_names(derivation.inputs), _code_names(derivation.targets)] + [_code_names(p) for p in params]
    outputs = [_total(derivation.cost_entry)] + list(derivation.gradients.values())
    common = [(_code_names(lhs), _code_names(rhs)) for lhs, rhs in steps]
    modules = [{**_NUMPY, **_own_functions(derivation), "total": np.sum, "numpy": np}, "numpy"]
    printer = ArrayPrinter({"fully_qualified_modules": False, "inline": True, "allow_unknown_functions": True})
    gradient = sp.lambdify(
        args, [_code_names(o) for o in outputs], modules=modules, printer=printer,
        cse=lambda exprs: (common, exprs), use_imps=False, docstring_limit=0,
    )
    last = derivation.layers[-1].a
    forward = sp.lambdify(
        [args[0]] + args[2:], _code_names(sp.Symbol(last.name)), modules=modules,
        printer=printer, cse=lambda exprs: (common[: len(derivation.forward)], exprs),
        use_imps=False, docstring_limit=0,
    )
    import inspect

    return CompiledArrays(derivation, gradient, forward, inspect.getsource(gradient))


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
        self.parameter_shapes = dense_parameter_shapes(self.sizes)
        self.file_aliases = book_file_aliases(len(self.sizes))
        self.input_shape = (self.sizes[0],)
        self.output_size = self.sizes[-1]
        self.output_bounds = self.network.output_layer.activation.bounds

    def describe(self) -> str:
        return self.network.describe()

    def initial_params(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Normal initial values; see :func:`dense_initial_params`."""
        return dense_initial_params(self.sizes, rng, self.init)

    def _arrays(self, params) -> list[np.ndarray]:
        out = []
        for l in range(2, len(self.sizes) + 1):
            out += [params[f"W{l}"], params[f"b{l}"][:, None]]
        return out

    def cost_and_gradient(self, params, X, T):
        """``C_T`` and ``∂C_T/∂p`` of a batch (``X``: examples × inputs).

        >>> model = ArrayModel([1, 1], activation="identity")
        >>> model.cost_and_gradient({"W2": np.array([[2.0]]), "b2": np.array([1.0])},
        ...                         np.array([[1.0]]), np.array([[0.0]]))
        (4.5, {'W2': array([[3.]]), 'b2': array([3.])})
        """
        values = self.compiled.gradient(X.T, T.T, *self._arrays(params))
        gradient = {}
        for name, value in zip(self.parameter_shapes, values[1:]):
            gradient[name] = value[:, 0] if name[0] == "b" else value
        return float(values[0]), gradient

    def predict(self, params, X):
        """The outputs ``a^L`` of each example (examples × output units)."""
        return self.compiled.forward(X.T, *self._arrays(params)).T


#: Compiled array paths by (activations, cost) of built-in names.
_COMPILED: dict[tuple, CompiledArrays] = {}


def _reuse_key(network: Network) -> tuple | None:
    from ..functions.activations import BUILTIN as ACTIVATIONS
    from ..functions.costs import BUILTIN as COSTS

    acts = tuple(layer.activation for layer in network.layers)
    if all(ACTIVATIONS.get(a.name) is a for a in acts) and COSTS.get(network.cost.name) is network.cost:
        return tuple(a.name for a in acts), network.cost.name
    return None


def dense_parameter_shapes(sizes: Sequence[int]) -> dict[str, tuple[int, ...]]:
    """``W^l`` (to × from) and ``b^l`` of every layer l = 2..L.

    >>> dense_parameter_shapes([2, 3, 1])
    {'W2': (3, 2), 'b2': (3,), 'W3': (1, 3), 'b3': (1,)}
    """
    shapes: dict[str, tuple[int, ...]] = {}
    for l in range(2, len(sizes) + 1):
        shapes[f"W{l}"] = (sizes[l - 1], sizes[l - 2])
        shapes[f"b{l}"] = (sizes[l - 1],)
    return shapes


def numeric_network(sizes_or_network, activation="sigmoid", cost="squared") -> Network:
    """The network a numeric model computes: given, or built from layer sizes
    (which :class:`Network` checks).

    >>> numeric_network([2, 1], cost="cross-entropy").describe()
    '2-1'
    >>> numeric_network(12)
    Traceback (most recent call last):
    ...
    symbackprop.errors.NetworkSpecError: layer sizes must be a list of integers, got 12
    """
    if isinstance(sizes_or_network, Network):
        return sizes_or_network
    return Network(sizes_or_network, activation=activation, cost=cost)


INITS = ("book", "fan-in")


def check_init(init: str) -> str:
    """The name of an initialisation, checked.

    >>> check_init("xavier")
    Traceback (most recent call last):
    ...
    symbackprop.errors.NetworkSpecError: unknown initialisation 'xavier'; use book or fan-in
    """
    if init not in INITS:
        raise NetworkSpecError(f"unknown initialisation {init!r}; use {' or '.join(INITS)}")
    return init


def dense_initial_params(sizes: Sequence[int], rng: np.random.Generator, init: str = "book") -> dict[str, np.ndarray]:
    """Initial weights from a normal distribution.

    ``book``: every weight and bias standard normal, as the book draws them.
    ``fan-in``: ``w^l_{ji}`` normal with standard deviation ``1/√n_{l−1}`` and
    biases 0, so that ``z`` starts of order 1 however many inputs a unit
    has (with 64 inputs, standard normal weights saturate the sigmoid).

    >>> p = dense_initial_params([64, 32, 10], np.random.default_rng(0), "fan-in")
    >>> round(float(p["W2"].std() * 8), 1), float(abs(p["b2"]).max())
    (1.0, 0.0)
    """
    params: dict[str, np.ndarray] = {}
    for name, shape in dense_parameter_shapes(sizes).items():
        if init == "book":
            params[name] = rng.standard_normal(shape)
        elif name.startswith("W"):
            params[name] = rng.standard_normal(shape) / np.sqrt(shape[1])
        else:
            params[name] = np.zeros(shape)
    return params


def book_file_aliases(depth: int) -> dict[str, str]:
    """The keys of the book's JSON layout for a network of ``depth`` layers.

    The book's 3-layer file has ``hidden_W, hidden_b, output_W, output_b``.
    Deeper networks number their hidden layers from the input:
    ``hidden1_W`` is ``W^2``, ``hidden2_W`` is ``W^3``, …, and ``output_W``
    is ``W^L`` (with one hidden layer ``hidden1_W`` means ``hidden_W``).

    >>> book_file_aliases(4)
    {'hidden1_W': 'W2', 'hidden1_b': 'b2', 'hidden2_W': 'W3', 'hidden2_b': 'b3', 'output_W': 'W4', 'output_b': 'b4'}
    """
    aliases: dict[str, str] = {}
    for l in range(2, depth):
        aliases[f"hidden{l - 1}_W"], aliases[f"hidden{l - 1}_b"] = f"W{l}", f"b{l}"
    if depth == 3:
        aliases["hidden_W"], aliases["hidden_b"] = "W2", "b2"
    aliases["output_W"], aliases["output_b"] = f"W{depth}", f"b{depth}"
    return aliases


# --- verification against the scalar derivation -------------------------------------

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
    route = delta_route(network).cancelled()
    d = derive_arrays(network)
    sizes = dict(zip(d.widths, network.sizes)) | {M: batch}
    parameters = set(network.parameters)

    def example(symbol: sp.Symbol, k: int) -> sp.Symbol:
        return symbol if symbol in parameters else sp.Symbol(f"{symbol.name}^({k + 1})")

    scalar_of: dict[sp.Basic, sp.Basic] = {}
    for k in range(batch):
        for i, x in enumerate(network.inputs):
            scalar_of[d.inputs[i, k]] = example(x, k)
        for j, t in enumerate(network.targets):
            scalar_of[d.targets[j, k]] = example(t, k)
        for layer, dense in zip(d.layers, network.layers):
            for j in range(dense.width):
                scalar_of[layer.z[j, k]] = example(dense.z[j], k)
                scalar_of[layer.a[j, k]] = example(dense.a[j], k)
                scalar_of[layer.delta[j, k]] = example(dense.unit_errors[j], k)
        scalar_of[ONES[0, k]] = sp.S.One
    for layer, dense in zip(d.layers, network.layers):
        for j in range(dense.width):
            scalar_of[layer.b[j, 0]] = dense.b[j]
            for i in range(len(dense.inputs)):
                scalar_of[layer.W[j, i]] = dense.W[j, i]

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
    for layer, dense in zip(d.layers, network.layers):
        z_matrix = dict(d.forward)[layer.z].subs(sizes).as_explicit()
        entries = d.entry_deltas[layer.delta].subs(sizes)
        for k in range(batch):
            for j in range(dense.width):
                want = per_example(network.definitions[dense.z[j]], k)
                checks[str(example(dense.z[j], k))] = sp.expand(scalar(z_matrix[j, k]) - want) == 0
                derived = scalar(entries.xreplace({I: j, K: k}).doit())
                want = per_example_full(route.deltas[dense.unit_errors[j]], k)
                checks[str(example(dense.unit_errors[j], k))] = sp.expand(derived - want) == 0
        for kind, symbols in (("W", dense.W), ("b", dense.b)):
            matrix = d.gradients[f"{kind}{layer.index}"].subs(sizes).as_explicit()
            for r in range(symbols.rows):
                for c in range(symbols.cols):
                    p = symbols[r, c]
                    want = sp.Add(*(per_example(route.gradients[p], k) for k in range(batch)))
                    checks[str(p)] = sp.expand(scalar(matrix[r, c]) - want) == 0
    return ArrayVerification(network, batch, checks)
