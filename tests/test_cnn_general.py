"""Convolution in general: input channels, several filters, stride and zero
padding. The δ route proved equal to the direct derivative, the δ sent back to
the input proved to be the full convolution of δ with the flipped filter, the
array path against the scalar route, finite differences and PyTorch, training."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from symbackprop.engine.cnn import ConvolutionalNetwork, book_gradients, book_unit_errors, cnn_from_spec
from symbackprop.engine.network import LayeredModel, replace_quantities
from symbackprop.engine.routes import atomize, atomizer, chain_rule_expansion, delta_route, direct_route
from symbackprop.errors import DataError, NetworkSpecError
from symbackprop.functions.activations import get_activation
from symbackprop.functions.costs import get_cost
from symbackprop.guards import cnn_terms
from symbackprop.layers.convolution import Convolution, output_size
from symbackprop.layers.output import FullyConnectedOutput
from symbackprop.layers.pooling import PoolMax
from symbackprop.numeric.cnn_arrays import CNNArrays, check_against_symbolic
from symbackprop.numeric.scalar import compile_scalar
from symbackprop.proof.verify import verify
from symbackprop.proof.winners import prove_with_winners

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "torch_conv_gradients.json"

#: 2 channels of 4×4, 2 filters 2×2 moved by 2 over one ring of zeros: 3×3 maps
SMALL = dict(image=(4, 4), filters=2, filter_size=2, pool=(1, 3), outputs=2, channels=2, stride=2, padding=1)


@pytest.fixture(scope="module")
def generic_net():
    return ConvolutionalNetwork(**SMALL, activation="generic")


@pytest.fixture(scope="module")
def generic_route(generic_net):
    return delta_route(generic_net)


# --- the size ------------------------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 12), f=st.integers(1, 5), s=st.integers(1, 4), p=st.integers(0, 4))
def test_the_map_side_is_the_number_of_windows_or_a_refusal(n, f, s, p):
    starts = range(-p, n + p - f + 1, s)  # every window's first row inside the padded image
    fits = p < f and n + 2 * p >= f and (n + 2 * p - f) % s == 0
    if fits:
        assert output_size(n, f, s, p) == len(starts) == (n + 2 * p - f) // s + 1
        assert starts[-1] + f == n + p  # the last window ends on the padding's edge: no row dropped
    else:
        with pytest.raises(NetworkSpecError):
            output_size(n, f, s, p)


def test_a_stride_that_does_not_divide_is_refused_with_sizes_that_work():
    with pytest.raises(NetworkSpecError, match="not a multiple of 2") as caught:
        ConvolutionalNetwork((6, 6), 1, 3, pool=1, outputs=1, stride=2)
    message = str(caught.value)
    assert "use an image of 5 or 7 rows" in message and "stride 1 or 3" in message
    for image in (5, 7):
        assert ConvolutionalNetwork((image, 6), 1, 3, pool=1, outputs=1, stride=(2, 1)).convolution.map_shape[0] == (
            (image - 3) // 2 + 1)
    assert ConvolutionalNetwork((6, 6), 1, 3, pool=1, outputs=1, stride=3).convolution.map_shape == (2, 2)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"stride": 0}, "the stride must be a positive integer"),
        ({"padding": -1}, "the padding must be a whole number from 0"),
        ({"padding": 3}, "padding 3 is not less than the filter"),
        ({"channels": 0}, "the number of channels must be a positive integer"),
        ({"input_errors": "yes"}, "input_errors is True or False"),
    ],
)
def test_bad_options_raise_clear_errors(kwargs, message):
    with pytest.raises(NetworkSpecError, match=message):
        ConvolutionalNetwork(**kwargs)


def test_the_defaults_are_the_books_network():
    book = ConvolutionalNetwork()
    same = ConvolutionalNetwork(channels=1, stride=1, padding=0)
    assert book.definitions == same.definitions and book.parameters == same.parameters
    assert book.describe() == "6x6-input, 3-filter 3x3, 2x2-pool, 3-output convolutional"


# --- the layer's equations ---------------------------------------------------------------

def test_padding_contributes_no_terms_and_the_channels_are_summed(generic_net):
    z = generic_net.definition("z^F_211")  # filter 2 at (1, 1): only tap (2, 2) lands inside
    w = [generic_net.symbol(f"w^F2_{c}22") for c in (1, 2)]
    assert z == w[0] * sp.Symbol("x_111") + w[1] * sp.Symbol("x_211") + generic_net.symbol("b^F_2")
    z = generic_net.definition("z^F_122")  # the middle window reads rows 2..3, columns 2..3 of both channels
    assert len(z.args) == 2 * 4 + 1
    assert z.coeff(generic_net.symbol("w^F1_211")) == sp.Symbol("x_222")
    assert generic_net.parameter_count == 2 * 2 * 4 + 2 + 2 * 2 * 3 + 2


# --- both routes, proved -----------------------------------------------------------------

def test_routes_equal_exactly_with_the_generic_activation(generic_net):
    report = verify(generic_net, exact=True)
    assert report.ok and len(report.checks) == generic_net.parameter_count


def test_routes_equal_exactly_with_average_pooling_and_one_channel():
    net = ConvolutionalNetwork((5, 5), 1, 3, pool=2, outputs=1, activation="generic", stride=2, padding=2,
                               pooling="average")
    assert net.convolution.map_shape == (4, 4)
    report = verify(net, exact=True)
    assert report.ok and len(report.checks) == net.parameter_count


def test_routes_equal_for_every_choice_of_pooling_winners():
    net = ConvolutionalNetwork((2, 2), 1, 2, pool=(1, 3), outputs=1, activation="generic", channels=2,
                               stride=1, padding=1)
    assert net.convolution.map_shape == (3, 3)
    proofs = prove_with_winners(net, [(0, 0, 0), (1, 1, 1), (2, 0, 1)])
    assert all(all(v.values()) for v in proofs.values())


def test_derived_gradients_are_the_correlation_of_the_input_with_delta(generic_net, generic_route):
    book_d, book_g = book_unit_errors(generic_net), book_gradients(generic_net)
    assert set(generic_route.gradients) == set(book_g)
    assert all(sp.expand(generic_route.deltas[d] - book_d[d]) == 0 for d in book_d)
    assert all(sp.expand(generic_route.gradients[p] - book_g[p]) == 0 for p in book_g)


def test_routes_equal_at_50_digits_and_by_finite_differences():
    net = ConvolutionalNetwork(**SMALL)
    report = verify(net, points=1)
    assert report.ok and report.largest_difference() < 1e-18


def test_the_chain_rule_expansion_sums_to_the_direct_derivative(generic_net):
    direct = direct_route(generic_net, parameters=[generic_net.symbol("w^F2_112")])
    p = generic_net.symbol("w^F2_112")
    expansion = chain_rule_expansion(generic_net, p)
    full = generic_net.full_substitution()
    assert expansion.term_count > 1
    assert sp.expand(replace_quantities(expansion.evaluate(), full) - replace_quantities(direct.gradients[p], full)) == 0


# --- the δ of the input: the full convolution of δ with the flipped filter -----------------

def _full_convolution_claim(net: ConvolutionalNetwork) -> dict[sp.Symbol, sp.Expr]:
    """``δ^I_{c,ij} = Σ_k Σ_{u,v} δ̃^F_{k, i+u, j+v} w^{F_k}_{c, f−1−u, f−1−v}`` (0-based), δ̃ the
    δ map dilated by the stride and framed by f − 1 − p zeros, typed here independently of the layer."""
    return _full_convolution(net.convolution, net.input_maps.z, net.stride, net.padding, net.filter_size)


def _full_convolution(conv, read_units, stride, padding, size) -> dict[sp.Symbol, sp.Expr]:
    """The claim for the units ``read_units[c][i][j]`` whose outputs ``conv`` reads."""
    (sh, sw), (ph, pw), (fh, fw) = stride, padding, size
    rows, cols = conv.map_shape
    channels, H, W = len(read_units), len(read_units[0]), len(read_units[0][0])

    def dilated(k, y, x):
        y, x = y - (fh - 1 - ph), x - (fw - 1 - pw)
        if y % sh or x % sw or not (0 <= y // sh < rows and 0 <= x // sw < cols):
            return sp.S.Zero
        return sp.Symbol("delta" + conv.z[k][y // sh][x // sw].name[1:])

    return {
        sp.Symbol("delta" + read_units[c][i][j].name[1:]): sp.Add(*(
            dilated(k, i + u, j + v) * conv.w[k][c][fh - 1 - u][fw - 1 - v]
            for k in range(len(conv.w)) for u in range(fh) for v in range(fw)))
        for c in range(channels) for i in range(H) for j in range(W)
    }


@pytest.mark.parametrize("options", [SMALL, dict(image=(5, 4), filters=1, filter_size=(3, 2), pool=1, outputs=1,
                                                 stride=(2, 1), padding=(2, 1))])
def test_the_input_delta_is_the_full_convolution_of_delta_with_the_flipped_filter(options):
    net = ConvolutionalNetwork(**options, activation="generic", input_errors=True)
    route = delta_route(net)
    claim = _full_convolution_claim(net)
    assert set(claim) == set(net.input_maps.unit_errors)
    assert all(sp.expand(route.deltas[d] - claim[d]) == 0 for d in claim)
    # and it is ∂C/∂x: the cost differentiated by a pixel, through every layer
    cost = net.substitute(net.cost_expression)
    full = route.full_substitution()
    for c, i, j in [(0, 0, 0), (net.channels - 1, 2, 1)]:
        x = net.maps[c][i][j]
        d = sp.Symbol("delta" + net.input_maps.z[c][i][j].name[1:])
        assert sp.expand(replace_quantities(route.deltas[d], full) - sp.diff(cost, x)) == 0


class TwoConvolutions(LayeredModel):
    """x (4×4) → F: 2 filters 2×2 → 3×3 maps → G: 1 filter 3×3, stride 2, padding 1 →
    2×2 maps (overlapping windows) → one output: a second convolution reads the first one's K maps."""

    def __init__(self) -> None:
        act = get_activation("generic")
        self.activation, self.cost = act, get_cost("squared")
        self.maps = [ConvolutionalNetwork.pixels((4, 4))]
        self.inputs = tuple(s for m in self.maps for row in m for s in row)
        self.targets = (sp.Symbol("t_1"),)
        self.first = Convolution(2, self.maps, 2, (2, 2), act)
        self.second = Convolution(3, self.first.a, 1, (3, 3), act, stride=(2, 2), padding=(1, 1), name="G")
        self.layers = (self.first, self.second, FullyConnectedOutput(4, self.second.a, 1, act))
        self._finish()


def test_a_second_convolution_reads_the_first_ones_maps_through_the_same_protocol():
    net = TwoConvolutions()
    assert net.second.map_shape == (2, 2)
    report = verify(net, exact=True)
    assert report.ok and len(report.checks) == net.parameter_count == 2 * 4 + 2 + 2 * 9 + 1 + 4 + 1
    # δ^F = (the full convolution of δ^G with the flipped G filter) · a'(z^F)
    route = delta_route(net)
    claim = _full_convolution(net.second, net.first.z, (2, 2), (1, 1), (3, 3))
    reverse = atomizer(net)  # a'(z) as the route writes it, in the layer's quantities
    slope = {sp.Symbol("delta" + z.name[1:]): atomize(net.activation.derivative(z), reverse)
             for m in net.first.z for row in m for z in row}
    assert all(sp.expand(route.deltas[d] - claim[d] * slope[d]) == 0 for d in claim)


def test_a_wrong_claim_unflipped_is_refuted():
    net = ConvolutionalNetwork(**SMALL, activation="generic", input_errors=True)
    route = delta_route(net)
    claim = _full_convolution_claim(net)
    w = net.convolution.w
    unflip = {w[k][c][u][v]: w[k][c][1 - u][1 - v] for k in range(2) for c in range(2) for u in (0, 1) for v in (0, 1)}
    assert any(sp.expand(route.deltas[d] - e.xreplace(unflip)) != 0 for d, e in claim.items())


# --- the scalar compiled path and the array path ----------------------------------------------

def _random(model: CNNArrays, seed: int, n: int = 5):
    rng = np.random.default_rng(seed)
    params = {k: rng.standard_normal(s) for k, s in model.parameter_shapes.items()}
    X = rng.uniform(-1, 1, (n, *model.input_shape))
    T = rng.uniform(0, 1, (n, model.output_size))
    return params, X, T


ARRAY_CASES = {
    "2 channels, stride 2, padding 1, max": dict(SMALL),
    "3 channels, stride 2x1, padding 1x2, average": dict(
        image=(5, 4), filters=3, filter_size=3, pool=(3, 2), outputs=2, channels=3, stride=(2, 1),
        padding=(1, 2), pooling="average"),
    "1 channel, stride 3, padding 1, tanh": dict(
        image=(7, 7), filters=2, filter_size=3, pool=3, outputs=3, stride=3, padding=1, activation="tanh"),
}


@pytest.mark.parametrize("options", ARRAY_CASES.values(), ids=ARRAY_CASES)
def test_array_gradient_equals_the_scalar_compiled_delta_route(options):
    model = CNNArrays(**options)
    params, X, T = _random(model, 1)
    assert check_against_symbolic(model, params, X, T) < 1e-12


def test_scalar_compiled_path_equals_finite_differences():
    net = ConvolutionalNetwork(**SMALL)
    model = CNNArrays(**SMALL)
    params, X, T = _random(model, 2, n=3)
    compiled = compile_scalar(net)
    values = model.symbol_values(params)
    C, by_symbol = compiled(values, X.reshape(len(X), -1), T)
    h = 1e-6
    for p in net.parameters[::3]:
        up, down = dict(values), dict(values)
        up[p] += h
        down[p] -= h
        numeric = (compiled(up, X.reshape(len(X), -1), T)[0] - compiled(down, X.reshape(len(X), -1), T)[0]) / (2 * h)
        assert abs(numeric - by_symbol[p]) < 1e-7 * max(1.0, abs(numeric)), p


def _central(f, array: np.ndarray, index, h: float = 1e-6) -> float:
    old = array[index]
    array[index] = old + h
    up = f()
    array[index] = old - h
    down = f()
    array[index] = old
    return (up - down) / (2 * h)


@pytest.mark.parametrize("options", ARRAY_CASES.values(), ids=ARRAY_CASES)
def test_array_gradients_and_input_deltas_equal_finite_differences(options):
    model = CNNArrays(**options)
    params, X, T = _random(model, 3)
    _, grads = model.cost_and_gradient(params, X, T)

    def cost():
        return model.cost_and_gradient(params, X, T)[0]

    for name, shape in model.parameter_shapes.items():
        for index in np.ndindex(shape):
            numeric = _central(cost, params[name], index)
            assert abs(numeric - grads[name][index]) < 1e-7 * max(1.0, abs(numeric)), (name, index)
    dX = model.input_deltas(params, X, T)
    assert dX.shape == X.shape
    for index in np.ndindex(X.shape):
        numeric = _central(cost, X, index)
        assert abs(numeric - dX[index]) < 1e-7 * max(1.0, abs(numeric)), index


def _torch_cost(torch, options: dict, params: dict, X: np.ndarray, T: np.ndarray):
    """The same CNN written with torch.nn.functional (conv2d correlates, no flip)."""
    F = torch.nn.functional
    C = options.get("channels", 1)
    x = torch.tensor(X.reshape(len(X), C, *X.shape[-2:]), dtype=torch.float64, requires_grad=True)
    p = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    K = len(params["filter_bias"])
    filters = p["filters"].reshape(K, C, *params["filters"].shape[-2:])
    act = torch.tanh if options.get("activation") == "tanh" else torch.sigmoid
    aF = act(F.conv2d(x, filters, p["filter_bias"], stride=options["stride"], padding=options["padding"]))
    pool = F.avg_pool2d if options.get("pooling") == "average" else F.max_pool2d
    aP = pool(aF, options["pool"])
    aO = act(torch.einsum("nkij,mkij->nm", aP, p["out_W"]) + p["out_b"])
    cost = 0.5 * ((torch.tensor(T) - aO) ** 2).sum()
    cost.backward()
    return float(cost.detach()), {k: v.grad.numpy() for k, v in p.items()}, x.grad.numpy().reshape(X.shape)


@pytest.mark.parametrize("options", ARRAY_CASES.values(), ids=ARRAY_CASES)
def test_array_gradients_equal_torch_autograd(options):
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")
    model = CNNArrays(**options)
    params, X, T = _random(model, 4, n=7)
    C, grads = model.cost_and_gradient(params, X, T)
    C_t, grads_t, dX_t = _torch_cost(torch, options, params, X, T)
    assert C == pytest.approx(C_t, rel=1e-12)
    for name in params:
        np.testing.assert_allclose(grads[name], grads_t[name], rtol=1e-10, atol=1e-12, err_msg=name)
    np.testing.assert_allclose(model.input_deltas(params, X, T), dX_t, rtol=1e-10, atol=1e-12)


@st.composite
def _conv_shapes(draw):
    """A valid CNN: side n, filter f, stride s, padding p < f with s dividing n + 2p − f."""
    f, s, p = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(0, 2))
    p = min(p, f - 1)
    n = draw(st.integers(max(1, f - 2 * p), 7).filter(lambda n: (n + 2 * p - f) % s == 0))
    side = (n + 2 * p - f) // s + 1
    pool = draw(st.sampled_from([d for d in range(1, side + 1) if side % d == 0]))
    return dict(image=(n, n), filters=draw(st.integers(1, 2)), filter_size=f, pool=pool,
                outputs=draw(st.integers(1, 2)), channels=draw(st.integers(1, 3)), stride=s, padding=p,
                pooling=draw(st.sampled_from(["max", "average"])))


@settings(max_examples=15, deadline=None)
@given(options=_conv_shapes(), seed=st.integers(0, 2**16))
def test_for_every_shape_the_array_path_is_torchs_autograd(options, seed):
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")
    model = CNNArrays(**options)
    params, X, T = _random(model, seed, n=3)
    C, grads = model.cost_and_gradient(params, X, T)
    C_t, grads_t, dX_t = _torch_cost(torch, dict(options, pool=model.pool), params, X, T)
    assert C == pytest.approx(C_t, rel=1e-12)
    for name in params:
        np.testing.assert_allclose(grads[name], grads_t[name], rtol=1e-9, atol=1e-12, err_msg=name)
    np.testing.assert_allclose(model.input_deltas(params, X, T), dX_t, rtol=1e-9, atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(options=_conv_shapes(), input_errors=st.booleans())
def test_the_size_guard_counts_the_terms_the_network_builds(options, input_errors):
    net = ConvolutionalNetwork(**options, input_errors=input_errors)

    def terms(expr) -> int:  # a sum's terms, a max's inputs, 1 for anything else
        return len(expr.args) if isinstance(expr, (sp.Add, PoolMax)) else 1

    built = len(net.inputs) + sum(terms(e) for e in net.definitions.values())
    assert cnn_terms(net.image_shape, net.filters, net.filter_size, net.pool, net.outputs, channels=net.channels,
                     stride=net.stride, padding=net.padding, input_layer=input_errors) == built


CASES = json.loads(FIXTURE.read_text(encoding="utf-8"))["cases"]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["name"])
def test_array_gradients_equal_the_stored_torch_gradients(case):
    model = CNNArrays(**{k: tuple(v) if isinstance(v, list) else v for k, v in case["options"].items()})
    params = {k: np.array(v) for k, v in case["params"].items()}
    X, T = np.array(case["X"]), np.array(case["T"])
    C, grads = model.cost_and_gradient(params, X, T)
    assert C == pytest.approx(case["cost_value"], rel=1e-12)
    for name, expected in case["gradient"].items():
        np.testing.assert_allclose(grads[name], np.array(expected), rtol=1e-10, atol=1e-12, err_msg=name)
    np.testing.assert_allclose(model.input_deltas(params, X, T), np.array(case["input_gradient"]),
                               rtol=1e-10, atol=1e-12)


def test_the_fixture_covers_channels_stride_padding_and_both_poolings():
    options = [c["options"] for c in CASES]
    assert any(o.get("channels", 1) > 1 for o in options)
    assert all(o["stride"] != 1 and o["padding"] != 0 for o in options)
    assert {o.get("pooling", "max") for o in options} == {"max", "average"}


def test_images_of_the_wrong_channel_count_are_refused():
    model = CNNArrays(**SMALL)
    with pytest.raises(DataError, match=r"reads \(n, 2, 4, 4\)"):
        model.predict(_random(model, 0)[0], np.zeros((3, 4, 4)))


# --- training ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def digits8x8():
    pytest.importorskip("sklearn", reason="the 8x8 digits come with scikit-learn")
    from symbackprop.numeric.datasets import load_digits8x8

    return load_digits8x8()


def _digits(data, channels: int):
    X, test_X = data.X.reshape(-1, 8, 8), data.test_X.reshape(-1, 8, 8)
    if channels == 2:  # the digit and its negative: two maps each filter reads
        X, test_X = np.stack([X, 1 - X], 1), np.stack([test_X, 1 - test_X], 1)
    return data, X, test_X


@pytest.mark.parametrize("channels, epochs", [(1, 8), (2, 8)])
def test_training_on_the_8x8_digits_with_stride_and_padding_reaches_85_percent_held_out(channels, epochs, digits8x8):
    from symbackprop.numeric.train import train

    data, X, test_X = _digits(digits8x8, channels)
    # 8x8 → 6 filters 4x4, stride 2, padding 1 → 4x4 maps → 2x2 max pooling → 10 sigmoid outputs
    model = CNNArrays((8, 8), 6, 4, pool=2, outputs=10, channels=channels, stride=2, padding=1)
    result = train(model, X, data.T, eta=0.3, epochs=epochs, batch_size=16, seed=0)
    assert result.problem is None
    accuracy = (model.predict(result.params, test_X).argmax(axis=1) == data.test_labels).mean()
    assert accuracy >= 0.85, accuracy


def test_the_book_digits_train_with_padding_through_the_catalogue():
    from symbackprop.numeric.catalogue import dataset_spec
    from symbackprop.numeric.train import train

    spec = dataset_spec("cnn123")
    data = spec.load()
    model = spec.model("array", padding=1, pooling="average")
    assert model.map_shape == (6, 6) and model.parameter_shapes["out_W"] == (3, 3, 3, 3)
    result = train(model, data.X, data.T, eta=0.2, epochs=150, seed=0)
    assert (model.predict(result.params, data.X).argmax(axis=1) == data.labels).all()


def test_cnn_from_spec_takes_the_options():
    net = cnn_from_spec("5x5,2,3x3,3x3,1", channels=2, stride=2, padding=1)
    assert net.convolution.map_shape == (3, 3) and net.channels == 2


# --- the command line --------------------------------------------------------------------------------

def test_cli_verify_cnn_with_channels_stride_and_padding(capsys):
    from symbackprop.cli import main

    args = ["verify", "--cnn", "4x4,2,2x2,1x3,1", "--channels", "2", "--stride", "2", "--padding", "1"]
    assert main([*args, "--activation", "generic", "--exact"]) == 0
    out = capsys.readouterr().out
    assert "w^F2_212" in out and "all 25 checks agree" in out


@pytest.mark.parametrize(
    "args, message",
    [
        (["verify", "--cnn", "6x6,1,3x3,1x1,1", "--stride", "2"], "use an image of 5 or 7 rows"),
        (["verify", "--stride", "2"], "--stride is an option of --cnn"),
        (["verify", "--cnn", "--padding", "3"], "padding 3 is not less than the filter"),
        (["verify", "--cnn", "--stride", "2x1x1"], "is not a size"),
        (["train", "digits01", "--padding", "1"], "the digits01 model has no padding option"),
        (["train", "cnn123", "--padding", "1", "--init", "book"], "needs (3, 3, 3, 3)"),
    ],
)
def test_cli_refuses_bad_convolution_options_in_one_line(args, message, capsys):
    from symbackprop.cli import main

    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_cli_trains_cnn123_with_stride(capsys):
    from symbackprop.cli import main

    assert main(["train", "cnn123", "--stride", "3", "--pooling", "average", "--epochs", "300", "--eta", "0.5"]) == 0
    out = capsys.readouterr().out
    assert "3-filter 3x3 stride 3, 2x2 average-pool" in out
    assert "accuracy 100.00% (96/96)" in out


# --- the derivation document --------------------------------------------------------------------------

def test_the_document_proves_both_backward_results_with_the_engines_route():
    from symbackprop.documents.cnn import STRIDED, strided_claims, strided_derivation

    doc = strided_derivation()
    filter_step, input_step = doc.steps[-2], doc.steps[-1]
    assert "yes, for all 36 filter weights" in filter_step.note
    assert "yes, for all 50 pixels" in input_step.note
    # the document's claim is the full convolution typed independently above, entry by entry
    net = ConvolutionalNetwork(**STRIDED)
    _, maps = strided_claims(net)
    typed = _full_convolution_claim(net)
    for c, terms in enumerate(maps):
        full = sum((t.doit() for t in terms[1:]), terms[0].doit().as_mutable())
        for i, j in np.ndindex(net.image_shape):
            assert sp.expand(full[i, j] - typed[sp.Symbol(f"delta^I_{c + 1}{i + 1}{j + 1}")]) == 0


@pytest.mark.parametrize("option", ["--stride", "--padding"])
def test_cli_refuses_stride_and_padding_for_a_data_file(option, tmp_path, capsys):
    from symbackprop.cli import main

    path = tmp_path / "line.csv"
    path.write_text("u,y\n" + "".join(f"{u},{2 * u}\n" for u in range(6)))
    assert main(["train", str(path), "--targets", "y", option, "1"]) == 2
    err = capsys.readouterr().err
    assert f"{option} is an option of the cnn123 data set" in err and err.count("\n") == 1


@pytest.mark.parametrize("spec", ["٦x٦,3,3x3,2x2,3", "6_0x6,3,3x3,2x2,3", "+6x6,3,3x3,2x2,3", "6x6,3,3x3,2x2,"])
def test_a_cnn_spec_reads_sizes_in_ascii_digits_only(spec):
    # int() alone would read "٦" as 6 and "6_0" as 60
    with pytest.raises(NetworkSpecError, match="image,filters,filter,pool,outputs"):
        cnn_from_spec(spec)
