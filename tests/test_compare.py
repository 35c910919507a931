"""The measured comparison of the routes: its figures are facts about the networks.

Counts are checked against formulas written here independently of the
engine, the sizes against the expressions the verification proves equal,
and the compiled gradients against a hand-written backprop.
"""

from __future__ import annotations

import math
import os
import re
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from symbackprop import Network, chain_rule_expansion, delta_route, direct_route, verify
from symbackprop.cli import main
from symbackprop.engine.routes import ExpressionSize, expression_size
from symbackprop.errors import NetworkSpecError, SymbackpropError
from symbackprop.measure.compare import Comparison, compact_count, compare, format_seconds
from symbackprop.measure.growth import fit_growth
from symbackprop.measure.stages import (
    FAILED,
    NOT_COMPUTABLE,
    OVER_CAP,
    ROUTES,
    NetworkSpec,
    RouteMeasurement,
    _batch,
    chain_rule_terms,
    measure_route,
    measure_stages,
    measured_safely,
)
from symbackprop.measure.sweep import default_points, sweep, sweep_sizes
from symbackprop.measure.worker import Worker

shapes = st.lists(st.integers(1, 4), min_size=2, max_size=5)


def paths_formula(sizes: list[int]) -> int:
    """Σ over parameters of the paths to C: a parameter of layer l (its n_l n_{l−1}
    weights and n_l biases) reaches C through every unit of every later layer."""
    total = 0
    for l in range(1, len(sizes)):
        parameters = sizes[l] * sizes[l - 1] + sizes[l]
        total += parameters * math.prod(sizes[l + 1:])
    return total


def local_derivatives_formula(sizes: list[int]) -> int:
    """Edges of the graph that lead to C: C←a^L, a^l←z^l, z^l←a^{l−1} (l ≥ 3),
    z^l←w^l_{ji}, z^l←b^l_j."""
    n = sizes
    return (
        n[-1]
        + sum(n[1:])
        + sum(n[l] * n[l - 1] for l in range(2, len(n)))
        + sum(n[l] * n[l - 1] + n[l] for l in range(1, len(n)))
    )


@given(shapes)
def test_chain_rule_terms_follow_the_path_and_edge_formulas(sizes):
    net = Network(sizes)
    assert chain_rule_terms(net, "direct") == chain_rule_terms(net, "written-out") == paths_formula(sizes)
    assert chain_rule_terms(net, "delta") == chain_rule_terms(net, "array") == local_derivatives_formula(sizes)


@settings(max_examples=10, deadline=None)
@given(st.lists(st.integers(1, 3), min_size=2, max_size=4))
def test_path_count_is_the_number_of_products_the_chain_rule_lists(sizes):
    net = Network(sizes)
    listed = sum(chain_rule_expansion(net, p).term_count for p in net.parameters)
    assert listed == chain_rule_terms(net, "direct")


def test_paths_grow_as_a_product_of_widths_and_local_derivatives_linearly():
    # One more hidden layer of width 4 multiplies the paths of every earlier
    # parameter by 4 but adds only its own local derivatives: a←z (4), z←a
    # below (16), z←w (16), z←b (4).
    small, deep = [4, 4, 4, 2], [4, 4, 4, 4, 2]
    assert paths_formula(deep) > 3 * paths_formula(small)
    assert local_derivatives_formula(deep) - local_derivatives_formula(small) == 4 + 16 + 16 + 4


def test_unknown_route_is_a_clear_error():
    with pytest.raises(NetworkSpecError, match="the routes are direct, delta, written-out, array"):
        chain_rule_terms(Network([2, 1]), "shortcut")


def hand_backprop(sizes, params, X, T):
    """C_T and ∂C_T/∂p for sigmoid layers and squared error, by hand."""
    activations, a = [X], X
    for l in range(2, len(sizes) + 1):
        a = 1 / (1 + np.exp(-(a @ params[f"W{l}"].T + params[f"b{l}"])))
        activations.append(a)
    delta = (a - T) * a * (1 - a)
    gradient = {}
    for l in range(len(sizes), 1, -1):
        below = activations[l - 2]
        gradient[f"W{l}"], gradient[f"b{l}"] = delta.T @ below, delta.sum(axis=0)
        if l > 2:
            delta = (delta @ params[f"W{l}"]) * below * (1 - below)
    flat = []
    for l in range(2, len(sizes) + 1):
        flat += gradient[f"W{l}"].ravel().tolist() + gradient[f"b{l}"].tolist()
    return np.array(flat)


@pytest.fixture(scope="module")
def small():
    return compare([3, 2, 2], batch=16, cap=None)


def test_every_route_computes_the_hand_written_gradient(small):
    params, X, T = _batch((3, 2, 2), 16, seed=0)
    expected = hand_backprop([3, 2, 2], params, X, T)
    for row in small.rows:
        assert row.ok
        np.testing.assert_allclose(row.gradient, expected, rtol=1e-12, atol=1e-14)
    assert small.agreement() < 1e-12


def test_compared_expressions_are_the_ones_proved_equal(small):
    net = Network([3, 2, 2])
    direct, via = direct_route(net), delta_route(net)
    # The sizes in the table are those of these very expressions...
    assert small.row("direct").size == direct.size()
    written = [via.expanded(p) for p in net.parameters]
    from symbackprop.engine.routes import expression_size

    assert small.row("written-out").size == expression_size(written)
    # ...and these expressions are equal, parameter by parameter, exactly.
    assert small.row("direct").proved == net.parameter_count
    assert verify(net, exact=True).ok


def test_figures_are_consistent(small):
    net = Network([3, 2, 2])
    for row in small.rows:
        assert row.terms == chain_rule_terms(net, row.route)
        # Sharing can only shrink an expression: CSE never needs more operations than the tree.
        assert row.cse_ops <= row.size.tree_ops
        assert row.derive_seconds > 0 and row.compile_seconds > 0 and row.evaluate_seconds > 0
    # Written out, the direct route and the δ route hold the same chain-rule
    # products; in layer quantities the δ route is smaller than either.
    assert small.row("delta").size.tree_ops < small.row("written-out").size.tree_ops
    assert small.row("delta").size.tree_ops < small.row("direct").size.tree_ops


def test_the_array_form_does_not_grow_with_the_widths():
    narrow = measure_route(NetworkSpec((2, 2, 1)), "array", batch=4)
    wide = measure_route(NetworkSpec((9, 7, 5)), "array", batch=4)
    assert narrow.size == wide.size
    assert wide.terms == local_derivatives_formula([9, 7, 5])


def test_generic_activation_is_derived_and_proved_but_not_run():
    c = compare([2, 2, 1], activation="generic", batch=4, cap=None)
    assert all(row.status == NOT_COMPUTABLE for row in c.rows)
    assert c.row("direct").proved == 9
    assert c.row("direct").evaluate_seconds is None and c.agreement() is None
    assert "proved exactly equal" in "\n".join(c.verdicts())


def test_markdown_has_one_row_per_route_and_the_verdicts(small):
    text = small.markdown()
    table, ratios = text.split("\n\n")[:2]
    rows = [line for line in table.splitlines() if "---" not in line]
    assert len(rows) == 2 + len(ROUTES)  # the header, C itself, each route
    assert rows[1].startswith("| C itself | — | ")
    assert len([line for line in ratios.splitlines() if "---" not in line]) == 1 + len(ROUTES)
    assert "faster" in text and "proved exactly equal" in text


def test_the_size_ratios_divide_each_route_by_c_written_out(small):
    cost = small.spec.network().cost_substituted()
    sizes = expression_size([cost])
    definitions, reduced = sympy.cse([cost])
    # CSE counted by hand: the tree operations of the named values and the rest.
    cse = sum(expression_size([e]).tree_ops for e in [rhs for _, rhs in definitions] + list(reduced))
    for route in ROUTES:
        row = small.row(route)
        assert small.ratios(route) == pytest.approx(
            (row.size.tree_ops / sizes.tree_ops, row.size.graph_nodes / sizes.graph_nodes, row.cse_ops / cse))
    # Written out, the gradients are larger than C as trees; in layer quantities,
    # after CSE, the δ recurrence stays within a few times C (the cheap-gradient principle).
    assert small.ratios("direct")[0] > 10 * small.ratios("delta")[2]
    assert small.ratios("delta")[2] < 5


@pytest.mark.parametrize(
    "kwargs,fragment",
    [
        ({"batch": 0}, "batch"),
        ({"batch": 2.5}, "batch"),
        ({"cap": 0}, "time cap"),
        ({"cap": float("nan")}, "time cap"),
        ({"seed": -1}, "seed"),
    ],
)
def test_bad_settings_are_refused(kwargs, fragment):
    with pytest.raises(SymbackpropError, match=fragment):
        compare([2, 1], **kwargs)


# --- the time cap, in a worker process -------------------------------------------

SLOW = NetworkSpec((4, 4, 4, 4, 4, 4, 4, 2))  # its direct route takes minutes


@pytest.fixture(scope="module")
def worker():
    """One worker for the tests below: each starts a process costing a second
    of CPU, and the worker replaces its process whenever it has to."""
    shared = Worker()
    yield shared
    shared.stop()


def test_the_cap_stops_a_route_and_the_next_route_gets_a_fresh_worker(worker):
    stopped = worker.run((SLOW, "direct", 4, 0, False), cap=0.5)
    assert stopped.status == OVER_CAP and stopped.unfinished == "derive"
    assert stopped.derive_seconds is None and worker._process is None
    fine = worker.run((NetworkSpec((2, 1)), "delta", 4, 0, False), cap=60)
    assert fine.ok and fine.gradient is not None


def test_a_worker_that_dies_is_reported_and_replaced(worker):
    assert worker.run((NetworkSpec((1, 1)), "delta", 2, 0, False), cap=60).ok  # a process is running
    worker._process.kill()  # as the kernel does when memory runs out
    worker._process.join()
    died = worker.run((NetworkSpec((2, 1)), "delta", 4, 0, False), cap=60)
    assert died.status == FAILED and "died" in died.reason
    assert worker.run((NetworkSpec((2, 1)), "delta", 4, 0, False), cap=60).ok


def test_the_worker_stops_itself_when_its_parent_is_killed(tmp_path):
    script = tmp_path / "parent.py"
    script.write_text(
        "import time\n"
        "from symbackprop.measure.worker import Worker\n"
        "if __name__ == '__main__':\n"
        "    w = Worker()\n"
        "    w._start()\n"
        "    print(w._process.pid, flush=True)\n"
        "    time.sleep(120)\n"
    )
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and _alive(child):
        time.sleep(0.2)
    assert not _alive(child)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as handle:  # a zombie is gone, waiting to be reaped
        return handle.read().split(") ")[-1][0] != "Z"


def test_errors_in_the_worker_reach_the_caller(worker):
    with pytest.raises(NetworkSpecError, match="the routes are"):
        worker.run((NetworkSpec((2, 1)), "shortcut", 4, 0, False), cap=60)


def test_a_capped_comparison_measures_in_a_worker_like_in_process(small):
    capped = compare([3, 2, 2], batch=16, cap=60)
    for a, b in zip(capped.rows, small.rows, strict=True):
        assert a.ok and a.size == b.size and a.terms == b.terms
        np.testing.assert_allclose(a.gradient, b.gradient, rtol=1e-13)


def _finished(task):
    # What the stand-in workers below test is how the sweep treats the routes
    # they stop; a route they let finish needs figures, not a real measurement
    # (the sweeps further down measure for real).
    spec, route = task[0], task[1]
    n = spec.network().parameter_count
    return RouteMeasurement(route, "ok", 0.01, ExpressionSize(20 * n, 10 * n), 10 * n, 4 * n, 0.02, 1e-4,
                            (0.9e-4, 1.1e-4), (0.5,) * n)


class _CappedWorker:
    """Stands in for the worker: the direct route of any network with more
    than one hidden layer is 'over the cap'; every other route finishes."""

    calls: list = []

    def run(self, task, cap):
        spec, route = task[0], task[1]
        _CappedWorker.calls.append((spec.sizes, route))
        if route == "direct" and len(spec.sizes) > 3:
            return RouteMeasurement(route, OVER_CAP, derive_seconds=None, unfinished="derive")
        return _finished(task)

    def stop(self):
        pass


def test_a_route_over_the_cap_is_not_run_again_on_larger_networks(monkeypatch):
    monkeypatch.setattr("symbackprop.measure.sweep.Worker", _CappedWorker)
    _CappedWorker.calls = []
    seen = []
    result = sweep("depth", [1, 1, 1], [3, 1, 2], batch=4, cap=5, on_route=lambda n, r: seen.append((n, r)))
    assert [p.x for p in result.points] == [1, 2, 3]
    first, over, skipped = (p.comparison.row("direct") for p in result.points)
    assert first.ok and over.status == OVER_CAP and over.unfinished == "derive"
    assert skipped.status == OVER_CAP and skipped.unfinished is None
    assert ((1, 1, 1, 1, 1), "direct") not in _CappedWorker.calls
    assert all(p.comparison.row("delta").ok for p in result.points)
    assert len(seen) == 3 * len(ROUTES)
    text = result.markdown()
    assert "over cap" in text
    assert "not run" in "\n".join(result.points[2].comparison.verdicts())


class _FailingWorker(_CappedWorker):
    """The direct route of any network with more than one hidden layer fails."""

    def run(self, task, cap):
        if task[1] == "direct" and len(task[0].sizes) > 3:
            return RouteMeasurement("direct", FAILED, unfinished="derive", reason="too deep for SymPy")
        return _finished(task)


def test_a_failed_route_is_reported_as_failed_on_the_larger_networks(monkeypatch):
    monkeypatch.setattr("symbackprop.measure.sweep.Worker", _FailingWorker)
    result = sweep("depth", [1, 1, 1], [1, 2, 3], batch=4, cap=5)
    failed, skipped = (p.comparison.row("direct") for p in result.points[1:])
    assert failed.status == skipped.status == FAILED and "not run" in skipped.reason
    assert "failed" in result.markdown()
    assert "too deep for SymPy" in "\n".join(result.points[1].comparison.verdicts())


def test_figures_of_finished_stages_are_kept_and_the_stopped_stage_is_named():
    stages = list(measure_stages(NetworkSpec((2, 2, 1)), "direct", batch=4, prove=True))
    assert [m.unfinished for m in stages] == ["size", "compile", "evaluate", "prove", None]
    after_derive = stages[0]
    assert after_derive.derive_seconds is not None and after_derive.size is None
    stopped = replace(stages[1], status=OVER_CAP)  # stopped while compiling
    c = Comparison(NetworkSpec((2, 2, 1)), 9, 4, 10.0, [stopped] + [replace(stopped, route=r) for r in ROUTES[1:]])
    cells = c.markdown().splitlines()[3].split(" | ")  # after the header, its rule and C itself
    assert cells[1] == format_seconds(stopped.derive_seconds) and cells[6] == "over cap" and cells[7].startswith("—")
    assert "was derived in" in c.verdicts()[0] and "not compiled within the 10 s cap" in c.verdicts()[0]


def test_a_network_too_deep_for_sympy_fails_its_route_not_the_sweep():
    deep = NetworkSpec((1,) * 400)
    *_, failed = measured_safely(deep, "direct", 2, 0, False)
    assert failed.status == FAILED and "recursion" in failed.reason


def test_ctrl_c_ends_a_sweep_with_the_rows_so_far():
    def interrupt(network, route):
        if len(network) == 4:  # the second network
            raise KeyboardInterrupt

    result = sweep("depth", [1, 1, 1], [1, 2, 3], batch=4, cap=None, on_route=interrupt)
    assert result.interrupted and [p.x for p in result.points] == [1]
    assert "interrupted" in str(result.table().title)


def test_ctrl_c_on_the_command_line_prints_the_rows_so_far_and_no_traceback(tmp_path):
    chart = tmp_path / "partial.svg"
    process = subprocess.Popen(
        [sys.executable, "-m", "symbackprop", "compare", "--sweep", "depth", "--layers", "2,2,1",
         "--points", "1,12", "--cap", "300", "--batch", "4", "--chart", str(chart)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    # The small network takes seconds; the second, with 12 hidden layers, takes
    # far longer than the test waits once it has started.
    progress = []
    while process.poll() is None:
        progress.append(process.stderr.readline())
        if "(2 of 2)" in progress[-1]:
            break
    time.sleep(1)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, "".join(progress) + err
    assert "Traceback" not in err
    assert "interrupted: 1 of 2 networks measured" in out
    assert "2-2-1" in out
    root = ET.fromstring(chart.read_text())
    assert "hidden layers" in "".join(root.itertext())


# --- sweeps and growth laws ------------------------------------------------------

@settings(max_examples=30)
@given(
    st.floats(1.1, 20), st.floats(-5, 5), st.lists(st.integers(1, 12), min_size=3, max_size=6, unique=True)
)
def test_fit_recovers_an_exponential_law(base, log_scale, xs):
    points = [(x, math.exp(log_scale) * base**x) for x in xs]
    law = fit_growth("direct", "tree_ops", "exponential", "depth", points)
    assert law.rate == pytest.approx(base, rel=1e-9)
    assert law.r_squared == pytest.approx(1.0)
    assert law.predict(7) == pytest.approx(math.exp(log_scale) * base**7, rel=1e-8)


@settings(max_examples=30)
@given(st.floats(0.1, 4), st.lists(st.integers(1, 64), min_size=3, max_size=6, unique=True))
def test_fit_recovers_a_power_law(exponent, xs):
    law = fit_growth("delta", "tree_ops", "power", "parameters", [(x, 3.0 * x**exponent) for x in xs])
    assert law.rate == pytest.approx(exponent, rel=1e-9, abs=1e-9)


def test_fit_of_a_straight_line_and_of_an_unknown_kind():
    law = fit_growth("array", "tree_ops", "linear", "width", [(1, 46.0), (2, 46.0), (8, 46.0)])
    assert law.rate == pytest.approx(0, abs=1e-9) and law.predict(100) == pytest.approx(46)
    with pytest.raises(NetworkSpecError, match="exponential, power, linear"):
        fit_growth("direct", "tree_ops", "cubic", "depth", [(1, 1.0), (2, 8.0)])


def test_fit_needs_two_distinct_points_and_three_for_a_goodness_of_fit():
    assert fit_growth("direct", "tree_ops", "power", "width", [(2, 5.0), (2, 6.0)]) is None
    assert fit_growth("direct", "tree_ops", "power", "width", [(2, 5.0), (3, 6.0)]).r_squared is None


def test_sweep_networks_and_points():
    assert sweep_sizes("depth", [12, 3, 2], [2]) == [(2, [12, 3, 3, 2])]
    assert default_points("depth", 3) == [1, 2, 3]
    assert default_points("width", 5) == [1, 2, 3, 4]
    for bad, fragment in (([12, 2], "hidden layer"), ([12, 3, 2], "positive whole"), ([12, 3, 2], "depth or width")):
        with pytest.raises(NetworkSpecError, match=fragment):
            if fragment == "positive whole":
                sweep_sizes("depth", bad, [0])
            elif fragment == "depth or width":
                sweep_sizes("height", bad, [1])
            else:
                sweep_sizes("depth", bad, [1])


@pytest.fixture(scope="module")
def depth_sweep():
    return sweep("depth", [2, 2, 1], [1, 2, 3], batch=4, cap=None)


def test_sweep_paths_follow_the_formula_and_the_laws_are_fitted(depth_sweep):
    for point in depth_sweep.points:
        c = point.comparison
        assert c.row("direct").terms == paths_formula(list(point.sizes))
        assert c.row("delta").terms == local_derivatives_formula(list(point.sizes))
    laws = {(law.route, law.figure): law for law in depth_sweep.laws()}
    direct_ops = laws["direct", "tree_ops"]
    assert direct_ops.kind == "exponential" and direct_ops.points == 3
    # Each hidden layer multiplies the direct route's operations; it adds the
    # same equations to the δ route, whose operations then grow by a constant.
    assert direct_ops.rate > 2
    ops = [p.comparison.row("delta").size.tree_ops for p in depth_sweep.points]
    params = [p.comparison.parameters for p in depth_sweep.points]
    delta_ops = laws["delta", "tree_ops"]
    assert ops[2] - ops[1] == ops[1] - ops[0] and params[2] - params[1] == params[1] - params[0]
    assert delta_ops.kind == "linear" and delta_ops.variable == "parameters"
    assert delta_ops.rate == pytest.approx((ops[1] - ops[0]) / (params[1] - params[0]))
    assert delta_ops.r_squared == pytest.approx(1.0)


def test_sweep_chart_is_an_svg_with_every_route(depth_sweep):
    svg = depth_sweep.chart()
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg")
    text = "".join(root.itertext())
    for title in ("direct", "δ recurrence", "δ written out", "δ as arrays", "hidden layers",
                  "operations, as a tree", "distinct nodes", "operations after CSE"):
        assert title in text


def test_sweep_tables_show_three_sizes_of_every_route_and_their_ratios_to_c(depth_sweep):
    text = depth_sweep.markdown()
    for point in depth_sweep.points:
        c = point.comparison
        for route in ROUTES:
            row = c.row(route)
            assert f"{compact_count(row.size.tree_ops)} / {compact_count(row.size.graph_nodes)} / " \
                f"{compact_count(row.cse_ops)}" in text
        size, cse = c.cost_size()
        assert size == expression_size([c.spec.network().cost_substituted()])
    # A hidden layer multiplies the direct route's tree and leaves the δ
    # recurrence's ratio to C after CSE about where it was.
    direct = [p.comparison.ratios("direct")[0] for p in depth_sweep.points]
    delta = [p.comparison.ratios("delta")[2] for p in depth_sweep.points]
    assert direct[0] < direct[1] < direct[2] and max(delta) < 2 * min(delta)
    laws = {(law.route, law.figure): law for law in depth_sweep.laws()}
    assert laws["direct", "graph_nodes"].kind == "power" and laws["delta", "cse_ops"].kind == "linear"
    assert depth_sweep.ratio_table().row_count == len(depth_sweep.points)


def test_width_sweep_of_two_hidden_layers_fits_the_delta_route_in_the_parameters():
    result = sweep("width", [1, 1, 1, 1], [1, 2, 3], batch=2, cap=None)
    law = {(w.route, w.figure): w for w in result.laws()}["delta", "tree_ops"]
    # The parameters grow as width², and the δ route's operations with them:
    # a line in the parameters fits, a line in the width does not.
    ops = [(p.x, float(p.comparison.row("delta").size.tree_ops)) for p in result.points]
    in_width = fit_growth("delta", "tree_ops", "linear", "width", ops)
    assert law.variable == "parameters" and law.r_squared > 0.999 > in_width.r_squared
    assert {(w.route, w.figure): w for w in result.laws()}["direct", "tree_ops"].kind == "power"


def test_sweep_with_the_generic_activation_charts_what_it_measured():
    result = sweep("depth", [1, 1, 1], [1, 2], activation="generic", batch=2, cap=None)
    root = ET.fromstring(result.chart())
    text = "".join(root.itertext())
    assert "derivation time" in text and "gradient evaluation" not in text


# --- the command line ---------------------------------------------------------------

def test_compare_command_prints_the_table_and_verdicts(capsys):
    assert main(["compare", "--layers", "2,2,1", "--batch", "8"]) == 0
    out = capsys.readouterr().out
    for title in ("direct", "δ recurrence", "δ written out", "δ as arrays"):
        assert title in out
    assert "faster" in out and "9 of 9 direct gradients were proved exactly equal" in out


def test_sweep_command_writes_the_chart_and_markdown(tmp_path, capsys):
    chart = tmp_path / "sweep.svg"
    assert main(["compare", "--sweep", "width", "--layers", "2,1,1", "--points", "1,2", "--batch", "4",
                 "--chart", str(chart), "--format", "markdown", "--cap", "60"]) == 0
    out = capsys.readouterr().out
    assert "| width | network |" in out and "| route | figure | law |" in out
    assert "| width | C: ops / nodes / CSE |" in out
    ET.fromstring(chart.read_text())


def test_logistic_sweep_command_prints_sizes_and_writes_its_chart(tmp_path, capsys):
    chart = tmp_path / "logistic.svg"
    assert main(["compare", "--sweep", "logistic", "--points", "1,2,3", "--chart", str(chart),
                 "--format", "markdown"]) == 0
    out = capsys.readouterr().out
    # dl_3/dx: 98 operations as a tree, 26 distinct nodes (see tests/test_logistic.py)
    assert "| 3 | 22 / 13 / 10 | 98 / 26 / 31 |" in out
    assert "| dl_n/dx: operations, as a tree | ∝" in out
    assert "sympy.diff" in "".join(ET.fromstring(chart.read_text()).itertext())
    assert main(["compare", "--sweep", "logistic", "--points", "15"]) == 2
    assert "n from 1 to 14" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args,fragment",
    [
        (["--chart", "x.svg"], "add --sweep"),
        (["--sweep", "depth", "--chart", "x.png"], "ending in .svg"),
        (["--sweep", "depth", "--chart", "no/such/folder/x.svg"], "does not exist"),
        (["--sweep", "depth", "--points", "1,x"], "whole numbers"),
        (["--sweep", "depth", "--points", "1", "--max", "3"], "not both"),
        (["--sweep", "depth", "--max", "0"], "--max must be from 1 to"),
        (["--sweep", "depth", "--layers", "3,2"], "hidden layer"),
        (["--sweep", "depth", "--layers", "12,3,4,2"], "repeats one hidden width"),
        (["--sweep", "depth", "--max", "1000"], "--max must be from 1 to"),
        (["--sweep", "height"], "invalid choice"),
        (["--batch", "0"], "batch"),
        (["--cap", "-1"], "time cap"),
        (["--seed", "-1"], "the seed must be a whole number ≥ 0"),
        (["--layers", "2,0,1"], "positive integer"),
    ],
)
def test_compare_command_bad_input_is_one_line_and_exit_2(args, fragment, capsys):
    assert main(["compare", *args]) == 2
    err = capsys.readouterr().err
    assert fragment in err and err.count("\n") == 1


def test_an_existing_chart_survives_a_refused_sweep(tmp_path, capsys):
    chart = tmp_path / "keep.svg"
    chart.write_text("<svg/>")
    assert main(["compare", "--sweep", "depth", "--points", "1,0", "--chart", str(chart)]) == 2
    assert chart.read_text() == "<svg/>"
    assert not [p for p in os.listdir(tmp_path) if p != "keep.svg"]


def test_chart_of_a_falling_line_leaves_out_its_fit_below_zero():
    from symbackprop.measure.sweep import Sweep, SweepPoint

    points = []
    for x, seconds in ((1, 1.0), (2, 0.5), (3, 0.01)):
        spec = NetworkSpec((2, 2) + (2,) * x)
        rows = [
            RouteMeasurement(route, "ok", seconds, ExpressionSize(10 * x, 5), 5, 3, 0.1, seconds, (0.0,))
            for route in ROUTES
        ]
        points.append(SweepPoint(x, Comparison(spec, spec.network().parameter_count, 4, None, rows)))
    # A fourth network over the cap: the fitted lines are drawn out to it.
    capped = [RouteMeasurement(route, OVER_CAP) for route in ROUTES]
    points.append(SweepPoint(4, Comparison(NetworkSpec((2,) * 6), 27, 4, 1.0, capped)))
    result = Sweep("depth", (2, 2, 2), points)
    laws = {(w.route, w.figure): w for w in result.laws()}
    assert laws["delta", "derive_seconds"].kind == "linear" and laws["delta", "derive_seconds"].predict(27) < 0
    assert laws["direct", "derive_seconds"].predict(27) > 0
    root = ET.fromstring(result.chart())
    svg = "{http://www.w3.org/2000/svg}"
    (panel,) = [p for p in root.iter(f"{svg}g")
                if p.get("class") == "panel" and p.find(f"{svg}text").text == "derivation time (s)"]
    series = dict(zip(ROUTES, (g for g in panel.iter(f"{svg}g") if g.get("class") == "series")))

    def fitted_xs(route):
        (fit,) = [line for line in series[route] if line.get("class") == "fit"]
        return [float(pair.split(",")[0]) for pair in fit.get("points").split()]

    ticks = {t.text: float(t.get("x")) for g in panel.iter(f"{svg}g") if g.get("class") == "x-ticks"
             for t in g.iter(f"{svg}text")}
    # δ's straight line falls below zero at the fourth network: drawn to the third only.
    assert fitted_xs("delta") == [ticks["1"], ticks["2"], ticks["3"]]
    # The direct route's law stays positive, so its line reaches the fourth.
    assert fitted_xs("direct") == [ticks["1"], ticks["2"], ticks["3"], ticks["4"]]


def test_readme_holds_the_measured_comparison_and_its_charts():
    root = Path(__file__).resolve().parent.parent
    readme = (root / "README.md").read_text(encoding="utf-8")
    block = readme.split("<!-- comparison -->", 1)[1].split("<!-- /comparison -->", 1)[0]
    assert re.search(r"Measured on \d{4}-\d{2}-\d{2} on a machine with \d+ cores", block)
    assert "`python bench/comparison.py`" in block
    # The 12-3-2 table's chain-rule terms are the counts of the formulas.
    table = block.split("| route | derive |", 1)[1].split("\n\n", 1)[0]
    rows = {line.split(" | ")[0].strip("| "): line.split(" | ") for line in table.splitlines()[2:]}
    assert rows["direct"][5] == str(paths_formula([12, 3, 2]))
    assert rows["δ recurrence"][5] == str(local_derivatives_formula([12, 3, 2]))
    charts = re.findall(r"!\[[^]]*\]\(([^)]+\.svg)\)", block)
    assert [Path(c).name for c in charts] == ["sweep-depth.svg", "sweep-width.svg", "logistic.svg"]
    for chart, title in zip(charts, ("δ recurrence", "δ recurrence", "sympy.diff")):
        svg = ET.parse(root / chart).getroot()
        assert svg.tag.endswith("svg") and title in "".join(svg.itertext())
    # The logistic map's sizes in the README are the ones counted by hand in tests/test_logistic.py.
    assert "| 3 | 22 / 13 / 10 | 98 / 26 / 31 |" in block


def test_ctrl_c_at_a_terminal_reaches_the_worker_too_and_still_no_traceback():
    # A terminal sends SIGINT to the whole process group, the worker included,
    # perhaps while it is still starting. The signal goes once the sweep says
    # it is measuring its first network, so it surely lands mid-run (a sweep
    # of eight networks takes far longer than the signal needs to arrive).
    process = subprocess.Popen(
        [sys.executable, "-m", "symbackprop", "compare", "--sweep", "depth", "--layers", "2,2,1",
         "--points", "1,2,3,4,5,6,7,8", "--batch", "4"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )
    try:
        first = process.stderr.readline()
        assert first.startswith("measuring 2-2-1 (1 of 8)"), first
        os.killpg(process.pid, signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode == 130, (out, err)
    assert "interrupted" in out + err and "Traceback" not in err, err


class _GonePipe:
    """The worker's end of the pipe after the parent was killed."""

    def __init__(self, fail_on: str) -> None:
        self.fail_on = fail_on

    def send(self, message) -> None:
        if self.fail_on == "send" and message != "ready":
            raise BrokenPipeError(32, "Broken pipe")

    def recv(self):
        if self.fail_on == "recv":
            raise EOFError
        return (NetworkSpec((1, 1)), "delta", 2, 0, False)


@pytest.mark.parametrize("fail_on", ["send", "recv"])
def test_the_worker_ends_quietly_when_its_parent_is_gone(fail_on, monkeypatch, capfd):
    # killed while the worker sends a result (BrokenPipeError) or waits for
    # a task (EOFError): the worker returns, without a traceback
    monkeypatch.setattr("symbackprop.measure.worker._watch_parent", lambda parent: None)
    from symbackprop.measure.worker import _serve

    assert _serve(_GonePipe(fail_on), os.getppid()) is None
    assert capfd.readouterr().err == ""


def test_a_speed_verdict_needs_quartiles_that_do_not_overlap():
    # one run can time the same route 1.9× slower, the next 1.8× faster:
    # only a difference beyond the spread of the repeats is named
    def measured(route, median, low, high):
        return RouteMeasurement(route, "ok", evaluate_seconds=median, evaluate_spread=(low, high))

    def evaluation_verdict(direct, delta):
        rows = [measured("direct", *direct), measured("delta", *delta), measured("array", 1e-4, 0.9e-4, 1.1e-4)]
        comparison = Comparison(NetworkSpec((12, 3, 2)), 47, 64, None, rows)
        return next(line for line in comparison.verdicts() if line.startswith("Compiled"))

    overlapping = evaluation_verdict((6e-4, 3e-4, 1.2e-3), (5e-4, 2.5e-4, 1e-3))
    assert "by the δ recurrence it is about as fast" in overlapping and "× slower" not in overlapping
    apart = evaluation_verdict((6e-4, 5.8e-4, 6.2e-4), (3e-4, 2.9e-4, 3.1e-4))
    assert "by the δ recurrence it is 2.0× faster (300 µs, quartiles 290 µs to 310 µs)" in apart
    assert "takes 600 µs, quartiles 580 µs to 620 µs, by the direct route" in apart


def test_a_ctrl_c_while_the_worker_starts_is_not_lost(tmp_path):
    # The signal comes in the very moment the child process is being started,
    # when the parent holds SIGINT back from the child: it must still end the parent.
    script = tmp_path / "interrupt.py"
    script.write_text(
        "import multiprocessing.process, os, signal\n"
        "from symbackprop.measure.stages import NetworkSpec\n"
        "from symbackprop.measure.worker import Worker\n"
        "start = multiprocessing.process.BaseProcess.start\n"
        "def interrupted_start(self):\n"
        "    os.kill(os.getpid(), signal.SIGINT)\n"
        "    return start(self)\n"
        "if __name__ == '__main__':\n"
        "    multiprocessing.process.BaseProcess.start = interrupted_start\n"
        "    worker = Worker()\n"
        "    try:\n"
        "        worker.run((NetworkSpec((1, 1)), 'delta', 2, 0, False), 60)\n"
        "        print('lost')\n"
        "    except KeyboardInterrupt:\n"
        "        print('interrupted')\n"
        "    finally:\n"
        "        worker.stop()\n",
        encoding="utf-8",
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)})
    assert done.stdout.strip() == "interrupted" and "Traceback" not in done.stderr, done.stderr
