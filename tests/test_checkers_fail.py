"""The checkers have teeth: fed a deliberately wrong route, every kind of check
reports the difference, for exactly the parameters the fault reaches.

The faults are put where the checkers take their routes from (the module's
own ``delta_route`` and ``direct_route``), so the checkers run unchanged:

- one gradient doubled: ``∂C/∂w^2_11`` replaced by ``2 ∂C/∂w^2_11``;
- a transposed weight in the recurrence: ``δ^2_1 = (Σ_j δ^3_j w^3_{1j}) a'(z^2_1)``
  instead of ``Σ_j δ^3_j w^3_{j1}``, which reaches ``∂C/∂w^2_{1i}`` and ``∂C/∂b^2_1``;
- a swapped pooling winner: ``δ^F_{1,11}`` gated by the indicator that the
  block's *second* input won instead of its first.
"""

from __future__ import annotations

import importlib
from dataclasses import replace

import pytest
import sympy as sp

from symbackprop import Network
from symbackprop.engine.cnn import ConvolutionalNetwork
from symbackprop.layers.pooling import winner
from symbackprop.proof.verify import EXACT, FINITE, NUMERIC, verify
from symbackprop.proof.winners import prove_with_winners

# The modules whose route builders the checkers call.
VERIFY = importlib.import_module(verify.__module__)
CNN = importlib.import_module(prove_with_winners.__module__)

#: One check kind at a time: (method, verify's switches).
KINDS = {
    EXACT: dict(exact=True, numeric=False, finite_differences=False),
    NUMERIC: dict(exact=False, numeric=True, finite_differences=False),
    FINITE: dict(exact=False, numeric=False, finite_differences=True),
}


def _with_delta_route(monkeypatch, module, corrupt):
    real = module.delta_route
    monkeypatch.setattr(module, "delta_route", lambda model: corrupt(model, real(model)))


def _with_direct_route(monkeypatch, module, corrupt):
    real = module.direct_route
    monkeypatch.setattr(module, "direct_route", lambda model, *a, **k: corrupt(model, real(model, *a, **k)))


def double_gradient(name):
    def corrupt(model, route):
        p = model.symbol(name)
        return replace(route, gradients={**route.gradients, p: 2 * route.gradients[p]}, _full=None)
    return corrupt


def transpose_weight_in_delta(model, route):
    # δ^2_1 uses w^3_{j1}; swapping w^3_12 and w^3_21 makes it use w^3_{1j}.
    d = model.symbol("delta^2_1")
    w12, w21 = model.symbol("w^3_12"), model.symbol("w^3_21")
    wrong = route.deltas[d].xreplace({w12: w21, w21: w12})
    assert wrong != route.deltas[d]
    return replace(route, deltas={**route.deltas, d: wrong}, _full=None)


def swap_winner(model, route):
    # δ^F_111 is gated by [input 1 wins its block]; gate it by [input 2 wins] instead.
    d = model.symbol("delta^F_111")
    wrong = route.deltas[d].replace(winner, lambda m, *xs: winner(2 if int(m) == 1 else m, *xs))
    assert wrong != route.deltas[d]
    return replace(route, deltas={**route.deltas, d: wrong}, _full=None)


def _failing(report, method):
    checks = [c for c in report.checks if c.method == method]
    assert checks, f"no {method} checks were run"
    return {str(c.parameter) for c in checks if c.agrees is not True}, checks


@pytest.fixture(scope="module")
def net():
    # 2-2-2: W^3 is square, so a transposed weight is still a well-formed route.
    return Network([2, 2, 2])


@pytest.mark.parametrize("method", list(KINDS))
def test_each_check_passes_the_honest_route(net, method):
    report = verify(net, **KINDS[method])
    assert report.ok and report.methods == [method], report.summary()


@pytest.mark.parametrize("method", list(KINDS))
@pytest.mark.parametrize(
    "corrupt, reached",
    [
        (double_gradient("w^2_11"), {"w^2_11"}),
        (double_gradient("b^3_2"), {"b^3_2"}),
        (transpose_weight_in_delta, {"w^2_11", "w^2_12", "b^2_1"}),
    ],
    ids=["doubled hidden weight", "doubled output bias", "transposed weight"],
)
def test_each_check_reports_a_wrong_delta_route(net, monkeypatch, method, corrupt, reached):
    _with_delta_route(monkeypatch, VERIFY, corrupt)
    report = verify(net, **KINDS[method])
    failing, checks = _failing(report, method)
    assert failing == reached
    assert len(checks) == net.parameter_count
    assert not report.ok and f"({', '.join(sorted(reached))})" in report.summary()
    for c in checks:
        if str(c.parameter) in reached:
            # an identity the expansion cannot confirm stays undecided; numbers refute it
            assert c.agrees is (None if method == EXACT else False)
            if method != EXACT:
                assert c.difference > 1e-6
        elif method != EXACT:
            assert c.difference < 1e-18


@pytest.mark.parametrize("method", [EXACT, NUMERIC])
def test_the_checks_that_read_the_direct_route_report_a_wrong_one(net, monkeypatch, method):
    _with_direct_route(monkeypatch, VERIFY, lambda model, route: replace(
        route, gradients={p: 2 * g if str(p) == "w^3_21" else g for p, g in route.gradients.items()}))
    failing, _ = _failing(verify(net, **KINDS[method]), method)
    assert failing == {"w^3_21"}


def test_finite_differences_do_not_read_the_direct_route(net, monkeypatch):
    # They compare the δ route with C itself: a wrong direct route cannot fool
    # them, and is not built at all.
    def refuse(*args, **kwargs):
        raise AssertionError("finite differences built the direct route")

    monkeypatch.setattr(VERIFY, "direct_route", refuse)
    assert verify(net, **KINDS[FINITE]).ok


def test_checking_some_parameters_checks_those(net, monkeypatch):
    _with_delta_route(monkeypatch, VERIFY, double_gradient("w^2_11"))
    for method, switches in KINDS.items():
        report = verify(net, parameters=["w^2_11", "b^2_1"], **switches)
        assert {str(c.parameter): c.agrees is True for c in report.checks} == {"w^2_11": False, "b^2_1": True}
        assert report.methods == [method]


def _x1_at(model, seed):
    from symbackprop.proof.verify import random_point

    return sp.Float(random_point(model, seed)[model.symbol("x_1")], 50)


def test_a_wrong_route_is_found_at_the_second_random_point_too(net, monkeypatch):
    # Wrong only at the second point of seed 0, the first of seed 1: each of
    # the points is checked, and they are the points of seeds 0, 1, … .
    x1, there = net.symbol("x_1"), _x1_at(net, 1)

    def corrupt(model, route):
        p = model.symbol("w^2_11")
        bump = sp.Piecewise((1, abs(x1 - there) < sp.Float("1e-40", 50)), (0, True))
        return replace(route, gradients={**route.gradients, p: route.gradients[p] + bump}, _full=None)

    _with_delta_route(monkeypatch, VERIFY, corrupt)
    for method in (NUMERIC, FINITE):
        assert _failing(verify(net, points=2, seed=0, **KINDS[method]), method)[0] == {"w^2_11"}
        assert _failing(verify(net, points=1, seed=1, **KINDS[method]), method)[0] == {"w^2_11"}
        assert _failing(verify(net, points=1, seed=0, **KINDS[method]), method)[0] == set()


def test_the_points_are_those_of_seed_seed_plus_one_and_so_on(net, monkeypatch):
    # Wrong only at the point of seed 2: seen from seed 1 with two points.
    x1, there = net.symbol("x_1"), _x1_at(net, 2)

    def corrupt(model, route):
        p = model.symbol("b^2_2")
        bump = sp.Piecewise((1, abs(x1 - there) < sp.Float("1e-40", 50)), (0, True))
        return replace(route, gradients={**route.gradients, p: route.gradients[p] + bump}, _full=None)

    _with_delta_route(monkeypatch, VERIFY, corrupt)
    assert _failing(verify(net, points=2, seed=1, **KINDS[NUMERIC]), NUMERIC)[0] == {"b^2_2"}
    assert _failing(verify(net, points=1, seed=1, **KINDS[NUMERIC]), NUMERIC)[0] == set()


def test_the_50_digit_check_sees_a_difference_far_below_double_precision(net, monkeypatch):
    # ∂C/∂w^2_11 off by one part in 10^30: invisible to doubles and to finite
    # differences, not to the 50-digit comparison.
    def corrupt(model, route):
        p = model.symbol("w^2_11")
        factor = 1 + sp.Float("1e-30", 50)
        return replace(route, gradients={**route.gradients, p: factor * route.gradients[p]}, _full=None)

    _with_delta_route(monkeypatch, VERIFY, corrupt)
    failing, checks = _failing(verify(net, **KINDS[NUMERIC]), NUMERIC)
    assert failing == {"w^2_11"}
    (wrong,) = [c for c in checks if str(c.parameter) == "w^2_11"]
    assert 1e-36 < wrong.difference < 1e-30


def test_the_direct_route_keeps_its_size_guard_unless_forced(net, monkeypatch):
    from symbackprop.errors import SizeLimitError

    routes = importlib.import_module(VERIFY.direct_route.__module__)
    monkeypatch.setattr(routes, "DIRECT_ROUTE_LIMIT", 1)
    with pytest.raises(SizeLimitError):
        verify(net)
    assert verify(net, force=True).ok
    # finite differences alone need no direct route
    assert verify(net, **KINDS[FINITE]).ok
    with pytest.raises(SizeLimitError):
        VERIFY.verify_claim(net, "b^3_1", "delta^3_1")
    assert VERIFY.verify_claim(net, "b^3_1", "delta^3_1", force=True).ok


def test_a_point_where_the_route_cannot_be_evaluated_is_skipped_with_a_note(net, monkeypatch):
    # ∂C/∂w^2_11 gains a term 1/(x_1 − c) that is 0 except at the points of
    # seeds 1 and 2, where it divides by zero. By default two points are
    # checked, from seed 0: the second is left out, said so, and the first is
    # still checked.
    x1, poles = net.symbol("x_1"), [_x1_at(net, 1), _x1_at(net, 2)]
    tiny = sp.Float("1e-40", 50)

    def corrupt(model, route):
        p = model.symbol("w^2_11")
        pole = sp.Piecewise(*((1 / (x1 - c), abs(x1 - c) < tiny) for c in poles), (0, True))
        return replace(route, gradients={**route.gradients, p: route.gradients[p] + pole}, _full=None)

    _with_delta_route(monkeypatch, VERIFY, corrupt)
    report = verify(net)
    assert report.ok, report.summary()
    assert len(report.checks) == 2 * net.parameter_count
    (note,) = report.notes
    # mpmath's ZeroDivisionError carries no message: the note names it anyway
    assert note == "the cost is undefined at random point 2 (division by zero); numeric checks skipped there"


@pytest.mark.parametrize("points", [0, -1, True, 1.5, "2"])
def test_a_bad_number_of_points_is_refused_before_any_work(net, points):
    from symbackprop.errors import DataError
    from symbackprop.proof.verify import verify_claim

    with pytest.raises(DataError, match="number of random points must be a positive integer"):
        verify(net, points=points)
    with pytest.raises(DataError, match="number of random points must be a positive integer"):
        verify_claim(net, "b^3_1", "delta^3_1", points=points)


def test_notes_say_once_why_some_checks_do_not_apply():
    step = verify(Network([2, 2, 1], activation="step"), exact=True, numeric=False, finite_differences=False)
    assert len(step.notes) == 1 and "unit step" in step.notes[0]
    # one generic layer is enough to leave only the exact proof
    mixed = verify(Network([2, 2, 1], activation=["sigmoid", "generic"]), exact=True)
    assert mixed.methods == [EXACT] and mixed.ok
    assert mixed.notes == ["the generic activation a(z) has no values: only the exact proof applies"]
    for numeric, finite_differences in ((True, False), (False, True)):
        one = verify(Network([2, 2, 1], activation="generic"), numeric=numeric, finite_differences=finite_differences)
        assert one.methods == [EXACT] and one.ok and len(one.notes) == 1


# --- the CNN: exact proof with the winners fixed ------------------------------------------


@pytest.fixture(scope="module")
def small_cnn():
    # one 2x2 map, one pooling block of four: four choices of winner
    return ConvolutionalNetwork((3, 3), 1, 2, pool=2, outputs=1, activation="generic")


FILTER = {"w^F1_11", "w^F1_12", "w^F1_21", "w^F1_22", "b^F_1"}


def _refuted(proofs):
    return {choice: {str(p) for p, ok in verdicts.items() if not ok} for choice, verdicts in proofs.items()}


def test_prove_with_winners_refutes_a_swapped_winner(small_cnn, monkeypatch):
    _with_delta_route(monkeypatch, CNN, swap_winner)
    refuted = _refuted(prove_with_winners(small_cnn))
    # Input 1 wins: δ^F_111 lost its error. Input 2 wins: δ^F_111 and δ^F_112 both
    # take it. Inputs 3 or 4 win: neither does, as it should be.
    assert refuted == {(0,): FILTER, (1,): FILTER, (2,): set(), (3,): set()}


def test_prove_with_winners_refutes_a_wrong_direct_route(small_cnn, monkeypatch):
    _with_direct_route(monkeypatch, CNN, lambda model, route: replace(
        route, gradients={p: 2 * g if str(p) == "w^O_1111" else g for p, g in route.gradients.items()}))
    refuted = _refuted(prove_with_winners(small_cnn))
    assert refuted == {choice: {"w^O_1111"} for choice in [(0,), (1,), (2,), (3,)]}


def test_prove_with_winners_refutes_a_doubled_gradient_for_the_chosen_winners_only(small_cnn, monkeypatch):
    _with_delta_route(monkeypatch, CNN, double_gradient("b^F_1"))
    refuted = _refuted(prove_with_winners(small_cnn, choices=[(2,)]))
    assert refuted == {(2,): {"b^F_1"}}


def test_exact_verify_leaves_a_swapped_winner_undecided(small_cnn, monkeypatch):
    _with_delta_route(monkeypatch, VERIFY, swap_winner)
    report = verify(small_cnn, exact=True)
    assert {str(c.parameter) for c in report.checks if c.agrees is not True} == FILTER
    assert all(c.agrees is None for c in report.checks if str(c.parameter) in FILTER)


def test_numeric_checks_refute_a_swapped_winner():
    # sigmoid CNN at random points: wherever input 1 or 2 wins the block, the
    # swapped gate moves error between δ^F_111 and δ^F_112.
    net = ConvolutionalNetwork((3, 3), 1, 2, pool=2, outputs=1)
    with pytest.MonkeyPatch.context() as monkeypatch:
        _with_delta_route(monkeypatch, VERIFY, swap_winner)
        report = verify(net, points=4)
    for method in (NUMERIC, FINITE):
        failing, _ = _failing(report, method)
        assert failing and failing <= FILTER


# --- what counts as a pass ------------------------------------------------------------------


def test_a_verification_that_ran_no_check_is_not_a_pass(net):
    report = verify(net, exact=False, numeric=False, finite_differences=False)
    assert report.checks == [] and not report.ok
    assert report.summary() == "no checks were run"


def test_random_points_fill_their_ranges_with_50_digits():
    # inputs and targets in (0, 1), parameters in (−1, 1), spread over the
    # whole range, with more digits than a double holds
    import mpmath

    from symbackprop.proof.verify import random_point

    model = Network([12, 3, 2])
    data = [v for seed in range(3) for s, v in random_point(model, seed).items() if s not in model.parameters]
    params = [v for seed in range(3) for s, v in random_point(model, seed).items() if s in model.parameters]
    assert 0 <= min(data) < 0.1 and 0.9 < max(data) <= 1
    assert -1 <= min(params) < -0.9 and 0.9 < max(params) <= 1
    with mpmath.workdps(60):
        assert all(abs(v - mpmath.mpf(float(v))) > 0 for v in data + params)


def test_the_exact_proof_expands_arguments_when_the_atoms_do_not_settle_it():
    # tanh(x(x + 1)) and tanh(x² + x) are different atoms, equal once their
    # arguments are multiplied out; tanh(x² − x) is another function.
    from symbackprop.proof.verify import prove_equal

    x = sp.Symbol("x")
    assert prove_equal(sp.tanh(x * (x + 1)), sp.tanh(x**2 + x)) is True
    assert prove_equal(sp.tanh(x * (x + 1)), sp.tanh(x**2 - x)) is None


def test_the_reported_difference_is_relative_to_the_larger_value_or_one():
    from symbackprop.proof.verify import _relative

    assert _relative(-3, 1) == pytest.approx(4 / 3, rel=1e-40)
    assert _relative(1, -3) == pytest.approx(4 / 3, rel=1e-40)
    assert _relative(0.5, 0.25) == pytest.approx(0.25, rel=1e-40)
    assert _relative(2e-30, 0) == pytest.approx(2e-30, rel=1e-40)


# --- a student's claim --------------------------------------------------------------------------


def test_a_wrong_claim_is_refuted_by_both_checks_and_a_right_one_confirmed(net):
    from symbackprop.proof.verify import verify_claim

    right = verify_claim(net, "w^3_11", "(a^3_1 - t_1)*a^3_1*(1 - a^3_1)*a^2_1")
    assert [(c.method, c.agrees) for c in right.checks] == [(EXACT, True), (NUMERIC, True)]
    # expansion cannot settle it; a clear numeric difference refutes the identity
    wrong = verify_claim(net, "w^3_11", "(a^3_1 - t_1)*a^2_1")
    assert [(c.method, c.agrees) for c in wrong.checks] == [(EXACT, False), (NUMERIC, False)]
    assert wrong.checks[1].difference > 1e-3


def test_a_claim_for_the_generic_activation_is_only_proved_or_left_undecided():
    from symbackprop.proof.verify import verify_claim

    generic = Network([2, 2, 1], activation="generic")
    right = verify_claim(generic, "b^3_1", "delta^3_1")
    assert [(c.method, c.agrees) for c in right.checks] == [(EXACT, True)]
    wrong = verify_claim(generic, "b^3_1", "2*delta^3_1")
    assert [(c.method, c.agrees) for c in wrong.checks] == [(EXACT, None)]


def test_a_claim_in_symbols_the_network_does_not_have_is_refused(net):
    from symbackprop.errors import ExpressionError
    from symbackprop.proof.verify import verify_claim

    with pytest.raises(ExpressionError, match="the claim uses"):
        verify_claim(net, "w^3_11", sp.Symbol("q") * net.symbol("a^2_1"))


def test_prove_with_winners_wants_one_winner_per_block(small_cnn):
    from symbackprop.errors import NetworkSpecError

    with pytest.raises(NetworkSpecError, match="one winner per pooling block: 1 blocks, got 2 choices"):
        prove_with_winners(small_cnn, choices=[(0, 1)])


def test_prove_with_winners_is_asked_for_explicitly_so_no_size_guard_stops_it(small_cnn, monkeypatch):
    # The direct route refuses large networks unless forced; this proof
    # exists to run it, so it forces it.
    derive = importlib.import_module(CNN.direct_route.__module__)
    monkeypatch.setattr(derive, "DIRECT_ROUTE_LIMIT", 1)
    assert _refuted(prove_with_winners(small_cnn, choices=[(3,)])) == {(3,): set()}


def test_each_exact_check_reports_the_seconds_it_took(net):
    from symbackprop.proof.verify import verify_claim

    checks = verify(net, **KINDS[EXACT]).checks + verify_claim(net, "b^3_1", "delta^3_1").checks[:1]
    assert all(c.method == EXACT and 0 < c.seconds < 30 for c in checks)


def test_a_claim_is_checked_at_two_points_from_seed_0_by_default(net):
    # A claim off only at the point of seed 2: by default neither check sees
    # it, so expansion leaves it undecided and the numbers agree.
    from symbackprop.proof.verify import verify_claim

    p, x1, there = net.symbol("b^3_1"), net.symbol("x_1"), _x1_at(net, 2)
    truth = VERIFY.direct_route(net, [p]).gradients[p]
    claim = truth + sp.Piecewise((1, abs(x1 - there) < sp.Float("1e-40", 50)), (0, True))
    assert [c.agrees for c in verify_claim(net, p, claim).checks] == [None, True]
    assert [c.agrees for c in verify_claim(net, p, claim, points=3).checks] == [False, False]
    assert [c.agrees for c in verify_claim(net, p, claim, seed=1).checks] == [False, False]


def test_a_claim_expansion_cannot_settle_is_decided_by_its_value(net):
    # truth + (sin²x + cos²x − 1) is the truth, though no expansion shows it;
    # truth ± 1 is wrong whichever side it errs on.
    p, x1 = net.symbol("b^3_1"), net.symbol("x_1")
    truth = VERIFY.direct_route(net, [p]).gradients[p]
    same = truth + sp.sin(x1) ** 2 + sp.cos(x1) ** 2 - 1
    assert [c.agrees for c in VERIFY.verify_claim(net, p, same).checks] == [None, True]
    for wrong in (truth + 1, truth - 1):
        assert [c.agrees for c in VERIFY.verify_claim(net, p, wrong).checks] == [False, False]


def test_a_generic_network_makes_any_claim_a_matter_of_proof():
    # x_1 has no a(z) in it, but the truth it is compared with does: no numbers.
    generic = Network([2, 2, 1], activation="generic")
    report = VERIFY.verify_claim(generic, "w^2_11", "x_1")
    assert [(c.method, c.agrees) for c in report.checks] == [(EXACT, None)]


def test_a_claim_that_is_neither_text_nor_an_expression_is_refused(net):
    from symbackprop.errors import SymbackpropError

    class Formula:  # its text would be a valid, and wrong, claim
        def __str__(self):
            return "x_1"

    with pytest.raises(SymbackpropError, match="the claim must be a SymPy expression or a number"):
        VERIFY.verify_claim(net, "w^2_11", Formula())


def test_the_first_point_undefined_leaves_the_second_to_check(net, monkeypatch):
    x1, there = net.symbol("x_1"), _x1_at(net, 1)

    def corrupt(model, route):
        p = model.symbol("w^2_11")
        pole = sp.Piecewise((1 / (x1 - there), abs(x1 - there) < sp.Float("1e-40", 50)), (0, True))
        return replace(route, gradients={**route.gradients, p: route.gradients[p] + pole}, _full=None)

    _with_delta_route(monkeypatch, VERIFY, corrupt)
    report = verify(net, points=2, seed=1)
    assert report.ok and len(report.checks) == 2 * net.parameter_count
    assert report.notes == ["the cost is undefined at random point 1 (division by zero); numeric checks skipped there"]


def test_values_too_large_for_50_digits_stop_the_numeric_checks(net, monkeypatch):
    # mpmath overflows at the second point: the first was checked, the third
    # is never evaluated.
    x1, there = net.symbol("x_1"), _x1_at(net, 1)
    real, seen = VERIFY._evaluate, []

    def evaluate(function, model, point):
        seen.append(point[x1])
        if point[x1] == there:
            raise OverflowError("too many digits")
        return real(function, model, point)

    monkeypatch.setattr(VERIFY, "_evaluate", evaluate)
    report = verify(net, points=3)
    assert report.ok and len(report.checks) == 2 * net.parameter_count
    assert report.notes == ["the values at random point 2 are too large to compute with 50 digits; "
                            "numeric checks stopped (the exact proof, --exact, does not evaluate)"]
    assert _x1_at(net, 2) not in [sp.Float(v, 50) for v in seen]


# --- the one-line summary says what the checks found ------------------------------------------


def test_the_summary_names_the_largest_difference_whenever_one_was_measured():
    from symbackprop import Network, verify

    both = verify(Network([1, 1]), exact=True, finite_differences=False).summary()
    assert both.startswith("all 4 checks agree (exact, 50-digit numeric)")
    assert "; largest relative difference " in both  # the exact checks measure none, the numeric ones do
    assert "largest" not in verify(Network([1, 1]), exact=True, numeric=False, finite_differences=False).summary()


def test_the_summary_explains_an_inconclusive_check_that_does_not_spoil_the_verdict():
    from symbackprop.proof.verify import FINITE, NUMERIC, Check, VerificationReport

    w, b = sp.symbols("w^2_11 b^2_1")
    report = VerificationReport("t", [Check(w, NUMERIC, True, 1e-45), Check(w, FINITE, None, 1e-9),
                                      Check(b, NUMERIC, True, 1e-46), Check(b, FINITE, True, 1e-30)])
    assert report.ok
    summary = report.summary()
    assert summary.startswith("3 of 4 checks agree, 1 inconclusive (w^2_11)")
    assert "finite differences cannot resolve the gap there" in summary
    spoiled = VerificationReport("t", [Check(w, FINITE, None, 1e-9), Check(b, NUMERIC, False, 1e-3)])
    assert not spoiled.ok
    assert "cannot resolve" not in spoiled.summary() and "1 differ (b^2_1)" in spoiled.summary()
