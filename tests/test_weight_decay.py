"""L2 weight decay: ``C + (λ/2) Σ w²`` over the weights, derived by every route."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

from symbackprop import Network
from symbackprop.cli import main
from symbackprop.engine.index_rules import LAMBDA, index_rules, instantiate
from symbackprop.engine.routes import count_paths, delta_route, direct_route
from symbackprop.errors import ArgumentError, NetworkSpecError
from symbackprop.functions.costs import weight_decay_rate
from symbackprop.notation.latex import book_latex
from symbackprop.notation.text import book_text
from symbackprop.numeric.array_form import M, derive_arrays
from symbackprop.numeric.arrays import ArrayModel, verify_arrays
from symbackprop.numeric.scalar import ScalarModel, compile_scalar
from symbackprop.numeric.train import train
from symbackprop.proof.verify import EXACT, FINITE, NUMERIC, verify

LAM = sp.Symbol("lambda")
FIXTURE = Path(__file__).resolve().parent / "fixtures" / "torch_decay.json"


@pytest.fixture(scope="module")
def generic_pair():
    """2-2-1 with the generic activation, with a symbolic λ and without decay."""
    decayed = Network([2, 2, 1], activation="generic", weight_decay=LAM)
    plain = Network([2, 2, 1], activation="generic")
    return decayed, delta_route(decayed), plain, delta_route(plain)


@pytest.fixture(scope="module")
def tanh_models():
    net = Network([3, 2, 2], activation="tanh", weight_decay=sp.Rational(1, 10))
    return net, ArrayModel(net), ScalarModel(net)


# --- the option --------------------------------------------------------------------

@pytest.mark.parametrize("bad", ["-1/1000", "-0.5", float("nan"), float("inf"), True, "lots", [0.1],
                                 sp.Symbol("mu", negative=True), sp.I])
def test_a_weight_decay_that_is_not_a_number_0_or_more_is_refused(bad):
    with pytest.raises(NetworkSpecError, match="weight decay λ"):
        Network([2, 1], weight_decay=bad)


def test_typed_weight_decay_is_read_exactly():
    assert weight_decay_rate("0.001") == sp.Rational(1, 1000)
    assert Network([2, 1], weight_decay="1e-3").weight_decay == sp.Rational(1, 1000)


def test_the_cost_gains_half_lambda_times_the_squared_weights_not_the_biases():
    decayed, plain = Network([2, 2, 1], weight_decay=LAM), Network([2, 2, 1])
    extra = sp.expand(decayed.cost_expression - plain.cost_expression)
    weights = [s for s in decayed.parameters if s.name.startswith("w")]
    assert len(weights) == 6 and decayed.weights == tuple(weights)
    assert extra == sp.expand(LAM / 2 * sp.Add(*(w**2 for w in weights)))
    assert not any(extra.has(b) for b in decayed.parameters if b.name.startswith("b"))


def test_without_decay_the_cost_is_unchanged():
    assert Network([2, 2, 1], weight_decay=0).cost_expression == Network([2, 2, 1]).cost_expression


# --- the δ route derives λ w --------------------------------------------------------

def test_the_delta_route_derives_lambda_w_for_every_weight_and_nothing_for_biases(generic_pair):
    decayed, route, plain, plain_route = generic_pair
    for p, q in zip(decayed.parameters, plain.parameters):
        gained = sp.expand(route.gradients[p] - plain_route.gradients[q])
        assert gained == (LAM * p if p in decayed.weights else 0), p
    # The unit errors do not change: C's new term holds no a^L.
    assert route.deltas == plain_route.deltas


def test_the_cost_is_one_more_consumer_of_each_weight():
    assert count_paths(Network([12, 3, 2], weight_decay="0.1"), "w^2_11") == 3
    assert count_paths(Network([12, 3, 2], weight_decay="0.1"), "b^2_1") == 2


def test_delta_route_equals_direct_route_exactly_with_a_symbolic_lambda(generic_pair):
    decayed, route, _, _ = generic_pair
    direct = direct_route(decayed)
    for p in decayed.parameters:
        assert sp.expand(route.expanded(p) - direct.gradients[p]) == 0, p


def test_verify_proves_the_decayed_routes_equal_at_50_digits_and_by_finite_differences():
    report = verify(Network([2, 2, 1], activation="tanh", weight_decay="1/10"), exact=True)
    assert report.ok and report.methods == [EXACT, NUMERIC, FINITE]
    assert len(report.checks) == 27


def test_a_symbolic_lambda_is_proved_exactly_and_refused_for_numbers(generic_pair):
    net = Network([2, 1], activation="tanh", weight_decay=LAM)
    report = verify(net)
    assert report.ok and report.methods == [EXACT]
    assert "λ = lambda is a symbol" in report.notes[0]
    with pytest.raises(ArgumentError, match="give it a number"):
        compile_scalar(net)


def test_the_index_rule_for_a_decayed_weight_is_the_engines():
    net = Network([2, 2, 1], weight_decay=LAM)
    route = delta_route(net)
    rule = index_rules()["decayed weight"].result
    for l, j, i in ((2, 1, 2), (3, 1, 2)):
        instance = instantiate(rule, net, l=l, j=j, i=i).xreplace({LAMBDA: net.weight_decay})
        assert sp.expand(instance - route.gradients[net.symbol(f"w^{l}_{j}{i}")]) == 0


# --- compiled gradients ---------------------------------------------------------------

def _batch(seed: int = 3):
    rng = np.random.default_rng(seed)
    return rng.uniform(-1, 1, (5, 3)), rng.uniform(0, 1, (5, 2))


def test_scalar_and_array_paths_agree_with_finite_differences(tanh_models):
    _, array, scalar = tanh_models
    X, T = _batch()
    params = array.initial_params(np.random.default_rng(1))
    for model in (array, scalar):
        _, gradient = model.cost_and_gradient(params, X, T)
        for name, value in params.items():
            for index in np.ndindex(value.shape):
                h = 1e-6
                up = {k: v.copy() for k, v in params.items()}
                down = {k: v.copy() for k, v in params.items()}
                up[name][index] += h
                down[name][index] -= h
                estimate = (model.cost_and_gradient(up, X, T)[0] - model.cost_and_gradient(down, X, T)[0]) / (2 * h)
                assert gradient[name][index] == pytest.approx(estimate, rel=1e-7, abs=1e-8), (model.path, name)


def test_the_decay_term_of_the_compiled_cost_is_m_times_half_lambda_times_the_squared_weights(tanh_models):
    net, array, scalar = tanh_models
    X, T = _batch()
    params = array.initial_params(np.random.default_rng(2))
    plain = ArrayModel(Network([3, 2, 2], activation="tanh"))
    penalty = len(X) * 0.05 * sum(float((params[w] ** 2).sum()) for w in ("W2", "W3"))
    for model in (array, scalar):
        assert model.cost_and_gradient(params, X, T)[0] == pytest.approx(
            plain.cost_and_gradient(params, X, T)[0] + penalty, rel=1e-13
        )


def test_a_compiled_array_path_is_reused_only_for_the_same_weight_decay():
    params = {"W2": np.array([[2.0]]), "b2": np.array([1.0])}
    x, t = np.array([[1.0]]), np.array([[0.0]])
    with_decay = ArrayModel(Network([1, 1], activation="identity", weight_decay="1/2"))
    without = ArrayModel(Network([1, 1], activation="identity"))
    # C = (t − w x − b)²/2 (+ w²/4): 9/2 (+ 1), ∂C/∂w = 3 (+ 1)
    assert with_decay.cost_and_gradient(params, x, t)[0] == 5.5
    assert with_decay.cost_and_gradient(params, x, t)[1]["W2"].tolist() == [[4.0]]
    assert without.cost_and_gradient(params, x, t)[0] == 4.5
    assert without.cost_and_gradient(params, x, t)[1]["W2"].tolist() == [[3.0]]


def test_the_array_form_derives_m_lambda_w_and_equals_the_scalar_route_exactly():
    net = Network([2, 2, 1], activation="generic", weight_decay=LAM)
    d, plain = derive_arrays(net), derive_arrays(Network([2, 2, 1], activation="generic"))
    W2 = d.layer(2).W
    assert d.gradients["W2"] - plain.gradients["W2"] == M * LAM * W2
    assert d.gradients["b2"] == plain.gradients["b2"]
    report = verify_arrays(net, batch=2)
    assert report.ok, report.failures()


CASES = json.loads(FIXTURE.read_text(encoding="utf-8"))["cases"]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c['activation'][1]} {c['cost']}")
@pytest.mark.parametrize("path", [ArrayModel, ScalarModel])
def test_compiled_decayed_gradients_are_pytorchs(case, path):
    net = Network(case["sizes"], activation=case["activation"], cost=case["cost"], weight_decay=case["weight_decay"])
    model = path(net)
    params = {k: np.array(v) for k, v in case["params"].items()}
    cost, gradient = model.cost_and_gradient(params, np.array(case["X"]), np.array(case["T"]))
    assert cost == pytest.approx(case["cost_value"], rel=1e-12)
    for name, expected in case["gradient"].items():
        np.testing.assert_allclose(gradient[name], np.array(expected), rtol=1e-10, atol=1e-12, err_msg=name)


# --- training ----------------------------------------------------------------------------

def _norm(params) -> float:
    return math.sqrt(sum(float((v**2).sum()) for k, v in params.items() if k.startswith("W")))


def test_training_with_decay_ends_with_smaller_weights_from_the_same_seed():
    from symbackprop.numeric.datasets import load_digits01

    data = load_digits01()
    norms = {}
    for decay in ("0", "0.001"):
        model = ArrayModel(Network([12, 3, 2], weight_decay=decay))
        result = train(model, data.X, data.T, eta=0.2, epochs=50, seed=0)
        assert result.problem is None
        norms[decay] = _norm(result.params)
    assert norms["0.001"] < norms["0"]


def test_train_takes_weight_decay_from_the_command_line(capsys):
    assert main(["train", "digits01", "--weight-decay", "0.001", "--epochs", "5"]) == 0
    assert "weight decay λ = 1/1000" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [
    ["verify", "--layers", "2,1", "--weight-decay", "-1"],
    ["derive", "--layers", "2,1", "--weight-decay", "x"],
    ["verify", "--cnn", "--weight-decay", "-0.1"],
    ["train", "cnn123", "--weight-decay", "x"],
])
def test_bad_weight_decay_on_the_command_line_is_one_line_and_exit_2(argv, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "weight decay" in err.replace("-", " ").replace("_", " ") and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_derive_and_verify_take_weight_decay_from_the_command_line(capsys):
    assert main(["verify", "--layers", "2,1", "--weight-decay", "1/10", "--exact"]) == 0
    assert main(["derive", "--layers", "2,1", "--weight-decay", "1/10"]) == 0
    out = capsys.readouterr().out
    assert "∂C/∂w^2_11 = δ^2_1*x_1 + w^2_11/10" in out
    assert "a weight also directly, through the weight decay" in out


# --- printing the rule ---------------------------------------------------------------------

def test_a_sum_over_several_indices_prints_every_sign_and_an_indexed_power_its_parentheses():
    from symbackprop.engine.index_rules import weight_decay_sum

    assert book_text(weight_decay_sum()).count("Σ") == 3
    assert r"\left(w^{p}_{qr}\right)^{2}" in book_latex(weight_decay_sum())


def test_compare_and_sweep_build_their_networks_with_the_weight_decay():
    from symbackprop.measure.stages import NetworkSpec

    assert NetworkSpec((2, 2, 1), "tanh", "squared", "1/10").network().weight_decay == sp.Rational(1, 10)
    with pytest.raises(NetworkSpecError, match="weight decay"):
        NetworkSpec((2, 1), weight_decay="-1").network()


def test_the_weight_decay_document_shows_what_the_engine_derived():
    from symbackprop.documents.topics import weight_decay

    doc = weight_decay()
    net = Network([2, 2, 1], weight_decay=LAM)
    route = delta_route(net)
    gradients = dict(doc.steps[3].equations)
    assert gradients == {k: route.gradients[k.denominator] for k in gradients}
    assert "the decay term holds no $a^L$" in doc.steps[3].note
    assert "agree" in doc.steps[-1].note and "NOT" not in doc.steps[-1].note
