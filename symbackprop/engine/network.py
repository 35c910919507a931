"""A network as a SymPy graph: layers, their equations and the cost.

Quantities are symbols and definitions are equations: ``z^l_j``, ``a^l_j``
stay named atoms with a table of their local definitions, and the fully
substituted form (in inputs and parameters only) is one call away.

>>> net = Network([12, 3, 2])
>>> net.parameter_count
47
>>> net.definition("z^3_1")
a^2_1*w^3_11 + a^2_2*w^3_12 + a^2_3*w^3_13 + b^3_1
>>> net.cost_expression
(-a^3_1 + t_1)**2/2 + (-a^3_2 + t_2)**2/2
"""

from __future__ import annotations

from collections.abc import Sequence

import sympy as sp

from ..errors import ArgumentError, NetworkSpecError, UnknownNameError, echo
from ..functions.activations import Activation, get_activation
from ..functions.costs import Cost, check_cost_fits_outputs, get_cost, weight_decay_rate, weight_decay_term
from ..guards import check_model_terms, dense_terms, is_count
from ..layers.dense import Dense
from ..layers.protocol import Layer
from ..layers.softmax import Softmax
from ..notation.symbols import index_text, parse_symbol_name, split_indices

_XI = sp.Symbol("xi")


def replace_quantities(expr: sp.Expr, mapping: dict) -> sp.Expr:
    """``expr.xreplace(mapping)``, except that a derivative ``a'(z)`` taken with
    respect to a replaced symbol becomes ``a'`` evaluated at the replacement
    (``Subs``), as SymPy writes it when it differentiates ``a(…)`` itself.

    >>> import sympy as sp
    >>> a, z, w, x = sp.Function("a"), *sp.symbols("z w x")
    >>> replace_quantities(a(z).diff(z), {z: w * x})
    Subs(Derivative(a(xi), xi), xi, w*x)
    """
    derivatives = {
        d: sp.Subs(d.expr.func(_XI).diff(_XI), _XI, d.variables[0])
        for d in expr.atoms(sp.Derivative)
        if len(d.variables) == 1 and d.variables[0] in mapping and d.expr.args == d.variables
    }
    if derivatives:
        expr = expr.xreplace(derivatives)
    return expr.xreplace(mapping)


class LayeredModel:
    """Inputs, a stack of layers and a cost: the object every derivation reads.

    Subclasses build their layers; this class owns the bookkeeping that does
    not depend on the kind of layer: symbol lookup, definitions, full
    substitution.
    """

    inputs: tuple[sp.Symbol, ...]
    layers: tuple[Layer, ...]
    targets: tuple[sp.Symbol, ...]
    cost: Cost
    #: λ of the weight decay ``(λ/2) Σ w²`` in ``C`` (over the layers' weights, not the biases).
    weight_decay: sp.Expr = sp.S.Zero

    def _finish(self) -> None:
        self.definitions: dict[sp.Symbol, sp.Expr] = {}
        for layer in self.layers:
            self.definitions.update(layer.equations)
        self.parameters: tuple[sp.Symbol, ...] = tuple(
            p for layer in self.layers for p in layer.parameters
        )
        self._parameter_set = frozenset(self.parameters)
        check_cost_fits_outputs(self.cost, self.output_layer.activation)
        # The decay term is part of C itself, so every route differentiates it
        # like any other term: C is one more consumer of each weight.
        self.weights: tuple[sp.Symbol, ...] = tuple(w for layer in self.layers for w in layer.weights)
        self.cost_expression: sp.Expr = self.cost(self.output_layer.outputs, self.targets) + weight_decay_term(
            self.weight_decay, self.weights
        )
        self._symbols = {s.name: s for s in self.all_symbols()}
        self._full: dict[sp.Symbol, sp.Expr] | None = None

    @property
    def target_constraint(self) -> sp.Eq | None:
        """What the targets are assumed to satisfy, or None: ``Σ_j t_j = 1`` for a
        cost that compares distributions (the categorical cross-entropy).

        >>> Network([2, 2], output="softmax", cost="categorical-cross-entropy").target_constraint
        Eq(t_1 + t_2, 1)
        """
        if not self.cost.targets_sum_to_one:
            return None
        return sp.Eq(sp.Add(*self.targets), 1, evaluate=False)

    def under_target_constraint(self, expr: sp.Expr) -> sp.Expr:
        """``expr`` for targets that satisfy :attr:`target_constraint`: with
        ``Σ_j t_j = 1`` the last target is ``t_n = 1 − Σ_{j<n} t_j``, so two
        expressions equal under the constraint become equal here.

        >>> net = Network([1, 2], output="softmax", cost="categorical-cross-entropy")
        >>> net.under_target_constraint(sp.Symbol("t_1") + sp.Symbol("t_2"))
        1
        """
        if self.target_constraint is None:
            return expr
        *first, last = self.targets
        return expr.xreplace({last: 1 - sp.Add(*first)})

    @property
    def output_layer(self) -> Layer:
        return self.layers[-1]

    @property
    def depth(self) -> int:
        """``L``, the number of layers counting the input layer as layer 1."""
        return len(self.layers) + 1

    @property
    def parameter_count(self) -> int:
        """How many weights and biases gradient descent adjusts."""
        return len(self.parameters)

    def all_symbols(self) -> list[sp.Symbol]:
        """Every named quantity: inputs, targets, parameters, layer quantities, δs."""
        found = list(self.inputs) + list(self.targets) + list(self.parameters)
        for layer in self.layers:
            found += list(layer.equations) + list(layer.unit_errors)
        return found

    def symbol(self, name: str | sp.Symbol) -> sp.Symbol:
        """The quantity called ``name`` in any common spelling.

        >>> net = Network([12, 3, 2])
        >>> net.symbol("w^2_{1,12}"), net.symbol("w2_11"), net.symbol("a^1_3"), net.symbol("δ^3_2")
        (w^2_1,12, w^2_11, x_3, delta^3_2)
        >>> net.symbol("w^4_11")
        Traceback (most recent call last):
        ...
        symbackprop.errors.UnknownNameError: this 12-3-2 network has no quantity 'w^4_11'; weights are w^l_ji with l = 2..3, j a unit of layer l, i a unit of layer l-1 (e.g. w^2_11)
        """
        found = self.find_symbol(name)
        if found is None:
            raise UnknownNameError(
                f"this {self.describe()} network has no quantity {echo(name)}; {self.naming_hint()}"
            )
        return found

    def parameter(self, name: str | sp.Symbol) -> sp.Symbol:
        """The weight or bias called ``name``; any other quantity is an error.

        >>> net = Network([2, 2, 1])
        >>> net.parameter("w^3_12")
        w^3_12
        >>> net.parameter("a^2_1")
        Traceback (most recent call last):
        ...
        symbackprop.errors.UnknownNameError: a^2_1 is not a parameter of this 2-2-1 network; weights are w^l_ji with l = 2..3, j a unit of layer l, i a unit of layer l-1 (e.g. w^2_11)
        """
        symbol = self.symbol(name)
        if symbol not in self._parameter_set:
            raise UnknownNameError(
                f"{symbol} is not a parameter of this {self.describe()} network; {self.naming_hint()}"
            )
        return symbol

    def find_symbol(self, name: str | sp.Symbol) -> sp.Symbol | None:
        """Like :meth:`symbol`, but ``None`` for an unknown name."""
        if isinstance(name, sp.Symbol):
            return name if name.name in self._symbols else None
        text = str(name).strip()
        if text in self._symbols:
            return self._symbols[text]
        parsed = parse_symbol_name(text)
        if parsed is None:
            return None
        kind, sup, sub = parsed
        if kind == "a" and sup == "1":  # the book's a^1_i is the input x_i
            kind, sup = "x", ""
        for count in (1, 2, 3, 4):
            indices = split_indices(sub, count)
            if indices is None:
                continue
            if sup:
                candidate = f"{kind}^{sup}_{index_text(indices)}"
            else:
                candidate = f"{kind}_{index_text(indices)}"
            if candidate in self._symbols:
                return self._symbols[candidate]
        return None

    def naming_hint(self) -> str:
        return "see the model's all_symbols() for the names"

    def describe(self) -> str:
        return type(self).__name__

    def full_substitution(self) -> dict[sp.Symbol, sp.Expr]:
        """Every defined quantity in terms of inputs and parameters only.

        Built once, definition by definition, so subexpressions are shared:
        the result is a graph, however large the equivalent tree.
        """
        if self._full is None:
            full: dict[sp.Symbol, sp.Expr] = {}
            for symbol, definition in self.definitions.items():
                full[symbol] = replace_quantities(definition, full)
            self._full = full
        return self._full

    def substitute(self, expr: sp.Expr) -> sp.Expr:
        """``expr`` with every layer quantity replaced by its full definition.

        >>> net = Network([1, 1], activation="generic")
        >>> net.substitute(net.symbol("a^2_1"))
        a(b^2_1 + w^2_11*x_1)
        """
        # strict: a string here would be evaluated as code; user text goes through parse_expression
        return replace_quantities(sp.sympify(expr, strict=True), self.full_substitution())

    def definition(self, name: str | sp.Symbol, substituted: bool = False) -> sp.Expr:
        """The local definition of a quantity (``z^l_j`` in terms of
        ``a^{l−1}``), or its fully substituted form.

        >>> Network([2, 1]).definition("z^2_1", substituted=True)
        b^2_1 + w^2_11*x_1 + w^2_12*x_2
        """
        symbol = self.symbol(name)
        if symbol not in self.definitions:
            raise UnknownNameError(f"{symbol} is not defined by an equation (it is an input or a parameter)")
        if substituted:
            return self.full_substitution()[symbol]
        return self.definitions[symbol]

    def cost_substituted(self) -> sp.Expr:
        """``C`` as one expression in the inputs, targets and parameters."""
        return self.substitute(self.cost_expression)

    def total_cost(self, n: int) -> sp.Expr:
        """``C_T = Σ_k C_k`` over ``n`` examples; example k's inputs and targets
        are ``x_i^{(k)}`` and ``t_j^{(k)}``.

        >>> Network([1, 1], activation="identity").total_cost(2)
        (-b^2_1 + t_1^(1) - w^2_11*x_1^(1))**2/2 + (-b^2_1 + t_1^(2) - w^2_11*x_1^(2))**2/2
        """
        if not is_count(n):
            raise NetworkSpecError(f"the number of examples must be a positive integer, got {n!r}")
        cost = self.cost_substituted()
        total = []
        for k in range(1, n + 1):
            rename = {s: sp.Symbol(f"{s.name}^({k})") for s in self.inputs + self.targets}
            total.append(cost.xreplace(rename))
        return sp.Add(*total)

    def _repr_latex_(self) -> str:
        from ..notation.latex import book_latex

        lines = [
            f"{book_latex(s)} &= {book_latex(d)}" for s, d in self.definitions.items()
        ]
        lines.append(f"C &= {book_latex(self.cost_expression)}")
        return "$\\begin{aligned}" + r"\\ ".join(lines) + "\\end{aligned}$"


def check_model(model: object, who: str) -> None:
    """Refuse anything but a symbolic model (a Network or ConvolutionalNetwork).

    >>> check_model([12, 3, 2], "delta_route")
    Traceback (most recent call last):
    ...
    symbackprop.errors.ArgumentError: delta_route needs a model such as Network([12, 3, 2]) or ConvolutionalNetwork(); got [12, 3, 2]
    """
    if not isinstance(model, LayeredModel):
        raise ArgumentError(
            f"{who} needs a model such as Network([12, 3, 2]) or ConvolutionalNetwork(); got {echo(model)}"
        )


class Network(LayeredModel):
    """A fully connected layered network, layers numbered 1 (input) to L.

    ``sizes`` lists the widths of all layers, input first (the book's
    example is ``[12, 3, 2]``). ``activation`` is one activation for every
    layer or one per layer 2..L; ``cost`` is a cost name or expression.
    ``weight_decay`` is λ ≥ 0 of L2 weight decay: ``C`` gains ``(λ/2) Σ w²``
    over the weights (not the biases), so that ``∂C/∂w^l_{ji}`` gains
    ``λ w^l_{ji}``. The term is in the cost of each example, so
    ``C_T = Σ_k C_k`` holds it once per example and the mean cost
    ``C_T/n`` is the mean error plus ``(λ/2) Σ w²`` whatever n.

    >>> Network([1, 1], activation="identity", weight_decay="0.01").cost_expression
    w^2_11**2/200 + (-a^2_1 + t_1)**2/2

    ``output="softmax"`` makes layer L a :class:`~symbackprop.layers.softmax.Softmax`
    layer; ``activation`` then names the hidden layers' activations (one, or
    one per layer 2..L−1).

    >>> net = Network([2, 2, 1], activation=["tanh", "sigmoid"])
    >>> [layer.activation.name for layer in net.layers]
    ['tanh', 'sigmoid']
    >>> net.describe()
    '2-2-1'
    >>> Network([2, 2, 3], activation="tanh", output="softmax", cost="categorical-cross-entropy")
    Network(2-2-3, activation=softmax,tanh, cost=categorical-cross-entropy)
    >>> Network([2, 3], output="sparsemax")
    Traceback (most recent call last):
    ...
    symbackprop.errors.UnknownNameError: unknown output layer 'sparsemax'; use softmax, or leave output out for outputs a(z^L_j) of the activation
    >>> Network([3])
    Traceback (most recent call last):
    ...
    symbackprop.errors.NetworkSpecError: a network needs at least two layers (input and output); got sizes [3]
    >>> Network([4096, 4096, 1])
    Traceback (most recent call last):
    ...
    symbackprop.errors.SizeLimitError: the 4096-4096-1 network has 16,793,602 terms in its equations; the engine builds at most 100,000 (about 6 s on 2 cores, and the δ route as long again): choose narrower or fewer layers (64-64-64-10 has 9,172 terms)
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activation: str | Activation | Sequence[str | Activation] = "sigmoid",
        cost: str | Cost = "squared",
        weight_decay: object = 0,
        output: str | None = None,
    ) -> None:
        self.sizes = check_sizes(sizes)
        self.weight_decay = weight_decay_rate(weight_decay)
        if output is not None and str(output).strip().lower() != "softmax":
            raise UnknownNameError(
                f"unknown output layer {echo(output)}; use softmax, or leave output out for outputs "
                "a(z^L_j) of the activation"
            )
        softmax_output = output is not None
        # a softmax output layer has no activation of its own: the list names layers 2..L−1
        count = len(self.sizes) - 1 - softmax_output
        if isinstance(activation, (str, Activation)):
            activations = [get_activation(activation)] * count
        elif not isinstance(activation, Sequence):
            raise NetworkSpecError(
                f"activation must be a name, an expression in z, or one of those per layer; got {activation!r}"
            )
        else:
            activations = [get_activation(a) for a in activation]
            if len(activations) != count:
                raise NetworkSpecError(
                    f"got {len(activations)} activations for {count} layers with weights "
                    f"(layers 2..{count + 1}); give one, or one per layer"
                )
        self.cost = get_cost(cost)
        self.inputs = tuple(sp.Symbol(f"x_{i}") for i in range(1, self.sizes[0] + 1))
        self.targets = tuple(sp.Symbol(f"t_{j}") for j in range(1, self.sizes[-1] + 1))
        layers: list[Dense] = []
        previous: tuple[sp.Symbol, ...] = self.inputs
        for l, (width, act) in enumerate(zip(self.sizes[1:], activations), start=2):
            layer = Dense(l, previous, width, act)
            layers.append(layer)
            previous = layer.a
        if softmax_output:
            layers.append(Softmax(len(self.sizes), previous, self.sizes[-1]))
        self.layers = tuple(layers)
        self._finish()

    def layer(self, l: int) -> Dense:
        """Layer ``l`` (2..L; layer 1 is the input and has no equations)."""
        if not 2 <= l <= self.depth:
            raise UnknownNameError(f"layers with equations are 2..{self.depth}; got {l}")
        return self.layers[l - 2]

    def describe(self) -> str:
        return "-".join(str(n) for n in self.sizes)

    def naming_hint(self) -> str:
        return (
            f"weights are w^l_ji with l = 2..{self.depth}, j a unit of layer l, i a unit of "
            "layer l-1 (e.g. w^2_11)"
        )

    def __repr__(self) -> str:
        acts = ",".join(sorted({layer.activation.name for layer in self.layers}))
        decay = f", weight_decay={self.weight_decay}" if self.weight_decay != 0 else ""
        return f"Network({self.describe()}, activation={acts}, cost={self.cost.name}{decay})"


def check_sizes(sizes: Sequence[int]) -> tuple[int, ...]:
    """The widths of layers 1..L of a fully connected network, after checking
    each and the size of the model they make.

    >>> check_sizes([12, 3, 2])
    (12, 3, 2)
    >>> check_sizes([3])
    Traceback (most recent call last):
    ...
    symbackprop.errors.NetworkSpecError: a network needs at least two layers (input and output); got sizes [3]
    """
    if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence):
        raise NetworkSpecError(f"layer sizes must be a list of integers, got {sizes!r}")
    sizes = list(sizes)
    if len(sizes) < 2:
        raise NetworkSpecError(
            f"a network needs at least two layers (input and output); got sizes {sizes}"
        )
    for l, width in enumerate(sizes, start=1):
        if isinstance(width, bool) or not isinstance(width, int):
            raise NetworkSpecError(
                f"layer {l} has width {width!r}; every layer needs a positive integer number of units"
            )
        if width < 1:
            raise NetworkSpecError(
                f"layer {l} has width {width}; every layer needs a positive integer number of units"
            )
    # Refused before any symbol exists: building is what takes the time and memory.
    check_model_terms(
        f"the {'-'.join(map(str, sizes))} network", dense_terms(sizes),
        "choose narrower or fewer layers (64-64-64-10 has 9,172 terms)",
    )
    return tuple(sizes)
