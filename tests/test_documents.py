"""Derivation documents: their formulas are the engine's objects, the checked-in
files are current, and bad input gets one clear line."""

from __future__ import annotations

import itertools
import re
import sys
import types
from pathlib import Path

import pytest
import sympy as sp

from symbackprop import Network, SizeLimitError, UnknownNameError, delta_route, direct_route, prove_equal
from symbackprop.cli import main
from symbackprop.documents.backprop import direct_steps, network_derivation
from symbackprop.documents.derivation import Derivation, Step, latex_prose, text_prose
from symbackprop.documents.topics import (
    PROVIDERS,
    TOPICS,
    all_documents,
    cross_entropy,
    neuron_and_activations,
    render_documents,
)
from symbackprop.engine.index_rules import (
    index_rules,
    instantiate,
    matrix_form_entry,
    sigmoid_cross_entropy_rule,
)
from symbackprop.engine.routes import chain_rule_expansion
from symbackprop.functions.activations import generic_a, get_activation, sigmoid
from symbackprop.notation.latex import DISPLAY_LIMIT
from symbackprop.notation.symbols import COST, Partial

ROOT = Path(__file__).resolve().parent.parent


def step(doc: Derivation, title: str) -> Step:
    (found,) = [s for s in doc.steps if s.title.startswith(title)]
    return found


@pytest.fixture(scope="module")
def doc221():
    net = Network([2, 2, 1])
    return net, network_derivation(net, "w^2_11")


def test_delta_steps_hold_the_engines_derived_deltas(doc221):
    net, doc = doc221
    route = delta_route(net)
    shown = {lhs: rhs for lhs, rhs in step(doc, "The recurrence for this network").equations if lhs.is_Symbol}
    hidden = {d: route.deltas[d] for d in net.layer(2).unit_errors}
    assert shown == hidden
    output = dict(e for e in step(doc, "Output layer").equations if e[0].is_Symbol)
    assert output == {net.symbol("delta^3_1"): route.deltas[net.symbol("delta^3_1")]}


def test_matrix_instance_multiplies_out_to_the_derived_deltas(doc221):
    net, doc = doc221
    route = delta_route(net)
    (lhs, rhs), = [e for e in step(doc, "The recurrence for this network").equations if not e[0].is_Symbol]
    explicit = rhs.doit().as_explicit()
    for delta, entry in zip(lhs, explicit):
        assert sp.expand(entry - route.deltas[delta]) == 0


def test_verdict_lists_every_gradient_of_the_delta_route(doc221):
    net, doc = doc221
    route = delta_route(net)
    verdict = step(doc, "Verdict")
    assert dict(verdict.equations) == {Partial(COST, p): g for p, g in route.gradients.items()}
    assert "agree" in verdict.note and "9 parameters" in verdict.note


def test_direct_route_steps_evaluate_to_the_direct_derivative(doc221):
    net, doc = doc221
    w = net.symbol("w^2_11")
    (target, paths), = step(doc, "Paths from").equations
    assert target == Partial(COST, w)
    factors = step(doc, "Local derivatives").equations
    evaluated = paths.xreplace(dict(factors))
    truth = direct_route(net, [w]).gradients[w]
    assert prove_equal(net.substitute(evaluated), truth)
    (_, shown), = step(doc, "The direct derivative").equations
    assert prove_equal(net.substitute(shown), truth)


def test_chain_rule_paths_keep_the_books_order_from_C_to_the_weight(doc221):
    net, doc = doc221
    (_, paths), = step(doc, "Paths from").equations
    assert paths.args[0].numerator == COST and paths.args[-1].denominator == net.symbol("w^2_11")
    assert doc.formulas()[step_index(doc, "Paths from")].count(r"\partial C") == 2  # lhs and first factor


def step_index(doc: Derivation, title: str) -> int:
    count = 0
    for s in doc.steps:
        if s.title.startswith(title):
            return count
        count += len(s.equations)
    raise AssertionError(title)


def test_named_quantities_stay_atoms_unless_expanded():
    net = Network([2, 2, 1])
    plain = network_derivation(net)
    gradient_step = step(plain, "The gradient by")
    assert all(not rhs.has(sigmoid) for _, rhs in gradient_step.equations)
    expanded = step(network_derivation(net, expand=True), "The gradient by")
    allowed = set(net.inputs + net.targets + net.parameters)
    written_out = expanded.equations[-1][1]
    assert written_out.free_symbols <= allowed and written_out.has(sigmoid)
    w = net.symbol("w^2_11")
    assert prove_equal(written_out, direct_route(net, [w]).gradients[w])


def test_general_rules_are_the_books_formulas():
    l, i, j, L = (sp.Symbol(s, integer=True, positive=True) for s in "lijL")
    w, a, z, d, t, n = (sp.IndexedBase(s) for s in ("w", "a", "z", "delta", "t", "n"))
    rules = index_rules()
    # Chapter 4: ∂C/∂w^l_ji = δ^l_j a^{l−1}_i, ∂C/∂b^l_j = δ^l_j,
    # δ^L_j = (a^L_j − t_j) a'(z^L_j), δ^l_i = (Σ_j δ^{l+1}_j w^{l+1}_ji) a'(z^l_i).
    assert rules["weight"].result == d[l, j] * a[l - 1, i]
    assert rules["bias"].result == d[l, j]
    assert rules["output"].result == (a[L, j] - t[j]) * generic_a(z[L, j]).diff(z[L, j])
    book = sp.Sum(d[l + 1, j] * w[l + 1, j, i], (j, 1, n[l + 1])) * generic_a(z[l, i]).diff(z[l, i])
    assert rules["recurrence"].result == book
    assert matrix_form_entry() == book


@pytest.mark.parametrize("sizes", [[2, 2, 1], [3, 2, 2, 2], [1, 3, 1, 2]])
def test_general_rules_instantiate_to_the_engines_route(sizes):
    net = Network(sizes, activation="generic")
    route = delta_route(net)
    rules = index_rules()
    for layer in net.layers:
        for j, (delta, width_in) in enumerate(zip(layer.unit_errors, [len(layer.inputs)] * layer.width), start=1):
            if layer is net.output_layer:
                assert instantiate(rules["output"].result, net, j=j) == route.deltas[delta]
            else:
                assert sp.expand(instantiate(rules["recurrence"].result, net, l=layer.index, i=j)
                                 - route.deltas[delta]) == 0
            assert instantiate(rules["bias"].result, net, l=layer.index, j=j) == route.gradients[layer.b[j - 1]]
            for i in range(1, width_in + 1):
                weight = layer.W[j - 1, i - 1]
                assert instantiate(rules["weight"].result, net, l=layer.index, j=j, i=i) == route.gradients[weight]


def test_activation_derivatives_are_written_in_outputs_as_the_book_does():
    doc = neuron_and_activations()
    z = sp.Symbol("z")
    slopes = {lhs.expr.func: rhs for s in doc.steps for lhs, rhs in s.equations if isinstance(lhs, sp.Derivative)}
    assert slopes[sigmoid] == sigmoid(z) * (1 - sigmoid(z))
    assert slopes[sp.tanh] == 1 - sp.tanh(z) ** 2
    # …and they are the true derivatives of the written-out functions.
    assert sp.simplify(slopes[sigmoid].rewrite(sp.exp) - sp.diff(1 / (1 + sp.exp(-z)), z)) == 0
    assert sp.simplify(slopes[sp.tanh] - sp.diff(sp.tanh(z), z)) == 0


def test_unit_step_document_gives_the_engines_reason():
    with pytest.raises(Exception) as raised:
        get_activation("step").require_trainable()
    why = step(neuron_and_activations(), "Why the unit step")
    assert str(raised.value)[1:] in why.note
    assert any(rhs.has(sp.DiracDelta) for _, rhs in why.equations)


def test_cross_entropy_sigmoid_cancels_to_a_minus_t():
    doc = cross_entropy()
    a, t = sp.Symbol("a^3_1"), sp.Symbol("t_1")
    (_, derived), (_, cancelled) = step(doc, "The output unit error").equations
    assert cancelled == a - t  # the book: δ^L_j = a^L_j − t_j
    assert derived != cancelled and sp.cancel(derived - cancelled) == 0


def test_cross_entropy_rule_for_any_width_is_a_minus_t_and_matches_the_engine():
    rule = sigmoid_cross_entropy_rule()
    L, j = sp.Symbol("L", integer=True, positive=True), sp.Symbol("j", integer=True, positive=True)
    a, t = sp.IndexedBase("a"), sp.IndexedBase("t")
    assert rule.result == a[L, j] - t[j]
    net = Network([2, 3], cost="cross-entropy")
    cancelled = delta_route(net).cancelled()
    for unit, delta in enumerate(net.output_layer.unit_errors, start=1):
        assert instantiate(rule.result, net, j=unit) == cancelled.deltas[delta]
        assert sp.cancel(instantiate(rule.chain, net, j=unit) - delta_route(net).deltas[delta]) == 0


def test_bad_parameter_and_oversized_expansion_are_clear_errors():
    with pytest.raises(UnknownNameError, match="no quantity 'w\\^9_11'"):
        network_derivation(Network([2, 2, 1]), "w^9_11")
    with pytest.raises(UnknownNameError, match="not a parameter"):
        network_derivation(Network([2, 2, 1]), "z^2_1")
    with pytest.raises(SizeLimitError, match="force"):
        network_derivation(Network([3, 3, 3, 3]), expand=True)


@pytest.mark.parametrize(
    "args,fragment",
    [
        (["derive", "--layers", "2,2,1", "--param", "w^9_11"], "no quantity"),
        (["derive", "--layers", "2,2,1", "--param", "a^2_1"], "not a parameter"),
        (["derive", "--layers", "3,3,3,3", "--expand"], "--force"),
        (["derive", "--format", "pdf"], "invalid choice"),
        (["derive", "--layers", "64,32,10", "--param", "w^2_11"], "leave out --param"),
        (["derive", "--format", "text", "--fragment"], "--fragment is for --format latex only"),
    ],
)
def test_derive_bad_input_is_one_line_and_exit_2(args, fragment, run_main):
    result = run_main(*args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], result.stderr


def test_derive_writes_each_format(tmp_path, capsys):
    out = tmp_path / "d.md"
    assert main(["derive", "--layers", "2,1", "--format", "markdown", "--out", str(out)]) == 0
    assert out.read_text().count("$$") >= 2 * 10
    assert main(["derive", "--layers", "2,1", "--format", "text", "--param", "b^2_1"]) == 0
    text = capsys.readouterr().out
    assert "∂C/∂b^2_1 = δ^2_1" in text and "$" not in text


def test_one_rich_panel_per_step(doc221):
    _, doc = doc221
    assert len(doc.panels()) == len(doc.steps)


def test_prose_unicode_becomes_latex_and_math_becomes_text():
    assert latex_prose("δ ⊙ ∂ — 5% a_b") == r"$\delta$ $\odot$ $\partial$ --- 5\% a\_b"
    assert text_prose(r"$w^{l+1}_{ji}$") == "w^(l+1)_ji"


def test_registry_collects_providers_and_reports_their_real_errors(tmp_path, monkeypatch):
    extra = Derivation("Extra", [Step("One", "why", [(sp.Symbol("x"), sp.Integer(1))])])
    own = {"own": lambda: extra}
    monkeypatch.setitem(sys.modules, "fake_provider", types.SimpleNamespace(documents=lambda: {"extra": extra}))
    found = all_documents(providers=("fake_provider", "symbackprop.not_written_yet"), topics=own)
    assert found == {"own": extra, "extra": extra}
    (tmp_path / "broken_provider.py").write_text("import a_dependency_that_is_missing\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError, match="a_dependency_that_is_missing"):
        all_documents(providers=("broken_provider",), topics=own)
    monkeypatch.setitem(sys.modules, "clash", types.SimpleNamespace(documents=lambda: {"own": extra}))
    with pytest.raises(ValueError, match="own"):
        all_documents(providers=("clash",), topics=own)


def test_default_registry_holds_the_six_topics():
    assert {"neuron-and-activations", "backprop-12-3-2", "delta-recurrence", "cross-entropy",
            "softmax-cross-entropy", "weight-decay"} == set(TOPICS)


@pytest.fixture(scope="module")
def fresh(documents):
    """Every document's files as the command that writes derivations/ renders them."""
    return render_documents(documents)


def test_the_command_writes_every_document_rendered(tmp_path, monkeypatch, documents):
    # write_documents builds every document with all_documents(PROVIDERS), as
    # the shared fixture did: that build is handed over, and what is checked is what it writes.
    def built(providers):
        assert providers == PROVIDERS
        return documents

    monkeypatch.setattr("symbackprop.documents.topics.all_documents", built)
    assert main(["derivations", "--out", str(tmp_path)]) == 0
    assert {p.name: p.read_text(encoding="utf-8") for p in tmp_path.iterdir()} == render_documents(documents)


def test_checked_in_derivations_are_current(fresh):
    checked_in = {p.name: p.read_text(encoding="utf-8") for p in (ROOT / "derivations").iterdir()}
    assert sorted(fresh) == sorted(checked_in), "run: symbackprop derivations --out derivations/"
    stale = [name for name in fresh if fresh[name] != checked_in[name]]
    assert not stale, f"stale: {stale}; run: symbackprop derivations --out derivations/"


def test_chain_rule_expansion_typesets():
    expansion = chain_rule_expansion(Network([2, 2, 1]), "w^2_11")
    assert expansion._repr_latex_().startswith("$$") and r"\partial" in expansion._repr_latex_()


def test_readme_formulas_come_from_the_documents(fresh):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Derivations, typeset", 1)[1].split("\n## ", 1)[0]
    shown = [f.strip() for f in section.split("$$")[1::2]]
    produced = {f.strip() for name, text in fresh.items() if name.endswith(".md") for f in text.split("$$")[1::2]}
    assert shown and all(f in produced for f in shown), [f for f in shown if f not in produced]
    assert "](derivations/)" in section


def test_too_many_paths_are_counted_not_listed_unless_forced():
    net = Network([1, 1, 9, 9, 1])
    w = net.symbol("w^2_11")
    steps, expansion = direct_steps(net, w)
    assert expansion.term_count == 9 * 9 and steps[0].equations == [] and "81 paths" in steps[0].note
    forced, _ = direct_steps(net, w, force=True)
    (_, paths), = forced[0].equations
    assert len(paths.args) == 81


def test_derive_in_a_terminal_shows_one_panel_per_step(monkeypatch, capsys):
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert main(["derive", "--layers", "1,1"]) == 0
    out = capsys.readouterr().out
    assert out.count("╭─ Step ") == len(network_derivation(Network([1, 1])).steps)


def test_cnn_document_writes_the_pooling_derivative_with_the_tie_rule():
    from symbackprop.documents.cnn import documents
    from symbackprop.engine.cnn import ConvolutionalNetwork
    from symbackprop.layers.pooling import winner

    doc = documents()["cnn"]
    max_step = step(doc, "Derivative of Max")
    (name, cases), *derivatives = max_step.equations
    block = name.args
    pool = ConvolutionalNetwork().pooling
    assert derivatives == [(Partial(lhs.numerator, x), pool.equations[lhs.numerator].diff(x))
                           for (lhs, _), x in zip(derivatives, block)]
    # Every pattern of ties: the cases name the one input whose indicator is 1.
    for values in itertools.product((0, 1), repeat=len(block)):
        at = dict(zip(block, values))
        ones = [m for m in range(1, len(block) + 1) if winner(m, *values) == 1]
        assert ones == [cases.subs(at)]
    # The bracket is not [x_m = max(…)], which holds for every tied input.
    assert not any(r"= \max" in f for f in max_step.formulas())


def test_cnn_filter_gradient_is_named_not_a_matrix_of_fractions():
    from symbackprop.documents.cnn import documents

    doc = documents()["cnn"]
    (lhs, _), _ = step(doc, "The filter gradient").equations
    assert isinstance(lhs, Partial) and lhs.denominator.is_Symbol
    # Fractions in the cells of a matrix crowd its rows.
    assert not re.search(r"\\begin\{matrix\}[^}]*\\frac", doc.latex())


def test_cnn_cost_is_written_in_the_books_order():
    from symbackprop.documents.cnn import documents

    cost = step(documents()["cnn"], "Cost").formulas(book_order=True)[0]
    assert r"\left(t_{1} - a^{O}_{1}\right)^{2}" in cost and documents()["cnn"].book_order


def test_products_are_written_in_the_books_order():
    from symbackprop.documents.topics import delta_recurrence

    sigma_slope = r"\sigma'\left(z\right) = \sigma\left(z\right) \left(1 - \sigma\left(z\right)\right)"
    assert sigma_slope in neuron_and_activations().formulas()
    assert any(r"w^{l}_{ji} a^{l - 1}_{i} + b^{l}_{j}" in f for f in delta_recurrence().formulas())
    assert "σ'(z) = σ(z)*(1 - σ(z))" in network_derivation(Network([2, 1])).text()


def test_counts_in_the_notes_are_proper_plurals(doc221):
    notes = " ".join(step.note or "" for step in doc221[1].steps)
    # w^2_11 of 2-2-1 reaches C along one path (one output unit), so one term
    assert "1 path." in notes and "Size: 1 term in the named quantities" in notes
    assert "(s)" not in notes
    net = Network([2, 2, 2])
    wide = " ".join(step.note or "" for step in direct_steps(net, net.symbol("w^2_11"))[0])
    assert "2 paths." in wide and "2 terms in the named quantities" in wide


def test_powers_of_ten_read_well_as_text():
    assert text_prose(r"difference $1 \cdot 10^{-10}$") == "difference 1 · 10^(-10)"


def test_a_notebook_shows_the_prose_and_summarises_a_large_route(doc221):
    # Markdown, which a notebook prefers to LaTeX, keeps every justification.
    _, doc = doc221
    shown = doc._repr_markdown_()
    for step in doc.steps:
        assert step.justification[1:].rstrip(".") in shown
    # The written-out gradients of 6-3-2 are already far too long for a cell:
    # the display stops near the limit and says how many it left out.
    direct = direct_route(Network([6, 3, 2]))
    full = direct.formulas()
    assert sum(map(len, full)) > 4 * DISPLAY_LIMIT
    display = direct._repr_latex_()
    shown = display.count(r" \\ ")  # the rows (formulas and the note) are separated by \\
    assert len(display) < DISPLAY_LIMIT + max(map(len, full))
    assert f"... {len(full) - shown} more formulas not shown" in display
    assert display.startswith("$$\\begin{aligned}" + full[0].replace(" = ", " &= ", 1))
