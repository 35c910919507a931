"""Wrong gradient formulas located and explained: a corpus of claims written as
people get them wrong, each diagnosed with its pattern, and property tests
that apply a pattern to the true gradient of a random network and ask for it
back (and for the honest "terms not shared" when two mistakes are combined).
"""

from __future__ import annotations

import functools
import random

import pytest
import sympy as sp
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from symbackprop import Network
from symbackprop.cli import main
from symbackprop.engine.routes import chain_rule_expansion, delta_route, direct_route
from symbackprop.errors import ExpressionError, UnknownNameError
from symbackprop.functions.activations import get_activation
from symbackprop.functions.formula_text import plain_formula
from symbackprop.proof import mistakes as dg
from symbackprop.proof.claims import check_claims, split_claim
from symbackprop.proof.diagnose import diagnose
from symbackprop.proof.verify import prove_equal


@functools.cache
def network(sizes: tuple[int, ...], activation: str = "sigmoid", output: str | None = None,
            cost: str = "squared") -> Network:
    return Network(list(sizes), activation=activation, output=output, cost=cost)


BOOK = (12, 3, 2)
SOFTMAX = "2-2-2 softmax"

# --- the corpus: one claim per mistake, as a person writes it -----------------------

CORPUS = [
    # (network, parameter, claim, pattern, a fragment the explanation must hold)
    (BOOK, "w^3_11", "(t_1 - a^3_1)*a^3_1*(1 - a^3_1)*a^2_1", dg.CONSTANT, "sign is wrong"),
    (BOOK, "w^3_11", "2*(a^3_1 - t_1)*a^3_1*(1 - a^3_1)*a^2_1", dg.CONSTANT, "the ½ of the cost"),
    (BOOK, "b^3_2", "(a^3_2 - t_2)*a^3_2*(1 - a^3_2)/2", dg.CONSTANT, "½ ×"),
    (BOOK, "w^3_11", "(a^3_1 - t_1)*a^2_1", dg.MISSING, "sigmoid'(z^3_1) = a^3_1*(1 - a^3_1) is missing"),
    (BOOK, "w^2_11", "delta^2_1", dg.MISSING, "the input x_1"),
    (BOOK, "b^3_1", "delta^3_1*a^2_1", dg.EXTRA, "a^2_1"),
    (BOOK, "w^2_11", "(delta^3_1*w^3_11 + delta^3_2*w^3_12)*a^2_1*(1 - a^2_1)*x_1", dg.TRANSPOSED,
     "w^3_12 where w^3_21 belongs"),
    # W^3 is 2×3: w^3_31 does not exist, its transpose does
    (BOOK, "w^2_31", "(delta^3_1*w^3_31 + delta^3_2*w^3_32)*a^2_3*(1 - a^2_3)*x_1", dg.TRANSPOSED,
     "w^3_31 where w^3_13 belongs"),
    (BOOK, "w^2_21", "delta^2_1*x_2", dg.TRANSPOSED, "w^2_12"),
    (BOOK, "b^2_1", "delta^3_1", dg.OTHER_PARAMETER, "∂C/∂b^3_1"),
    (BOOK, "w^2_11", "delta^2_2*x_1", dg.OTHER_PARAMETER, "∂C/∂w^2_21"),
    ((2, 2, 1), "w^3_11", "(a^3_1 - t_1)*a^3_1*(1 - a^3_1)*a^2_1", dg.OTHER_ACTIVATION,
     "sigmoid's derivative a^3_1*(1 - a^3_1) where tanh's"),
    (BOOK, "w^2_11", "delta^3_1*w^3_11*a^2_1*(1 - a^2_1)*x_1", dg.DROPPED_PATH, "a^2_1 → z^3_2 → a^3_2 → C"),
    (BOOK, "w^3_11", "(t_1 - a^3_1)*a^2_1", dg.UNSHARED, "which the gradient lacks"),
    # softmax with the categorical cross-entropy, its Jacobian taken for the sigmoid's a(1 − a)
    (SOFTMAX, "w^3_11", "-t_1*(1 - a^3_1)*a^2_1", dg.OTHER_ACTIVATION, "sigmoid's derivative a^3_1*(1 - a^3_1) for the softmax"),
    (SOFTMAX, "w^2_11", "(-t_1*(1 - a^3_1)*w^3_11 - t_2*(1 - a^3_2)*w^3_21)*a^2_1*(1 - a^2_1)*x_1", dg.OTHER_ACTIVATION,
     "the 2 paths across units"),
]


def _net(sizes):
    if sizes == SOFTMAX:
        return network((2, 2, 2), "sigmoid", "softmax", "categorical-cross-entropy")
    return network(sizes, "tanh") if sizes == (2, 2, 1) else network(sizes)


@pytest.mark.parametrize("sizes,parameter,claim,pattern,fragment", CORPUS)
def test_corpus_of_wrong_claims_is_diagnosed(sizes, parameter, claim, pattern, fragment):
    d = diagnose(_net(sizes), parameter, claim)
    assert d.verdict == "wrong"
    assert d.diagnosis.pattern == pattern, d.text()
    assert fragment in d.diagnosis.text, d.diagnosis.text


@pytest.mark.parametrize("sizes,parameter,claim,pattern,fragment",
                         [c for c in CORPUS if "w^3_31" not in c[2]])
def test_the_identity_of_a_diagnosis_holds(sizes, parameter, claim, pattern, fragment):
    """The identity a diagnosis rests on, written out in inputs and parameters,
    is checked at a random point at 50 digits, apart from the proof."""
    net = _net(sizes)
    d = diagnose(net, parameter, claim)
    left, right = d.diagnosis.identity
    full = delta_route(net).full_substitution()
    gap = net.under_target_constraint(net.substitute(left).xreplace(full) - net.substitute(right).xreplace(full))
    rng = random.Random(7)
    point = {s: sp.Rational(rng.randint(1, 9), 10) for s in sorted(gap.free_symbols, key=str)}
    assert abs(sp.N(gap.xreplace(point), 50)) < 1e-40


@pytest.mark.parametrize("sizes,parameter,claim", [
    (BOOK, "w^3_11", "(a^3_1 - t_1)*a^3_1*(1 - a^3_1)*a^2_1"),
    (BOOK, "w^2_11", "(delta^3_1*w^3_11 + delta^3_2*w^3_21)*a^2_1*(1 - a^2_1)*x_1"),
    (BOOK, "w^2_1,12", "delta^2_1*x_12"),
    ((2, 2, 1), "w^2_12", "delta^3_1*w^3_11*(1 - a^2_1^2)*x_2"),
])
def test_right_claims_are_accepted(sizes, parameter, claim):
    d = diagnose(_net(sizes), parameter, claim)
    assert d.verdict == "right" and d.diagnosis is None and d.point is None


def test_the_point_is_exact_rationals_where_claim_and_gradient_differ():
    net = network(BOOK)
    d = diagnose(net, "w^2_11", "delta^3_1*w^3_11*a^2_1*(1 - a^2_1)*x_1")
    assert all(isinstance(v, sp.Rational) for v in d.point.values())
    assert set(d.point) == set(net.inputs + net.targets + net.parameters)
    # Both values recomputed from the written-out expressions at the exact point.
    truth = direct_route(net, ["w^2_11"]).gradients[net.parameter("w^2_11")]
    claim = net.substitute(d.claim).xreplace(delta_route(net).full_substitution())
    want, got = sp.N(truth.xreplace(d.point), 50), sp.N(claim.xreplace(d.point), 50)
    assert abs(want - d.true_value) < 1e-40 and abs(got - d.claimed_value) < 1e-40
    assert abs(got - want) > 1e-6


def test_generic_activation_diagnoses_hold_for_every_activation():
    net = network((2, 2, 1), "generic")
    d = diagnose(net, "w^2_11", "(a^3_1 - t_1)*a'(z^3_1)*w^3_11*x_1")
    assert d.diagnosis.pattern == dg.MISSING and "a'(z^2_1)" in d.diagnosis.text
    assert diagnose(net, "w^2_11", "(a^3_1 - t_1)*a'(z^3_1)*w^3_11*a'(z^2_1)*x_1").verdict == "right"


def test_softmax_with_categorical_cross_entropy():
    net = network((2, 2, 2), "sigmoid", "softmax", "categorical-cross-entropy")
    assert diagnose(net, "w^3_11", "(a^3_1 - t_1)*a^2_1").verdict == "right"
    d = diagnose(net, "w^3_11", "(t_1 - a^3_1)*a^2_1")
    assert d.diagnosis.pattern == dg.CONSTANT and "sign" in d.diagnosis.text


def test_a_weight_that_neither_exists_nor_explains_is_refused():
    with pytest.raises(UnknownNameError, match="w\\^3_31 \\(the network has w\\^3_13\\)"):
        diagnose(network(BOOK), "w^2_11", "delta^3_1*w^3_31*x_1")


def test_report_prints_as_text_and_latex():
    d = diagnose(network(BOOK), "w^3_11", "(a^3_1 - t_1)*a^2_1")
    assert "missing factor" in d.text() and "the claim is" in d.text()
    assert r"\frac{\partial C}{\partial w^{3}_{11}}" in d.latex()
    assert d._repr_latex_().startswith("$$")


# --- property tests: a pattern applied to the truth is named back --------------------

def truth_in_layer_quantities(net, p):
    route = delta_route(net)
    written = {}
    for delta, equation in route.deltas.items():
        written[delta] = equation.xreplace(written)
    return route.gradients[p].xreplace(written)


def slope(net, layer, j):
    act = layer.activation
    z, a = layer.z[j], layer.a[j]
    return act.derivative(z).xreplace({act(z): a})


nets = st.tuples(
    st.tuples(st.integers(1, 2), st.integers(1, 2), st.integers(1, 2)),
    st.sampled_from(["sigmoid", "tanh"]),
)
PROPERTY = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(nets, st.data())
def test_constant_factor_is_named(spec, data):
    net = network(*spec)
    p = data.draw(st.sampled_from(net.parameters))
    k = data.draw(st.sampled_from([sp.Integer(-1), sp.Integer(2), sp.Rational(1, 2), sp.Integer(3)]))
    d = diagnose(net, p, k * truth_in_layer_quantities(net, p))
    assert d.diagnosis.pattern == dg.CONSTANT
    assert d.diagnosis.identity[1] == k * delta_route(net).gradients[p]


@PROPERTY
@given(nets, st.data())
def test_missing_or_extra_local_factor_is_named(spec, data):
    net = network(*spec)
    p = data.draw(st.sampled_from(net.parameters))
    layer = data.draw(st.sampled_from(net.layers))
    j = data.draw(st.integers(0, layer.width - 1))
    factor = data.draw(st.sampled_from([slope(net, layer, j), *layer.W[j, :], *net.inputs]))
    missing = data.draw(st.booleans())
    truth = truth_in_layer_quantities(net, p)
    claim = truth / factor if missing else truth * factor
    d = diagnose(net, p, claim)
    assert d.diagnosis.pattern == (dg.MISSING if missing else dg.EXTRA), d.text()
    # the factor named is the one removed or added
    named = d.diagnosis.identity[0] / d.claim if missing else d.diagnosis.identity[1] / delta_route(net).gradients[p]
    assert sp.simplify(named - factor) == 0


@settings(PROPERTY, max_examples=6)
@given(st.sampled_from(["sigmoid", "tanh"]), st.data())
def test_transposed_weights_are_named(activation, data):
    net = network((1, 2, 2, 2), activation)
    p = data.draw(st.sampled_from(net.parameters))
    l = data.draw(st.sampled_from([3, 4]))
    W = net.layer(l).W
    claim = truth_in_layer_quantities(net, p).xreplace({W[j, i]: W[i, j] for j in range(2) for i in range(2)})
    assume(claim != truth_in_layer_quantities(net, p))
    d = diagnose(net, p, claim)
    assert d.diagnosis.pattern == dg.TRANSPOSED, d.text()


@PROPERTY
@given(nets, st.data())
def test_gradient_of_another_parameter_is_named(spec, data):
    net = network(*spec)
    p = data.draw(st.sampled_from(net.parameters))
    # a weight for a weight, a bias for a bias: ∂C/∂w^l_ji = ∂C/∂b^l_j · a^{l−1}_i is a missing factor
    same_kind = [q for q in net.parameters if q != p and q.name[0] == p.name[0]]
    assume(same_kind)
    q = data.draw(st.sampled_from(same_kind))
    d = diagnose(net, p, truth_in_layer_quantities(net, q))
    assert d.diagnosis.pattern in (dg.OTHER_PARAMETER, dg.TRANSPOSED), d.text()
    assert f"∂C/∂{q}" in d.diagnosis.text


@PROPERTY
@given(nets, st.data())
def test_another_activations_derivative_is_named(spec, data):
    sizes, activation = spec
    net = network(sizes, activation)
    p = data.draw(st.sampled_from(net.parameters))
    other = "tanh" if activation == "sigmoid" else "sigmoid"
    layer = data.draw(st.sampled_from(net.layers))
    swap = {slope(net, layer, j): get_activation(other).derivative(layer.z[j]).xreplace(
        {get_activation(other)(layer.z[j]): layer.a[j]}) for j in range(layer.width)}
    truth = truth_in_layer_quantities(net, p)
    claim = truth.xreplace(swap)
    assume(claim != truth)
    d = diagnose(net, p, claim)
    assert d.diagnosis.pattern == dg.OTHER_ACTIVATION, d.text()
    assert f"{other}'s derivative" in d.diagnosis.text and f"layer {layer.index}" in d.diagnosis.text


@settings(PROPERTY, max_examples=8)
@given(st.sampled_from([(1, 1, 2), (1, 2, 2), (2, 1, 2), (1, 2, 1, 2)]), st.sampled_from(["sigmoid", "tanh"]),
       st.data())
def test_a_dropped_chain_rule_path_is_named(sizes, activation, data):
    net = network(sizes, activation)
    candidates = [p for p in net.parameters if len(chain_rule_expansion(net, p).paths) > 1]
    p = data.draw(st.sampled_from(candidates))
    expansion = chain_rule_expansion(net, p)
    k = data.draw(st.integers(0, len(expansion.paths) - 1))
    dropped = sp.Mul(*(expansion.values[f] for f in expansion.paths[k]))
    d = diagnose(net, p, truth_in_layer_quantities(net, p) - dropped)
    assert d.diagnosis.pattern == dg.DROPPED_PATH, d.text()
    # the path named is the one dropped
    assert prove_equal(net.substitute(d.diagnosis.identity[0] - d.claim), net.substitute(dropped))


@PROPERTY
@given(nets, st.data())
def test_two_mistakes_get_the_honest_answer(spec, data):
    net = network(*spec)
    p = data.draw(st.sampled_from(net.parameters))
    truth = truth_in_layer_quantities(net, p)
    layer = data.draw(st.sampled_from(net.layers))
    j = data.draw(st.integers(0, layer.width - 1))
    factor = data.draw(st.sampled_from([slope(net, layer, j), layer.W[j, 0], net.inputs[0]]))
    # wrong sign and a missing factor, or a factor 2 and an extra one
    claim = data.draw(st.sampled_from([-truth / factor, 2 * truth * factor]))
    d = diagnose(net, p, claim)
    assert d.diagnosis.pattern == dg.UNSHARED, d.text()
    assert "no single mistake" in d.diagnosis.text


# --- a sheet of claims ---------------------------------------------------------------------

SHEET = r"""
# homework 4: the 12-3-2 network, sigmoid, squared cost
\frac{\partial C}{\partial w^{3}_{11}} = (a^{3}_{1} - t_{1}) a^{3}_{1} \left(1 - a^{3}_{1}\right) a^{2}_{1}
∂C/∂w^3_12 = (a^3_1 - t_1) a^2_2
dC/db^3_2 = (t_2 - a^3_2) \cdot a^3_2 (1 - a^3_2)
\partial C / \partial w^2_{11} = (\delta^3_1 w^3_{11} + \delta^3_2 w^3_{12}) a^2_1 (1 - a^2_1) x_{1}
"""


def test_a_sheet_of_claims_gets_a_diagnosis_each():
    sheet = check_claims(network(BOOK), SHEET)
    assert [(r.line, r.diagnosis.verdict) for r in sheet.rows] == [(3, "right"), (4, "wrong"), (5, "wrong"), (6, "wrong")]
    assert [r.diagnosis.diagnosis.pattern for r in sheet.rows[1:]] == [dg.MISSING, dg.CONSTANT, dg.TRANSPOSED]
    assert not sheet.ok and "lines 4, 5, 6" in sheet.summary()


@pytest.mark.parametrize("text,plain", [
    (r"\frac{1}{2} (a^3_1 - t_1)", "((1)/(2))*(a^3_1 - t_1)"),
    (r"\delta^{3}_{1} w^{3}_{1,12}", "delta^{3}_{1}*w^{3}_{1,12}"),
    (r"\sigma'(z^2_1) x_{2}", "sigma'(z^2_1)*x_2"),
])
def test_latexish_formulas_become_plain(text, plain):
    assert plain_formula(text) == plain


def test_sigma_prime_in_a_claim_is_the_sigmoid_derivative():
    d = diagnose(network(BOOK), "w^3_11", plain_formula(r"(a^3_1 - t_1) \sigma'(z^3_1) a^2_1"))
    assert d.verdict == "right"


def test_a_line_that_is_not_a_claim_names_its_number():
    with pytest.raises(ExpressionError, match="^line 3: a claim reads"):
        check_claims(network((2, 1)), "# sheet\ndC/db^2_1 = delta^2_1\nnonsense\n")
    with pytest.raises(ExpressionError):
        split_claim("∂C/∂ = 1")


def test_cli_verify_claim_prints_the_diagnosis(capsys):
    assert main(["verify", "--layers", "2,2,1", "--param", "w^3_11", "--claim", "(a^3_1 - t_1)*a^2_1"]) == 1
    out = capsys.readouterr().out
    assert "missing factor: the factor sigmoid'(z^3_1)" in out and "exact rationals" in out


def test_cli_claims_exit_codes(tmp_path, capsys):
    right = tmp_path / "right.txt"
    right.write_text("dC/db^3_1 = delta^3_1\n∂C/∂w^3_11 = delta^3_1 a^2_1\n", encoding="utf-8")
    wrong = tmp_path / "wrong.txt"
    wrong.write_text(SHEET, encoding="utf-8")
    bad = tmp_path / "bad.txt"
    bad.write_text("dC/db^3_1 = delta^3_1\ndC/db^3_1 = delta^3_1 +\n", encoding="utf-8")
    assert main(["verify", "--layers", "2,2,1", "--claims", str(right)]) == 0
    assert main(["verify", "--claims", str(wrong), "--full-point"]) == 1
    out = capsys.readouterr().out
    assert "missing factor" in out and "w^2_1,12 = " in out
    assert main(["verify", "--layers", "2,2,1", "--claims", str(bad)]) == 2
    assert "line 2:" in capsys.readouterr().err



def test_the_wrong_claims_document_holds_proved_identities():
    from symbackprop.documents.wrong_claims import wrong_claims

    net = network(BOOK)
    full = delta_route(net).full_substitution()
    doc = wrong_claims()
    assert len(doc.steps) == 4
    for step in doc.steps[1:]:
        (partial, claim, relation), (left, right) = step.equations
        assert relation == "≠"
        gradient = direct_route(net, [partial.args[1]]).gradients[partial.args[1]]
        written = net.substitute(claim).xreplace(full)
        assert prove_equal(written, gradient) is None
        assert prove_equal(net.substitute(left).xreplace(full), net.substitute(right).xreplace(full))


@pytest.mark.parametrize("claim", ["δ^3_1 a^2_1", r"\delta^{3}_{1} \cdot a^{2}_{1}", "delta^3_1*a^2_1"])
def test_verify_claim_reads_the_claim_as_a_sheet_does(claim, capsys):
    # ∂C/∂w^3_11 = δ^3_1 a^2_1, typed in the book's letters, in LaTeX or plain
    assert main(["verify", "--claim", claim, "--param", "w^3_11"]) == 0
    assert main(["verify", "--claim", claim.replace("a^2_1", "a^2_2").replace("a^{2}_{1}", "a^{2}_{2}"),
                 "--param", "w^3_11"]) == 1
    assert "the gradient of another parameter" in capsys.readouterr().out
