"""Activation functions ``a(z)``, each with its derivative.

Each built-in activation is a SymPy function whose value is an *atom* of the
algebra and whose derivative is written, as in the book, in terms of the
output: ``σ'(z) = σ(z)(1 − σ(z))``, ``tanh'(z) = 1 − tanh²(z)``. Identities
between gradients then reduce to polynomial identities in those atoms, which
expansion decides quickly. The *generic* activation is an undefined function
``a``; a result proved with it holds for every differentiable activation.

>>> import sympy as sp
>>> z = sp.Symbol("z")
>>> get_activation("sigmoid").derivative(z)
(1 - sigmoid(z))*sigmoid(z)
>>> get_activation("generic").derivative(z)
Derivative(a(z), z)
>>> get_activation("z/(1+exp(-z))").name
'z/(1+exp(-z))'
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import mpmath
import numpy as np
import sympy as sp

from ..errors import ExpressionError, NotDifferentiableError, UnknownNameError, echo
from .elementary import REAL_FUNCTIONS, relu, sigmoid, softsign
from .parsing import parse_expression

#: The generic activation: an undefined function, so ``a'(z)`` stays abstract.
generic_a = sp.Function("a")


# The constants as 0-d arrays: NumPy converts a Python float anew in every
# operation, which is 5% of a whole 12-3-2 gradient on the array path.
_HALF, _ONE = np.array(0.5), np.array(1.0)


def _np_sigmoid(z):
    # 1/2 (1 + tanh(z/2)) equals σ(z) and never overflows, unlike 1/(1+e^{−z}).
    return _HALF * (_ONE + np.tanh(_HALF * z))


def _mp_heaviside(z, at_zero=sp.S.Half):
    return mpmath.mpf(1) if z > 0 else (mpmath.mpf(0) if z < 0 else mpmath.mpf(at_zero))


#: How the activations' SymPy functions evaluate in NumPy code (for lambdify).
NUMPY_FUNCTIONS: dict[str, Callable] = {
    "sigmoid": _np_sigmoid,
    "softsign": lambda z: z / (1.0 + np.abs(z)),
    "relu": lambda z: np.maximum(z, 0.0),
    "Heaviside": lambda z, at_zero=0.5: np.heaviside(z, at_zero),
    "RealAbs": np.abs,
    # The step's derivative: 0 wherever it is defined (the step is not trainable anyway).
    "DiracDelta": lambda z: np.zeros_like(np.asarray(z, dtype=float)),
}

#: The same at arbitrary precision, for high-precision verification.
MPMATH_FUNCTIONS: dict[str, Callable] = {
    "sigmoid": lambda z: 1 / (1 + mpmath.exp(-z)),
    "softsign": lambda z: z / (1 + abs(z)),
    "relu": lambda z: max(z, mpmath.mpf(0)),
    "Heaviside": _mp_heaviside,
    "RealAbs": abs,
    "DiracDelta": lambda z: 0 if z != 0 else float("inf"),
}


@dataclass(frozen=True)
class Activation:
    """An activation function ``a(z)``: its SymPy form and what it allows.

    ``function`` maps a weighted input to the output expression; its
    derivative is taken by SymPy, so it is always the derivative of exactly
    this function.

    >>> import sympy as sp
    >>> act = get_activation("tanh")
    >>> act(sp.Symbol("z")), act.derivative(sp.Symbol("z"))
    (tanh(z), 1 - tanh(z)**2)
    >>> print(get_activation("sigmoid").formula_latex)
    \\frac{1}{1 + e^{- z}}
    """

    name: str
    function: Callable[[sp.Expr], sp.Expr]
    not_trainable_because: str | None = None
    #: How a custom activation's functions evaluate in NumPy and mpmath code.
    numpy_functions: Mapping[str, Callable] = field(default_factory=dict)
    mpmath_functions: Mapping[str, Callable] = field(default_factory=dict)
    #: The bounds its values approach as |z| grows (None: unbounded or not
    #: known); a unit pinned at one has a'(z) ≈ 0, so its gradients vanish.
    bounds: tuple[float, float] | None = None

    def __call__(self, z: sp.Expr) -> sp.Expr:
        return self.function(z)

    def derivative(self, z: sp.Expr) -> sp.Expr:
        """``a'(z)``, differentiated by SymPy from the function itself."""
        if isinstance(z, sp.Symbol):
            return sp.diff(self.function(z), z)
        dummy = sp.Dummy("z")
        return sp.diff(self.function(dummy), dummy).xreplace({dummy: z})

    @property
    def is_generic(self) -> bool:
        """True for the undefined activation ``a``: results then hold for all activations."""
        return self.function is generic_a

    @property
    def formula_latex(self) -> str:
        """The activation written out, as the book defines it, in LaTeX."""
        z = sp.Symbol("z")
        value = self.function(z)
        explicit = value.rewrite(sp.exp).rewrite(sp.Abs).rewrite(sp.Max)
        from ..notation.latex import book_latex

        return book_latex(explicit)

    def require_trainable(self) -> None:
        """Raise :class:`NotDifferentiableError` if gradients cannot train it.

        >>> get_activation("step").require_trainable()
        Traceback (most recent call last):
        ...
        symbackprop.errors.NotDifferentiableError: the unit step u(z) cannot be trained by gradients: its derivative is Dirac's delta, 0 for every z ≠ 0 and undefined at 0, so every gradient through it is 0 and gradient descent never moves; use sigmoid (its smooth version) instead
        """
        if self.not_trainable_because:
            raise NotDifferentiableError(self.not_trainable_because)


_STEP_WHY = (
    "the unit step u(z) cannot be trained by gradients: its derivative is Dirac's "
    "delta, 0 for every z ≠ 0 and undefined at 0, so every gradient through it is 0 "
    "and gradient descent never moves; use sigmoid (its smooth version) instead"
)

BUILTIN: dict[str, Activation] = {
    "sigmoid": Activation("sigmoid", sigmoid, bounds=(0.0, 1.0)),
    "tanh": Activation("tanh", sp.tanh, bounds=(-1.0, 1.0)),
    "softsign": Activation("softsign", softsign, bounds=(-1.0, 1.0)),
    "relu": Activation("relu", relu),
    "identity": Activation("identity", lambda z: z),
    "step": Activation("step", sp.Heaviside, not_trainable_because=_STEP_WHY),
    "generic": Activation("generic", generic_a),
}

_ALIASES = {"logistic": "sigmoid", "linear": "identity", "heaviside": "step", "a": "generic"}


def numpy_function(activation: Activation, expr: sp.Expr, args) -> Callable:
    """``expr`` in ``args`` as a NumPy function, the activation's own functions
    (a typed activation's ``f``, the stable sigmoid) evaluated as it says.

    >>> z = sp.Symbol("z")
    >>> tanh = get_activation("tanh")
    >>> float(numpy_function(tanh, tanh.derivative(z), z)(0.0))
    1.0
    """
    return sp.lambdify(args, expr, modules=[{**NUMPY_FUNCTIONS, **activation.numpy_functions}, "numpy"])


def activation_kernels(act: Activation) -> tuple[Callable, Callable]:
    """``a(z)`` and ``a'(z, a)`` of an activation as NumPy functions, its derivative as the
    activation writes it, in its output where it can (tanh' = 1 − a²).

    >>> a, slope = activation_kernels(get_activation("tanh"))
    >>> float(slope(0.0, a(0.0)))
    1.0
    """
    if act.is_generic or act.not_trainable_because:
        raise NotDifferentiableError(
            act.not_trainable_because or "the generic activation a(z) has no values; choose a concrete one"
        )
    z, a = sp.symbols("z a")
    return numpy_function(act, act(z), z), numpy_function(act, act.derivative(z).xreplace({act(z): a}), (z, a))


def get_activation(spec: str | Activation) -> Activation:
    """An activation by name (``sigmoid``, ``tanh``, ``softsign``, ``relu``,
    ``identity``, ``step``, ``generic``) or as a safe expression in ``z``.

    >>> get_activation("relu").name
    'relu'
    >>> get_activation("sigmod")
    Traceback (most recent call last):
    ...
    symbackprop.errors.UnknownNameError: unknown activation 'sigmod'; use one of generic, identity, relu, sigmoid, softsign, step, tanh, or an expression in z such as 'z/(1+exp(-z))'
    """
    if isinstance(spec, Activation):
        return spec
    key = str(spec).strip()
    lowered = _ALIASES.get(key.lower(), key.lower())
    if lowered in BUILTIN:
        return BUILTIN[lowered]
    if key.isidentifier() and key != "z":
        raise UnknownNameError(
            f"unknown activation {echo(key)}; use one of {', '.join(sorted(BUILTIN))}, "
            "or an expression in z such as 'z/(1+exp(-z))'"
        )
    return custom_activation(key)


def custom_activation(text: str) -> Activation:
    """An activation given as an expression in ``z``, parsed safely.

    It becomes a SymPy function ``f`` whose derivative is a second function
    ``f'``, each evaluating to the typed formula: values stay atoms, as for
    the built-ins, so the routes can be proved equal by expansion.

    >>> import sympy as sp
    >>> swish = custom_activation("z/(1+exp(-z))")
    >>> x = sp.Symbol("x")
    >>> swish(x).diff(x).rewrite(sp.exp).equals(sp.diff(x / (1 + sp.exp(-x)), x))
    True
    >>> round(float(swish(sp.Integer(2)).evalf()), 12)
    1.761594155956
    """
    z = sp.Symbol("z")
    expr = parse_expression(text, {"z": z}, functions=REAL_FUNCTIONS, what="activation")
    if z not in expr.free_symbols:
        raise ExpressionError(f"activation {echo(text)} does not depend on z")
    slope = sp.diff(expr, z)
    tag = hashlib.sha1(sp.srepr(expr).encode()).hexdigest()[:8]
    f_prime = _formula_function(f"fprime_{tag}", z, slope, "f'", None)
    f = _formula_function(f"f_{tag}", z, expr, "f", f_prime)
    numpy_impl = {cls.__name__: sp.lambdify(z, cls.formula, [NUMPY_FUNCTIONS, "numpy"]) for cls in (f, f_prime)}
    mpmath_impl = {cls.__name__: sp.lambdify(z, cls.formula, [MPMATH_FUNCTIONS, "mpmath"]) for cls in (f, f_prime)}
    # A step-like formula's derivative is Dirac's delta at its jumps and 0 elsewhere, like the unit step's.
    flat = slope.replace(sp.DiracDelta, lambda *args: sp.S.Zero) == 0
    why = (
        f"activation {echo(text)} cannot be trained by gradients: its derivative is 0 wherever it is "
        "defined (Dirac's delta at its jumps), so every gradient through it is 0 and gradient descent "
        "never moves; use sigmoid or tanh instead"
    ) if flat else None
    return Activation(text, f, not_trainable_because=why, numpy_functions=numpy_impl, mpmath_functions=mpmath_impl)


def _formula_function(name: str, z: sp.Symbol, formula: sp.Expr, latex: str, derivative):
    """A SymPy function class that stands for ``formula(z)``, with derivative
    class ``derivative`` (or the formula's own derivative when None)."""

    def fdiff(self, argindex=1):
        if derivative is not None:
            return derivative(self.args[0])
        return sp.diff(formula, z).xreplace({z: self.args[0]})

    def _eval_rewrite_as_exp(self, arg, **kwargs):
        return formula.xreplace({z: arg})

    def _eval_evalf(self, prec):
        return formula.xreplace({z: self.args[0]})._eval_evalf(prec)

    def _latex(self, printer):
        return r"%s\left(%s\right)" % (latex, printer._print(self.args[0]))

    def _book_text(self, printer):
        return "%s(%s)" % (latex, printer._print(self.args[0]))

    namespace = {
        "fdiff": fdiff,
        "_eval_rewrite_as_exp": _eval_rewrite_as_exp,
        "_eval_evalf": _eval_evalf,
        "_latex": _latex,
        "_book_text": _book_text,
        "formula": formula,
    }
    return type(name, (sp.Function,), namespace)
