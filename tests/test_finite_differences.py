"""The finite-difference check's own arithmetic: its estimate, the error it
claims for that estimate, and the verdict it draws from the two.

Each case is a function of one parameter whose derivatives are known in
closed form, so the truth is exact and the claimed error can be held to it.
"""

from __future__ import annotations

from types import SimpleNamespace

import mpmath
import pytest
import sympy as sp

from symbackprop.proof.verify import DIGITS, FD_STEP, _central_difference, _fd_verdict

P = sp.Symbol("p")
MODEL = SimpleNamespace(inputs=(), targets=(), parameters=(P,))


def differences(f, at):
    """``_central_difference`` of ``C(p) = f(p)`` at ``p = at``."""
    with mpmath.workdps(DIGITS):
        return _central_difference(lambda p: (f(p),), MODEL, {P: mpmath.mpf(at)}, P)


@pytest.mark.parametrize("scale", ["1", "1e6"])
def test_a_quadratic_cost_is_differenced_exactly_and_claims_only_rounding(scale):
    # C = s(3p² + 2p): central differences have no truncation error at all.
    with mpmath.workdps(DIGITS):
        s = mpmath.mpf(scale)
    estimate, error = differences(lambda p: s * (3 * p**2 + 2 * p), "0.3")
    with mpmath.workdps(DIGITS):
        truth = s * mpmath.mpf("3.8")
        assert abs(estimate - truth) < s * mpmath.mpf(10) ** -35
        # Rounding only, 2 ε |C| / (h/4) with ε = 10^-50, plus a gap of noise: it grows with |C|.
        size = s * (3 * mpmath.mpf("0.3") ** 2 + mpmath.mpf("0.6"))
        rounding = 2 * mpmath.mpf(10) ** -DIGITS * size / (FD_STEP / 4)
        assert error is not None and rounding <= error <= 11 * rounding


def test_a_smooth_cost_claims_its_truncation_error_and_that_bounds_the_real_one():
    # C = e^p: D(h) = C' + (C'''/6) h² + O(h⁴). The claimed error is
    # |D(h/2) − D(h/4)| = (3/16)(C'''/6) h² (plus rounding), and the
    # extrapolated estimate is far more accurate than that.
    estimate, error = differences(mpmath.exp, "0.5")
    with mpmath.workdps(DIGITS):
        truth = mpmath.exp(mpmath.mpf("0.5"))
        truncation = mpmath.mpf(3) / 16 * truth / 6 * FD_STEP**2
        assert error is not None
        assert abs(error / truncation - 1) < mpmath.mpf(10) ** -6
        assert abs(estimate - truth) <= error
        assert abs(estimate - truth) < mpmath.mpf(10) ** -30


def test_a_cost_that_changes_within_a_step_claims_nothing():
    # sin(10^12 p) turns over within one step h = 10^-12: no estimate of the
    # error can be trusted, and the check says so with None.
    _, error = differences(lambda p: mpmath.sin(mpmath.mpf(10) ** 12 * p), "0.1")
    assert error is None


@pytest.mark.parametrize(
    "gradient,estimate,error,verdict",
    [
        (1, "1.0000000000000000000001", None, True),  # within 10^-18, relative to 1
        ("1e6", "1000000.0000000000001", "1e-40", True),  # 10^-19 relative: agrees
        ("1e6", "1000000.00000000001", "1e-40", False),  # 10^-17 relative, error too small to explain it
        (0, "1e-19", 0, True),  # near zero the tolerance is absolute
        (0, "1e-17", 0, False),
        (0, "1.5e-18", 0, False),  # the absolute floor is 10^-18 itself, not a multiple
        ("-1e6", "-1000000.0000000000001", "1e-40", True),  # relative to the size, whatever the sign
        ("1e6", "999999.9999999999999", "1e-40", True),
        (1, "1.0000000001", "2e-11", None),  # 10^-10 gap, within 10 × the error: inconclusive
        (1, "1.0000000001", "1e-12", False),  # the error cannot explain 10^-10
        (1, "1.0000000001", None, None),  # no error estimate: cannot tell
        (1, "0.9999999999", "1e-12", False),  # the gap counts both ways
    ],
)
def test_the_verdict_weighs_the_gap_against_tolerance_and_error(gradient, estimate, error, verdict):
    with mpmath.workdps(DIGITS):
        result = _fd_verdict(
            mpmath.mpf(gradient), mpmath.mpf(estimate), None if error is None else mpmath.mpf(error)
        )
    assert result is verdict


def test_differences_that_agree_by_accident_are_not_taken_for_rounding():
    # C = cos(k p) with k h = 2π: D(h) = C'·sin(kh)/(kh) and D(h/2) both vanish,
    # so the first two steps agree to rounding, while D(h/4) = C'·2/π does
    # not. Only when *both* gaps are rounding is the cost nearly quadratic.
    with mpmath.workdps(DIGITS):
        k = 2 * mpmath.pi / FD_STEP
    estimate, error = differences(lambda p: mpmath.cos(k * p), "1.25e-13")  # k p = π/4
    assert error is None
