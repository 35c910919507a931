"""The two routes to ``∂C/∂p``: directly ("derivative hell") and by the δ recurrence.

*Direct*: substitute every definition into ``C`` and differentiate the one
big expression with respect to each parameter.

*δ route*: walk the definitions backwards. Each quantity ``q`` receives
``∂C/∂q = Σ_d ∂C/∂d · ∂d/∂q`` over the quantities ``d`` whose local equation
uses it, with the local derivative ``∂d/∂q`` taken by SymPy from that
equation. For a weighted input the sum is named: the unit error
``δ^l_j = ∂C/∂z^l_j``. Nothing about the recurrence is typed in; for a fully
connected layer it *comes out* as the book's
``δ^l_i = (Σ_j δ^{l+1}_j w^{l+1}_{ji}) a'(z^l_i)``:

>>> net = Network([2, 2, 1], activation="generic")
>>> route = delta_route(net)
>>> route.deltas[net.symbol("delta^2_1")]
delta^3_1*w^3_11*Derivative(a(z^2_1), z^2_1)
>>> route.gradients[net.symbol("w^2_12")]
delta^2_1*x_2
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field

import sympy as sp

from ..errors import ArgumentError, SizeLimitError, echo
from ..guards import DIRECT_ROUTE_LIMIT, PATH_LIMIT, check_sequence
from ..notation.latex import DISPLAY_LIMIT, book_latex, display_math, equation_latex
from ..notation.symbols import COST, Partial
from .network import LayeredModel, check_model, replace_quantities
from .shared_derivative import shared_diff

# --- sizes -------------------------------------------------------------------

@dataclass(frozen=True)
class ExpressionSize:
    """Two honest sizes of an expression.

    ``tree_ops`` counts the operations of the expression written out as a
    tree (what a person would have to write: the measure of "derivative
    hell"); ``graph_nodes`` counts distinct subexpressions (what the machine
    stores, since SymPy shares them).

    >>> import sympy as sp
    >>> x = sp.Symbol("x")
    >>> s = sp.sin(x + 1)
    >>> expression_size([s * s + s])
    ExpressionSize(tree_ops=6, graph_nodes=7)
    """

    tree_ops: int
    graph_nodes: int


def expression_size(exprs) -> ExpressionSize:
    """Tree operations and distinct nodes of some expressions, in time linear in
    the number of *distinct* nodes.

    >>> expression_size(sp.Symbol("x"))
    Traceback (most recent call last):
    ...
    symbackprop.errors.ArgumentError: the expressions to size must be a list or tuple; got x
    """
    exprs = check_sequence(exprs, "the expressions to size")
    if not all(isinstance(expr, sp.Basic) for expr in exprs):
        raise ArgumentError(f"every expression to size must be a SymPy expression; got {echo(exprs)}")
    ops: dict[sp.Basic, int] = {}
    total = sum(_iterative_visit(expr, ops) for expr in exprs)
    return ExpressionSize(total, len(ops))


def _iterative_visit(root: sp.Basic, ops: dict[sp.Basic, int]) -> int:
    # Iterative post-order: deep expressions would overflow Python's stack.
    stack: list[tuple[sp.Basic, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        if node in ops:
            continue
        if done or not node.args:
            count = sum(ops[arg] for arg in node.args)
            if node.args and not isinstance(node, sp.Tuple):
                count += len(node.args) - 1 if isinstance(node, (sp.Add, sp.Mul)) else 1
            ops[node] = count
            continue
        stack.append((node, True))
        stack.extend((arg, False) for arg in node.args if arg not in ops)
    return ops[root]


# --- local derivatives ---------------------------------------------------------

def atomizer(model: LayeredModel) -> dict[sp.Expr, sp.Symbol]:
    """``{a(z^l_j): a^l_j, …}``: definitions that can be read back as their names.

    >>> atomizer(Network([1, 1]))
    {b^2_1 + w^2_11*x_1: z^2_1, sigmoid(z^2_1): a^2_1}
    """
    return {
        definition: symbol
        for symbol, definition in model.definitions.items()
        if not definition.is_Atom
    }


def atomize(expr: sp.Expr, reverse: dict[sp.Expr, sp.Symbol]) -> sp.Expr:
    """``expr`` with every definition in ``reverse`` written as its name.

    >>> net = Network([1, 1])
    >>> atomize(sp.diff(net.definition("a^2_1"), net.symbol("z^2_1")), atomizer(net))
    a^2_1*(1 - a^2_1)
    """
    # Derivatives of an undefined activation must keep their argument: a'(z)
    # is not a function of a(z).
    protected = {d: sp.Dummy() for d in expr.atoms(sp.Derivative, sp.Subs)}
    named = expr.xreplace(protected).xreplace(reverse)
    return named.xreplace({dummy: d for d, dummy in protected.items()})


def local_derivative(model: LayeredModel, of: sp.Symbol, wrt: sp.Symbol) -> sp.Expr:
    """``∂of/∂wrt`` from ``of``'s own local equation, written in layer quantities.

    >>> net = Network([2, 1], activation="sigmoid")
    >>> local_derivative(net, net.symbol("a^2_1"), net.symbol("z^2_1"))
    a^2_1*(1 - a^2_1)
    >>> local_derivative(net, COST, net.symbol("a^2_1"))
    a^2_1 - t_1
    """
    equation = model.cost_expression if of == COST else model.definitions[of]
    return atomize(sp.diff(equation, wrt), atomizer(model))


def _term_derivative(term: sp.Expr, s: sp.Symbol) -> sp.Expr:
    """``∂term/∂s``. A product in which ``s`` is a plain factor (``w^l_{ji} a^{l−1}_i``
    by ``w``, or by ``a``) is linear in ``s``: its derivative is the product of
    the other factors. This is the bulk of every weighted sum, and SymPy's
    general ``diff`` would spend most of the δ route's time on it."""
    if isinstance(term, sp.Mul) and term.args.count(s) == 1:
        others = [f for f in term.args if f != s]
        if not any(f.has(s) for f in others):
            return sp.Mul(*others)
    return sp.diff(term, s)


# --- the δ route ---------------------------------------------------------------

@dataclass
class DeltaRoute:
    """The gradients by unit errors, in layer quantities.

    ``deltas`` maps each ``δ`` to its equation (output layer first: the
    recurrence runs backwards); ``gradients`` maps each parameter to
    ``∂C/∂p`` in terms of ``δ``s and layer outputs.
    """

    model: LayeredModel
    deltas: dict[sp.Symbol, sp.Expr]
    gradients: dict[sp.Symbol, sp.Expr]
    unit_of: dict[sp.Symbol, sp.Symbol]
    seconds: float
    _full: dict[sp.Symbol, sp.Expr] | None = field(default=None, repr=False)

    def full_substitution(self) -> dict[sp.Symbol, sp.Expr]:
        """Every δ and layer quantity in terms of inputs, targets and parameters."""
        if self._full is None:
            full = dict(self.model.full_substitution())
            for delta, equation in self.deltas.items():
                # δs are listed output layer first, so each one's equation only
                # uses δs already substituted.
                full[delta] = replace_quantities(equation, full)
            self._full = full
        return self._full

    def expanded(self, parameter) -> sp.Expr:
        """``∂C/∂p`` written out in inputs, targets and parameters only.

        >>> net = Network([1, 1], activation="identity")
        >>> delta_route(net).expanded("w^2_11")
        x_1*(b^2_1 - t_1 + w^2_11*x_1)
        """
        p = self.model.parameter(parameter)
        return replace_quantities(self.gradients[p], self.full_substitution())

    def cancelled(self) -> DeltaRoute:
        """The same route with each δ equation that has a denominator reduced by
        ``cancel`` (an identity of rational functions). Cross-entropy with a
        sigmoid output becomes ``δ^L_j = a^L_j − t_j``: the ``a'(z)`` cancels.

        >>> net = Network([1, 1], cost="cross-entropy")
        >>> route = delta_route(net)
        >>> route.cancelled().deltas[net.symbol("delta^2_1")]
        a^2_1 - t_1
        """
        deltas = {
            d: sp.cancel(e) if any(p.exp.is_negative for p in e.atoms(sp.Pow)) else e
            for d, e in self.deltas.items()
        }
        return DeltaRoute(self.model, deltas, self.gradients, self.unit_of, self.seconds)

    def constrained(self) -> DeltaRoute:
        """The same route with the model's constraint on its targets applied:
        each δ equation is expanded and collected by the layer quantities, and
        wherever the whole sum ``Σ_j t_j`` stands it is replaced by 1. The
        rewritten δs equal the derived ones for targets that sum to 1 (a
        one-hot class), not for others. For a softmax output with the
        categorical cross-entropy the derived
        ``δ^L_k = −t_k(1 − a^L_k) + Σ_{j≠k} t_j a^L_k = a^L_k Σ_j t_j − t_k``
        becomes ``a^L_k − t_k``. Without a constraint the route is unchanged.

        >>> net = Network([1, 2], output="softmax", cost="categorical-cross-entropy")
        >>> route = delta_route(net)
        >>> route.deltas[net.symbol("delta^2_1")]
        a^2_1*t_2 - t_1*(1 - a^2_1)
        >>> route.constrained().deltas[net.symbol("delta^2_1")]
        a^2_1 - t_1
        """
        constraint = self.model.target_constraint
        if constraint is None:
            return self
        quantities = set(self.model.definitions) | set(self.deltas)
        deltas = {}
        for d, e in self.deltas.items():
            collected = sp.collect(sp.expand(e), sorted(e.free_symbols & quantities, key=sp.default_sort_key))
            applied = collected.xreplace({constraint.lhs: constraint.rhs})
            deltas[d] = e if applied == collected else applied
        return DeltaRoute(self.model, deltas, self.gradients, self.unit_of, self.seconds)

    def formulas(self) -> list[str]:
        """Every δ equation, then every gradient, as one LaTeX formula each.

        >>> from symbackprop import Network
        >>> print(delta_route(Network([1, 1])).formulas()[0])
        \\delta^{2}_{1} = a^{2}_{1} \\left(1 - a^{2}_{1}\\right) \\left(a^{2}_{1} - t_{1}\\right)
        """
        rows = [*self.deltas.items(), *((Partial(COST, p), g) for p, g in self.gradients.items())]
        return [equation_latex(lhs, "=", rhs) for lhs, rhs in rows]

    def _repr_latex_(self) -> str:
        return display_math(self.formulas(), DISPLAY_LIMIT, "all of them: .formulas()")

    def size(self) -> ExpressionSize:
        """Size of the route as computed: δ equations plus gradient formulas."""
        return expression_size(list(self.deltas.values()) + list(self.gradients.values()))

    def expanded_size(self) -> ExpressionSize:
        """Size of all gradients written out in inputs and parameters."""
        full = self.full_substitution()
        return expression_size([replace_quantities(g, full) for g in self.gradients.values()])


def delta_route(model: LayeredModel) -> DeltaRoute:
    """Derive every ``δ`` and every ``∂C/∂p`` backwards through the model's
    local equations (linear in the size of the network).

    >>> route = delta_route(Network([12, 3, 2]))
    >>> route.deltas[Network([12, 3, 2]).symbol("delta^3_1")]
    a^3_1*(1 - a^3_1)*(a^3_1 - t_1)
    >>> len(route.gradients)
    47
    """
    check_model(model, "delta_route")
    start = time.perf_counter()
    reverse = atomizer(model)
    units = {u: layer for layer in model.layers for u in layer.units}
    delta_of = {u: d for layer in model.layers for u, d in zip(layer.units, layer.unit_errors)}
    parameters = set(model.parameters)
    contributions: dict[sp.Symbol, list[sp.Expr]] = defaultdict(list)

    def pass_back(adjoint: sp.Expr, equation: sp.Expr) -> None:
        # ∂(Σ terms)/∂s only needs the terms that contain s: a weighted sum
        # of n inputs then costs O(n), not O(n²).
        terms = equation.args if isinstance(equation, sp.Add) else (equation,)
        containing: dict[sp.Symbol, list[sp.Expr]] = defaultdict(list)
        for term in terms:
            for s in term.free_symbols:
                containing[s].append(term)
        for s, used in containing.items():
            if s in model.definitions or s in parameters:
                local = sp.Add(*(_term_derivative(term, s) for term in used))
                if not local.is_Atom:
                    local = atomize(local, reverse)
                if local != 0:
                    contributions[s].append(adjoint * local)

    pass_back(sp.S.One, model.cost_expression)
    deltas: dict[sp.Symbol, sp.Expr] = {}
    for q in reversed(list(model.definitions)):
        total = sp.Add(*contributions.pop(q, []))
        if q in units:
            delta = delta_of[q]
            deltas[delta] = total
            adjoint: sp.Expr = delta
        else:
            adjoint = total
        if adjoint != 0:
            pass_back(adjoint, model.definitions[q])
    gradients = {p: sp.Add(*contributions.get(p, [])) for p in model.parameters}
    return DeltaRoute(
        model,
        deltas,
        gradients,
        {d: u for u, d in delta_of.items()},
        time.perf_counter() - start,
    )


# --- the direct route ----------------------------------------------------------

@dataclass
class DirectRoute:
    """``C`` written out in inputs and parameters, and its derivative by each."""

    model: LayeredModel
    cost: sp.Expr
    gradients: dict[sp.Symbol, sp.Expr]
    seconds: float

    def size(self) -> ExpressionSize:
        return expression_size(list(self.gradients.values()))

    def formulas(self) -> list[str]:
        """Every gradient written out, as one LaTeX formula each.

        >>> from symbackprop import Network
        >>> len(direct_route(Network([2, 1])).formulas())
        3
        """
        return [equation_latex(Partial(COST, p), "=", g) for p, g in self.gradients.items()]

    def _repr_latex_(self) -> str:
        # The written-out gradients of 12-3-2 alone are 275 KB of LaTeX.
        return display_math(self.formulas(), DISPLAY_LIMIT, "all of them: .formulas()")


def estimate_direct_work(model: LayeredModel) -> int:
    """Estimated operations of the direct route: tree operations of the written-out
    ``C`` times the number of parameters to differentiate it by.

    >>> estimate_direct_work(Network([2, 2, 1])) > 0
    True
    """
    return expression_size([model.cost_substituted()]).tree_ops * model.parameter_count


def direct_route(model: LayeredModel, parameters=None, *, force: bool = False, shared: bool = False) -> DirectRoute:
    """Differentiate the fully substituted ``C`` by each parameter.

    ``shared=True`` applies SymPy's rules once per distinct node of ``C``
    (:func:`~symbackprop.engine.shared_derivative.shared_diff`): the same
    expressions as ``sympy.diff``, five times sooner on the book's CNN; by
    default the route is ``sympy.diff`` itself, as measured by ``compare``.
    Refuses, before starting, when the estimated work exceeds
    :data:`DIRECT_ROUTE_LIMIT` unless ``force=True``.

    >>> route = direct_route(Network([1, 1], activation="identity"))
    >>> route.gradients[route.model.symbol("b^2_1")]
    b^2_1 - t_1 + w^2_11*x_1
    >>> direct_route(Network([64, 32, 10]))
    Traceback (most recent call last):
    ...
    symbackprop.errors.SizeLimitError: the direct route for 64-32-10 would take about 1e+08 operations (limit 5e+05): derivative hell. Use the δ route, or force it with force=True (CLI: --force)
    """
    check_model(model, "direct_route")
    if parameters is not None:
        parameters = check_sequence(parameters, "the parameters to differentiate by")
    start = time.perf_counter()
    work = estimate_direct_work(model)
    if work > DIRECT_ROUTE_LIMIT and not force:
        raise SizeLimitError(
            f"the direct route for {model.describe()} would take about {work:.2g} operations "
            f"(limit {DIRECT_ROUTE_LIMIT:.0e}): derivative hell. Use the δ route, or force it "
            "with force=True (CLI: --force)"
        )
    cost = model.cost_substituted()
    chosen = model.parameters if parameters is None else [model.parameter(p) for p in parameters]
    differentiate = shared_diff if shared else sp.diff
    gradients = {p: differentiate(cost, p) for p in chosen}
    return DirectRoute(model, cost, gradients, time.perf_counter() - start)


# --- the chain rule, path by path ----------------------------------------------


@dataclass
class ChainRuleExpansion:
    """``∂C/∂p`` as the book writes it: a sum over every path from ``p`` to ``C``
    of the product of the local derivatives along the path."""

    model: LayeredModel
    parameter: sp.Symbol
    paths: list[tuple[Partial, ...]]
    values: dict[Partial, sp.Expr]

    @property
    def term_count(self) -> int:
        """The number of paths, i.e. of products in the sum."""
        return len(self.paths)

    def expression(self) -> sp.Expr:
        """The unevaluated sum of products of :class:`Partial` factors."""
        return sp.Add(*(sp.Mul(*path) for path in self.paths))

    def evaluate(self) -> sp.Expr:
        """Each factor replaced by its value: ``∂C/∂p`` in layer quantities."""
        return sp.Add(*(sp.Mul(*(self.values[f] for f in path)) for path in self.paths))

    def _repr_latex_(self) -> str:
        paths = sp.Add(*(sp.Mul(*path, evaluate=False) for path in self.paths), evaluate=False)
        target = Partial(COST, self.parameter)
        return display_math([equation_latex(target, "=", paths), equation_latex(target, "=", self.evaluate())])

    def latex(self) -> str:
        """The sum written in path order, factor by factor, as in the book."""
        terms = [r" \cdot ".join(book_latex(f) for f in path) for path in self.paths]
        return " + ".join(terms)


def count_paths(model: LayeredModel, parameter) -> int:
    """How many paths lead from ``parameter`` to ``C`` through the equations.

    >>> count_paths(Network([12, 3, 2]), "w^2_11")
    2
    """
    check_model(model, "count_paths")
    p = model.parameter(parameter)
    counts = path_counts(model)
    return counts.get(p, 0)


def consumers(model: LayeredModel) -> dict[sp.Symbol, list[sp.Symbol]]:
    """The quantities whose definitions use each symbol (``C`` included).

    >>> consumers(Network([1, 1]))[sp.Symbol("w^2_11")]
    [z^2_1]
    """
    users: dict[sp.Symbol, list[sp.Symbol]] = defaultdict(list)
    for symbol, definition in model.definitions.items():
        for s in sorted(definition.free_symbols, key=sp.default_sort_key):
            users[s].append(symbol)
    for s in sorted(model.cost_expression.free_symbols, key=sp.default_sort_key):
        users[s].append(COST)
    return users


def path_counts(model: LayeredModel) -> dict[sp.Symbol, int]:
    """How many chain-rule paths lead from each quantity to ``C``.

    >>> path_counts(Network([2, 3, 2]))[sp.Symbol("w^2_11")]
    2
    """
    users = consumers(model)
    counts: dict[sp.Symbol, int] = {COST: 1}
    for q in reversed(list(model.definitions)):
        counts[q] = sum(counts.get(u, 0) for u in users.get(q, []))
    for p in model.parameters:
        counts[p] = sum(counts.get(u, 0) for u in users.get(p, []))
    return counts


def chain_rule_expansion(model: LayeredModel, parameter, *, force: bool = False) -> ChainRuleExpansion:
    """Every path from ``parameter`` to ``C``, each a product of local derivatives.

    >>> net = Network([12, 3, 2])
    >>> expansion = chain_rule_expansion(net, "w^2_11")
    >>> expansion.term_count
    2
    >>> expansion.paths[0]
    (∂C/∂a^3_1, ∂a^3_1/∂z^3_1, ∂z^3_1/∂a^2_1, ∂a^2_1/∂z^2_1, ∂z^2_1/∂w^2_11)
    """
    check_model(model, "chain_rule_expansion")
    p = model.parameter(parameter)
    total = count_paths(model, p)
    if total > PATH_LIMIT and not force:
        raise SizeLimitError(
            f"{p} reaches C along {total} paths (limit {PATH_LIMIT}): too many to list. "
            "Use the δ route, or force it with force=True (CLI: --force)"
        )
    users = consumers(model)
    paths: list[tuple[Partial, ...]] = []
    values: dict[Partial, sp.Expr] = {}

    def walk(node: sp.Symbol, suffix: list[Partial]) -> None:
        for user in users.get(node, []):
            factor = Partial(user, node)
            if factor not in values:
                values[factor] = local_derivative(model, user, node)
            if user == COST:
                # Book order: from C down to the parameter.
                paths.append(tuple(reversed(suffix + [factor])))
            else:
                walk(user, suffix + [factor])

    walk(p, [])
    return ChainRuleExpansion(model, p, paths, values)
