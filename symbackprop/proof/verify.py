"""Verification: the δ route equals the direct derivative, for every parameter.

Three independent checks, each per parameter:

- **exact**: ``direct − δ route == 0`` as a SymPy identity, decided by
  expansion with the activations' values as atoms (:func:`prove_equal`).
  With the generic activation ``a`` this is a proof for *every* activation;
- **numeric**: both routes evaluated at random points with 50 significant
  digits (mpmath);
- **finite differences**: central differences of ``C`` itself at 50 digits,
  at three steps ``h``, ``h/2``, ``h/4``, the last two combined by Richardson
  extrapolation. The steps also estimate the differences' own error (truncation, of order
  ``h²·|∂³C/∂p³|``, and rounding, of order ``ε|C|/h``): a gap that this error
  can explain is *inconclusive*, not a disagreement. An inconclusive check
  does not spoil the verdict when another check of the same parameter
  agrees.

A student's own formula can be checked the same way with :func:`verify_claim`.
The module is a little over 500 lines because the three checks and the
claim check share their points, tolerances and report; split apart, each
would import the others' details.

>>> report = verify(Network([2, 2, 1]), exact=True)
>>> report.ok, len(report.checks)
(True, 27)
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import mpmath
import sympy as sp

from ..engine.network import LayeredModel, check_model, replace_quantities
from ..engine.routes import DeltaRoute, DirectRoute, delta_route, direct_route
from ..errors import ArgumentError, DataError, ExpressionError, echo
from ..functions.activations import generic_a
from ..functions.formula_text import plain_formula
from ..functions.parsing import parse_expression
from ..guards import MAX_POINTS, check_expression, check_seed, check_sequence
from ..numeric.scalar import compile_scalar

#: ``progress(stage, done, total)``: how far a stage of :func:`verify` has come.
Progress = Callable[[str, int, int], None]

DIGITS = 50
#: A numeric difference counts as agreement below this (relative) size.
NUMERIC_TOLERANCE = mpmath.mpf(10) ** -(DIGITS - 10)
#: Central differences with step h have an error of order h² ≈ 1e-24;
#: extrapolated from h and h/2, of order h⁴.
FD_STEP = mpmath.mpf(10) ** -12
FD_TOLERANCE = mpmath.mpf(10) ** -18
#: A gap within this many times the estimated error of the differences is
#: one that truncation or rounding can explain.
FD_ERROR_MARGIN = 10
#: … provided the differences are in their asymptotic regime: the h²
#: correction at most this fraction of the result.
ASYMPTOTIC = mpmath.mpf(10) ** -6

EXACT = "exact"
NUMERIC = "50-digit numeric"
FINITE = "finite differences"


@dataclass(frozen=True)
class Check:
    """One verification of one parameter's gradient.

    ``agrees`` is True (verified), False (a real disagreement) or None:
    undecided (an exact identity that expansion and cancellation could not
    settle) or inconclusive (finite differences whose own error is as large
    as the gap).
    """

    parameter: sp.Symbol
    method: str
    agrees: bool | None
    difference: float | None = None
    seconds: float = 0.0

    @property
    def status(self) -> str:
        if self.agrees is None:
            return "undecided" if self.method == EXACT else "inconclusive"
        return "agrees" if self.agrees else "DIFFERS"


@dataclass
class VerificationReport:
    """Every check that was run; ``ok`` when all of them agree, except that an
    inconclusive finite-difference check is passed over when another check
    of the same parameter agrees."""

    title: str
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and not self.failures()

    def failures(self) -> list[Check]:
        """The checks that spoil the verdict: every one that does not agree,
        but an inconclusive finite difference only when nothing else agrees
        for its parameter."""
        rows = self.by_parameter()
        return [
            c for c in self.checks
            if c.agrees is not True
            and not (c.method == FINITE and c.agrees is None
                     and any(o.agrees is True for o in rows[c.parameter].values()))
        ]

    @property
    def methods(self) -> list[str]:
        return list(dict.fromkeys(c.method for c in self.checks))

    def by_parameter(self) -> dict[sp.Symbol, dict[str, Check]]:
        rows: dict[sp.Symbol, dict[str, Check]] = {}
        for c in self.checks:
            rows.setdefault(c.parameter, {})[c.method] = c
        return rows

    def largest_difference(self) -> float:
        diffs = [c.difference for c in self.checks if c.difference is not None]
        return max(diffs, default=0.0)

    def table(self, grouped: bool = False):
        """The report as a rich table: one row per parameter, or with
        ``grouped=True`` one row per family (``w^2``, ``b^2``, …) counting the
        checks that agree.

        >>> verify(Network([2, 1])).table(grouped=True).row_count
        2
        """
        from rich.table import Table

        table = Table(title=self.title)
        table.add_column("parameters" if grouped else "parameter")
        for method in self.methods:
            table.add_column(method)
        table.add_column("largest difference", justify="right")
        style = {True: "green", False: "bold red", None: "yellow"}
        rows: dict[str, list[Check]] = {}
        for c in self.checks:
            name = str(c.parameter)
            rows.setdefault(name.split("_")[0] + " (all)" if grouped else name, []).append(c)
        for label, checks in rows.items():
            cells = []
            for method in self.methods:
                found = [c for c in checks if c.method == method]
                if not found:
                    cells.append("")
                elif grouped:
                    agree = sum(c.agrees is True for c in found)
                    open_ = [c for c in found if c.agrees is None]
                    colour = "green" if agree == len(found) else "yellow" if agree + len(open_) == len(found) \
                        else "bold red"
                    more = f", {len(open_)} {open_[0].status}" if open_ else ""
                    cells.append(f"[{colour}]{agree}/{len(found)} agree{more}[/]")
                else:
                    cells.append(f"[{style[found[0].agrees]}]{found[0].status}[/]")
            diffs = [c.difference for c in checks if c.difference is not None]
            cells.append(f"{max(diffs):.1e}" if diffs else "0 (exact)")
            table.add_row(label, *cells)
        return table

    def _repr_latex_(self) -> str:
        from ..notation.latex import book_latex
        from ..notation.symbols import COST, Partial

        rows = [
            r"%s &: \text{%s}" % (
                book_latex(Partial(COST, p)),
                ", ".join(f"{c.status} ({c.method})" for c in checks.values()),
            )
            for p, checks in self.by_parameter().items()
        ]
        return "$$\\begin{aligned}" + r" \\ ".join(rows) + "\\end{aligned}$$"

    def summary(self) -> str:
        """One line: how many checks agree, and the verdict.

        >>> verify(Network([1, 1])).summary()[:50]
        'all 4 checks agree (50-digit numeric, finite diffe'
        >>> verify(Network([1, 1]), exact=True, numeric=False, finite_differences=False).summary()
        'all 2 checks agree (exact)'
        """
        if not self.checks:
            return "no checks were run"
        bad = [c for c in self.checks if c.agrees is not True]
        methods = ", ".join(self.methods)
        if not bad:
            measured = any(c.difference is not None for c in self.checks)
            largest = f"; largest relative difference {self.largest_difference():.1e}" if measured else ""
            return f"all {len(self.checks)} checks agree ({methods}){largest}"
        parts = []
        for status, verb in (("DIFFERS", "differ"), ("undecided", "undecided"), ("inconclusive", "inconclusive")):
            found = [c for c in bad if c.status == status]
            if found:
                names = ", ".join(sorted({str(c.parameter) for c in found}))
                parts.append(f"{len(found)} {verb} ({names})")
        agree = len(self.checks) - len(bad)
        verdict = f"{agree} of {len(self.checks)} checks agree, " + ", ".join(parts)
        if self.ok:
            verdict += (
                "; finite differences cannot resolve the gap there (their own error, or the cost's variation "
                "within a step, can explain it), and the other checks of those parameters agree"
            )
        return verdict


def prove_equal(left: sp.Expr, right: sp.Expr) -> bool | None:
    """Decide ``left == right`` as an identity: True, or None if undecided.

    Rests on canonical forms, never on ``simplify``. First every function
    value (``a(z)``, ``σ(z)``, ``a'(z)``, ``log(…)``) is replaced by a fresh
    symbol and the difference is brought over one denominator: if the
    numerator expands to 0 the identity holds for *any* values of those
    atoms, so in particular for theirs. Failing that, a full expansion
    (arguments included) is tried.

    >>> import sympy as sp
    >>> x = sp.Symbol("x")
    >>> prove_equal((x + 1)**2, x**2 + 2*x + 1), prove_equal(x, x + 1)
    (True, None)
    >>> prove_equal(sp.log(x) / (1 - sp.tanh(x)), -sp.log(x) / (sp.tanh(x) - 1))
    True
    """
    difference = check_expression(left, "the left side") - check_expression(right, "the right side")
    atoms, has_denominator = _function_values(difference)
    abstract = difference.xreplace({a: sp.Dummy() for a in atoms})
    numerator = sp.fraction(sp.together(abstract))[0] if has_denominator else abstract
    if _vanishes_as_polynomial(numerator) or sp.expand(numerator) == 0:
        return True
    if sp.expand(difference) == 0:
        return True
    return None


def _vanishes_as_polynomial(expr: sp.Expr) -> bool:
    """Whether ``expr`` is the zero polynomial in its symbols and its opaque
    parts (anything but sums, products, powers by whole numbers ≥ 0 and
    rational numbers, each taken as one more variable): multiplied out in a
    sparse polynomial ring, each distinct node once. True proves ``expr = 0``
    for all values of them; False decides nothing (two opaque parts may be
    equal in another form), and the caller expands instead.

    >>> x, y = sp.symbols("x y")
    >>> _vanishes_as_polynomial((x + sp.Max(x, y))**2 - x**2 - 2*x*sp.Max(x, y) - sp.Max(x, y)**2)
    True
    >>> _vanishes_as_polynomial(sp.exp(x + y) - sp.exp(x) * sp.exp(y))
    False
    """
    def polynomial(node: sp.Basic) -> bool:
        return node.is_Add or node.is_Mul or (node.is_Pow and node.exp.is_Integer and node.exp >= 0)

    # Post-order over distinct nodes: each after its arguments.
    order: list[sp.Basic] = []
    seen: set[sp.Basic] = set()
    stack: list[tuple[sp.Basic, bool]] = [(expr, False)]
    while stack:
        node, ready = stack.pop()
        if ready:
            order.append(node)
        elif node not in seen:
            seen.add(node)
            stack.append((node, True))
            if polynomial(node):
                stack.extend((a, False) for a in node.args if a not in seen)
    opaque = [n for n in order if not polynomial(n) and not n.is_Rational]
    ring, *variables = sp.ring([sp.Dummy() for _ in opaque] or [sp.Dummy()], sp.QQ)
    value = dict(zip(opaque, variables))
    for node in order:
        if node in value:
            continue
        if node.is_Rational:
            value[node] = ring(node)
        elif node.is_Pow:
            value[node] = value[node.base] ** int(node.exp)
        else:
            parts = [value[a] for a in node.args]
            total = parts[0]
            for part in parts[1:]:
                total = total + part if node.is_Add else total * part
            value[node] = total
    return value[expr] == 0


def _function_values(expr: sp.Expr) -> tuple[set[sp.Expr], bool]:
    """The outermost function values of ``expr`` (``a(z)``, ``σ(z)``, ``a'(z)``,
    ``winner(…)``) and whether anything outside them divides.

    A written-out gradient shares its subexpressions many times over, so this
    walks each distinct node once, where ``atoms`` walks the whole tree.

    >>> x = sp.Symbol("x")
    >>> _function_values(sp.sin(sp.exp(x)) + sp.sin(sp.exp(x))**2 / x)
    ({sin(exp(x))}, True)
    """
    values: set[sp.Expr] = set()
    divides = False
    seen: set[sp.Expr] = set()
    stack = [expr]
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        if isinstance(node, (sp.Function, sp.Subs, sp.Derivative)):
            values.add(node)
            continue
        if node.is_Pow and node.exp.is_negative:
            divides = True
        stack.extend(node.args)
    return values, divides


def random_point(model: LayeredModel, seed: int) -> dict[sp.Symbol, mpmath.mpf]:
    """Random values for inputs (0..1), targets (0..1) and parameters (−1..1)
    with 50 significant digits, reproducible from ``seed``. Targets that the
    model assumes to sum to 1 (its :attr:`target_constraint`) are a random
    distribution: the values drawn, divided by their sum.

    >>> point = random_point(Network([2, 1]), seed=0)
    >>> len(point), point == random_point(Network([2, 1]), seed=0)
    (6, True)
    >>> all(-1 <= v <= 1 for v in point.values())
    True
    """
    rng = random.Random(seed)
    with mpmath.workdps(DIGITS):
        def value(lo: float, hi: float) -> mpmath.mpf:
            # 50 random digits, not a double's 16
            return mpmath.mpf(lo) + (hi - lo) * mpmath.mpf(rng.getrandbits(170)) / 2**170

        point = {s: value(0, 1) for s in model.inputs + model.targets}
        if model.target_constraint is not None:
            total = mpmath.fsum(point[t] for t in model.targets)
            point.update({t: point[t] / total for t in model.targets})
        point.update({p: value(-1, 1) for p in model.parameters})
    return point


def _numeric_functions(model: LayeredModel, route: DeltaRoute, direct: DirectRoute | None):
    delta_f = compile_scalar(model, route, backend="mpmath")
    if direct is None:
        return delta_f, None
    # The compiled function has one output per parameter; when only some were
    # chosen, the others are never compared, so 0 stands in for them.
    every = {p: direct.gradients.get(p, sp.S.Zero) for p in model.parameters}
    padded = DirectRoute(model, direct.cost, every, direct.seconds)
    return delta_f, compile_scalar(model, padded, backend="mpmath")


def _evaluate(function, model: LayeredModel, point):
    x = [point[s] for s in model.inputs]
    t = [point[s] for s in model.targets]
    with mpmath.workdps(DIGITS):
        return function(point, x, t)


def _relative(a, b) -> mpmath.mpf:
    with mpmath.workdps(DIGITS):
        return abs(a - b) / max(mpmath.mpf(1), abs(a), abs(b))


def verify(
    model: LayeredModel,
    *,
    exact: bool = False,
    numeric: bool = True,
    finite_differences: bool = True,
    points: int = 2,
    seed: int = 0,
    parameters: Iterable | None = None,
    force: bool = False,
    progress: Progress | None = None,
) -> VerificationReport:
    """Check, for every parameter, that the δ route equals the direct gradient.

    ``exact`` adds the symbolic proof; ``numeric`` compares both routes at
    ``points`` random points with 50 digits; ``finite_differences`` compares
    the δ route with central differences of ``C``. The generic activation
    has no values, so only the exact proof applies to it. ``progress``, when
    given, is told how far each stage has come (see :data:`Progress`).

    >>> from symbackprop import Network
    >>> report = verify(Network([12, 3, 2], activation="generic"), exact=True)
    >>> report.ok, report.methods
    (True, ['exact'])
    >>> seen = []
    >>> _ = verify(Network([1, 1]), progress=lambda stage, done, total: seen.append((stage, done, total)))
    >>> list(dict.fromkeys(stage for stage, _, _ in seen))
    ['δ route', 'direct route', 'compiling at 50 digits', 'random points', 'finite differences']
    >>> seen[-1]
    ('random points', 2, 2)
    """
    check_model(model, "verify")
    _check_points(points, seed)
    if parameters is not None:
        parameters = check_sequence(parameters, "the parameters to verify")
    if progress is not None and not callable(progress):
        raise ArgumentError(f"progress must be a function of (stage, done, total) or None; got {echo(progress)}")
    chosen = model.parameters if parameters is None else tuple(model.parameter(p) for p in parameters)
    generic = any(layer.activation.is_generic for layer in model.layers)
    report = VerificationReport(f"∂C/∂p for the {model.describe()} network: δ route vs direct route")
    for layer in model.layers:
        if layer.activation.not_trainable_because:
            report.notes.append(layer.activation.not_trainable_because)
            break
    # Decided before the routes: the exact proof it switches on needs the direct route.
    if generic and (numeric or finite_differences):
        report.notes.append("the generic activation a(z) has no values: only the exact proof applies")
        numeric = finite_differences = False
        exact = True
    if model.weight_decay.free_symbols and (numeric or finite_differences):
        report.notes.append(
            f"the weight decay λ = {model.weight_decay} is a symbol, not a number: only the exact proof applies"
        )
        numeric = finite_differences = False
        exact = True
    # The δs as compiled for training: for a softmax with the categorical
    # cross-entropy, δ^L = a^L − t, an identity only for targets that sum to 1.
    tick = _ticker(progress)
    tick("δ route", 0, 1)
    route = delta_route(model).constrained()
    tick("δ route", 1, 1)
    if model.target_constraint is not None:
        report.notes.append(
            f"the targets are assumed to satisfy {sp.sstr(model.target_constraint.lhs)} = 1: the random points' "
            "targets are distributions, and the exact proof eliminates the last target"
        )
    direct = _direct_route(model, chosen, force, tick) if exact or numeric else None
    if exact:
        for p in _steps(chosen, "exact proof", tick):
            start = time.perf_counter()
            verdict = prove_equal(
                model.under_target_constraint(direct.gradients[p]),
                model.under_target_constraint(route.expanded(p)),
            )
            report.checks.append(Check(p, EXACT, verdict, None, time.perf_counter() - start))
    if numeric or finite_differences:
        tick("compiling at 50 digits", 0, 1)
        delta_f, direct_f = _numeric_functions(model, route, direct if numeric else None)
        order = list(model.inputs) + list(model.targets) + list(model.parameters)
        cost_f = _mp_lambdify(model, order, [model.cost_substituted()]) if finite_differences else None
        tick("compiling at 50 digits", 1, 1)
        worst: dict[tuple[sp.Symbol, str], mpmath.mpf] = {}
        # Finite differences: the verdict at the point where it is weakest.
        verdicts: dict[sp.Symbol, bool | None] = {}
        for k in _steps(range(points), "random points", tick):
            point = random_point(model, seed + k)
            try:
                _, delta_grad = _evaluate(delta_f, model, point)
                direct_grad = _evaluate(direct_f, model, point)[1] if numeric else {}
                differences = {
                    p: _central_difference(cost_f, model, point, p)
                    for p in _steps(chosen, "finite differences", tick if k == 0 else None)
                } if finite_differences else {}
            except (ZeroDivisionError, ValueError) as exc:
                report.notes.append(
                    f"the cost is undefined at random point {k + 1} ({str(exc) or 'division by zero'}); "
                    "numeric checks skipped there"
                )
                continue
            except (OverflowError, MemoryError):
                # mpmath's way of saying a value such as e^(e^(e^(e^z))) has too many digits;
                # the next points are as large and can take hours, so stop here.
                report.notes.append(
                    f"the values at random point {k + 1} are too large to compute with 50 digits; "
                    "numeric checks stopped (the exact proof, --exact, does not evaluate)"
                )
                break
            for p in direct_grad and chosen:
                d = _relative(delta_grad[p], direct_grad[p])
                worst[(p, NUMERIC)] = max(worst.get((p, NUMERIC), 0), d)
            for p, (estimate, error) in differences.items():
                d = _relative(delta_grad[p], estimate)
                worst[(p, FINITE)] = max(worst.get((p, FINITE), 0), d)
                verdict = _fd_verdict(delta_grad[p], estimate, error)
                previous = verdicts.get(p, True)
                verdicts[p] = False if False in (previous, verdict) else (None if None in (previous, verdict) else True)
        for (p, method), d in worst.items():
            agrees = bool(d <= NUMERIC_TOLERANCE) if method == NUMERIC else verdicts[p]
            report.checks.append(Check(p, method, agrees, float(d)))
    return report


def _ticker(progress: Progress | None) -> Progress:
    return progress if progress is not None else (lambda stage, done, total: None)


def _steps(items: Iterable, stage: str, tick: Progress | None) -> Iterator:
    """``items``, telling ``tick`` how many are done before each and at the end."""
    items = list(items)
    for done, item in enumerate(items):
        if tick is not None:
            tick(stage, done, len(items))
        yield item
    if tick is not None:
        tick(stage, len(items), len(items))


def _direct_route(model: LayeredModel, chosen: Sequence[sp.Symbol], force: bool, tick: Progress) -> DirectRoute:
    """The direct route, parameter by parameter (so that ``tick`` can follow it),
    each differentiated once per distinct node: the same expressions as
    ``sympy.diff``, in a fifth of its time on the book's CNN."""
    start = time.perf_counter()
    # Refuses a hopeless size before any work.
    cost = direct_route(model, [], force=force).cost
    gradients = {
        p: direct_route(model, [p], force=True, shared=True).gradients[p]
        for p in _steps(chosen, "direct route", tick)
    }
    return DirectRoute(model, cost, gradients, time.perf_counter() - start)


def _fd_verdict(gradient, estimate, error) -> bool | None:
    """Agreement within FD_TOLERANCE (relative); inconclusive (None) when the
    differences' own error, or their being out of the regime where it can be
    estimated (``error`` None), can explain the gap; otherwise a disagreement."""
    with mpmath.workdps(DIGITS):
        gap = abs(gradient - estimate)
        if gap <= FD_TOLERANCE * max(mpmath.mpf(1), abs(gradient), abs(estimate)):
            return True
        return None if error is None or gap <= FD_ERROR_MARGIN * error else False


def _central_difference(cost_f, model: LayeredModel, point, p) -> tuple[mpmath.mpf, mpmath.mpf | None]:
    """``∂C/∂p`` from central differences, and an estimate of its error (None
    when the steps are outside the regime where it can be estimated).

    With ``D(h) = (C(p + h) − C(p − h))/2h = ∂C/∂p + c h² + O(h⁴)``, the
    extrapolation ``(4 D(h/4) − D(h/2))/3`` cancels the ``h²`` term. Its
    error is estimated by ``|D(h/2) − D(h/4)|``, in which truncation
    (``(3/16) c h²``) and rounding noise both show, plus the rounding bound
    ``2 ε |C| / (h/4)`` (``ε = 10^−50``). The estimate holds while the
    differences shrink by 4 with each halving of ``h`` and stay below
    ASYMPTOTIC of the result (truncation rules), or stay within rounding
    noise (``C`` nearly quadratic in ``p``); a function that changes on the
    scale of ``h`` does neither.
    """
    order = list(model.inputs) + list(model.targets) + list(model.parameters)
    with mpmath.workdps(DIGITS):
        values = [point[s] for s in order]
        i = order.index(p)

        def central(h):
            values[i] = point[p] + h
            (up,) = cost_f(*values)
            values[i] = point[p] - h
            (down,) = cost_f(*values)
            return (up - down) / (2 * h), max(abs(up), abs(down))

        d1, size = central(FD_STEP)
        d2, _ = central(FD_STEP / 2)
        d4, _ = central(FD_STEP / 4)
        rounding = 2 * mpmath.mpf(10) ** -DIGITS * size / (FD_STEP / 4)
        estimate = (4 * d4 - d2) / 3
        coarse, fine = abs(d1 - d2), abs(d2 - d4)
        noise = coarse <= 10 * rounding and fine <= 10 * rounding
        # h² truncation: the ratio is 4 + O(h²), and the correction is small
        shrinking = fine > 0 and 3 <= coarse / fine <= 5 and fine <= ASYMPTOTIC * abs(estimate)
        return estimate, (fine + rounding if noise or shrinking else None)


def parse_claim(model: LayeredModel, text: str) -> sp.Expr:
    """A student's formula in the model's quantities (``w^2_11``, ``a^2_1``,
    ``delta^3_1``, ``x_1``, ``t_1`` …), plain or LaTeX-ish
    (:func:`~symbackprop.functions.formula_text.plain_formula`), parsed
    safely. With the generic activation, ``a(z)`` and ``a'(z)`` may be written too.

    >>> net = Network([2, 2, 1])
    >>> parse_claim(net, "delta^3_1 * w^3_11 * a^2_1*(1 - a^2_1)")
    a^2_1*delta^3_1*w^3_11*(1 - a^2_1)
    >>> parse_claim(net, "δ^3_1 w^{3}_{11} (1 − a^{2}_{1})")
    delta^3_1*w^3_11*(1 - a^2_1)
    """
    functions = {"a": generic_a, "a'": lambda z: sp.Subs(sp.Derivative(generic_a(_XI), _XI), _XI, z).doit()}
    return parse_expression(plain_formula(text), model.find_symbol, functions=functions, what="claimed gradient")


_XI = sp.Symbol("xi")


def verify_claim(
    model: LayeredModel,
    parameter,
    claim: str | sp.Expr,
    *,
    points: int = 2,
    seed: int = 0,
    force: bool = False,
) -> VerificationReport:
    """Check a claimed formula for ``∂C/∂p`` against the exact gradient.

    The claim may use layer quantities and unit errors; they are replaced by
    their definitions before comparing. Exactly (as an identity) and at
    random points with 50 digits.

    >>> net = Network([2, 2, 1])
    >>> verify_claim(net, "w^3_11", "(a^3_1 - t_1)*a^3_1*(1 - a^3_1)*a^2_1").ok
    True
    >>> verify_claim(net, "w^3_11", "(a^3_1 - t_1)*a^2_1").ok
    False
    """
    check_model(model, "verify_claim")
    _check_points(points, seed)
    p = model.parameter(parameter)
    claimed = parse_claim(model, claim) if isinstance(claim, str) else check_expression(claim, "the claim")
    route = delta_route(model)
    full = route.full_substitution()
    written_out = replace_quantities(claimed, full)
    stray = written_out.free_symbols - set(model.inputs + model.targets + model.parameters)
    if stray:
        raise ExpressionError(f"the claim uses {', '.join(sorted(map(str, stray)))}, which the network does not define")
    truth = direct_route(model, [p], force=force, shared=True).gradients[p]
    report = VerificationReport(f"claim for ∂C/∂{p} in the {model.describe()} network")
    start = time.perf_counter()
    verdict = prove_equal(written_out, truth)
    generic = written_out.has(generic_a) or truth.has(generic_a)
    if verdict is None and not generic:
        verdict = _numerically_equal(model, written_out, truth, points, seed)
    report.checks.append(Check(p, EXACT, verdict, None, time.perf_counter() - start))
    if not generic:
        worst = mpmath.mpf(0)
        args = list(model.inputs) + list(model.targets) + list(model.parameters)
        f = _mp_lambdify(model, args, [written_out, truth])
        for k in range(points):
            point = random_point(model, seed + k)
            with mpmath.workdps(DIGITS):
                got, want = f(*[point[s] for s in args])
                worst = max(worst, _relative(got, want))
        report.checks.append(Check(p, NUMERIC, bool(worst <= NUMERIC_TOLERANCE), float(worst)))
    return report


def _mp_lambdify(model: LayeredModel, args: Sequence[sp.Symbol], exprs):
    from ..numeric.scalar import code_names, lambdify_modules

    names = code_names(list(args))
    return sp.lambdify(
        [names[a] for a in args],
        [e.xreplace(names) for e in exprs],
        modules=lambdify_modules("mpmath", model),
        cse=True,
        use_imps=False,
        docstring_limit=0,
    )


def _check_points(points: int, seed: int) -> None:
    """Refuse a count of random points or a seed that cannot be used, before any work.

    >>> _check_points(10**9, 0)
    Traceback (most recent call last):
    ...
    symbackprop.errors.DataError: the number of random points must be a positive integer up to 1,000 (at 50 digits each takes about 50 ms on 12-3-2), got 1000000000
    """

    if isinstance(points, bool) or not isinstance(points, int) or not 1 <= points <= MAX_POINTS:
        raise DataError(
            f"the number of random points must be a positive integer up to {MAX_POINTS:,} (at 50 digits each "
            f"takes about 50 ms on 12-3-2), got {points!r}"
        )
    # None would draw fresh points each run; a verification is reproducible.
    check_seed(0 if seed is None else seed)
    if seed is None:
        raise DataError("the seed of the random points must be a whole number ≥ 0, got None")


def _numerically_equal(model, left, right, points, seed) -> bool | None:
    # An identity expansion could not settle: a clear numeric difference at
    # a random point disproves it; agreement leaves it undecided.
    args = list(model.inputs) + list(model.targets) + list(model.parameters)
    f = _mp_lambdify(model, args, [left - right])
    for k in range(points):
        point = random_point(model, seed + k)
        with mpmath.workdps(DIGITS):
            (value,) = f(*[point[s] for s in args])
            if abs(value) > NUMERIC_TOLERANCE:
                return False
    return None

