"""Weight decay for the convolutional network: ``C`` gains ``(λ/2) Σ w²`` over the
filter weights and the output weights (not the biases), every route derives
``λ w`` from it with no special case, and the array path adds, for a batch of
``m`` images, ``m (λ/2) Σ w²`` to ``C_T`` and ``m λ w`` to each weight's gradient,
as PyTorch's autograd and central finite differences confirm."""

from __future__ import annotations

import importlib.util
import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

from symbackprop.cli import main
from symbackprop.engine.cnn import ConvolutionalNetwork, book_gradients, book_unit_errors
from symbackprop.engine.model_file import read_model
from symbackprop.engine.routes import delta_route, direct_route
from symbackprop.errors import ArgumentError, NetworkSpecError
from symbackprop.numeric.cnn_arrays import CNNArrays, CNNScalar, book_digits, check_against_symbolic
from symbackprop.numeric.train import train
from symbackprop.proof.verify import EXACT, verify

LAM = sp.Symbol("lambda")
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SMALL = dict(image=(3, 3), filters=1, filter_size=(2, 2), pool=(2, 2), outputs=1, activation="generic",
             channels=2)


@pytest.fixture(scope="module")
def generic_pair():
    """A 2-channel 3x3 CNN with the generic activation a(z), with a symbolic λ and without decay."""
    decayed = ConvolutionalNetwork(**SMALL, weight_decay=LAM)
    plain = ConvolutionalNetwork(**SMALL)
    return decayed, delta_route(decayed), plain, delta_route(plain)


# --- the symbolic network ------------------------------------------------------------

def test_the_weights_are_the_filter_and_output_weights_not_the_biases(generic_pair):
    decayed, _, _, _ = generic_pair
    conv, out = decayed.convolution, decayed.output
    filters = [w for k in conv.w for c in k for row in c for w in row]
    outputs = [w for n in out.w for k in n for row in k for w in row]
    assert len(filters) == 8 and len(outputs) == 1
    assert set(decayed.weights) == set(filters) | set(outputs)
    assert set(decayed.parameters) - set(decayed.weights) == {*conv.b, *out.b}


def test_the_cost_gains_half_lambda_times_the_squared_weights(generic_pair):
    decayed, _, plain, _ = generic_pair
    extra = sp.expand(decayed.cost_expression - plain.cost_expression)
    assert extra == sp.expand(LAM / 2 * sp.Add(*(w**2 for w in decayed.weights)))


def test_the_delta_route_derives_lambda_w_for_every_weight_and_nothing_for_biases(generic_pair):
    decayed, route, plain, plain_route = generic_pair
    assert decayed.parameters == plain.parameters
    for p in decayed.parameters:
        gained = sp.expand(route.gradients[p] - plain_route.gradients[p])
        assert gained == (LAM * p if p in decayed.weights else 0), p
    # C's new term holds no a^O, so the unit errors do not change
    assert route.deltas == plain_route.deltas


def test_delta_route_equals_direct_route_exactly_with_a_symbolic_lambda(generic_pair):
    decayed, route, _, _ = generic_pair
    direct = direct_route(decayed)
    for p in decayed.parameters:
        assert sp.expand(route.expanded(p) - direct.gradients[p]) == 0, p


def test_the_book_formulas_with_lambda_w_are_the_derived_ones(generic_pair):
    decayed, route, _, _ = generic_pair
    book_d, book_g = book_unit_errors(decayed), book_gradients(decayed)
    for d, expr in book_d.items():
        assert sp.simplify(route.deltas[d] - expr) == 0, d
    for p, expr in book_g.items():
        assert sp.expand(route.gradients[p] - expr) == 0, p


def test_verify_proves_a_decayed_cnn_exactly_for_every_activation(generic_pair):
    decayed, _, _, _ = generic_pair
    report = verify(decayed, exact=True)
    assert report.ok and report.methods == [EXACT]


def test_verify_checks_a_numeric_lambda_by_finite_differences():
    net = ConvolutionalNetwork((3, 3), 1, (2, 2), pool=(2, 2), outputs=1, activation="tanh", weight_decay="1/10")
    report = verify(net)
    assert report.ok and len(report.checks) >= 2 * net.parameter_count


@pytest.mark.parametrize("bad", ["-1/10", "lots", float("nan"), True])
def test_a_bad_weight_decay_is_refused(bad):
    with pytest.raises(NetworkSpecError, match="weight decay λ"):
        ConvolutionalNetwork(weight_decay=bad)


def test_the_array_path_needs_a_number():
    with pytest.raises(ArgumentError, match="give it a number"):
        CNNArrays(weight_decay=LAM)


# --- the array path -------------------------------------------------------------------

def _case(rng, model: CNNArrays, m: int = 3):
    params = {k: rng.standard_normal(s) for k, s in model.parameter_shapes.items()}
    X = rng.uniform(-1, 1, (m, *model.input_shape))
    T = rng.uniform(0, 1, (m, model.output_size))
    return params, X, T


MODELS = [
    dict(weight_decay="1/10"),
    dict(image=(5, 5), filters=2, filter_size=3, pool=3, outputs=2, channels=2, stride=2, padding=1,
         pooling="average", weight_decay="3/100"),
]


@pytest.mark.parametrize("options", MODELS)
def test_the_array_gradient_is_the_compiled_delta_route(options):
    model = CNNArrays(**options)
    params, X, T = _case(np.random.default_rng(1), model)
    assert check_against_symbolic(model, params, X, T) < 1e-12


@pytest.mark.parametrize("options", MODELS)
def test_the_array_gradient_is_central_finite_differences(options):
    model = CNNArrays(**options)
    params, X, T = _case(np.random.default_rng(2), model)
    _, grads = model.cost_and_gradient(params, X, T)
    h = 1e-6
    for name, array in params.items():
        for index in np.ndindex(array.shape):
            up = {k: v.copy() for k, v in params.items()}
            down = {k: v.copy() for k, v in params.items()}
            up[name][index] += h
            down[name][index] -= h
            slope = (model.cost_and_gradient(up, X, T)[0] - model.cost_and_gradient(down, X, T)[0]) / (2 * h)
            assert slope == pytest.approx(grads[name][index], rel=1e-6, abs=1e-8), (name, index)


def test_a_batch_of_m_images_holds_the_decay_m_times():
    decayed, plain = CNNArrays(weight_decay="1/10"), CNNArrays()
    params, X, T = _case(np.random.default_rng(3), plain, m=4)
    C, g = decayed.cost_and_gradient(params, X, T)
    C0, g0 = plain.cost_and_gradient(params, X, T)
    squares = sum(float(np.sum(params[k] ** 2)) for k in ("filters", "out_W"))
    assert C - C0 == pytest.approx(4 * 0.1 / 2 * squares, rel=1e-12)
    for name in params:
        gained = 4 * 0.1 * params[name] if name in ("filters", "out_W") else 0 * params[name]
        np.testing.assert_allclose(g[name] - g0[name], gained, rtol=1e-10, atol=1e-12)


def test_the_scalar_path_agrees_with_the_array_path():
    arrays, scalar = CNNArrays((4, 4), 1, 3, pool=2, outputs=2, weight_decay="1/5"), \
        CNNScalar((4, 4), 1, 3, pool=2, outputs=2, weight_decay="1/5")
    params, X, T = _case(np.random.default_rng(4), arrays)
    C, g = arrays.cost_and_gradient(params, X, T)
    C_s, g_s = scalar.cost_and_gradient(params, X, T)
    assert C == pytest.approx(C_s, rel=1e-12)
    for name in g:
        np.testing.assert_allclose(g[name], g_s[name], rtol=1e-10, atol=1e-12)


def _fixture_cases():
    return json.loads((FIXTURES / "torch_cnn_decay.json").read_text(encoding="utf-8"))["cases"]


def _model(options: dict) -> CNNArrays:
    o = options
    return CNNArrays(tuple(o["image"]), o["filters"], tuple(o["filter_size"]), tuple(o["pool"]), o["outputs"],
                     pooling=o["pooling"], channels=o["channels"], stride=tuple(o["stride"]),
                     padding=tuple(o["padding"]), weight_decay=o["weight_decay"])


@pytest.mark.parametrize("case", _fixture_cases(), ids=lambda c: c["name"])
def test_the_decayed_gradients_are_pytorchs_stored(case):
    model = _model(case["options"])
    params = {k: np.array(v) for k, v in case["params"].items()}
    C, grads = model.cost_and_gradient(params, np.array(case["X"]), np.array(case["T"]))
    assert C == pytest.approx(case["cost_value"], rel=1e-12)
    for name, expected in case["gradient"].items():
        np.testing.assert_allclose(grads[name], np.array(expected), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("options", MODELS)
def test_the_decayed_gradients_are_pytorchs(options):
    pytest.importorskip("torch")
    spec = importlib.util.spec_from_file_location("make_torch_cnn_decay", FIXTURES / "make_torch_cnn_decay.py")
    maker = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(maker)
    model = CNNArrays(**options)
    params, X, T = _case(np.random.default_rng(5), model)
    o = dict(image=list(model.network.image_shape), filters=model.network.filters,
             filter_size=list(model.filter_size), pool=list(model.pool), channels=model.channels,
             stride=list(model.stride), padding=list(model.padding), pooling=model.pooling,
             weight_decay=options["weight_decay"])
    assert float(Fraction(o["weight_decay"])) == model.weight_decay
    C_torch, g_torch = maker.torch_cost_and_gradient(o, params, X, T)
    C, grads = model.cost_and_gradient(params, X, T)
    assert C == pytest.approx(C_torch, rel=1e-12)
    for name in grads:
        np.testing.assert_allclose(grads[name], g_torch[name], rtol=1e-10, atol=1e-12)


def test_training_with_decay_ends_with_smaller_weights_from_the_same_seed():
    data = book_digits()
    norms = {}
    for decay in ("0", "0.01"):
        result = train(CNNArrays(weight_decay=decay), data.X, data.T, eta=0.2, epochs=20, seed=0)
        assert result.problem is None
        norms[decay] = sum(float(np.sum(result.params[k] ** 2)) for k in ("filters", "out_W"))
    assert norms["0.01"] < norms["0"]


# --- the command line and the model file ---------------------------------------------------

def test_verify_takes_weight_decay_for_a_cnn(capsys):
    assert main(["verify", "--cnn", "3x3,1,2x2,2x2,1", "--weight-decay", "1/10"]) == 0
    assert "Traceback" not in capsys.readouterr().err


def test_train_cnn123_takes_weight_decay(capsys):
    assert main(["train", "cnn123", "--weight-decay", "0.001", "--epochs", "2"]) == 0
    assert "weight decay λ = 1/1000" in capsys.readouterr().out


def _write(path: Path, document: dict) -> Path:
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_a_cnn_model_file_takes_weight_decay(tmp_path):
    path = _write(tmp_path / "cnn.json", {
        "inputs": {"image": [4, 4]}, "weight_decay": "1/100",
        "layers": [{"kind": "convolution", "filters": 1, "size": 3}, {"kind": "pooling", "size": 2},
                   {"kind": "dense", "width": 1}]})
    net = read_model(path)
    assert isinstance(net, ConvolutionalNetwork) and net.weight_decay == sp.Rational(1, 100)


def test_a_recurrent_model_file_refuses_weight_decay_in_one_line(tmp_path, capsys):
    path = _write(tmp_path / "rnn.json", {
        "inputs": 1, "weight_decay": 0.1,
        "layers": [{"kind": "recurrent", "steps": 2, "width": 2}, {"kind": "dense", "width": 1}]})
    with pytest.raises(NetworkSpecError, match="weight_decay is for models of"):
        read_model(path)
    assert main(["verify", "--model", str(path)]) == 2
    err = capsys.readouterr().err
    assert "weight_decay" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_the_exported_decayed_cnn_computes_the_libraries_cost_and_gradient(tmp_path, capsys):
    import importlib.util

    assert main(["export", "--dataset", "cnn123", "--weight-decay", "0.1", "--out", str(tmp_path / "g.py")]) == 0
    spec = importlib.util.spec_from_file_location("g", tmp_path / "g.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = CNNArrays(weight_decay=0.1)
    rng = np.random.default_rng(5)
    params = {k: rng.normal(size=s) for k, s in model.parameter_shapes.items()}
    X, T = rng.random((4, 6, 6)), rng.random((4, 3))
    cost, grads = model.cost_and_gradient(params, X, T)
    exported_cost, exported = module.cost_and_gradient(params, X, T)
    assert abs(exported_cost - cost) <= 1e-12 * abs(cost)
    for name, value in grads.items():
        assert np.allclose(exported[name], value, rtol=1e-12, atol=1e-12), name


def test_check_holds_code_for_a_decayed_cnn_to_m_lambda_w(tmp_path, capsys):
    code = tmp_path / "decayed.py"
    code.write_text(
        "from symbackprop.numeric.cnn_arrays import CNNArrays\n"
        "MODEL = CNNArrays(image=(3, 3), filters=1, filter_size=(2, 2), pool=(2, 2), outputs=2)\n"
        "def plain(params, X, T):\n"
        "    return MODEL.cost_and_gradient(params, X, T)[1]\n"
        "def decayed(params, X, T):\n"
        "    g = plain(params, X, T)\n"
        "    return {k: v + len(X) * 0.1 * params[k] if k in ('filters', 'out_W') else v for k, v in g.items()}\n",
        encoding="utf-8")
    spec = ["--cnn", "3x3,1,2x2,2x2,2", "--weight-decay", "1/10"]
    assert main(["check", f"{code}:decayed", *spec]) == 0
    assert main(["check", f"{code}:plain", *spec]) == 1
    assert main(["check", f"{code}:decayed", "--cnn", "3x3,1,2x2,2x2,2"]) == 1
    capsys.readouterr()


def test_a_model_files_cnn_trains_with_its_weight_decay():
    from symbackprop.numeric.model_arrays import trainable_for

    net = ConvolutionalNetwork((4, 4), 1, 3, pool=2, outputs=2, weight_decay="1/10")
    assert trainable_for(net, "array").weight_decay == 0.1
    assert trainable_for(net, "scalar").network.weight_decay == sp.Rational(1, 10)


def test_the_readme_numbers_are_what_training_gives():
    from symbackprop.numeric.cnn_arrays import book_initial_params

    data = book_digits()
    readme = " ".join((Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8").split())
    found = {}
    for decay in ("0", "0.001", "0.01"):
        model = CNNArrays(weight_decay=decay)
        result = train(model, data.X, data.T, book_initial_params(), eta=0.2, epochs=400, seed=0)
        norm = np.sqrt(sum(float(np.sum(result.params[k] ** 2)) for k in ("filters", "out_W")))
        right = int(np.sum(model.predict(result.params, data.X).argmax(1) == data.T.argmax(1)))
        found[decay] = (f"{norm:.2f}", right)
    assert found["0"][1] == found["0.001"][1] == 96
    assert (f"400 epochs on cnn123 end with `‖w‖ = {found['0'][0]}` without decay and {found['0.001'][0]} "
            f"with λ = 0.001, all 96 images still right (λ = 0.01 shrinks it to {found['0.01'][0]} and gets "
            f"{found['0.01'][1]} right)") in readme


def test_the_weight_decay_document_shows_the_cnns_derived_gradients():
    from symbackprop.documents.topics import weight_decay

    step = next(s for s in weight_decay().steps if s.title == "The convolutional network")
    net = ConvolutionalNetwork((3, 3), 1, (2, 2), pool=(2, 2), outputs=1, weight_decay=LAM)
    route = delta_route(net)
    shown = {eq[0].args[1]: eq[1] for eq in step.equations}
    assert set(shown) == {net.symbol("w^F1_11"), net.symbol("b^F_1"), net.symbol("w^O_1111")}
    for p, expr in shown.items():
        assert expr == route.gradients[p]
        assert sp.expand(expr - route.gradients[p].subs(LAM, 0)) == (LAM * p if p in net.weights else 0)
