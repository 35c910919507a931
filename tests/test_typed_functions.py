"""Activations and costs typed as formulas: non-smooth ones get a correct answer or a clear refusal."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from symbackprop import Network, NotDifferentiableError
from symbackprop.cli import main
from symbackprop.functions.activations import get_activation
from symbackprop.functions.costs import get_cost
from symbackprop.proof.verify import verify

z, a, t = sp.symbols("z a t")


@pytest.mark.parametrize(
    "options",
    [
        {"activation": "abs(z)"},
        {"cost": "abs(a-t)"},
        {"activation": "2*Abs(-z) + z", "cost": "abs(t - a)"},
    ],
)
def test_abs_is_differentiated_as_a_function_of_reals(options):
    # SymPy's |u|' for a u not known to be real is written with re and im, which no
    # backend compiles, and the exact proof of the two routes failed on it.
    report = verify(Network([2, 2, 1], **options), exact=True, points=1)
    assert report.ok, report.checks


def test_abs_has_the_slope_sign_and_zero_at_its_kink():
    slope = get_activation("abs(z)").derivative(z)
    values = [float(slope.rewrite(sp.exp).subs(z, v)) for v in (-2.5, 0, 3)]
    assert values == [-1.0, 0.0, 1.0]
    cost = get_cost("abs(a - t)")([a], [t])
    assert sp.diff(cost, a).subs({a: 1, t: 3}) == -1


def test_a_step_typed_as_a_formula_is_refused_for_training_like_the_step():
    step = get_activation("Heaviside(z)")
    with pytest.raises(NotDifferentiableError, match="cannot be trained by gradients"):
        step.require_trainable()
    assert get_activation("Heaviside(z) + z").not_trainable_because is None
    # Its derivative, Dirac's delta, evaluates (to 0 off the jump) instead of failing with a NameError.
    report = verify(Network([2, 2, 1], activation="Heaviside(z)"), points=1)
    assert report.ok and any("cannot be trained" in note for note in report.notes)
    f_prime = step.derivative(z).func
    assert np.all(step.numpy_functions[f_prime.__name__](np.array([-1.0, 2.0])) == 0)


def test_derive_states_abs_as_the_book_writes_it(capsys):
    assert main(["derive", "--layers", "2,2,1", "--cost", "abs(a-t)"]) == 0
    out = capsys.readouterr().out
    assert "C = |a^3_1 - t_1|" in out and "∂C/∂a^3_1 = sign(a^3_1 - t_1)" in out
    assert "The two routes agree" in out and "re(" not in out
