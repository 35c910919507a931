"""Vanishing and exploding gradients through time, measured."""

import math

import pytest

from symbackprop.cli import main
from symbackprop.measure.vanishing import vanishing_chart, vanishing_gradients


@pytest.fixture(scope="module")
def rows():
    return vanishing_gradients(lengths=(1, 4, 16), radii=(0.5, 0.9, 1.5), activations=("tanh", "sigmoid", "identity"),
                               width=6)


def norms(rows, activation, radius):
    return [r.norm for r in rows if r.activation == activation and r.radius == radius]


def test_identity_gives_exactly_the_power_of_the_spectral_radius(rows):
    for radius in (0.5, 0.9, 1.5):
        for r, norm in zip((1, 4, 16), norms(rows, "identity", radius)):
            assert math.isclose(norm, radius ** (r - 1), rel_tol=1e-9)


def test_tanh_below_radius_one_shrinks_geometrically(rows):
    one, four, sixteen = norms(rows, "tanh", 0.9)
    # tanh' ≤ 1: never above the identity's ρ^(T−1), and falling by a factor each step
    assert four <= 0.9 ** 3 + 1e-12 and sixteen <= 0.9 ** 15 + 1e-12
    assert sixteen < four < one


def test_identity_above_radius_one_explodes_and_the_sigmoid_vanishes_even_there(rows):
    assert norms(rows, "identity", 1.5)[-1] > 400
    # σ' ≤ 1/4: ρ = 1.5 still shrinks the norm by at least 1.5/4 per step
    assert norms(rows, "sigmoid", 1.5)[-1] <= (1.5 / 4) ** 15


def test_chart_has_a_panel_per_activation(rows):
    svg = vanishing_chart(rows)
    assert svg.count('class="panel"') == 3 and "ρ = 1.5" in svg


def test_cli_prints_the_table_and_writes_the_chart(tmp_path, capsys):
    chart = tmp_path / "v.svg"
    assert main(["vanishing", "--lengths", "1,3", "--radii", "0.5", "--activations", "identity",
                 "--width", "2", "--chart", str(chart)]) == 0
    out = capsys.readouterr().out
    assert "0.25" in out and chart.read_text().startswith("<?xml")
    assert main(["vanishing", "--lengths", "0"]) == 2
    assert "length T must be a whole number from 1" in capsys.readouterr().err
