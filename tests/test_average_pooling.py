"""Average pooling beside the book's max pooling: the layer's equation, the
derived unit errors against the equal-share formula, both routes proved
equal, the array kernels against finite differences, PyTorch and the scalar
δ route, and training on the book's 96 images."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from symbackprop.engine.cnn import ConvolutionalNetwork, book_gradients, book_unit_errors, cnn_from_spec
from symbackprop.engine.routes import delta_route
from symbackprop.errors import NetworkSpecError, UnknownNameError
from symbackprop.layers.pooling import AveragePooling, PoolMax, winner
from symbackprop.numeric.catalogue import dataset_spec
from symbackprop.numeric.cnn_arrays import CNNArrays, book_digits, book_initial_params, check_against_symbolic
from symbackprop.numeric.train import train
from symbackprop.proof.verify import verify, verify_claim


@pytest.fixture(scope="module")
def small_generic():
    # 3x3 image, one 2x2 filter: one 2x2 map, one pooling block of four
    net = ConvolutionalNetwork((3, 3), 1, 2, pool=2, outputs=2, activation="generic", pooling="average")
    return net, delta_route(net)




# --- the layer -------------------------------------------------------------------------------

def test_pooled_value_is_the_mean_of_its_block():
    net = ConvolutionalNetwork((5, 7), 2, (2, 3), pool=(2, 5), outputs=1, pooling="average")
    pool = net.pooling
    assert isinstance(pool, AveragePooling) and pool.pooled_shape == (2, 1)
    rng = np.random.default_rng(0)
    values = {a: sp.Rational(int(v), 7) for a, v in zip(net.convolution.outputs, rng.integers(-50, 50, 40))}
    # map 2, pooled row 2: rows 3-4 and columns 1-5 of a^F_2
    block = [values[net.symbol(f"a^F_2{i}{j}")] for i in (3, 4) for j in range(1, 6)]
    assert net.definition("z^P_221").xreplace(values) == sum(block) / 10
    assert not net.definition("z^P_221").atoms(PoolMax)


def test_the_books_max_pooling_stays_the_default():
    assert isinstance(ConvolutionalNetwork().definition("z^P_111"), PoolMax)
    assert ConvolutionalNetwork().describe() == "6x6-input, 3-filter 3x3, 2x2-pool, 3-output convolutional"


def test_an_unknown_pooling_is_refused_by_name():
    with pytest.raises(UnknownNameError, match="unknown pooling 'mean'; use max or average"):
        ConvolutionalNetwork(pooling="mean")
    with pytest.raises(UnknownNameError, match="unknown pooling"):
        CNNArrays(pooling="avg")


# --- the derived δs: every input of a block gets an equal share ---------------------------------------

def test_derived_unit_error_is_the_equal_share_written_by_hand(small_generic):
    net, route = small_generic
    a = net.activation
    # δ^F_{1,ij} = (1/4)(δ^O_1 w^O_{1,1,11} + δ^O_2 w^O_{1,2,11}) a'(z^F_{1,ij}), written here by hand
    back = sum(sp.Symbol(f"delta^O_{n}") * sp.Symbol(f"w^O_1{n}11") for n in (1, 2))
    for ij in ("11", "12", "21", "22"):
        derived = route.deltas[sp.Symbol(f"delta^F_1{ij}")]
        hand = sp.Rational(1, 4) * back * a.derivative(sp.Symbol(f"z^F_1{ij}"))
        assert sp.expand(derived - hand) == 0
        assert not derived.atoms(winner)


@pytest.mark.parametrize("activation", ["sigmoid", "generic"])
def test_derived_unit_errors_and_gradients_are_the_book_style_formulas(activation):
    net = ConvolutionalNetwork((4, 4), 2, 2, pool=(1, 3), outputs=2, activation=activation, pooling="average")
    route = delta_route(net)
    book_d, book_g = book_unit_errors(net), book_gradients(net)
    assert set(route.deltas) == set(book_d) and set(route.gradients) == set(book_g)
    assert all(sp.expand(route.deltas[d] - book_d[d]) == 0 for d in book_d)
    assert all(sp.expand(route.gradients[p] - book_g[p]) == 0 for p in book_g)


def test_the_max_poolings_winner_gate_is_refuted_for_average_pooling(small_generic):
    net, route = small_generic
    # the book's max-pooling formula with the winner's gate open (1) lacks the share 1/4
    max_net = ConvolutionalNetwork((3, 3), 1, 2, pool=2, outputs=2, activation="generic")
    d = sp.Symbol("delta^F_111")
    opened = book_unit_errors(max_net)[d].replace(winner, lambda *args: sp.S.One)
    assert sp.expand(route.deltas[d] - opened) != 0
    assert sp.expand(4 * route.deltas[d] - opened) == 0


# --- both routes, proved ---------------------------------------------------------------------------

def test_routes_equal_exactly_for_a_generic_activation_small_shape(small_generic):
    net, _ = small_generic
    report = verify(net, exact=True)
    assert report.ok and len(report.checks) == net.parameter_count


def test_routes_equal_at_50_digits_and_by_finite_differences():
    net = ConvolutionalNetwork((4, 4), 2, 2, pool=3, outputs=2, pooling="average")
    report = verify(net, points=2)
    assert report.ok and len(report.checks) == 2 * net.parameter_count
    assert report.largest_difference() < 1e-18


def test_a_students_claim_is_checked_with_and_without_the_share():
    net = ConvolutionalNetwork((3, 3), 1, 2, pool=2, outputs=1, pooling="average")
    slopes = " + ".join(f"a^F_1{ij}*(1 - a^F_1{ij})" for ij in ("11", "12", "21", "22"))
    # ∂C/∂b^F_1 = Σ_{ij} δ^F_{1,ij} = (1/4) δ^O_1 w^O_{1,1,11} Σ_{ij} a'(z^F_{1,ij})
    assert verify_claim(net, "b^F_1", f"delta^O_1*w^O_1111*({slopes})/4").ok
    assert not verify_claim(net, "b^F_1", f"delta^O_1*w^O_1111*({slopes})").ok


# --- the compiled array kernels -----------------------------------------------------------------------

def _random_params(model: CNNArrays, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {k: rng.standard_normal(s) for k, s in model.parameter_shapes.items()}


@pytest.fixture(scope="module")
def average_model():
    return CNNArrays(pooling="average")


def test_array_pooling_is_the_block_mean(average_model):
    data = book_digits()
    f = average_model.forward(book_initial_params(), data.X[:3])
    aF = f["aF"]
    # pooled cell (2, 1) of map 3 averages rows 3-4, columns 1-2
    assert np.allclose(f["aP"][:, 2, 1, 0], aF[:, 2, 2:4, 0:2].mean(axis=(1, 2)), rtol=1e-15)
    assert "win" not in f


def test_array_gradient_equals_the_scalar_delta_route(average_model):
    data = book_digits()
    for seed in range(2):
        params = _random_params(average_model, seed)
        assert check_against_symbolic(average_model, params, data.X[::6], data.T[::6]) < 1e-12


def test_array_unit_errors_share_equally_within_a_block(average_model):
    data = book_digits()
    d = average_model.deltas(_random_params(average_model, 7), data.X[:2], data.T[:2])
    # δ^F / a'(z^F) is the block's error over 4: equal within each 2x2 block, and nonzero
    shared = d["dF"] / (d["aF"] * (1 - d["aF"]))
    blocks = shared.reshape(2, 3, 2, 2, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(2, 3, 2, 2, 4)
    assert np.allclose(blocks, blocks[..., :1], rtol=1e-12) and (blocks != 0).all()


# --- training on the book's 96 images -------------------------------------------------------------------

def test_a_short_run_on_cnn123_lowers_the_cost():
    spec = dataset_spec("cnn123")
    model = spec.model("array", pooling="average")
    data = spec.load()
    result = train(model, data.X, data.T, book_initial_params(), eta=spec.eta, epochs=20)
    assert not result.problem
    assert result.history[-1] < 0.9 * result.history[0]


# --- the command line ----------------------------------------------------------------------------------------

def test_cli_verify_cnn_with_average_pooling(capsys):
    from symbackprop.cli import main

    assert main(["verify", "--cnn", "3x3,1,2x2,2x2,2", "--pooling", "average", "--exact"]) == 0
    assert "all 27 checks agree" in capsys.readouterr().out
    assert main(["verify", "--layers", "2,1", "--pooling", "average"]) == 2
    assert "--pooling is an option of --cnn" in capsys.readouterr().err
    assert cnn_from_spec("3x3,1,2x2,2x2,2", pooling="average").pooling.kind == "average"


def test_cli_train_and_evaluate_cnn123_with_average_pooling(tmp_path, capsys):
    from symbackprop.cli import main

    saved = tmp_path / "avg.json"
    args = ["train", "cnn123", "--pooling", "average", "--init", "book", "--epochs", "10", "--history"]
    assert main([*args, "--save", str(saved)]) == 0
    out = capsys.readouterr().out
    assert "2x2 average-pool" in out
    history = [line.replace("│", " ").split() for line in out.splitlines()]
    costs = {int(row[0]): float(row[1]) for row in history if len(row) == 2 and row[0].isdigit()}
    assert sorted(costs) == list(range(11)) and costs[10] < costs[0]
    trained = float(out.split("C_T = ")[-1].split()[0])
    assert main(["evaluate", "cnn123", "--pooling", "average", "--params", str(saved)]) == 0
    assert float(capsys.readouterr().out.split("C_T = ")[-1].split()[0]) == pytest.approx(trained, rel=1e-12)
    assert main(["train", "digits01", "--pooling", "average", "--epochs", "1"]) == 2
    assert "the digits01 model has no pooling option; it is an option of cnn123" in capsys.readouterr().err


def test_unknown_pooling_on_the_command_line_exits_2(capsys):
    from symbackprop.cli import main

    assert main(["train", "cnn123", "--pooling", "mean"]) == 2
    assert "invalid choice: 'mean'" in capsys.readouterr().err


def test_bad_block_is_refused_for_average_pooling_too():
    with pytest.raises(NetworkSpecError, match="does not divide"):
        ConvolutionalNetwork(pool=3, pooling="average")


# --- the derivation document -------------------------------------------------------------------------------

def test_document_carries_the_derived_equal_share():
    from symbackprop.documents.cnn import documents

    net = ConvolutionalNetwork(pooling="average")
    route = delta_route(net)
    doc = documents()["cnn-average-pooling"]
    rows = {str(lhs): rhs for step in doc.steps for lhs, _, rhs in step.rows()}
    d = net.symbol("delta^F_111")
    assert rows[str(d)] == route.deltas[d]
    shares = [rhs for step in doc.steps if step.title == "Derivative of the mean" for _, _, rhs in step.rows()]
    assert shares == [sp.Rational(1, 4)] * 4
    assert "NOT" not in doc.text() and "average-pool" in doc.title


def test_winner_proofs_refuse_average_pooling_at_once():
    from symbackprop.proof.winners import all_winner_choices, prove_with_winners

    net = ConvolutionalNetwork((3, 3), 1, 2, pool=2, outputs=1, pooling="average")
    for call in (lambda: prove_with_winners(net), lambda: all_winner_choices(net)):
        with pytest.raises(NetworkSpecError, match="average pooling has no winners to fix"):
            call()
