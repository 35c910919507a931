"""The softmax output layer with the categorical cross-entropy: δ^L = a^L − t
derived by the engine (from the softmax's Jacobian and the assumption
Σ_j t_j = 1), proved equal to the direct route, and computed without overflow."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import sympy as sp

from symbackprop import Network, compile_scalar, delta_route, direct_route
from symbackprop.engine.routes import atomize, atomizer
from symbackprop.errors import NetworkSpecError, UnknownNameError
from symbackprop.functions.softmax import softmax
from symbackprop.numeric.scalar import ScalarModel
from symbackprop.proof.verify import prove_equal, random_point, verify

CCE = "categorical-cross-entropy"


@pytest.fixture(scope="module")
def generic_net() -> Network:
    return Network([2, 2, 3], activation="generic", output="softmax", cost=CCE)


@pytest.fixture(scope="module")
def generic_route(generic_net):
    return delta_route(generic_net)


def test_softmax_derivative_is_its_jacobian_written_in_outputs():
    z = sp.symbols("z1:4")
    for j in range(1, 4):
        for k in range(1, 4):
            explicit = sp.diff(sp.exp(z[j - 1]) / sp.Add(*map(sp.exp, z)), z[k - 1])
            own = softmax(j, *z).diff(z[k - 1])
            # a_j(δ_jk − a_k), in the atoms softmax(·, z): nothing but outputs
            assert own.atoms(sp.Function) <= {softmax(i, *z) for i in (1, 2, 3)}
            assert sp.simplify(own.rewrite(sp.exp) - explicit) == 0


def test_layer_states_the_dense_sums_and_softmax_outputs(generic_net):
    layer = generic_net.output_layer
    assert generic_net.definition("z^3_2") == sum(
        generic_net.symbol(f"w^3_2{i}") * generic_net.symbol(f"a^2_{i}") for i in (1, 2)
    ) + generic_net.symbol("b^3_2")
    assert generic_net.definition("a^3_2") == softmax(2, *layer.z)
    assert generic_net.parameter_count == 6 + 9


def test_engine_derives_the_contraction_of_the_jacobian_with_dC_da(generic_net, generic_route):
    t = generic_net.targets
    for k, a in enumerate(generic_net.output_layer.outputs):
        derived = generic_route.deltas[generic_net.symbol(f"delta^3_{k + 1}")]
        # −t_k + a_k Σ_j t_j: true for every t, not yet a − t
        assert sp.expand(derived - (-t[k] + a * sp.Add(*t))) == 0
        assert sp.expand(derived - (a - t[k])) != 0


def test_the_constraint_on_the_targets_gives_a_minus_t(generic_net, generic_route):
    assert generic_net.target_constraint == sp.Eq(sp.Add(*generic_net.targets), 1)
    constrained = generic_route.constrained()
    for k, (a, t) in enumerate(zip(generic_net.output_layer.outputs, generic_net.targets)):
        assert constrained.deltas[generic_net.symbol(f"delta^3_{k + 1}")] == a - t
    # the hidden layers' δs do not hold the sum and are left as derived
    for d in generic_net.layer(2).unit_errors:
        assert constrained.deltas[d] == generic_route.deltas[d]


def test_without_the_constraint_the_route_is_unchanged():
    route = delta_route(Network([2, 2], output="softmax", cost="cross-entropy"))
    assert route.constrained() is route


def test_categorical_cross_entropy_is_refused_on_outputs_that_are_not_a_softmax():
    for activation in ("sigmoid", "generic", "identity"):
        with pytest.raises(NetworkSpecError, match="categorical cross-entropy .* softmax"):
            Network([2, 3], activation=activation, cost=CCE)
    with pytest.raises(UnknownNameError, match="unknown output layer 'soft'"):
        Network([2, 3], output="soft")


def test_hidden_activations_are_one_per_hidden_layer_under_a_softmax():
    net = Network([2, 3, 2, 2], activation=["tanh", "relu"], output="softmax", cost=CCE)
    assert [layer.activation.name for layer in net.layers] == ["tanh", "relu", "softmax"]
    with pytest.raises(NetworkSpecError, match="got 3 activations for 2 layers"):
        Network([2, 3, 2, 2], activation=["tanh", "relu", "tanh"], output="softmax")


def test_exact_proof_needs_the_constraint(generic_net, generic_route):
    direct = direct_route(generic_net, ["b^3_1"])
    p = generic_net.symbol("b^3_1")
    constrained = generic_route.constrained().expanded(p)
    assert prove_equal(direct.gradients[p], generic_route.expanded(p)) is True
    assert prove_equal(direct.gradients[p], constrained) is None
    assert prove_equal(generic_net.under_target_constraint(direct.gradients[p]),
                       generic_net.under_target_constraint(constrained)) is True


def test_verify_proves_the_routes_equal_for_every_hidden_activation(generic_net):
    report = verify(generic_net, exact=True)
    assert report.ok and report.methods == ["exact"] and len(report.checks) == 15
    assert any("t_1 + t_2 + t_3 = 1" in note for note in report.notes)


def test_verify_at_50_digits_and_by_finite_differences():
    report = verify(Network([2, 2, 3], activation="tanh", output="softmax", cost=CCE), exact=True)
    assert report.ok
    assert report.methods == ["exact", "50-digit numeric", "finite differences"]


def test_random_targets_are_a_distribution_when_the_model_assumes_one():
    net = Network([2, 3], output="softmax", cost=CCE)
    for seed in range(3):
        point = random_point(net, seed)
        assert all(0 < point[t] < 1 for t in net.targets)
        with mpmath.workdps(50):
            assert abs(mpmath.fsum(point[t] for t in net.targets) - 1) < mpmath.mpf(10) ** -45
    plain = random_point(Network([2, 3]), 0)
    assert abs(sum(plain[t] for t in net.targets) - 1) > 1e-3


def test_compiled_cost_and_gradient_are_finite_at_logits_of_1000():
    # z^2 = b^2 with w = 0: logits (1000, 0, −1000), class 2
    net = Network([1, 3], output="softmax", cost=CCE)
    params = {p: 0.0 for p in net.parameters}
    params.update(dict(zip(net.output_layer.b, (1000.0, 0.0, -1000.0))))
    x, t = [[1.0]], [[0.0, 1.0, 0.0]]
    # C = −log a_2 = log(e^1000 + 1 + e^−1000) = 1000 to double precision; ∂C/∂b = a − t
    expected = {"b^2_1": 1.0, "b^2_2": -1.0, "b^2_3": 0.0}
    for route in (delta_route(net), delta_route(net).constrained(), direct_route(net)):
        cost, gradient = compile_scalar(net, route)(params, x, t)
        assert cost == pytest.approx(1000.0, rel=1e-15)
        for name, value in expected.items():
            assert gradient[net.symbol(name)] == pytest.approx(value, abs=1e-15)
            assert gradient[net.symbol(name.replace("b^2_", "w^2_") + "1")] == pytest.approx(value, abs=1e-15)


def test_scalar_model_gradient_against_central_differences():
    model = ScalarModel(Network([3, 4, 3], activation="sigmoid", output="softmax", cost=CCE))
    rng = np.random.default_rng(3)
    params = model.initial_params(rng)
    X, T = rng.uniform(-1, 1, (6, 3)), np.eye(3)[rng.integers(0, 3, 6)]
    _, gradient = model.cost_and_gradient(params, X, T)
    h = 1e-6
    for name, array in params.items():
        for index in np.ndindex(array.shape):
            saved = array[index]
            array[index] = saved + h
            up, _ = model.cost_and_gradient(params, X, T)
            array[index] = saved - h
            down, _ = model.cost_and_gradient(params, X, T)
            array[index] = saved
            assert gradient[name][index] == pytest.approx((up - down) / (2 * h), rel=1e-6, abs=1e-8)
    predicted = model.predict(params, X)
    assert np.allclose(predicted.sum(axis=1), 1.0) and math.isfinite(predicted.min())


def test_atomize_names_the_softmax_by_its_output(generic_net):
    a = generic_net.output_layer.outputs
    z = generic_net.output_layer.z
    local = atomize(sp.diff(generic_net.definition("a^3_1"), z[1]), atomizer(generic_net))
    assert local == -a[0] * a[1]


def test_cli_verifies_and_derives_a_softmax_output(capsys):
    from symbackprop.cli import main

    softmax_net = ["--layers", "2,2,3", "--output", "softmax", "--cost", CCE]
    assert main(["verify", *softmax_net, "--activation", "tanh", "--exact"]) == 0
    assert "t_1 + t_2 + t_3 = 1" in capsys.readouterr().out
    assert main(["derive", *softmax_net, "--param", "b^3_1"]) == 0
    out = capsys.readouterr().out
    assert "∂a^3_1/∂z^3_2 = -a^3_1*a^3_2" in out
    assert "δ^3_1 = a^3_1*t_2 + a^3_1*t_3 - t_1*(1 - a^3_1)" in out and "δ^3_1 = a^3_1 - t_1" in out


@pytest.mark.parametrize("path", ["array", "scalar"])
def test_cli_trains_a_softmax_output_on_either_path(capsys, path):
    from symbackprop.cli import main

    assert main(["train", "digits01", "--output", "softmax", "--epochs", "30", "--eta", "0.1", "--path", path]) == 0
    out = capsys.readouterr().out
    assert f"12-3-2 network, {path} path" in out and "accuracy 100.00%" in out


@pytest.mark.parametrize("args,fragment", [
    (["train", "cnn123", "--output", "softmax"], "the cnn123 model has no output option; it is an option of digits01, digits8x8"),
])
def test_cli_refuses_a_softmax_where_it_is_not_computed(args, fragment, run_main):
    result = run_main(*args)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert fragment in result.stderr


@pytest.mark.parametrize("cost", ["squared", "cross-entropy"])
def test_the_array_path_refuses_a_softmax_output_with_another_cost_and_says_what_works(cost):
    # Without Σ_j t_j = 1 the softmax's Jacobian leaves a sum over the outputs in δ^L.
    from symbackprop.errors import NotDifferentiableError
    from symbackprop.numeric.arrays import ArrayModel

    with pytest.raises(NotDifferentiableError, match="categorical cross-entropy .* or the scalar path"):
        ArrayModel(Network([2, 3], output="softmax", cost=cost))
