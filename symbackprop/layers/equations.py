"""A layer stated by its equations as text: the user's own kind of layer.

The layer has one or more weighted inputs per unit, each a dense sum over
the layer below with weights and biases of its own, named in the book's
style with primes: ``z^l_j = Σ_i w^l_{ji} a^{l−1}_i + b^l_j``,
``z'^l_j = Σ_i w'^l_{ji} a^{l−1}_i + b'^l_j``, ``z''^l_j`` with ``w''``,
``b''``, … Its output is one formula for every unit ``a^l_j``, written in
text with the weighted inputs of that unit (``z``, ``z'``) and the
functions the safe parser allows (:mod:`symbackprop.functions.parsing`;
never ``eval``). ``sum(…)`` sums its argument over the layer's units ``k``,
the names inside it meaning ``z_k``, ``z'_k``: a normalised output.

- Swish: ``z*sigmoid(z)``
- a gated unit: ``z*sigmoid(z')`` (two weighted inputs, ``z`` and ``z'``)
- a normalised output: ``exp(z)/sum(exp(z))`` (the softmax, written out)

Each weighted input carries its unit error, ``δ^l_j = ∂C/∂z^l_j`` and
``δ'^l_j = ∂C/∂z'^l_j``; the engine derives both from these equations like
any built-in layer's.

>>> import sympy as sp
>>> layer = EquationLayer(2, sp.symbols("x_1 x_2"), 2, "z*sigmoid(z')")
>>> layer.equations[layer.a[0]]
z^2_1*sigmoid(z'^2_1)
>>> layer.equations[layer.units[2]]
b'^2_1 + w'^2_11*x_1 + w'^2_12*x_2
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import sympy as sp

from ..errors import ExpressionError, NetworkSpecError, echo
from ..functions.activations import Activation
from ..functions.parsing import parse_expression
from ..guards import check_model_terms, check_sequence, is_count
from ..notation.latex import SYMBOL_LATEX
from ..notation.symbols import quantity
from .protocol import Layer

#: A weighted input's name: z with 0 or more primes.
_UNIT_NAME = re.compile(r"^z'*$")
#: A primed weighted input in user text (z', z''), which the parser would read as a quote.
#: The weighted inputs a text uses, when the layer does not list them.
_USED = re.compile(r"(?<![\w'])(z'*)(?![\w'(])")
_PRIMED = re.compile(r"(?<![\w'])(z)('+)(?!\s*\()")


class layer_sum(sp.Function):
    """``sum(f)`` in a layer's text: ``f`` summed over the layer's units (expanded when the layer is built)."""


def _safe(name: str) -> str:
    return name.replace("'", "_prime")


class EquationLayer(Layer):
    """A layer ``l`` of ``width`` units whose output ``a^l_j`` is ``output``,
    a formula in the unit's weighted inputs ``units`` (``z`` and primed ``z'``,
    ``z''``, …; by default those the text uses), each ``Σ_i w^l_{ji} a^{l−1}_i + b^l_j`` with its own weights.

    >>> import sympy as sp
    >>> layer = EquationLayer(2, sp.symbols("x_1:2"), 2, "exp(z)/sum(exp(z))")
    >>> layer.equations[layer.a[1]]
    exp(z^2_2)/(exp(z^2_1) + exp(z^2_2))
    >>> EquationLayer(2, sp.symbols("x_1:2"), 1, "z*sigmoid(y)")
    Traceback (most recent call last):
    ...
    symbackprop.errors.ExpressionError: layer 2: unknown name 'y' in 'z*sigmoid(y)'; it may use z (this unit's weighted input), sum(…) over the layer's units, numbers and the parser's functions
    """

    def __init__(
        self, index: int, inputs: Sequence[sp.Symbol], width: int, output: str, units: Sequence[str] | None = None
    ) -> None:
        self.index = index
        self.inputs = tuple(check_sequence(inputs, f"the inputs of layer {index}"))
        if units is None:
            units = sorted(set(_USED.findall(output)) or {"z"}, key=len) if isinstance(output, str) else ("z",)
        names = tuple(check_sequence(units, f"the weighted inputs of layer {index}"))
        if not names or len(set(names)) != len(names) or not all(
            isinstance(n, str) and _UNIT_NAME.match(n) for n in names
        ):
            raise NetworkSpecError(
                f"the weighted inputs of layer {index} are {echo(names)}; name them z, z', z'', … each once"
            )
        if not is_count(width):
            raise NetworkSpecError(f"layer {index} has width {width!r}; a layer needs a positive integer number of units")
        n_in = len(self.inputs)
        check_model_terms(
            f"layer {index} ({width} units of {n_in} inputs, {len(names)} weighted inputs each)",
            len(names) * width * (n_in + 2) + width * width, "choose a narrower layer",
        )
        self.text = output
        self.unit_names = names
        self.W = {}
        self.b = {}
        self.z = {}
        for name in names:
            primes = name[1:]
            self.W[name] = sp.ImmutableMatrix(width, n_in, lambda j, i, p=primes: quantity("w" + p, index, j + 1, i + 1))
            self.b[name] = sp.ImmutableMatrix([quantity("b" + primes, index, j + 1) for j in range(width)])
            self.z[name] = tuple(quantity("z" + primes, index, j + 1) for j in range(width))
            if primes:
                for j in range(width):
                    SYMBOL_LATEX[f"delta{primes}^{index}_{j + 1}"] = rf"\delta{primes}^{{{index}}}_{{{j + 1}}}"
        self.a = tuple(quantity("a", index, j + 1) for j in range(width))
        self.units = tuple(u for name in names for u in self.z[name])
        self.outputs = self.a
        self.weights = tuple(w for name in names for w in self.W[name])
        self.parameters = tuple(p for name in names for p in (*self.W[name], *self.b[name]))
        #: The parameter arrays by the names the numeric models give them: W2, b2, W'2, b'2, …
        self.matrices = {
            f"{kind}{name[1:]}{index}": m for name in names for kind, m in (("W", self.W[name]), ("b", self.b[name]))
        }
        formula = self._parse(output)
        equations: dict[sp.Symbol, sp.Expr] = {}
        for name in names:
            for j in range(width):
                equations[self.z[name][j]] = sp.Add(
                    *(self.W[name][j, i] * self.inputs[i] for i in range(n_in))
                ) + self.b[name][j]
        for j in range(width):
            equations[self.a[j]] = self.unit_output(formula, j)
        self.equations = equations
        self.formula = formula
        placeholder = self.placeholders[names[0]]
        self.activation = Activation(output, lambda v: formula.xreplace({placeholder: v}))

    @property
    def width(self) -> int:
        return len(self.a)

    def _parse(self, text: str) -> sp.Expr:
        self.placeholders = {name: sp.Dummy(name) for name in self.unit_names}
        known = {_safe(name): symbol for name, symbol in self.placeholders.items()}
        hint = (
            f"it may use {', '.join(self.unit_names)} (this unit's weighted input{'s' if len(known) > 1 else ''}), "
            "sum(…) over the layer's units, numbers and the parser's functions"
        )
        if not isinstance(text, str):
            raise ExpressionError(f"layer {self.index}: the output must be text such as 'z*sigmoid(z)'; got {echo(text)}")
        try:
            formula = parse_expression(
                _PRIMED.sub(lambda m: m.group(1) + "_prime" * len(m.group(2)), text), known,
                functions={"sum": layer_sum}, what="the output",
            )
        except ExpressionError as exc:
            message = re.sub(r"(\w)((?:_prime)+)", lambda m: m.group(1) + "'" * (len(m.group(2)) // 6), str(exc))
            raise ExpressionError(f"layer {self.index}: {message}; {hint}") from None
        for s in formula.atoms(layer_sum):
            if s.atoms(layer_sum) != {s} or len(s.args) != 1:
                raise ExpressionError(
                    f"layer {self.index}: the output {echo(text)}: sum(…) takes one argument and no sum inside it"
                )
        if not formula.free_symbols & set(self.placeholders.values()):
            raise ExpressionError(f"layer {self.index}: the output {echo(text)} does not use a weighted input; {hint}")
        return formula

    def unit_output(self, formula: sp.Expr, j: int) -> sp.Expr:
        """The formula for unit ``j + 1``: names outside ``sum`` are that unit's, inside it unit k's.

        >>> import sympy as sp
        >>> layer = EquationLayer(3, sp.symbols("x_1:2"), 2, "z/sum(z^2)")
        >>> layer.unit_output(layer.formula, 0)
        z^3_1/(z^3_1**2 + z^3_2**2)
        """
        def unit(k: int) -> dict[sp.Symbol, sp.Symbol]:
            return {p: self.z[name][k] for name, p in self.placeholders.items()}

        sums = {
            s: sp.Add(*(s.args[0].xreplace(unit(k)) for k in range(self.width))) for s in formula.atoms(layer_sum)
        }
        return formula.xreplace(sums).xreplace(unit(j))

