"""Chapter 2: minimum, Lagrange, approximation, steepest descent, gradient descent, regression.

Every expected value here is a mathematical fact worked out by hand or by an
independent method (NumPy's polyfit, a matrix inverse), not output of the
code under test.
"""

from __future__ import annotations

import json
import math
import signal
import time
from pathlib import Path

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from symbackprop.calculus.approximation import approximation, steepest_descent
from symbackprop.calculus.chapter import documents
from symbackprop.calculus.descent import descent_steps, eta_verdict, gradient_descent, learning_rate_effect
from symbackprop.calculus.lagrange import lagrange
from symbackprop.calculus.minimum import minimum
from symbackprop.calculus.regression import book_data, read_data, regression
from symbackprop.calculus.solving import within
from symbackprop.documents.derivation import Derivation
from symbackprop.errors import DataError, ExpressionError, NoSolutionError, NotDifferentiableError

x, y, z = sp.symbols("x y z", real=True)


def point(candidate) -> tuple:
    return tuple(candidate.point[v] for v in sorted(candidate.point, key=lambda s: s.name))


# --- the minimum condition ----------------------------------------------------


@pytest.mark.parametrize(
    "f,where,value",
    [
        ("x**2 + y**2", (0, 0), 0),
        # 2(x−1) + y = 0 and 4(y+1) + x = 0 give x = 12/7, y = −10/7; f there is −77/49.
        ("(x-1)**2 + 2*(y+1)**2 + x*y", (sp.Rational(12, 7), sp.Rational(-10, 7)), sp.Rational(-11, 7)),
        ("x**2 + y**2 + z**2 - 2*x + 4*z", (1, 0, -2), -5),
        ("(x - 1/3)**2 + 5", (sp.Rational(1, 3),), 5),
    ],
)
def test_minimum_of_known_functions_is_exact(f, where, value):
    result = minimum(f)
    assert [point(c) for c in result.minima] == [where]
    assert result.minima[0].value == value


def test_cubic_has_a_local_minimum_and_a_saddle():
    # f = x³ − 3x + y²: ∇f = (3x² − 3, 2y) vanishes at (±1, 0); f_xx = 6x decides.
    result = minimum("x**3 - 3*x + y**2")
    kinds = {point(c): c.kind for c in result.candidates}
    assert kinds == {(1, 0): "local minimum", (-1, 0): "saddle point"}
    assert "unbounded" in result.derivation.steps[-1].note or "∞" in result.derivation.steps[-1].note


def test_degenerate_hessian_is_left_undecided():
    result = minimum("x**4 + y**4")
    assert [c.kind for c in result.candidates] == ["undecided (the Hessian is singular)"]


@pytest.mark.parametrize(
    "f,error,fragment",
    [
        ("x + y", NoSolutionError, "no real solution"),
        ("exp(x) + y**2", NoSolutionError, "no real solution"),
        ("x**2 - y**2", NoSolutionError, "saddle"),
        ("-(x**2 + y**2)", NoSolutionError, "local maximum"),
        ("abs(x) + y**2", NotDifferentiableError, "not differentiable"),
        ("max(x, y)", NotDifferentiableError, "not differentiable"),
        ("x + w", ExpressionError, "unknown variable 'w'"),
        ("__import__('os')", ExpressionError, "unknown function"),
    ],
)
def test_minimum_refuses_with_a_reason(f, error, fragment):
    with pytest.raises(error, match=fragment):
        minimum(f)


def test_runaway_solving_stops_within_its_budget_with_a_numeric_answer():
    # ∇(x⁹⁹⁹ + y⁹⁹⁸ + xy) = (999x⁹⁹⁸ + y, 998y⁹⁹⁷ + x) vanishes at (0, 0), where the Hessian
    # [[0, 1], [1, 0]] has the eigenvalues ±1: a saddle. SymPy's exact solve runs for minutes.
    started = time.perf_counter()
    with pytest.raises(NoSolutionError, match=r"could not solve .* exactly within 0\.3 s") as caught:
        minimum("x**999 + y**998 + x*y", seconds=0.3)
    assert time.perf_counter() - started < 30  # minutes without the budget
    assert "∇f = 0 at (0, 0)" in str(caught.value) and "saddle point" in str(caught.value)


def test_the_budget_leaves_a_callers_alarm_and_handler_in_place():
    fired = []
    previous = signal.signal(signal.SIGALRM, lambda *_: fired.append(True))
    try:
        signal.setitimer(signal.ITIMER_REAL, 30)
        assert within(5, lambda: 1) == (True, 1)
        assert 0 < signal.getitimer(signal.ITIMER_REAL)[0] <= 30
        signal.setitimer(signal.ITIMER_REAL, 0.01)
        time.sleep(0.05)
        assert fired == [True]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_runaway_lagrange_stops_within_its_budget_with_a_numeric_answer():
    # On x⁷ + y⁷ + z⁷ = 1 the symmetric candidate of xyz is x = y = z = 3^(−1/7) ≈ 0.854751.
    with pytest.raises(NoSolutionError, match=r"within 0\.3 s") as caught:
        lagrange("x*y*z", "x**7+y**7+z**7=1", seconds=0.3)
    assert f"{3 ** (-1 / 7):.6g}" in str(caught.value)


@pytest.mark.parametrize(
    "f,sets,value,kind",
    [
        # (y+1)² − y² − 2y = 1, so f = x² + 1 ≥ 1: every point of the line x = 0 is a minimum.
        ("x**2 + (y+1)**2 - y**2 - 2*y", [({x: 0}, (y,))], 1, "global minimum"),
        # f = (x + y)² ≥ 0 vanishes on the line x = −y.
        ("(x+y)**2", [({x: -y}, (y,))], 0, "global minimum"),
        # f = (xy)² ≥ 0 vanishes on both axes.
        ("(x*y)**2", [({x: 0}, (y,)), ({y: 0}, (x,))], 0, "global minimum"),
        # ∇f = (2x, 2yz, y²) vanishes on the z-axis, where f = 0; f = y²z < 0 near points with
        # z < 0 but f ≥ 0 near points with z > 0: no single kind for the whole line.
        ("x**2 + y**2*z", [({x: 0, y: 0}, (z,))], 0, "undecided"),
    ],
)
def test_sets_of_stationary_points(f, sets, value, kind):
    result = minimum(f)
    assert sorted(((c.point, c.free) for c in result.candidates), key=str) == sorted(sets, key=str)
    assert all(c.value == value and c.kind.startswith(kind) for c in result.candidates)


def test_a_constant_function_is_stationary_everywhere():
    # sin²x + cos²x = 1: ∂f/∂x = 0 at every x.
    result = minimum("sin(x)**2 + cos(x)**2")
    assert [(c.point, c.free, c.value) for c in result.candidates] == [({}, (x,), 1)]
    assert "every point is stationary" in result.derivation.steps[-1].justification


def test_periodic_solutions_are_said_to_be_one_period():
    # cos x = 0 and sin y = 0: x = π/2 + kπ, y = kπ; in [0, 2π)² that is 4 points of infinitely many.
    solved = minimum("sin(x) + cos(y)").derivation.steps[3]
    assert "4 stationary points in one period" in solved.justification
    assert "period 2*pi in x" in solved.note and "infinitely many" in solved.note


def test_counts_are_spelled_in_words():
    assert "1 stationary point" in minimum("x**2 + y**2").derivation.steps[3].justification
    assert lagrange("x + y", "x**2 + y**2 = 1").derivation.steps[3].justification.startswith("2 real solutions")


def test_a_non_real_function_is_refused():
    # log(−1) = iπ: f takes no real values.
    with pytest.raises(ExpressionError, match="not real"):
        minimum("x**2 + log(-1)")


def test_other_variable_names_can_be_allowed():
    assert point(minimum("(w - 2)**2 + (b + 1)**2", variables=["w", "b"]).minima[0]) == (-1, 2)


small = st.integers(min_value=-4, max_value=4)


@settings(max_examples=25, deadline=None)
@given(st.lists(small, min_size=4, max_size=4), st.lists(small, min_size=2, max_size=2))
def test_quadratic_form_minimum_is_minus_a_inverse_b(entries, b_entries):
    # A = BᵀB + I is positive definite for every B, so f = ½xᵀAx + bᵀx has its
    # only minimum at x = −A⁻¹b, where f = −½ bᵀA⁻¹b.
    B = sp.Matrix(2, 2, entries)
    A, b = B.T * B + sp.eye(2), sp.Matrix(b_entries)
    v = sp.Matrix([x, y])
    f = (v.T * A * v / 2 + b.T * v)[0]
    result = minimum(sp.sstr(sp.expand(f)))
    expected = -A.inv() * b
    assert [point(c) for c in result.minima] == [tuple(expected)]
    assert result.minima[0].value == (-(b.T * A.inv() * b) / 2)[0]


# --- Lagrange multipliers -----------------------------------------------------


def test_lagrange_textbook_problems():
    # Largest product of two numbers with sum 1: 1/2 · 1/2.
    r = lagrange("x*y", "x + y = 1")
    assert [(s.point[x], s.point[y], s.value, s.kind) for s in r.solutions] == [
        (sp.Rational(1, 2), sp.Rational(1, 2), sp.Rational(1, 4), "local maximum")
    ]
    # Closest point of the line x + y = 1 to the origin: (1/2, 1/2), squared distance 1/2.
    r = lagrange("x**2 + y**2", "x + y - 1")
    assert (r.smallest().point, r.smallest().value, r.smallest().kind) == (
        {x: sp.Rational(1, 2), y: sp.Rational(1, 2)}, sp.Rational(1, 2), "local minimum"
    )
    # x + y on the unit circle: ±√2 at ±(1/√2, 1/√2).
    r = lagrange("x + y", "x**2 + y**2 = 1")
    assert (r.largest().value, r.largest().kind) == (sp.sqrt(2), "local maximum")
    assert (r.smallest().value, r.smallest().kind) == (-sp.sqrt(2), "local minimum")
    assert r.largest().point == {x: 1 / sp.sqrt(2), y: 1 / sp.sqrt(2)}


def test_lagrange_in_three_variables():
    # Closest point of the plane x + y + z = 3 to the origin: (1, 1, 1).
    r = lagrange("x**2 + y**2 + z**2", "x + y + z = 3")
    assert [(tuple(s.point.values()), s.value, s.kind) for s in r.solutions] == [((1, 1, 1), 3, "local minimum")]


@settings(max_examples=20, deadline=None)
@given(st.integers(-5, 5), st.integers(-5, 5), st.integers(-9, 9))
def test_closest_point_of_a_line_to_the_origin(a, b, c):
    # The squared distance from the origin to the line ax + by = c is c²/(a² + b²),
    # reached at (x, y) = c·(a, b)/(a² + b²).
    if a == b == 0:
        return
    r = lagrange("x**2 + y**2", f"{a}*x + {b}*y = {c}")
    best = r.smallest()
    assert best.value == sp.Rational(c**2, a**2 + b**2)
    assert (best.point[x], best.point[y]) == (sp.Rational(c * a, a**2 + b**2), sp.Rational(c * b, a**2 + b**2))


def test_lagrange_where_the_constraint_has_no_gradient():
    # On xy = 0 (the two axes) x² + y² is x² or y², smallest (0) at the origin, where
    # ∇g = (y, x) = 0 and ∇f = 0: every λ solves the system there.
    r = lagrange("x**2 + y**2", "x*y = 0")
    assert [(s.point, s.value, s.kind) for s in r.solutions] == [({x: 0, y: 0}, 0, "global minimum")]
    # On y² = x³, x = y^(2/3) ≥ 0 is smallest at the cusp (0, 0), where ∇g = (−3x², 2y) = 0
    # but ∇f = (1, 0): no λ solves the system, and the cusp is still a candidate.
    r = lagrange("x", "y**2 = x**3")
    assert [s.point for s in r.solutions] == [{x: 0, y: 0}]


@pytest.mark.parametrize(
    "f,g,error,fragment",
    [
        ("x", "x**2 + y**2 + 1", NoSolutionError, "no real solution"),
        ("x + y", "x + y = 1", NoSolutionError, "infinitely many"),
        ("x*y", "x + y == 1", ExpressionError, "single '='"),
        ("x*y", "x + q = 1", ExpressionError, "unknown variable 'q'"),
    ],
)
def test_lagrange_refuses_with_a_reason(f, g, error, fragment):
    with pytest.raises(error, match=fragment):
        lagrange(f, g)


# --- the approximation formula and −∇f -----------------------------------------


def test_approximation_error_shrinks_like_the_square_of_the_step():
    # z = xy at (1, 2): ∇z = (2, 1); along d = (1, 1) the exact change is 3h + h²,
    # so the error is exactly h² and error/h² = 1.
    r = approximation("x*y", at=[1, 2])
    assert r.gradient == [2, 1] and r.limit == 1
    assert [float(e) for e in r.errors] == pytest.approx([float(h) ** 2 for h in r.steps])


@settings(max_examples=20, deadline=None)
@given(st.lists(st.integers(-5, 5), min_size=6, max_size=6), st.integers(-3, 3), st.integers(-3, 3))
def test_approximation_error_of_a_quadratic_is_exactly_quadratic(c, a, b):
    c[3], c[4] = c[3] or 1, c[4] or 1  # keep both x and y in z
    # For a quadratic z the Taylor series stops at the second order: the error of the
    # linear approximation is exactly ½dᵀHd·h² for every step h, not only in the limit.
    f = f"{c[0]}*x**2 + {c[1]}*x*y + {c[2]}*y**2 + {c[3]}*x + {c[4]}*y + {c[5]}"
    r = approximation(f, at=[a, b], direction=[1, 2])
    expected = abs(c[0] * 1 + c[1] * 2 + c[2] * 4)  # ½dᵀHd with d = (1, 2)
    assert r.limit == expected
    for error, h in zip(r.errors, r.steps):
        assert abs(error - expected * h**2) < 1e-25


def test_approximation_of_a_transcendental_function():
    # z = eˣ sin y at (0, 1): Hessian [[sin 1, cos 1], [cos 1, −sin 1]], so ½dᵀHd = cos 1 for d = (1, 1).
    r = approximation("exp(x)*sin(y)", at=[0, 1])
    assert r.gradient == [sp.sin(1), sp.cos(1)]
    assert sp.simplify(r.limit - sp.cos(1)) == 0
    ratios = [float(e / h**2) for e, h in zip(r.errors, r.steps)]
    assert ratios[-1] == pytest.approx(math.cos(1), rel=1e-3)
    for big, little in zip(r.errors, r.errors[1:]):
        assert float(little / big) == pytest.approx(0.01, rel=0.1)


def test_steepest_descent_in_one_variable_and_its_squares_in_text():
    # With one variable Lagrange's identity has no pairs: both sides are 0.
    assert steepest_descent("x", at=[1]).steps[1].equations[0][:2] == (0, 0)
    # The square of ∂f/∂x is written (∂f/∂x)**2: ∂f/∂x**2 reads as ∂f over ∂x².
    text = steepest_descent().text()
    assert "(∂f/∂x)**2" in text and "∂f/∂x**2" not in text.replace("(∂f/∂x)**2", "")


def test_steepest_descent_is_minus_the_gradient():
    d = steepest_descent("x**2 + y**2", at=[3, 2])
    lhs, rhs = d.steps[1].equations[0][:2]
    assert sp.expand(lhs - rhs) == 0  # Lagrange's identity, hence Cauchy–Schwarz
    # At (3, 2), ∇f = (6, 4): no unit step decreases f faster than −∇f/|∇f|, at rate −|∇f| = −2√13.
    grad = np.array([6.0, 4.0])
    angles = np.linspace(0, 2 * np.pi, 3601)
    rates = np.cos(angles) * grad[0] + np.sin(angles) * grad[1]
    assert rates.min() >= -np.linalg.norm(grad) - 1e-12
    best = angles[rates.argmin()]
    assert np.allclose([np.cos(best), np.sin(best)], -grad / np.linalg.norm(grad), atol=1e-3)


# --- gradient descent ----------------------------------------------------------


def test_book_gradient_descent_path():
    # Δx = −0.1·2x: every step multiplies the point by 0.8.
    run = gradient_descent("x**2 + y**2", start=[3, 2], eta="0.1", steps=30)
    for k, (px, py) in enumerate(run.points):
        assert (px, py) == pytest.approx((3 * 0.8**k, 2 * 0.8**k), rel=1e-12)
    assert run.status == "converging"


def test_good_eta_converges_to_the_origin():
    for eta in ("0.1", "0.3", "0.5", "0.9"):
        run = gradient_descent("x**2 + y**2", start=[3, 2], eta=eta, steps=1000)
        assert run.status == "converged"
        assert max(abs(c) for c in run.final) < 1e-10


@pytest.mark.parametrize("steps", [30, 100_000])
def test_eta_1_1_is_reported_as_diverging(steps):
    run = gradient_descent("x**2 + y**2", start=[3, 2], eta="1.1", steps=steps)
    assert run.status == "diverging"
    assert all(math.isfinite(c) for p in run.points for c in p)


def test_eta_on_the_boundary_neither_converges_nor_diverges():
    # η = 1 sends x to −x: the point bounces between (3, 2) and (−3, −2).
    assert gradient_descent("x**2 + y**2", start=[3, 2], eta=1, steps=30).status == "not converging"


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 20), st.fractions(sp.Rational(1, 20), sp.Rational(9, 10), max_denominator=100), st.booleans())
def test_quadratic_converges_exactly_below_two_over_lambda(a, fraction, inside):
    # f = a x²: λ = 2a, and 0 < η < 2/λ = 1/a is the exact range of convergence; each step
    # multiplies x by 1 − 2aη. Below the bound (aη ≤ 0.9) that factor is at most 0.9 in size;
    # above it (aη ≥ 1.1) at least 1.2.
    scaled = sp.Rational(fraction.numerator, fraction.denominator) if inside else 2 - sp.Rational(fraction.numerator, fraction.denominator)
    eta = scaled / a
    run = gradient_descent(f"{a}*x**2", start=[1], eta=eta, steps=2000)
    assert run.status == ("converged" if inside else "diverging")


def test_unbounded_below_is_not_called_converging():
    # f = −x² has no minimum: each step multiplies x by 1 + 2η, so f falls ever faster.
    short = gradient_descent("-x**2", start=[1], eta="0.1", steps=30)
    assert short.status == "not converging" and "unbounded below" in short.reason
    long = gradient_descent("-x**2", start=[1], eta="0.1", steps=10_000)
    assert long.status == "diverging" and "unbounded below" in long.reason
    assert eta_verdict(long) == ""  # no η is right for a function without a minimum


def test_eta_on_the_boundary_of_one_direction_oscillates_there():
    # f = x² + 10y², η = 1/10: along y each step multiplies y by 1 − ηλ = 1 − 20/10 = −1, so y
    # flips between 2 and −2 for ever while x shrinks by 0.8: one verdict, not converging.
    run = gradient_descent("x**2 + 10*y**2", start=[3, 2], eta="0.1", steps=30)
    assert {abs(p[1]) for p in run.points} == {2.0}
    assert run.status == "not converging" and "back and forth" in run.reason
    assert eta_verdict(run).startswith("too large")


def test_a_direction_the_start_does_not_excite_does_not_judge_eta():
    # From (3, 0), y stays 0 (y ← y − η·20y = −y = 0) and x shrinks by 0.8: η = 1/10 is right
    # for this path although it would make y oscillate from any other start.
    run = gradient_descent("x**2 + 10*y**2", start=[3, 0], eta="0.1", steps=30)
    assert run.status == "converging" and eta_verdict(run).startswith("right")


def test_a_slowly_growing_direction_is_diverging_although_f_falls_at_first():
    # f = x² + 10y², η = 0.105: y is multiplied by 1 − 2.1 = −1.1 each step, x by 0.79. From
    # y = 0.01 the growth of y is hidden for many steps behind the fall of x², but it diverges.
    run = gradient_descent("x**2 + 10*y**2", start=[3, "0.01"], eta="0.105", steps=10)
    assert run.values[-1] < run.values[0]
    assert run.status == "diverging" and "-11/10" in run.reason


def test_eta_is_judged_once():
    # The reason says what the path did; whether η is too large is said once, by the verdict.
    run = gradient_descent("x**2 + y**2", start=[3, 2], eta="1.1", steps=30)
    outcome = descent_steps(run)[3]
    assert (outcome.justification + outcome.note).count("too large") == 1
    effect = learning_rate_effect("x**2 + y**2", [3, 2], etas=["1.1"])
    assert effect.steps[0].justification.count("too large") == 1


def test_eta_beyond_floats_is_a_data_error():
    # e^1000 ≈ 1.97·10⁴³⁴ is a finite real number, but no float.
    with pytest.raises(DataError, match="out of the range of floats"):
        gradient_descent("x**2", start=[1], eta="exp(1000)")


def test_learning_rate_effect_on_the_book_example():
    d = learning_rate_effect("x**2 + y**2", [3, 2], etas=["0.001", "0.1", "1.1"])
    assert [s.title.split(": ")[1] for s in d.steps] == ["converging", "converging", "diverging"]
    # H = 2I, so each step multiplies the distance to (0, 0) by |1 − 2η|: 0.998, 0.8 and 1.2;
    # the best η = 2/(2 + 2) = 1/2 reaches the minimum in one step.
    assert [s.title.split(" (")[1].split(")")[0] for s in d.steps] == ["too small", "right", "too large"]


def test_eta_verdict_uses_the_exact_contraction_factor():
    # f = x² + 10y²: λ = 2 and 20, the best η = 2/22 = 1/11 removes 1 − 18/22 = 2/11 of the distance.
    # η = 1/1000: factors 0.998 and 0.98, so only 0.2% is removed (less than a tenth of 2/11): too small.
    assert eta_verdict(gradient_descent("x**2 + 10*y**2", [1, 1], "0.001", 5)).startswith("too small")
    # η = 1/20: factors |1 − 1/10| = 0.9 and |1 − 1| = 0, so 10% removed (≥ 1.8%): right.
    assert eta_verdict(gradient_descent("x**2 + 10*y**2", [1, 1], "0.05", 5)).startswith("right")
    # η = 0.0995 < 2/20: factor |1 − 1.99| = 0.99, only 1% removed (< 1.82%), beyond the best η: zigzag.
    assert eta_verdict(gradient_descent("x**2 + 10*y**2", [1, 1], "0.0995", 5)).startswith("too large")


def test_a_short_run_is_judged_by_its_own_steps():
    # f = x² with η = 1/4 halves x each step: from 1 to 1/2 to 1/4, f falls and the steps shrink.
    assert gradient_descent("x**2", start=[1], eta="0.25", steps=2).status == "converging"


def test_f_falling_at_a_constant_pace_is_not_converging():
    # f = x has ∇f = 1 everywhere: every step has the same length η and f falls for ever.
    run = gradient_descent("x", start=[1], eta="0.1", steps=1000)
    assert run.status == "not converging" and "unbounded below" in run.reason


@pytest.mark.parametrize(
    "kwargs,fragment",
    [
        ({"eta": 0}, "must be positive"),
        ({"eta": "-0.1"}, "must be positive"),
        ({"steps": 0}, "number of steps"),
        ({"start": [1, 2, 3]}, "3 coordinates"),
    ],
)
def test_gradient_descent_refuses_bad_parameters(kwargs, fragment):
    arguments = {"text": "x**2 + y**2", "start": [3, 2], **kwargs}
    with pytest.raises((DataError, ExpressionError), match=fragment):
        gradient_descent(**arguments)


def test_leaving_the_domain_is_an_error_not_a_crash():
    # sqrt(x) from x = 1 with η = 10 jumps to x = 1 − 10·½ = −4.
    with pytest.raises(DataError, match="step 1"):
        gradient_descent("sqrt(x)", start=[1], eta=10, steps=5)


# --- regression ----------------------------------------------------------------


def test_regression_on_exact_data_is_exact():
    r = regression([0, 1, 2, 3], [1, 3, 5, 7])
    assert (r.p, r.q) == (2, 1)


def check_least_squares(xs, ys, r):
    # The normal equations hold exactly: the residuals sum to 0 and are orthogonal to x.
    residuals = [b - (r.p * a + r.q) for a, b in zip(xs, ys)]
    assert sum(residuals) == 0
    assert sum(a * e for a, e in zip(xs, residuals)) == 0
    p, q = np.polyfit([float(v) for v in xs], [float(v) for v in ys], 1)
    assert float(r.p) == pytest.approx(p, rel=1e-9, abs=1e-9)
    assert float(r.q) == pytest.approx(q, rel=1e-9, abs=1e-9)
    assert r.descent.status == "converged"
    assert abs(r.descent.p - float(r.p)) < 1e-8 and abs(r.descent.q - float(r.q)) < 1e-8


def test_book_regression_matches_polyfit_and_descent():
    xs, ys, source = book_data()
    assert xs[0] == sp.Rational("153.3") and "2-12" in source
    r = regression(xs, ys)
    assert isinstance(r.p, sp.Rational) and isinstance(r.q, sp.Rational)
    check_least_squares(xs, ys, r)


fractions = st.fractions(min_value=-50, max_value=50, max_denominator=20)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(fractions, fractions), min_size=2, max_size=8))
def test_regression_on_random_rational_data(pairs):
    xs = [sp.Rational(a.numerator, a.denominator) for a, _ in pairs]
    ys = [sp.Rational(b.numerator, b.denominator) for _, b in pairs]
    if len(set(xs)) < 2:
        with pytest.raises(DataError, match="every x equals"):
            regression(xs, ys)
        return
    check_least_squares(xs, ys, regression(xs, ys))


def test_regression_reads_floats_as_the_decimals_they_spell():
    # 0.1, 0.2, 0.35 typed as floats are 1/10, 1/5, 7/20; the fit through them is exact.
    r = regression(np.array([0.1, 0.2, 0.35]), [1.5, 2.25, 3])
    assert r.x == [sp.Rational(1, 10), sp.Rational(1, 5), sp.Rational(7, 20)]
    check_least_squares(r.x, r.y, r)


def test_regression_descent_with_too_large_eta_diverges():
    # On standardised data the Hessian is n·I: η > 2/n diverges.
    assert regression([1, 2, 3], [2, 4, 7], eta="0.7").descent.status == "diverging"


def test_read_csv_and_json(tmp_path):
    good = tmp_path / "good.csv"
    good.write_text("height,weight\n153.3,45.5\n\n164.9,56.0\n")
    assert read_data(good) == ([sp.Rational(1533, 10), sp.Rational(1649, 10)], [sp.Rational(91, 2), 56])
    data = tmp_path / "d.json"
    data.write_text(json.dumps({"x": [0.1, 2], "y": [1, 0.3]}))
    assert read_data(data) == ([sp.Rational(1, 10), 2], [1, sp.Rational(3, 10)])


@pytest.mark.parametrize(
    "content,fragment",
    [
        ("x,y\n1,2\n3,\n", "line 3 of .*: the y cell is empty"),
        ("x,y\n1,2\n3,abc\n", "line 3 of .*column y: 'abc' is not a number"),
        ("1,2\n3\n", "line 2 of .* has 1 cells"),
        ("1,2\n3,4,5\n", "line 2 of .* has 3 cells"),
        ("1,nan\n", "line 1 of .*'nan' is not a number"),
        # Only the first row may be a header: a second row of words is bad data, not another header.
        ("a,b\nfoo,bar\n", "line 2 of .*column x: 'foo' is not a number"),
    ],
)
def test_bad_csv_says_which_line(tmp_path, content, fragment):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(DataError, match=fragment):
        read_data(path)


def test_json_nested_too_deeply_is_a_data_error(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text('{"x": ' + "[" * 100_000 + "]" * 100_000 + ', "y": []}')
    with pytest.raises(DataError, match="too deeply"):
        read_data(path)


def test_regression_time_grows_linearly_with_the_data():
    # y = 3x/2 − 7 plus residuals +1, −1, −1, +1 on each block of four x: they sum to 0 and
    # are orthogonal to x (4m − (4m+1) − (4m+2) + (4m+3) = 0), so the fit is exactly p = 3/2, q = −7.
    # 5,000 pairs: a handful of sums, not a symbolic cost of 5,000 terms (minutes before).
    n = 5_000
    xs = list(range(n))
    ys = [sp.Rational(3, 2) * k - 7 + (1, -1, -1, 1)[k % 4] for k in xs]
    started = time.perf_counter()
    r = regression(xs, ys)
    assert (r.p, r.q) == (sp.Rational(3, 2), -7)
    assert time.perf_counter() - started < 30  # minutes before


def test_regression_on_tiny_x_is_exact():
    # (1, 1), (2, 3), (3, 4) has p = 3/2, q = −1/3; shrinking x by 10¹⁵⁰ multiplies p by 10¹⁵⁰.
    r = regression(["1e-150", "2e-150", "3e-150"], ["1", "3", "4"])
    assert (r.p, r.q) == (sp.Rational(3, 2) * 10**150, sp.Rational(-1, 3))
    assert r.descent.status == "converged"


def test_regression_refuses_irrational_data():
    with pytest.raises(DataError, match="not a rational number"):
        regression([sp.sqrt(2), 1], [1, 2])


def test_regression_refuses_mismatched_or_too_little_data():
    with pytest.raises(DataError, match="3 x values but 2 y values"):
        regression([1, 2, 3], [1, 2])
    with pytest.raises(DataError, match="at least 2"):
        regression([1], [1])


# --- the chapter's documents ---------------------------------------------------


def test_documents_cover_every_topic():
    docs = documents()
    assert set(docs) == {
        "minimum-condition", "lagrange-multipliers", "approximation-formula",
        "why-minus-gradient", "gradient-descent", "regression",
    }
    assert all(isinstance(d, Derivation) and d.steps for d in docs.values())


def test_typeset_documents_hold_no_python_operators():
    # LaTeX has no ** or != : in a .tex document they are Python source leaking into the prose.
    for document in (Path(__file__).resolve().parents[1] / "derivations").glob("*.tex"):
        text = document.read_text(encoding="utf-8")
        assert "**" not in text and "!=" not in text, document.name


def test_steepest_descent_at_a_far_point_shows_its_huge_numbers_rounded():
    # ∂f/∂x = 999 x^998 at x = 10^23 has 22,966 digits: the exact root |∇f|
    # sent SymPy factoring a 46,000-digit number, and printing it failed.
    from symbackprop.calculus.approximation import steepest_descent

    last = steepest_descent("x**999 + y**998 + x*y", ("1e23", "1e23")).steps[-1]
    gradient, size = last.equations[0][1], last.equations[1][1]
    assert all(isinstance(g, sp.Float) for g in gradient)
    # log10(999 · 10^(23·998)), worked out by hand: Python will not print the integer.
    assert abs(mpmath.log10(mpmath.mpf(gradient[0]._mpf_)) - (mpmath.log10(999) + 22954)) < 1e-12
    assert abs(size / gradient[0] - 1) < 1e-14  # ∂f/∂y is 10^-23 of ∂f/∂x
    # Near the origin everything stays exact.
    near = steepest_descent("x**2 + y**2", (3, 2)).steps[-1]
    assert near.equations[1][1] == sp.sqrt(52)


def test_true_is_not_a_number_of_steps():
    # bool is an int in Python: True ran one step of descent.
    with pytest.raises(DataError, match="the number of steps must be a whole number from 1 to 1,000,000; got True"):
        gradient_descent("x**2", start=[1], eta="0.1", steps=True)


def test_an_alarm_that_falls_on_any_line_never_escapes_the_budget():
    # A budget of a microsecond runs out before the work starts; one as long
    # as the work runs out as it ends. Either way the answer is a value or
    # "out of time", never the alarm's exception, and no alarm is left armed.
    def work():
        end = time.perf_counter() + 0.0002
        while time.perf_counter() < end:
            pass
        return 1

    outcomes = {within(1e-6, lambda: 1) for _ in range(2000)}
    outcomes |= {within(0.0002, work) for _ in range(2000)}
    assert outcomes <= {(True, 1), (False, None)}
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
