"""The derived gradient exported as a standalone Python module.

The array form (:func:`~symbackprop.numeric.array_form.derive_arrays`) is
written out line by line, each line commented with the formula it computes
in the book's notation, as a module that imports only NumPy — or, with
``target="torch"``, a :class:`torch.autograd.Function` whose ``backward`` is
the derived δ recurrence, so the derived gradients run wherever PyTorch runs.
Examples are columns, as in the book's matrix form; ``u`` is the row of
``m`` ones, so ``b^l u`` copies the bias to every example and ``δ^l uᵀ``
sums over the examples.

The derivation depends only on the depth, the activations, the cost and
the weight decay, never on the widths, so a network of any size is exported
from the derivation of a network of the same depth with one unit a layer.

A convolutional network (channels, stride, zero padding, max or average
pooling) is written from the kernels of its array path, the same text for
both targets: the windows gathered by one precomputed index, one matrix
product for ``z^F`` and one for ``∂C/∂w^F`` and ``∂C/∂b^F``, the pooled δ
sent to each block's winner or shared equally by its entries.

>>> source = export_source([12, 3, 2])
>>> [line.strip() for line in source.splitlines() if line.strip().startswith("delta2 =")]
['delta2 = S2*a2*(1 - a2)  # δ^2 = (W^3ᵀ δ^3) ⊙ a^2 ⊙ (1 − a^2)']
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import sympy as sp
from sympy.core.function import AppliedUndef
from sympy.printing.precedence import PRECEDENCE

from ..engine.cnn import ConvolutionalNetwork
from ..engine.model import Model
from ..engine.network import LayeredModel, Network
from ..errors import ArgumentError, NetworkSpecError, NotDifferentiableError, OutputPathError, echo
from ..files import check_output_path, write_text
from ..notation.text import BookTextPrinter, book_text
from .array_form import ONES, ArrayDerivation, M, derive_arrays
from .arrays import ArrayModel, ArrayPrinter
from .cnn_arrays import CNNArrays
from .dense import dense_parameter_shapes, parameter_shapes
from .model_arrays import trainable_for

TARGETS = ("numpy", "torch")

#: NumPy and PyTorch source of the functions the derived code calls by name,
#: with the formula each computes.
_FUNCTIONS = {
    "sigmoid": ("σ(z) = 1/(1 + e^(−z)), computed without overflow",
                {"numpy": "0.5 * (1.0 + numpy.tanh(0.5 * z))", "torch": "torch.sigmoid(z)"}),
    "softsign": ("z/(1 + |z|)", {"numpy": "z / (1.0 + numpy.abs(z))", "torch": "z / (1.0 + torch.abs(z))"}),
    "relu": ("max(z, 0)", {"numpy": "numpy.maximum(z, 0.0)", "torch": "torch.clamp(z, min=0.0)"}),
    "log_sigmoid": ("log σ(z) = −log(1 + e^(−z)), finite for every z",
                    {"numpy": "-numpy.logaddexp(0.0, -z)", "torch": "torch.nn.functional.logsigmoid(z)"}),
    # z − max z: no e^1000 overflows
    "softmax_columns": ("a_i = e^(z_i) / Σ_h e^(z_h) in each column (example)",
                        {"numpy": "numpy.exp(z - z.max(axis=0, keepdims=True)) / "
                                  "numpy.exp(z - z.max(axis=0, keepdims=True)).sum(axis=0, keepdims=True)",
                         "torch": "torch.softmax(z, dim=0)"}),
    "log_softmax_columns": ("log a_i = z_i − log Σ_h e^(z_h) in each column, finite for every z",
                            {"numpy": "z - z.max(axis=0, keepdims=True) - numpy.log(numpy.exp("
                                      "z - z.max(axis=0, keepdims=True)).sum(axis=0, keepdims=True))",
                             "torch": "torch.log_softmax(z, dim=0)"}),
}


class _CodePrinter(ArrayPrinter):
    """The array path's printer, for a module of its own: NumPy or PyTorch
    names in full, a Piecewise as nested ``where`` and the sum over the
    examples as ``sum_examples``."""

    def __init__(self, module: str) -> None:
        self._module = module
        super().__init__({"fully_qualified_modules": True, "inline": True, "allow_unknown_functions": True})

    def _module_format(self, fqn, register=True):
        # NumPy's elementwise functions have the same names in PyTorch: torch.tanh, torch.exp, …
        if fqn.startswith("numpy."):
            fqn = f"{self._module}.{fqn[len('numpy.'):]}"
        return super()._module_format(fqn, register)

    def _print_MatMul(self, expr):
        factors = list(expr.args)
        if factors[-1] == ONES.T and all(f.is_Matrix for f in factors):
            rest = sp.MatMul(*factors[:-1]) if len(factors) > 2 else factors[0]
            return "sum_examples(%s)" % self._print(rest)
        return super()._print_MatMul(expr)

    def _print_Piecewise(self, expr):
        *pieces, (last, condition) = expr.args
        if condition != sp.true:
            raise NotDifferentiableError(f"the piecewise formula {expr} has no value for some inputs")
        text = self._print(last)
        for value, cond in reversed(pieces):
            text = f"{self._module}.where({self._print(cond)}, {self._print(value)}, {text})"
        return text

    def _print_Symbol(self, expr):
        return _code_name(expr.name)

    def _print_MatrixSymbol(self, expr):
        return _code_name(expr.name) if expr != ONES else super()._print_MatrixSymbol(expr)


def _code_name(name: str) -> str:
    # Book names (W^2, delta^3, a^1, W'^4) are not identifiers: W2, delta3, a1, Wp4.
    return name.replace("^", "").replace("'", "p")


class _FormulaPrinter(BookTextPrinter):
    """The comment beside a line: the formula in the book's notation, whole
    arrays multiplied entry by entry with ``⊙``, matrices by juxtaposition."""

    def __init__(self, products: dict[sp.Symbol, sp.MatrixExpr]) -> None:
        super().__init__()
        self._products = products

    def _print_Symbol(self, expr):
        if expr in self._products:
            return "(%s)" % self._print(self._products[expr])
        return {"m": "m", "PC": "c"}.get(expr.name, super()._print_Symbol(expr))

    def _print_Mul(self, expr):
        coefficient, factors = expr.as_coeff_mul()
        shown = [self.parenthesize(f, PRECEDENCE["Mul"]) for f in factors]
        # an ASCII minus, so that the sum around it prints a - b, not a + -b
        head = "" if coefficient == 1 else ("-" if coefficient == -1 else self._print(coefficient) + " ")
        return head + " ⊙ ".join(shown)

    def _print_Add(self, expr, order=None):
        text = super()._print_Add(expr, order).replace(" - ", " − ")
        return "−" + text[1:] if text.startswith("-") else text

    def _print_Pow(self, expr, rational=False):
        if expr.exp == 2:
            return "%s²" % self.parenthesize(expr.base, PRECEDENCE["Atom"] + 1)
        return super()._print_Pow(expr, rational)

    def _print_MatMul(self, expr):
        return " ".join(self.parenthesize(f, PRECEDENCE["Mul"]) for f in expr.args)

    def _print_MatAdd(self, expr):
        return " + ".join(self._print(a) for a in expr.args)

    def _print_Transpose(self, expr):
        inner = self._print(expr.arg)
        return f"{inner}ᵀ" if expr.arg.is_symbol else f"({inner})ᵀ"

    def _print_log_sigmoid(self, expr):
        return "log σ(%s)" % self._print(expr.args[0])

    def _print_softmax_columns(self, expr):
        return "softmax(%s)" % self._print(expr.args[0])

    def _print_log_softmax_columns(self, expr):
        return "log softmax(%s)" % self._print(expr.args[0])

    def _print_AppliedUndef(self, expr):
        if expr.func == _total:
            return "Σ_j Σ_k %s" % self.parenthesize(expr.args[0], PRECEDENCE["Mul"])
        return super()._print_AppliedUndef(expr)

    def _print_Heaviside(self, expr):
        return "H(%s)" % self._print(expr.args[0])

    def _print_Rational(self, expr):
        return {sp.Rational(1, 2): "½"}.get(expr, super()._print_Rational(expr))


_total = sp.Function("total")


def _steps(derivation: ArrayDerivation):
    """``(forward, cost, backward)``: each a list of ``(name, value)`` in
    order of computation; the backward one ends with the gradients."""
    done: set[sp.Symbol] = set()

    def with_products(name, value):
        out = []
        for product in sorted(value.atoms(sp.Symbol) & set(derivation.products) - done, key=str):
            out.append((product, derivation.products[product]))
            done.add(product)
        return out + [(name, value)]

    forward = [step for name, value in derivation.forward for step in with_products(name, value)]
    cost = _total(derivation.cost_entry) + M * sp.Add(*(_total(e) for e in derivation.decay_entries))
    cost_steps = with_products(sp.Symbol("C_T"), cost)
    backward = []
    for layer in reversed(derivation.layers):
        for unit in layer.units:
            backward += with_products(sp.Symbol(unit.delta.name), derivation.deltas[unit.delta])
    for name, value in derivation.gradients.items():
        backward.append((sp.Symbol(f"d{name}"), value))
    return forward, cost_steps, backward


def _comment_lhs(name: sp.Symbol, derivation: ArrayDerivation) -> str:
    text = name.name
    if text.startswith("d") and text[1:] in derivation.gradients:
        kind, layer = re.fullmatch(r"(\D+)(\d+)", text[1:]).groups()
        return f"∂C_T/∂{kind}^{layer}"
    if name in derivation.products:
        return ""
    return _FormulaPrinter({})._print(name)


def _functions_used(exprs) -> list[sp.FunctionClass]:
    found: dict[str, sp.FunctionClass] = {}
    pending = list(exprs)
    while pending:
        expr = pending.pop()
        called = {f for f in expr.atoms(sp.Function)
                  if isinstance(f, AppliedUndef) or type(f).__name__ in _FUNCTIONS or hasattr(type(f), "formula")}
        for f in called:
            cls = type(f)
            name = cls.__name__
            if name in found or name == "total":
                continue
            found[name] = cls
            formula = getattr(cls, "formula", None)
            if formula is not None:
                pending.append(formula)
    return [found[name] for name in sorted(found)]


def _function_source(cls, target: str, printer: _CodePrinter) -> list[str]:
    name = cls.__name__
    if name in _FUNCTIONS:
        meaning, bodies = _FUNCTIONS[name]
        body = bodies[target]
    elif getattr(cls, "formula", None) is not None:
        z = sp.Symbol("z")
        meaning = book_text(cls.formula)
        body = printer._print(cls.formula.xreplace({s: z for s in cls.formula.free_symbols}))
    else:
        raise NotDifferentiableError(
            f"the derived code calls {name}, which the export cannot write as {target} source yet; "
            "compute it with the library's ArrayModel instead"
        )
    return [f"def {name}(z):", f"    # {meaning}", f"    return {body}", "", ""]


def _check_widths(sizes) -> list[int]:
    # Only the widths: the network itself is built with one unit a layer.
    if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence) or not all(
        isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in sizes
    ):
        raise NetworkSpecError(f"the widths of the layers are positive integers such as [12, 3, 2]; got {echo(sizes)}")
    return list(sizes)


def export_source(
    model: Sequence[int] | Network | Model | ArrayModel | ConvolutionalNetwork | CNNArrays,
    activation="sigmoid",
    cost="squared",
    weight_decay: object = 0,
    target: str = "numpy",
    output: str | None = None,
) -> str:
    """The Python source of a module computing ``C_T`` and every ``∂C_T/∂p``
    of this network by the derived formulas: a fully connected network given
    by its widths and options, or a :class:`Network`, a
    :class:`~symbackprop.engine.model.Model` of a model file, an
    :class:`ArrayModel` (whose derivation is reused), or a convolutional
    network (:class:`~symbackprop.engine.cnn.ConvolutionalNetwork` or
    :class:`~symbackprop.numeric.cnn_arrays.CNNArrays`, which carry their
    own activation and cost).

    ``target="numpy"`` imports only NumPy and defines
    ``cost_and_gradient(params, X, T)`` and ``forward(params, X)``;
    ``target="torch"`` imports only PyTorch and defines ``DerivedCost``, an
    autograd function whose backward is the derived one, and ``cost(params, X, T)``.

    >>> src = export_source([2, 2, 1], activation="tanh", target="torch")
    >>> "class DerivedCost(torch.autograd.Function):" in src
    True
    >>> from symbackprop.numeric.cnn_arrays import CNNArrays
    >>> "def cost_and_gradient(params, X, T):" in export_source(CNNArrays(pooling="average", stride=1, padding=1))
    True
    """
    if not isinstance(target, str) or target not in TARGETS:
        raise ArgumentError(f"unknown export target {echo(target)}; use {' or '.join(TARGETS)}")
    cnn = _as_cnn(model)
    if cnn is not None:
        given = {"activation": activation, "cost": cost, "weight_decay": weight_decay, "output": output}
        for option, default in {"activation": "sigmoid", "cost": "squared", "weight_decay": 0, "output": None}.items():
            value = given[option]
            if not (value is default or type(value) in (str, int, float) and value == default):
                raise ArgumentError(f"a convolutional network carries its own activation, cost and weight decay, "
                                    f"so the export has no {option.replace('_', ' ')} option for it; leave out "
                                    f"{option}={echo(value)}")
        return _cnn_source(cnn, target)
    if isinstance(model, ArrayModel):
        derivation, shapes, name = model.derivation, dict(model.parameter_shapes), model.describe()
    elif isinstance(model, (Network, Model)):
        derivation, shapes, name = derive_arrays(model), parameter_shapes(model), model.describe()
    elif isinstance(model, LayeredModel):
        raise NetworkSpecError(f"the {model.describe()} network has no export yet; export a fully connected, "
                               "softmax, model-file or convolutional network")
    else:
        sizes = _check_widths(model)
        # One unit a layer: the derivation does not depend on the widths.
        small = Network([1] * len(sizes), activation=activation, cost=cost, weight_decay=weight_decay, output=output)
        derivation, shapes, name = derive_arrays(small), dense_parameter_shapes(sizes), "-".join(map(str, sizes))
    for act in derivation.activations:
        act.require_trainable()
        if act.is_generic:
            raise NotDifferentiableError("the generic activation a(z) has no values; choose a concrete activation to export")
    if derivation.weight_decay.free_symbols:
        raise ArgumentError(f"the weight decay λ = {derivation.weight_decay} is a symbol; give it a number to export")
    return _module_source(derivation, shapes, name, target)


def _module_source(derivation: ArrayDerivation, shapes: dict, name: str, target: str) -> str:
    printer = _CodePrinter(target)
    comments = _FormulaPrinter(derivation.products)
    forward, cost, backward = _steps(derivation)
    keys = list(shapes)  # the parameter arrays' names, in the order of their gradients
    params = [_code_name(key) for key in keys]
    quantities = [_code_name(name.name) for name, _ in derivation.forward]
    inputs = ["a1", "t", *params]
    everything = [value for _, value in forward + cost + backward]

    def lines(steps) -> list[str]:
        out = []
        for name, value in steps:
            code = f"    {_code_name(name.name)} = {printer._print(value)}"
            lhs = _comment_lhs(name, derivation)
            formula = comments._print(value).replace("-", "−")
            if name == sp.Symbol("C_T") and derivation.decay_entries:
                formula = formula.replace("m ⊙ ", "m ")
            out.append(f"{code}  # {lhs + ' = ' if lhs else ''}{formula}")
        return out

    activations = ", ".join(a.name for a in derivation.activations)
    decay = f", weight decay λ = {derivation.weight_decay}" if derivation.weight_decay != 0 else ""
    source = [
        f'"""∂C_T/∂p of the {name} network ({activations}; {derivation.cost.name} cost{decay}),',
        "derived by symbackprop and written out formula by formula.",
        "",
        "Examples are columns, as in the book's matrix form: a^1 is inputs × m, t is",
        "outputs × m. u is the row of m ones: b^l u copies the bias to every example",
        "(broadcasting does it) and δ^l uᵀ sums δ^l over the examples. ⊙ multiplies",
        "entry by entry; H is the unit step (1 for z > 0, else 0). Parameters: W^l",
        "(n_l × n_{l−1}, row j holds the weights w^l_{j·} into unit j) and b^l (n_l,).",
        '"""',
        "",
        f"import {target}",
        "",
        f"PARAMETER_SHAPES = {shapes!r}",
        "",
        "",
        "def sum_examples(x):",
        "    # x uᵀ: the sum over the examples, the columns",
        f"    return {target}.sum(x, {'axis' if target == 'numpy' else 'dim'}=1, "
        f"{'keepdims' if target == 'numpy' else 'keepdim'}=True)",
        "",
        "",
    ]
    for cls in _functions_used(everything):
        source += _function_source(cls, target, printer)
    source += [
        f"def total(x):\n    # Σ_j Σ_k x[j, k]\n    return {target}.sum(x)",
        "",
        "",
        f"def forward_pass({', '.join(['a1', *params])}):",
        "    # the forward pass: every z^l and a^l",
        *lines(forward),
        f"    return {', '.join(quantities)}",
        "",
        "",
        f"def total_cost(a1, t, {', '.join(params + quantities)}):",
        *(["    m = a1.shape[1]  # the examples in the batch"] if derivation.decay_entries else []),
        *lines(cost),
        "    return C_T",
        "",
        "",
        f"def backward_pass(a1, t, {', '.join(params + quantities)}):",
        "    # the δ recurrence, from the output layer back, and the gradients",
        *(["    m = a1.shape[1]  # the examples in the batch"] if derivation.decay_entries else []),
        *lines(backward),
        f"    return {', '.join('d' + p for p in params)}",
        "",
        "",
    ]
    source += (_NUMPY_API if target == "numpy" else _TORCH_API).format(
        arrays=", ".join(f"params[{key!r}]" + ("[:, None]" if key[0] == "b" else "") for key in keys),
        names=repr(tuple(keys)),
        inputs=", ".join(inputs),
    ).splitlines()
    return "\n".join(source) + "\n"


_NUMPY_API = '''def _arrays(params):
    return ({arrays},)


def forward(params, X):
    """The outputs a^L of each example (X: examples × inputs; result: examples × outputs)."""
    return forward_pass(numpy.asarray(X, dtype=float).T, *_arrays(params))[-1].T


def cost_and_gradient(params, X, T):
    """C_T and {{name: ∂C_T/∂name}} for a batch (X: examples × inputs, T: examples × outputs)."""
    a1, t = numpy.asarray(X, dtype=float).T, numpy.asarray(T, dtype=float).T
    arrays = _arrays(params)
    quantities = forward_pass(a1, *arrays)
    gradients = backward_pass(a1, t, *arrays, *quantities)
    named = {{}}
    for name, value in zip({names}, gradients):
        named[name] = value[:, 0] if name[0] == "b" else value
    return float(total_cost(a1, t, *arrays, *quantities)), named
'''

_TORCH_API = '''def _arrays(params):
    return ({arrays},)


class DerivedCost(torch.autograd.Function):
    """C_T of a batch, whose backward is the derived δ recurrence (not autograd's).

    DerivedCost.apply(a1, t, W2, b2, …) with examples as columns and every b^l a
    column; the inputs and targets get no gradient.
    """

    @staticmethod
    def forward(ctx, {inputs}):
        arrays = ({inputs})[2:]
        quantities = forward_pass(a1, *arrays)
        ctx.save_for_backward(a1, t, *arrays, *quantities)
        return total_cost(a1, t, *arrays, *quantities)

    @staticmethod
    def backward(ctx, grad_output):
        gradients = backward_pass(*ctx.saved_tensors)
        return (None, None, *(grad_output * g for g in gradients))


def forward(params, X):
    """The outputs a^L of each example (X: examples × inputs; result: examples × outputs)."""
    return forward_pass(X.T, *_arrays(params))[-1].T


def cost(params, X, T):
    """C_T of a batch as a tensor; .backward() fills each parameter's .grad with the derived gradient."""
    return DerivedCost.apply(X.T, T.T, *_arrays(params))
'''


def write_export(
    path: str | Path,
    model: Sequence[int] | Network | Model | ArrayModel | ConvolutionalNetwork | CNNArrays,
    activation="sigmoid",
    cost="squared",
    weight_decay: object = 0,
    target: str = "numpy",
    output: str | None = None,
) -> Path:
    """Write :func:`export_source` of the same arguments to ``path`` (a ``.py``
    file), atomically.

    >>> import tempfile, os
    >>> with tempfile.TemporaryDirectory() as d:
    ...     write_export(os.path.join(d, "grad.py"), [2, 1]).name
    'grad.py'
    """
    if not isinstance(path, (str, Path)):
        raise OutputPathError(f"the exported module is a file such as grad.py; got {echo(path)}")
    path = check_output_path(path, (".py",), "the exported module is a Python file ending in .py", "grad.py",
                             OutputPathError)
    write_text(path, export_source(model, activation, cost, weight_decay, target, output))
    return path


# --- the convolutional network ---------------------------------------------------------

def _as_cnn(model) -> CNNArrays | None:
    """The array path of a convolutional network, or None for any other model."""
    if isinstance(model, CNNArrays):
        return model
    if isinstance(model, ConvolutionalNetwork):
        return trainable_for(model, "array")
    return None


def _cnn_source(model: CNNArrays, target: str) -> str:
    """The module of the CNN ``model``: the array path's kernels (im2col by a
    precomputed index, pooling a reshape, one matrix product for ``z^F`` and
    one for ``∂C/∂w^F``, ``∂C/∂b^F``), each line with its formula; ``a(z)``,
    ``a'(z)`` and the cost printed from the symbolic network."""
    net = model.network
    act = net.activation
    z, a, t = sp.symbols("z a t")
    term = net.cost.term(a, t)
    book = _FormulaPrinter({})._print  # entry by entry over whole arrays: ⊙
    slope = act.derivative(z).xreplace({act(z): a})
    formulas = {
        "activation": (("z",), act(z), f"a(z) = {book(act(z))}"),
        "slope": (("z", "a"), slope, f"a'(z) = {book(slope)}, in the output a where it can be"),
        "cost_term": (("a", "t"), term, f"c(a, t) = {book(term)}"),
        "cost_slope": (("a", "t"), sp.diff(term, a), f"∂c/∂a = {book(sp.diff(term, a))}"),
    }
    printer = _CodePrinter(target)
    constants = {
        "IMAGE": tuple(net.image_shape), "CHANNELS": net.channels, "FILTER": tuple(net.filter_size),
        "STRIDE": tuple(net.stride), "PADDING": tuple(net.padding), "MAP": tuple(model.map_shape),
        "POOL": tuple(model.pool), "POOLING": model.pooling, "PARAMETER_SHAPES": dict(model.parameter_shapes),
        "DECAY": float(model.weight_decay),
    }
    source = [
        f'"""C_T and its gradient for the {model.describe()} network, by the derived formulas',
        "of chapter 5, written out by symbackprop.",
        "",
        "Images X are (n, C, rows, columns) (one channel may leave out C); the window of",
        "map unit (i, j) reads x_{c, s(i−1)+u−p, s(j−1)+v−p} of the image inside p rings of",
        "zeros, s the stride. The feature maps z^F, a^F are kept as (n·rows·cols, K), one",
        "row per (image, i, j); the pooled maps a^P are (n, K, R, Q), the outputs z^O, a^O",
        "(n, N). Sums over the images make C_T and its gradient.",
        '"""',
        "",
        f"import {target}",
        "",
        *(f"{name} = {value!r}" for name, value in constants.items()),
        "",
        "",
        *_CNN_HELPERS[target].splitlines(),
        "",
        "",
    ]
    for cls in _functions_used([expr for _, expr, _ in formulas.values()]):
        source += _function_source(cls, target, printer)
    for name, (args, expr, meaning) in formulas.items():
        source += [f"def {name}({', '.join(args)}):", f"    # {meaning}",
                   f"    return {printer._print(expr)}", "", ""]
    source += _CNN_BODY.replace("xp.", f"{target}.").splitlines()
    source += _CNN_API[target].splitlines()
    return "\n".join(source) + "\n"


#: The few array operations that NumPy and PyTorch spell differently.
_CNN_HELPERS = {
    "numpy": '''def images(X):
    # the batch as (n, C, rows, columns)
    X = numpy.asarray(X, dtype=float)
    return X[:, None] if X.ndim == 3 else X


def pad(X, rows, cols):
    # p rings of zeros around each image
    return numpy.pad(X, ((0, 0), (0, 0), (rows, rows), (cols, cols)))


def side_by_side(a, b):
    return numpy.concatenate([a, b], axis=1)


def ones(n, like):
    return numpy.ones((n, 1))


def zeros(shape, like):
    return numpy.zeros(shape)


def starts(count, step, like):
    # 0, step, 2·step, …: where each of count blocks of step entries begins
    return numpy.arange(0, count * step, step)


def permute(x, axes):
    return x.transpose(axes)''',
    "torch": '''def images(X):
    # the batch as (n, C, rows, columns)
    return X[:, None] if X.dim() == 3 else X


def pad(X, rows, cols):
    # p rings of zeros around each image
    return torch.nn.functional.pad(X, (cols, cols, rows, rows))


def side_by_side(a, b):
    return torch.cat([a, b], dim=1)


def ones(n, like):
    return torch.ones((n, 1), dtype=like.dtype, device=like.device)


def zeros(shape, like):
    return torch.zeros(shape, dtype=like.dtype, device=like.device)


def starts(count, step, like):
    # 0, step, 2·step, …: where each of count blocks of step entries begins
    return torch.arange(0, count * step, step, device=like.device)


def permute(x, axes):
    return x.permute(axes)''',
}

_CNN_BODY = '''def window_index():
    """The place of x_{c, s(i−1)+u−p, s(j−1)+v−p} in the flattened padded image, one row
    per map unit (i, j), channel-major like the filters; then the place of the constant 1."""
    (h, w), (sh, sw), (qh, qw), (fh, fw), (rows, cols) = IMAGE, STRIDE, PADDING, FILTER, MAP
    H, W = h + 2 * qh, w + 2 * qw
    c = xp.arange(CHANNELS).reshape(-1, 1, 1, 1, 1)
    i, j = xp.arange(rows).reshape(1, -1, 1, 1, 1), xp.arange(cols).reshape(1, 1, -1, 1, 1)
    u, v = xp.arange(fh).reshape(1, 1, 1, -1, 1), xp.arange(fw).reshape(1, 1, 1, 1, -1)
    index = permute((c * H + sh * i + u) * W + sw * j + v, (1, 2, 0, 3, 4)).reshape(rows * cols, -1)
    return side_by_side(index, 0 * index[:, :1] + CHANNELS * H * W)


WINDOWS = window_index()


def forward_pass(params, X):
    """Every layer quantity of a batch of images."""
    X = images(X)
    F, fb, W, b = (params[k] for k in ("filters", "filter_bias", "out_W", "out_b"))
    n, K, (rows, cols), (qh, qw), (ph, pw) = len(X), len(F), MAP, PADDING, POOL
    flat = side_by_side(pad(X, qh, qw).reshape(n, -1), ones(n, X))  # the padded image and a 1 for b^F_k
    windows = flat[:, WINDOWS].reshape(n * rows * cols, -1)  # x_{c, s(i−1)+u−p, s(j−1)+v−p}, 1 for each (image, i, j)
    zF = windows @ side_by_side(F.reshape(K, -1), fb.reshape(K, 1)).T  # z^F_{k,ij} = Σ_{c,u,v} w^{F_k}_{c,uv} x_{c, s(i−1)+u−p, s(j−1)+v−p} + b^F_k
    aF = activation(zF)  # a^F_{k,ij} = a(z^F_{k,ij})
    R, Q = rows // ph, cols // pw  # the pooled map's size
    blocks = permute(aF.reshape(n, R, ph, Q, pw, K), (0, 5, 1, 3, 2, 4)).reshape(n, K, R, Q, ph * pw)  # block (i, j) of map k: its ph·pw entries of a^F last
    if POOLING == "max":
        # the first maximum of each block wins; at: the winner's place among all the blocks' entries
        at = blocks.argmax(-1).reshape(-1) + starts(n * K * R * Q, ph * pw, blocks)
        aP = blocks.reshape(-1)[at].reshape(n, K, R, Q)  # a^P_{k,ij} = max of its block of a^F
    else:
        at = None
        aP = blocks.mean(-1)  # a^P_{k,ij} = the mean of its block of a^F
    zO = aP.reshape(n, -1) @ W.reshape(len(W), -1).T + b  # z^O_n = Σ_k Σ_{ij} w^O_{k,n,ij} a^P_{k,ij} + b^O_n
    aO = activation(zO)  # a^O_n = a(z^O_n)
    return {"windows": windows, "zF": zF, "aF": aF, "at": at, "aP": aP, "zO": zO, "aO": aO}


def total_cost(params, f, T):
    # C_T = Σ_images (Σ_n c(a^O_n, t_n) + (λ/2) Σ w²), λ = DECAY, the sum over the filter and output weights
    decay = DECAY / 2 * (xp.sum(params["filters"] ** 2) + xp.sum(params["out_W"] ** 2)) if DECAY else 0.0
    return xp.sum(cost_term(f["aO"], T)) + len(T) * decay


def backward_pass(params, f, T):
    """{name: ∂C_T/∂name} by the δ recurrence of chapter 5."""
    m = len(T)  # with weight decay each image's C adds (λ/2) Σ w², so ∂C_T/∂w gains m λ w
    W = params["out_W"]
    dO = cost_slope(f["aO"], T) * slope(f["zO"], f["aO"])  # δ^O_n = ∂C/∂a^O_n a'(z^O_n)
    back = (dO @ W.reshape(len(W), -1)).reshape(f["aP"].shape)  # Σ_n δ^O_n w^O_{k,n,ij}: the error reaching a^P_{k,ij}
    n, K, R, Q = back.shape
    ph, pw = POOL
    routed = zeros((n, K, R, Q, ph * pw), back)  # what reaches each entry of each block
    if POOLING == "max":
        routed.reshape(-1)[f["at"]] = back.reshape(-1)  # ∂a^P/∂a^F = 1 for the block's winner, 0 for the rest
    else:
        routed = routed + back[..., None] / (ph * pw)  # ∂a^P/∂a^F = 1/(ph·pw) for each entry of the block
    routed = permute(routed.reshape(n, K, R, Q, ph, pw), (0, 2, 4, 3, 5, 1)).reshape(-1, K)  # back to one row per (image, i, j), like z^F
    dF = routed * slope(f["zF"], f["aF"])  # δ^F_{k,ij} = (what reaches a^F_{k,ij}) a'(z^F_{k,ij})
    sums = dF.T @ f["windows"]  # Σ_{ij} δ^F_{k,ij} x_{c, s(i−1)+u−p, s(j−1)+v−p}, and Σ_{ij} δ^F_{k,ij} · 1 last
    return {
        "filters": sums[:, :-1].reshape(params["filters"].shape) + m * DECAY * params["filters"],  # ∂C_T/∂w^{F_k}_{c,uv}: the input correlated with δ^F, + m λ w^{F_k}_{c,uv}
        "filter_bias": sums[:, -1],  # ∂C_T/∂b^F_k = Σ_{ij} δ^F_{k,ij}
        "out_W": (dO.T @ f["aP"].reshape(len(dO), -1)).reshape(W.shape) + m * DECAY * W,  # ∂C_T/∂w^O_{k,n,ij} = Σ_images δ^O_n a^P_{k,ij} + m λ w^O_{k,n,ij}
        "out_b": dO.sum(0),  # ∂C_T/∂b^O_n = Σ_images δ^O_n
    }


def forward(params, X):
    """The outputs a^O of every image, (n, N)."""
    return forward_pass(params, X)["aO"]
'''

_CNN_API = {
    "numpy": '''

def cost_and_gradient(params, X, T):
    """C_T and {name: ∂C_T/∂name} for a batch of images X and targets T (n, N)."""
    f = forward_pass(params, X)
    T = numpy.asarray(T, dtype=float)
    return float(total_cost(params, f, T)), backward_pass(params, f, T)
''',
    "torch": '''

NAMES = ("filters", "filter_bias", "out_W", "out_b")


class DerivedCost(torch.autograd.Function):
    """C_T of a batch, whose backward is the derived δ recurrence (not autograd's).

    DerivedCost.apply(X, T, filters, filter_bias, out_W, out_b); the images and
    targets get no gradient.
    """

    @staticmethod
    def forward(ctx, X, T, *arrays):
        params = dict(zip(NAMES, arrays))
        f = forward_pass(params, X)
        ctx.derived = (params, f, T)
        return total_cost(params, f, T)

    @staticmethod
    def backward(ctx, grad_output):
        gradient = backward_pass(*ctx.derived)
        return (None, None, *(grad_output * gradient[name] for name in NAMES))


def cost(params, X, T):
    """C_T of a batch as a tensor; .backward() fills each parameter's .grad with the derived gradient."""
    return DerivedCost.apply(X, T, *(params[name] for name in NAMES))
''',
}
