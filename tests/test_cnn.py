"""The chapter-5 CNN: derived unit errors, both routes proved equal, the array
kernels against the symbolic route, finite differences and PyTorch, training."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from symbackprop.engine.cnn import ConvolutionalNetwork, book_gradients, book_unit_errors
from symbackprop.engine.routes import delta_route
from symbackprop.errors import DataError, NetworkSpecError, SymbackpropError
from symbackprop.layers.pooling import PoolMax, winner
from symbackprop.notation.latex import book_latex
from symbackprop.numeric.cnn_arrays import (
    CNNArrays,
    book_digits,
    book_eta,
    book_initial_params,
    check_against_symbolic,
)
from symbackprop.numeric.datasets import data_path
from symbackprop.proof.verify import verify
from symbackprop.proof.winners import prove_with_winners


@pytest.fixture(scope="module")
def book_net():
    return ConvolutionalNetwork()


@pytest.fixture(scope="module")
def book_route(book_net):
    return delta_route(book_net)


# --- the network and its names ----------------------------------------------------

def test_book_network_has_69_parameters_and_book_symbols(book_net):
    assert book_net.parameter_count == 69
    assert len(book_net.inputs) == 36 and len(book_net.targets) == 3
    assert book_net.symbol("w^{F_1}_{12}") == book_net.symbol("w^F1_12") == sp.Symbol("w^F1_12")
    assert book_net.symbol("δ^F_1,23") == sp.Symbol("delta^F_123")
    assert book_latex(book_net.symbol("w^F1_12")) == "w^{F_{1}}_{12}"
    assert book_latex(book_net.symbol("w^O_3211")) == "w^{O}_{3,2,11}"
    assert book_latex(book_net.symbol("delta^F_123")) == r"\delta^{F}_{1,23}"


def test_convolution_is_a_correlation_without_kernel_flip(book_net):
    z = book_net.definition("z^F_234")
    assert z.coeff(sp.Symbol("w^F2_11")) == sp.Symbol("x_34")
    assert z.coeff(sp.Symbol("w^F2_33")) == sp.Symbol("x_56")


def test_other_shapes_build():
    net = ConvolutionalNetwork((8, 8), 4, 3, pool=3, outputs=2)
    assert net.parameter_count == 4 * 9 + 4 + 2 * 4 * 2 * 2 + 2
    net = ConvolutionalNetwork((5, 7), 2, (2, 3), pool=(2, 5), outputs=4)
    assert net.pooling.pooled_shape == (2, 1)


# --- Max, honestly ----------------------------------------------------------------------

def test_max_derivative_is_the_first_winner_indicator_even_at_ties():
    x = sp.symbols("x1:5")
    m = PoolMax(*x)
    for values in ([1, 3, 3, 0], [2, 2, 2, 2], [0, 1, 5, 5], [4, 1, 2, 3]):
        point = dict(zip(x, values))
        indicators = [m.diff(xi).xreplace(point) for xi in x]
        assert sum(indicators) == 1
        assert indicators.index(1) == int(np.argmax(values))


def test_winner_compiles_with_the_same_tie_rule():
    x = sp.symbols("x1:4")
    exprs = [winner(m, *x) for m in (1, 2, 3)]
    numpy_f = sp.lambdify(x, exprs, "numpy")
    mpmath_f = sp.lambdify(x, exprs, "mpmath")
    rows = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0], [5.0, 1.0, 5.0], [0.0, 1.0, 2.0]])
    got = np.array(numpy_f(*rows.T)).T
    assert (got == np.eye(3)[rows.argmax(axis=1)]).all()
    for row in rows:
        assert [int(v) for v in mpmath_f(*row)] == list(np.eye(3, dtype=int)[row.argmax()])


# --- the derived δs are the book's ---------------------------------------------------------

@pytest.mark.parametrize("activation", ["sigmoid", "generic"])
def test_derived_unit_errors_and_gradients_are_the_books(activation):
    net = ConvolutionalNetwork(activation=activation)
    route = delta_route(net)
    book_d, book_g = book_unit_errors(net), book_gradients(net)
    assert set(route.deltas) == set(book_d)
    assert set(route.gradients) == set(book_g)
    assert all(sp.expand(route.deltas[d] - book_d[d]) == 0 for d in book_d)
    assert all(sp.expand(route.gradients[p] - book_g[p]) == 0 for p in book_g)


def test_only_the_blocks_winner_passes_the_error_back(book_net, book_route):
    delta = book_route.deltas[book_net.symbol("delta^F_212")]
    (indicator,) = delta.atoms(winner)
    assert indicator.args[0] == 2  # a^F_{2,12} is the 2nd input of its block
    assert delta.xreplace({indicator: 0}) == 0


# --- both routes, proved -----------------------------------------------------------------------

def test_routes_equal_exactly_for_a_generic_activation_small_shape():
    net = ConvolutionalNetwork((4, 4), 2, 2, pool=(1, 3), outputs=2, activation="generic")
    report = verify(net, exact=True)
    assert report.ok and len(report.checks) == net.parameter_count


@pytest.mark.parametrize("shape, choices", [
    # two filters, each map one block of two: the winners combine across the filters, 2 × 2 choices
    (((2, 3), 2, (2, 2), (1, 2), 1), 2 * 2),
    # one 2x2 block of four, read by two outputs: each of the four can win
    (((3, 3), 1, 2, 2, 2), 4),
])
def test_routes_equal_exactly_for_every_choice_of_pooling_winners(shape, choices):
    image, filters, size, pool, outputs = shape
    net = ConvolutionalNetwork(image, filters, size, pool=pool, outputs=outputs, activation="generic")
    proofs = prove_with_winners(net)
    assert len(proofs) == choices
    assert all(all(v.values()) for v in proofs.values())


def test_a_wrong_winner_is_refuted():
    # The check has teeth: Max fixed to input 1 but its derivative taken as if input 2 won.
    net = ConvolutionalNetwork((3, 3), 1, 2, pool=2, outputs=1, activation="generic")
    route = delta_route(net)
    w = net.symbol("w^F1_11")
    grad = route.expanded(w)
    swapped = grad.replace(winner, lambda m, *a: sp.S.One if int(m) == 2 else sp.S.Zero)
    smooth = sp.diff(net.substitute(net.cost_expression).replace(PoolMax, lambda *a: a[0]), w)
    assert sp.expand(smooth - swapped) != 0


def test_routes_equal_numerically_and_by_finite_differences_medium_shape():
    net = ConvolutionalNetwork((4, 4), 2, 2, pool=3, outputs=2)
    report = verify(net, points=2)
    assert report.ok
    assert report.largest_difference() < 1e-18


def test_book_shape_numeric_and_finite_differences_for_one_parameter_of_each_kind(book_net):
    chosen = ["w^F1_11", "w^F3_23", "b^F_2", "w^O_2312", "b^O_3"]
    report = verify(book_net, points=1, parameters=chosen)
    assert report.ok and len(report.checks) == 2 * len(chosen)


# --- the compiled array kernels ---------------------------------------------------------------

def _random_params(model: CNNArrays, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {k: rng.standard_normal(s) for k, s in model.parameter_shapes.items()}


def test_array_gradient_equals_the_symbolic_delta_route():
    model = CNNArrays()
    data = book_digits()
    for seed in range(2):
        assert check_against_symbolic(model, _random_params(model, seed), data.X[::6], data.T[::6]) < 1e-12


def _finite_difference_case(pooling: str):
    """A model, a batch and its parameters: the book's CNN on its images, or a
    5×5 average-pooling CNN with two outputs on random ones."""
    if pooling == "max":
        model = CNNArrays()
        data = book_digits()
        return model, data.X, data.T, _random_params(model, 3), 1e-6
    model = CNNArrays((5, 5), 2, 2, pool=2, outputs=2, pooling="average")
    rng = np.random.default_rng(8)
    X, T = rng.standard_normal((6, 5, 5)), rng.random((6, 2))
    return model, X, T, _random_params(model, 9), 1e-7


@pytest.mark.parametrize("pooling", ["max", "average"])
def test_array_gradient_equals_finite_differences(pooling):
    model, X, T, params, tolerance = _finite_difference_case(pooling)
    _, grads = model.cost_and_gradient(params, X, T)
    h = 1e-6
    for name, shape in model.parameter_shapes.items():
        for index in np.ndindex(shape):
            up = {k: v.copy() for k, v in params.items()}
            down = {k: v.copy() for k, v in params.items()}
            up[name][index] += h
            down[name][index] -= h
            numeric = (model.cost_and_gradient(up, X, T)[0] - model.cost_and_gradient(down, X, T)[0]) / (2 * h)
            assert abs(numeric - grads[name][index]) < tolerance * max(1.0, abs(numeric)), (name, index)


@pytest.mark.parametrize("pooling", ["max", "average"])
def test_array_gradient_equals_torch_autograd(pooling):
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")
    F = torch.nn.functional
    model = CNNArrays(pooling=pooling)
    data = book_digits()
    params = _random_params(model, 4)
    _, grads = model.cost_and_gradient(params, data.X, data.T)
    tp = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    x = torch.tensor(data.X, dtype=torch.float64)[:, None]
    aF = torch.sigmoid(F.conv2d(x, tp["filters"][:, None], tp["filter_bias"]))  # no flip: correlation
    aP = F.max_pool2d(aF, 2) if pooling == "max" else F.avg_pool2d(aF, 2)
    aO = torch.sigmoid(torch.einsum("nkij,mkij->nm", aP, tp["out_W"]) + tp["out_b"])
    cost = 0.5 * ((torch.tensor(data.T) - aO) ** 2).sum()
    cost.backward()
    for name in params:
        np.testing.assert_allclose(grads[name], tp[name].grad.numpy(), rtol=1e-10, atol=1e-12)


# --- training on the book's 96 images ---------------------------------------------------------------

def test_training_from_the_books_initial_values_reaches_100_percent():
    model = CNNArrays()
    data = book_digits()
    params = book_initial_params()
    eta = book_eta()
    for _ in range(50):
        _, grads = model.cost_and_gradient(params, data.X, data.T)
        params = {k: params[k] - eta * grads[k] for k in params}
    predicted = model.predict(params, data.X).argmax(axis=1)
    assert (predicted == data.labels).all()
    assert model.predict(params, data.test_X).shape == (len(data.test_names), 3)


# --- bad input -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"filter_size": (7, 3)}, "does not fit"),
        ({"pool": 3}, "does not divide"),
        ({"filters": 0}, "positive integer"),
        ({"image": (6, -1)}, "positive integer"),
    ],
)
def test_bad_shapes_raise_clear_errors(kwargs, message):
    with pytest.raises(NetworkSpecError, match=message):
        ConvolutionalNetwork(**kwargs)
    with pytest.raises(SymbackpropError, match=message):
        CNNArrays(**kwargs)


def test_wrong_image_size_raises():
    model = CNNArrays()
    with pytest.raises(DataError, match=r"reads \(n, 6, 6\)"):
        model.predict(book_initial_params(), np.zeros((2, 5, 6)))


# --- shape laws --------------------------------------------------------------------------------------

@settings(max_examples=25, deadline=None)
@given(
    h=st.integers(2, 9), w=st.integers(2, 9), fh=st.integers(1, 4), fw=st.integers(1, 4),
    k=st.integers(1, 3), n=st.integers(1, 3), ph=st.integers(1, 3), pw=st.integers(1, 3),
)
def test_shape_laws(h, w, fh, fw, k, n, ph, pw):
    rows, cols = h - fh + 1, w - fw + 1
    if rows < 1 or cols < 1 or rows % ph or cols % pw:
        with pytest.raises(NetworkSpecError):
            CNNArrays((h, w), k, (fh, fw), (ph, pw), n)
        return
    model = CNNArrays((h, w), k, (fh, fw), (ph, pw), n)
    R, Q = rows // ph, cols // pw
    assert model.network.parameter_count == k * fh * fw + k + n * k * R * Q + n
    assert sum(int(np.prod(s)) for s in model.parameter_shapes.values()) == model.network.parameter_count
    f = model.forward(_random_params(model, 0), np.zeros((2, h, w)))
    assert f["zF"].shape == (2, k, rows, cols) and f["aP"].shape == (2, k, R, Q) and f["aO"].shape == (2, n)


# --- the derivation document ------------------------------------------------------------------------

def test_document_carries_the_derived_objects_and_the_correlation(book_net, book_route):
    from symbackprop.documents.cnn import Correlation, documents

    doc = documents()["cnn"]
    rows = {str(lhs): rhs for step in doc.steps for lhs, _, rhs in step.rows()}
    d = book_net.symbol("delta^F_111")
    assert rows[str(d)] == book_route.deltas[d]
    (correlation,) = [rhs for step in doc.steps for _, _, rhs in step.rows() if isinstance(rhs, Correlation)]
    for (u, v), entry in np.ndenumerate(np.array(correlation.doit().tolist(), dtype=object)):
        w = book_net.symbol(f"w^F1_{u + 1}{v + 1}")
        assert sp.expand(entry - book_route.gradients[w]) == 0
    assert "NOT" not in doc.text() and " NO," not in doc.text()


# --- the command line -------------------------------------------------------------------------------

def test_cli_verify_cnn_prints_the_per_parameter_table(capsys):
    from symbackprop.cli import main

    assert main(["verify", "--cnn", "3x3,1,2x2,2x2,2", "--exact"]) == 0
    out = capsys.readouterr().out
    assert "w^F1_11" in out and "w^O_1211" in out and "all 27 checks agree" in out
    assert main(["verify", "--cnn", "6x6,3,4x4,2x2,3"]) == 2
    assert "does not divide" in capsys.readouterr().err


def test_cli_train_and_evaluate_cnn123(tmp_path, capsys):
    from symbackprop.cli import main

    saved = tmp_path / "cnn.json"
    assert main(["train", "cnn123", "--init", "book", "--save", str(saved)]) == 0
    out = capsys.readouterr().out
    assert "accuracy 100.00% (96/96)" in out and "images outside the training set" in out
    assert main(["evaluate", "cnn123", "--params", str(saved)]) == 0
    assert "accuracy 100.00%" in capsys.readouterr().out
    book = data_path("book_cnn_init.json")
    assert main(["evaluate", "cnn123", "--params", str(book)]) == 0
    printed = capsys.readouterr().out.split("C_T = ")[1].split()[0].rstrip(";,")
    assert float(printed) == pytest.approx(_book_cost_by_hand(book), rel=1e-14)


def _book_cost_by_hand(init_file) -> float:
    """C_T at the book's initial values, written out loop by loop as the
    spreadsheet computes it: correlation, sigmoid, 2×2 max, sigmoid outputs."""
    import json
    import math

    init = json.loads(init_file.read_text())
    sig = lambda v: 1 / (1 + math.exp(-v))  # noqa: E731
    data = book_digits()
    total = 0.0
    for x, t in zip(data.X.reshape(-1, 6, 6), data.T):
        pooled = []
        for w, b in zip(init["filters"], init["filter_bias"]):
            a = [[sig(sum(w[u][v] * x[i + u][j + v] for u in range(3) for v in range(3)) + b)
                  for j in range(4)] for i in range(4)]
            pooled.append([[max(a[2 * i][2 * j], a[2 * i][2 * j + 1], a[2 * i + 1][2 * j], a[2 * i + 1][2 * j + 1])
                            for j in range(2)] for i in range(2)])
        for n in range(3):
            z = init["out_b"][n] + sum(init["out_W"][n][k][i][j] * pooled[k][i][j]
                                       for k in range(3) for i in range(2) for j in range(2))
            total += 0.5 * (t[n] - sig(z)) ** 2
    return total


def test_array_path_and_symbolic_route_break_ties_alike():
    # Zero filters make every feature map constant: every pooling block is a tie.
    model = CNNArrays()
    data = book_digits()
    params = _random_params(model, 5)
    params["filters"][:] = 0.0
    params["filter_bias"][:] = 0.3
    d = model.deltas(params, data.X[:4], data.T[:4])
    assert (d["win"] == 0).all()
    assert check_against_symbolic(model, params, data.X[:4], data.T[:4]) < 1e-12


def test_a_students_claim_in_book_notation_is_checked():
    from symbackprop.proof.verify import verify_claim

    net = ConvolutionalNetwork((3, 3), 1, 2, pool=2, outputs=1)
    good = "delta^F_111*x_12 + delta^F_112*x_13 + delta^F_121*x_22 + delta^F_122*x_23"
    assert verify_claim(net, "w^{F_1}_{12}", good).ok
    assert not verify_claim(net, "w^{F_1}_{12}", "delta^F_111*x_12").ok


def test_the_cnn_reads_well_where_messages_say_network():
    from symbackprop.numeric.train import check_data

    with pytest.raises(DataError) as error:
        check_data(CNNArrays(), np.zeros((2, 5, 5)))
    message = str(error.value)
    assert "the 6x6-input, 3-filter 3x3, 2x2-pool, 3-output convolutional network reads (n, 6, 6)" in message
