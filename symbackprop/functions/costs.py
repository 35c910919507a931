"""Cost functions: the error of one example, ``C = Σ_j c(a^L_j, t_j)``.

The book's cost is the squared error ``C = ½ Σ_j (t_j − a^L_j)²``; over a data
set of n examples the total cost is ``C_T = Σ_k C_k``.

>>> import sympy as sp
>>> a, t = sp.symbols("a_1 t_1")
>>> get_cost("squared").term(a, t)
(-a_1 + t_1)**2/2
>>> get_cost("cross-entropy").term(a, t)
-t_1*log(a_1) - (1 - t_1)*log(1 - a_1)
>>> get_cost("categorical-cross-entropy").term(a, t)
-t_1*log(a_1)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sympy as sp

from ..errors import ExpressionError, NetworkSpecError, UnknownNameError, echo
from .activations import Activation
from .elementary import REAL_FUNCTIONS, sigmoid
from .parsing import parse_expression, parse_number
from .softmax import softmax


@dataclass(frozen=True)
class Cost:
    """A cost that sums one term per output unit: ``C = Σ_j term(a_j, t_j)``.

    ``targets_sum_to_one``: the targets are a distribution, ``Σ_j t_j = 1``
    (a one-hot class), an assumption the model states and its derivation uses.
    """

    name: str
    term: Callable[[sp.Expr, sp.Expr], sp.Expr]
    targets_sum_to_one: bool = False

    def __call__(self, outputs: Sequence[sp.Expr], targets: Sequence[sp.Expr]) -> sp.Expr:
        """The cost of one example from the outputs ``a^L`` and targets ``t``.

        >>> import sympy as sp
        >>> get_cost("squared")(sp.symbols("a1 a2"), sp.symbols("t1 t2"))
        (-a1 + t1)**2/2 + (-a2 + t2)**2/2
        """
        if len(outputs) != len(targets):
            raise ValueError("one target per output unit")
        return sp.Add(*(self.term(a, t) for a, t in zip(outputs, targets)))


def _squared(a: sp.Expr, t: sp.Expr) -> sp.Expr:
    return sp.Rational(1, 2) * (t - a) ** 2


def _cross_entropy(a: sp.Expr, t: sp.Expr) -> sp.Expr:
    return -(t * sp.log(a) + (1 - t) * sp.log(1 - a))


def _categorical_cross_entropy(a: sp.Expr, t: sp.Expr) -> sp.Expr:
    return -t * sp.log(a)


BUILTIN: dict[str, Cost] = {
    "squared": Cost("squared", _squared),
    "cross-entropy": Cost("cross-entropy", _cross_entropy),
    "categorical-cross-entropy": Cost("categorical-cross-entropy", _categorical_cross_entropy, True),
}
_ALIASES = {"categorical_cross_entropy": "categorical-cross-entropy", "cce": "categorical-cross-entropy",
            "mse": "squared", "squared-error": "squared", "crossentropy": "cross-entropy",
            "cross_entropy": "cross-entropy", "xent": "cross-entropy"}


def get_cost(spec: str | Cost) -> Cost:
    """A cost by name (``squared``, ``cross-entropy``, ``categorical-cross-entropy``) or as a safe expression in
    ``a`` and ``t`` (one output unit's term, summed over the units).

    >>> import sympy as sp
    >>> a, t = sp.symbols("a t")
    >>> get_cost("abs(t - a)").term(a, t).diff(a)  # |t − a| of real a and t
    -sign(-a + t)
    >>> get_cost("hinge")
    Traceback (most recent call last):
    ...
    symbackprop.errors.UnknownNameError: unknown cost 'hinge'; use squared, cross-entropy, categorical-cross-entropy, or an expression in a and t such as '(t - a)**2/2'
    """
    if isinstance(spec, Cost):
        return spec
    key = str(spec).strip()
    name = _ALIASES.get(key.lower(), key.lower())
    if name in BUILTIN:
        return BUILTIN[name]
    if key.replace("-", "_").isidentifier() and key not in ("a", "t"):
        raise UnknownNameError(
            f"unknown cost {echo(key)}; use squared, cross-entropy, categorical-cross-entropy, or an expression in a "
            "and t such as '(t - a)**2/2'"
        )
    return custom_cost(key)


def custom_cost(text: str) -> Cost:
    """A cost term typed as an expression in ``a`` (also ``a_j``) and ``t`` (``t_j``).

    >>> import sympy as sp
    >>> c = custom_cost("(t_j - a_j)**2")
    >>> c([sp.Symbol("y")], [sp.Symbol("s")])
    (s - y)**2
    """
    a, t = sp.Symbol("a"), sp.Symbol("t")
    expr = parse_expression(text, {"a": a, "a_j": a, "t": t, "t_j": t}, functions=REAL_FUNCTIONS, what="cost")
    if a not in expr.free_symbols:
        raise ExpressionError(f"cost {echo(text)} does not depend on the output a")
    lam = sp.Lambda((a, t), expr)
    return Cost(text, lambda out, target: lam(out, target))


def check_cost_fits_outputs(cost: Cost, output: Activation) -> None:
    """Refuse a cost whose logs the output layer's values make undefined or wrong.

    The cross-entropy takes ``log a^L`` and ``log(1 − a^L)``: with outputs
    outside (0, 1), as tanh or the identity give, one of them is the log of
    a negative number and the cost is NaN, whatever the parameters. Only the
    sigmoid's and the softmax's outputs are known to lie in (0, 1). The
    categorical cross-entropy ``−Σ_j t_j log a^L_j`` compares two
    distributions: its outputs must be one, which only the softmax makes
    (each in (0, 1), summing to 1). Every network is checked here when it is
    built, so deriving, verifying, comparing and training all refuse the
    same pairs. The generic activation ``a(z)`` is allowed with the
    cross-entropy: it has no values, and what is derived with it is a formal
    identity, true for every activation whose outputs the cost accepts.

    >>> from symbackprop.functions.activations import get_activation
    >>> check_cost_fits_outputs(get_cost("cross-entropy"), get_activation("sigmoid"))
    >>> check_cost_fits_outputs(get_cost("cross-entropy"), get_activation("tanh"))
    Traceback (most recent call last):
    ...
    symbackprop.errors.NetworkSpecError: the cross-entropy takes log a^L and log(1 − a^L), so the outputs must lie in (0, 1), but the output activation tanh can leave (0, 1); give the output layer the sigmoid, or use the squared cost
    >>> check_cost_fits_outputs(get_cost("categorical-cross-entropy"), get_activation("sigmoid"))
    Traceback (most recent call last):
    ...
    symbackprop.errors.NetworkSpecError: the categorical cross-entropy −Σ_j t_j log a^L_j needs outputs that form a distribution (a softmax), but the output activation is sigmoid; build the network with a softmax output layer (output="softmax", CLI: --output softmax), or use the cross-entropy
    """
    if cost.targets_sum_to_one and output.function is not softmax:
        raise NetworkSpecError(
            "the categorical cross-entropy −Σ_j t_j log a^L_j needs outputs that form a distribution "
            f"(a softmax), but the output activation is {output.name}; build the network with a softmax "
            'output layer (output="softmax", CLI: --output softmax), or use the cross-entropy'
        )
    if cost.name == "cross-entropy" and output.function not in (sigmoid, softmax) and not output.is_generic:
        raise NetworkSpecError(
            "the cross-entropy takes log a^L and log(1 − a^L), so the outputs must lie in (0, 1), but the "
            f"output activation {output.name} can leave (0, 1); give the output layer the sigmoid, "
            "or use the squared cost"
        )


def weight_decay_rate(value: object) -> sp.Expr:
    """The rate λ ≥ 0 of weight decay, the term ``(λ/2) Σ w²`` a network adds to
    its cost. Typed text is read by :func:`~symbackprop.functions.parsing.parse_number`
    (so ``"0.001"`` is exactly 1/1000); a SymPy symbol keeps λ symbolic, for
    derivations.

    >>> weight_decay_rate("0.001"), weight_decay_rate(0), weight_decay_rate(sp.Symbol("lambda"))
    (1/1000, 0, lambda)
    >>> weight_decay_rate("-1/2")
    Traceback (most recent call last):
    ...
    symbackprop.errors.NetworkSpecError: the weight decay λ must be 0 or more; got -1/2
    """
    if isinstance(value, str):
        try:
            rate = parse_number(value)
        except ExpressionError as exc:
            raise NetworkSpecError(f"the weight decay λ must be a number; {exc}") from None
    elif isinstance(value, (int, float, sp.Number)) and not isinstance(value, bool):
        rate = sp.sympify(value)
    elif isinstance(value, sp.Symbol):
        if value.is_negative or value.is_extended_real is False:
            raise NetworkSpecError(f"the weight decay λ must be 0 or more; the symbol {value} is not")
        return value
    else:
        raise NetworkSpecError(
            f"the weight decay λ must be a number 0 or more (or a SymPy symbol); got {echo(value)}"
        )
    if not rate.is_finite or not rate.is_extended_real:
        raise NetworkSpecError(f"the weight decay λ must be a finite number; got {echo(value)}")
    if rate < 0:
        raise NetworkSpecError(f"the weight decay λ must be 0 or more; got {rate}")
    return rate


def weight_decay_term(rate: sp.Expr, weights: Sequence[sp.Symbol]) -> sp.Expr:
    """``(λ/2) Σ w²`` over ``weights``, one term per weight so that each weight's
    local derivative reads only its own term.

    >>> weight_decay_term(sp.Symbol("lambda"), sp.symbols("w_1 w_2"))
    lambda*w_1**2/2 + lambda*w_2**2/2
    """
    return sp.Add(*(rate / 2 * w**2 for w in weights))
