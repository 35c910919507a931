"""The array form: the δ recurrence derived once more, in index form, for any widths.

The scalar path writes one expression per weight, so its cost grows with
the network. Here every layer is written once with *symbolic* sizes, as the
book's matrix form reads entry by entry (``k`` numbers the examples of a
batch, ``u`` is the row of ``m`` ones that copies the bias to every example)::

    z^l[j,k] = Σ_h w^l[j,h] a^{l−1}[h,k] + b^l[j,0] u[0,k]
    a^l[j,k] = a(z^l[j,k])
    C_T      = Σ_{j,k} c(a^L[j,k], t[j,k]) + Σ_k (λ/2) Σ_l Σ_{j,h} w^l[j,h]²

(the last sum is the weight decay of a network that has one, once per
example as in ``C_T = Σ_k C_k``; ``C_T`` is then one more user of ``w^l``)

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
:func:`~symbackprop.numeric.arrays.verify_arrays` checks it, entry by entry and exactly, against the
scalar δ route at small sizes, and :class:`~symbackprop.numeric.arrays.ArrayModel`
compiles it to NumPy matrix products over the batch.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixElement
from sympy.tensor.array.expressions import convert_array_to_matrix, convert_indexed_to_array

from ..engine.network import Network
from ..errors import NotDifferentiableError
from ..functions.activations import Activation
from ..functions.costs import Cost
from ..functions.elementary import sigmoid
from .dense import numeric_network
from .stable import stable_logs

#: The batch size and the free indices of every entry equation.
M = sp.Symbol("m", integer=True, positive=True)
I, K = sp.symbols("i k", integer=True, nonnegative=True)
_C = sp.Symbol("c", integer=True, nonnegative=True)


#: The row of m ones that copies a bias to every example: ``z = W a + b u``.
ONES = sp.MatrixSymbol("u", 1, M)


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
    form, before the matrix products were recognised. ``weight_decay`` is λ
    and ``decay_entries`` the entrywise ``(λ/2) (W^l)²`` of each layer, whose
    sums, once per example, ``C_T`` adds to its error terms.
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
    weight_decay: sp.Expr = sp.S.Zero
    decay_entries: tuple[sp.Expr, ...] = field(default=())

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
    for layer in network.layers:
        for z, a in zip(layer.units, layer.outputs):
            # a^l[i,k] = a(z^l[i,k]) is the one shape of equation this path writes as arrays
            if layer.equations[a].free_symbols != {z}:
                raise NotDifferentiableError(
                    f"the outputs of layer {layer.index} ({layer.activation.name}) each read every unit's z, "
                    "but the array path computes activations entry by entry; use the scalar path "
                    "(ScalarModel, CLI: --path scalar)"
                )
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
    decay = network.weight_decay
    decay_entries = tuple(decay / 2 * layer.W[I, K] ** 2 for layer in layers) if decay != 0 else ()
    # C_T = Σ_{j,k} c(a^L[j,k], t[j,k]) + Σ_k (λ/2) Σ_l Σ_{j,h} W^l[j,h]²; its adjoint for a^L[i,k]:
    cost_total = sp.Sum(cost_entry.xreplace({I: j, K: k2}), (j, 0, out.width - 1), (k2, 0, M - 1)) + sp.Add(*(
        sp.Sum(entry.xreplace({I: j, K: h}), (j, 0, layer.width - 1), (h, 0, layer.W.shape[1] - 1), (k2, 0, M - 1))
        for entry, layer in zip(decay_entries, layers)
    ))
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
        # C_T itself uses W^l when it holds the weight decay.
        w_entry = _adjoint(users, layer.W[I, K]) + _in_range(_collapse(sp.diff(cost_total, layer.W[I, K]).doit()))
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
    outputs = {sp.Symbol(out.a.name): sigmoid(sp.Symbol(out.z.name))} if out.activation.function is sigmoid else {}
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
        decay,
        tuple(_split_entrywise(entry, products, f"PW{n}") for n, entry in enumerate(decay_entries)),
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
