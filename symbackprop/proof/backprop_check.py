"""Someone's backpropagation code checked against the derived gradient, block by block.

The code is a function ``gradient(params, X, T) -> dict[str, ndarray]`` in
a Python file: ``params`` in the project's layout (``W2`` of shape
``(n_2, n_1)``, ``b2`` of shape ``(n_2,)``, …; the CNN's ``filters``,
``filter_bias``, ``out_W``, ``out_b``), ``X`` examples × inputs, ``T``
examples × outputs, and it returns ``∂C_T/∂p`` for each block, ``C_T`` the
cost summed over the batch. It runs in a separate Python process
(:mod:`symbackprop.proof.user_code`) with a time limit; the arrays travel
as ``.npz`` files, never as pickles.

It is called at random points (a batch of 3 examples and one of 1) and at
edge points (every parameter 0; large weights; for max pooling, images whose
pooling blocks tie), and each block is compared with the model's own
gradient (:meth:`cost_and_gradient`). A block that differs is tested, at
every point, against the usual mistakes: transposed, a constant factor
(the sign, the mean ``1/m`` instead of the sum, ``m``, 2, ½), the gradient
of another block (layers shifted by one), and for a fully connected network
the δs without ``a'(z^l)`` at one layer; a pattern is named when it holds at
every point to 1e-9 (relative). Otherwise the wrong entries are listed with
their indices.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
import sympy as sp

from ..engine.network import LayeredModel, Network
from ..errors import ArgumentError, echo
from ..functions.activations import numpy_function
from ..guards import require_seed
from ..layers.dense import Dense
from ..numeric.trainable import check_trainable
from .user_code import UserCodeFailed, run_user_function

#: Agreement: every entry within this fraction of the point's largest gradient entry.
TOLERANCE = 1e-9
#: The batch sizes of the random points: m = 3 tells 1/m, m, 2 and ½ apart; m = 1 the per-example δ.
_BATCHES = (3, 1)
#: The scale of the "large weights" edge point.
_LARGE = 5.0
#: Wrong entries listed per block.
_ENTRIES_SHOWN = 6

RIGHT = "right"
WRONG = "wrong"


@dataclass(frozen=True)
class Point:
    """One call of the function: what it is, the parameters and the batch."""

    label: str
    params: dict[str, np.ndarray]
    X: np.ndarray
    T: np.ndarray

    @property
    def m(self) -> int:
        return len(self.X)


@dataclass
class BlockResult:
    """The verdict on one parameter block: ``status`` right or wrong, the
    pattern found (or None) and the explanation."""

    name: str
    status: str
    pattern: str | None = None
    text: str = ""


@dataclass
class BackpropReport:
    """Per block, right or wrong and why; ``crash`` holds the traceback of
    the checked code when it failed (its own, not this tool's)."""

    title: str
    points: list[str]
    blocks: list[BlockResult] = field(default_factory=list)
    crash: str | None = None

    @property
    def ok(self) -> bool:
        return self.crash is None and bool(self.blocks) and all(b.status == RIGHT for b in self.blocks)

    def summary(self) -> str:
        """One line: the verdict.

        >>> BackpropReport("t", ["p"], [BlockResult("W2", RIGHT)]).summary()
        'all 1 blocks are right at 1 points (to 1e-09 of the largest entry)'
        """
        if self.crash is not None:
            return "the checked code failed (see above)"
        wrong = [b.name for b in self.blocks if b.status != RIGHT]
        if not wrong:
            return f"all {len(self.blocks)} blocks are right at {len(self.points)} points (to {TOLERANCE:g} of the largest entry)"
        return f"{len(self.blocks) - len(wrong)} of {len(self.blocks)} blocks are right; wrong: {', '.join(wrong)}"

    def text(self) -> str:
        """The report in plain text.

        >>> print(BackpropReport("t", ["p"], [BlockResult("W2", WRONG, "wrong sign", "−1 × ∂C_T/∂W2")]).text())
        t
        called at: p
          W2: wrong (wrong sign): −1 × ∂C_T/∂W2
        0 of 1 blocks are right; wrong: W2
        """
        lines = [self.title, "called at: " + ", ".join(self.points)]
        if self.crash is not None:
            lines.append(self.crash.rstrip())
        for b in self.blocks:
            why = f" ({b.pattern})" if b.pattern else ""
            lines.append(f"  {b.name}: {b.status}{why}" + (f": {b.text}" if b.text else ""))
        lines.append(self.summary())
        return "\n".join(lines)

    def table(self):
        """A rich table: block, verdict, pattern, explanation."""
        from rich.table import Table

        table = Table(title=self.title, caption="called at: " + ", ".join(self.points))
        for column in ("block", "verdict", "pattern", "explanation"):
            table.add_column(column)
        for b in self.blocks:
            colour = "green" if b.status == RIGHT else "bold red"
            table.add_row(b.name, f"[{colour}]{b.status}[/]", b.pattern or "", b.text)
        return table

    def latex(self) -> str:
        """One line per block, as LaTeX text.

        >>> BackpropReport("t", ["p"], [BlockResult("W2", RIGHT)]).latex()
        '\\\\begin{itemize}\\n\\\\item \\\\texttt{W2}: right\\n\\\\end{itemize}'
        """
        def escape(text: str) -> str:
            return text.replace("\\", r"\textbackslash{}").replace("_", r"\_").replace("^", r"\^{}") \
                .replace("&", r"\&").replace("%", r"\%").replace("#", r"\#")

        items = [r"\item \texttt{%s}: %s" % (escape(b.name), escape(b.status + (f" ({b.pattern})" if b.pattern else "")
                                                                     + (f": {b.text}" if b.text else "")))
                 for b in self.blocks]
        if self.crash is not None:
            items.append(r"\item the checked code failed")
        return "\\begin{itemize}\n" + "\n".join(items) + "\n\\end{itemize}"


def as_trainable(model: object):
    """The numeric model of ``model``: a symbolic model (a :class:`Network`,
    a model file's :class:`~symbackprop.engine.model.Model`, the CNN, the
    recurrent or batch-normalised network) becomes the array model it trains
    as; a trainable model is used as it is.

    >>> as_trainable(Network([2, 1])).parameter_shapes
    {'W2': (1, 2), 'b2': (1,)}
    """
    if isinstance(model, LayeredModel):
        from ..numeric.model_arrays import trainable_for

        return trainable_for(model, "array")
    check_trainable(model)
    if not hasattr(model, "parameter_shapes") or not hasattr(model, "input_shape"):
        raise ArgumentError("check_backprop needs a model with parameter_shapes and input_shape, such as "
                            f"ArrayModel([12, 3, 2]); got {echo(model)}")
    return model


def checking_points(model, seed: int = 0) -> list[Point]:
    """The points the code is called at: random batches of 3 and 1, every
    parameter 0, large weights, and for max pooling tied pooling blocks.

    >>> [p.label for p in checking_points(as_trainable(Network([2, 1])))]
    ['random batch of 3', 'random batch of 1', 'all parameters 0', 'large weights (×5)']
    """
    rng = np.random.default_rng(seed)
    shapes = dict(model.parameter_shapes)
    constraint = getattr(getattr(model, "network", None), "target_constraint", None)

    def batch(m: int, tied: bool = False):
        X = rng.uniform(0, 1, (m, *model.input_shape))
        if tied:
            X = np.repeat(rng.uniform(0, 1, (m, 1)), math.prod(model.input_shape), axis=1).reshape(X.shape)
        if constraint is not None:
            T = np.eye(model.output_size)[rng.integers(0, model.output_size, m)]
        else:
            T = rng.uniform(0, 1, (m, model.output_size))
        return X, T

    def params(scale: float) -> dict[str, np.ndarray]:
        return {name: scale * rng.standard_normal(shape) for name, shape in shapes.items()}

    points = [Point(f"random batch of {m}", params(1.0), *batch(m)) for m in _BATCHES]
    points.append(Point("all parameters 0", {n: np.zeros(s) for n, s in shapes.items()}, *batch(3)))
    points.append(Point(f"large weights (×{_LARGE:g})", params(_LARGE), *batch(3)))
    if getattr(model, "pooling", None) == "max":
        points.append(Point("tied pooling blocks (constant images)", params(1.0), *batch(3, tied=True)))
    return points


def check_backprop(model, function: str, *, seed: int = 0, timeout: float = 60.0) -> BackpropReport:
    """Check the gradient function ``"path/to/module.py:name"`` against the
    derived gradient of ``model`` (see the module's text).

    >>> import pathlib, tempfile
    >>> code = '''
    ... import numpy as np
    ... def grad(params, X, T):
    ...     A = 1 / (1 + np.exp(-(X @ params["W2"].T + params["b2"])))
    ...     delta = (A - T) * A * (1 - A)
    ...     return {"W2": delta.T @ X / len(X), "b2": delta.sum(axis=0)}
    ... '''
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = pathlib.Path(folder, "mine.py")
    ...     _ = path.write_text(code)
    ...     report = check_backprop(Network([2, 1]), f"{path}:grad")
    >>> [(b.name, b.pattern) for b in report.blocks]
    [('W2', 'mean instead of sum (1/m)'), ('b2', None)]
    """
    require_seed(seed)
    trainable = as_trainable(model)
    points = checking_points(trainable, seed)
    report = BackpropReport(f"{function} against ∂C_T/∂p of the {trainable.describe()} network",
                            [p.label for p in points])
    try:
        results = run_user_function(function, [(p.params, p.X, p.T) for p in points], timeout)
    except UserCodeFailed as exc:
        report.crash = str(exc)
        return report
    truths = [trainable.cost_and_gradient(p.params, p.X, p.T)[1] for p in points]
    hypotheses = _delta_hypotheses(trainable, points, truths)
    for name in trainable.parameter_shapes:
        report.blocks.append(_judge(name, points, truths, results, hypotheses))
    return report


def _scale(truth: dict[str, np.ndarray]) -> float:
    return max((float(np.max(np.abs(g))) for g in truth.values() if g.size), default=0.0)


def _close(got: np.ndarray, want: np.ndarray, scale: float) -> bool:
    return got.shape == want.shape and bool(np.all(np.abs(got - want) <= TOLERANCE * max(scale, 1e-300)))


def _judge(name, points, truths, results, hypotheses) -> BlockResult:
    got = [r.get(name) for r in results]
    if any(g is None for g in got):
        return BlockResult(name, WRONG, "missing", f"the function returned no {name}")
    scales = [_scale(t) for t in truths]
    shape = truths[0][name].shape
    everywhere: Callable[[Callable[[int], np.ndarray | None]], bool] = lambda expected: all(  # noqa: E731
        (e := expected(k)) is not None and _close(got[k], e, scales[k]) for k in range(len(points)))
    if everywhere(lambda k: truths[k][name]):
        return BlockResult(name, RIGHT)
    if len(shape) == 2 and everywhere(lambda k: truths[k][name].T):
        return BlockResult(name, WRONG, "transposed",
                           f"the transpose of ∂C_T/∂{name}: row j must hold the weights to unit j, "
                           "column i those from unit i (w^l_ji)")
    bad_shape = next((g.shape for g in got if g.shape != shape), None)
    if bad_shape is not None:
        return BlockResult(name, WRONG, "shape", f"shape {bad_shape}, but {name} has shape {shape}")
    for pattern, factor, text in _FACTORS:
        if everywhere(lambda k, f=factor: f(points[k].m) * truths[k][name]):
            return BlockResult(name, WRONG, pattern, text.replace("{name}", name))
    k = _fitted_factor(got, truths, name, scales)
    if k is not None:
        return BlockResult(name, WRONG, "constant factor", f"{k} × ∂C_T/∂{name}")
    for other in truths[0]:
        if other != name and truths[0][other].shape == shape and everywhere(lambda k, o=other: truths[k][o]):
            return BlockResult(name, WRONG, "layers shifted",
                               f"the gradient of {other}, not of {name} (blocks shifted by a layer)")
    for l, expected in hypotheses:
        if everywhere(lambda k, e=expected: e[k].get(name)):
            checked = f"at {len(points)} points to {TOLERANCE:g}"
            if name[1:] == str(l):
                text = f"δ^{l} lacks the factor a'(z^{l}) ({checked})"
            else:
                text = f"follows from δ^{l} lacking the factor a'(z^{l}): the δs below are computed from it ({checked})"
            return BlockResult(name, WRONG, f"missing a'(z^{l})", text)
    return BlockResult(name, WRONG, None, _wrong_entries(got, truths, name, points, scales))


#: Factors by which a whole block is off, as functions of the batch size m.
_FACTORS = (
    ("wrong sign", lambda m: -1.0, "−1 × ∂C_T/∂{name}: the sign is wrong"),
    ("mean instead of sum (1/m)", lambda m: 1.0 / m,
     "∂C_T/∂{name} divided by the batch size m: the gradient of the mean cost, not of C_T = Σ_k C_k"),
    ("times m", lambda m: float(m), "m × ∂C_T/∂{name}: multiplied by the batch size"),
)


def _fitted_factor(got, truths, name, scales) -> Fraction | None:
    # One number k with got = k·truth at every point where the truth is not 0.
    ratios = []
    for g, t, s in zip(got, truths, scales):
        t = t[name]
        if np.max(np.abs(t), initial=0.0) <= TOLERANCE * s:
            continue
        ratios.append(float(np.vdot(g, t) / np.vdot(t, t)))
    if not ratios:
        return None
    k = Fraction(ratios[0]).limit_denominator(100)
    if k in (0, 1) or not all(_close(g, float(k) * t[name], s) for g, t, s in zip(got, truths, scales)):
        return None
    return k


def _wrong_entries(got, truths, name, points, scales) -> str:
    for k, point in enumerate(points):
        g, t = got[k], truths[k][name]
        bad = np.argwhere(np.abs(g - t) > TOLERANCE * max(scales[k], 1e-300))
        if len(bad):
            shown = "; ".join(
                f"[{', '.join(map(str, index))}]: {g[tuple(index)]:.6g} instead of {t[tuple(index)]:.6g}"
                for index in bad[:_ENTRIES_SHOWN])
            more = f" (and {len(bad) - _ENTRIES_SHOWN} more)" if len(bad) > _ENTRIES_SHOWN else ""
            return f"{len(bad)} of {g.size} entries wrong at the point '{point.label}': {shown}{more}"
    return "wrong"


# --- the δs with one factor a'(z^l) left out (fully connected networks) --------------------

def _delta_hypotheses(model, points, truths) -> list[tuple[int, list[dict[str, np.ndarray]]]]:
    """For each layer l, the gradients of code whose δ^l lacks the factor
    a'(z^l), at every point — provided this module's own δ recurrence,
    built from the network's activations and cost, reproduces the derived
    gradient at every point (otherwise none: a softmax output, weight decay)."""
    network = getattr(model, "network", None)
    if not isinstance(network, Network) or any(type(layer) is not Dense for layer in network.layers) \
            or network.weight_decay != 0:
        return []
    forward = _Recurrence(network)
    for point, truth in zip(points, truths):
        if not all(_close(g, truth[n], _scale(truth)) for n, g in forward.gradients(point).items()):
            return []
    return [(l, [forward.gradients(p, without_slope=l) for p in points]) for l in range(2, len(network.sizes) + 1)]


class _Recurrence:
    """The book's δ recurrence in NumPy, from the network's own a(z), a'(z)
    and ∂C/∂a, with the option of leaving a'(z^l) out at one layer."""

    def __init__(self, network: Network) -> None:
        z, a, t = sp.symbols("z a t")
        self.layers = []
        for layer in network.layers:
            act = layer.activation
            self.layers.append((numpy_function(act, act(z), z), numpy_function(act, act.derivative(z) + 0 * z, z)))
        self.dcost = numpy_function(network.output_layer.activation, sp.diff(network.cost.term(a, t), a), (a, t))
        self.depth = len(network.sizes)

    def gradients(self, point: Point, without_slope: int | None = None) -> dict[str, np.ndarray]:
        outputs, slopes = [point.X.T], []
        for l, (f, df) in enumerate(self.layers, start=2):
            zl = point.params[f"W{l}"] @ outputs[-1] + point.params[f"b{l}"][:, None]
            outputs.append(f(zl))
            slopes.append(np.broadcast_to(df(zl), zl.shape))
        grads: dict[str, np.ndarray] = {}
        carried = self.dcost(outputs[-1], point.T.T)
        for l in range(self.depth, 1, -1):
            delta = carried if without_slope == l else carried * slopes[l - 2]
            grads[f"W{l}"] = delta @ outputs[l - 2].T
            grads[f"b{l}"] = delta.sum(axis=1)
            carried = point.params[f"W{l}"].T @ delta
        return grads
