"""The derivative of ``max`` proved, one pattern of pooling winners at a time.

:func:`~symbackprop.proof.verify.verify` with ``exact=True`` proves a CNN's δ
route equal to the direct gradient with every :class:`~symbackprop.layers.pooling.winner`
indicator as an independent atom, so the identity holds for every pattern of
winners. That the indicator *is* the derivative of ``Max`` is proved here:
with the winners fixed, ``Max`` becomes its chosen input and the network is
smooth; its plain derivative must equal both routes.
"""

from __future__ import annotations

import itertools

import sympy as sp

from ..engine.cnn import ConvolutionalNetwork
from ..engine.network import replace_quantities
from ..engine.routes import delta_route, direct_route
from ..errors import NetworkSpecError
from ..layers.pooling import PoolMax, winner


def prove_with_winners(model: ConvolutionalNetwork, choices=None) -> dict[tuple, dict[sp.Symbol, bool]]:
    """Exact proof with the pooling winners fixed, for each choice in ``choices``
    (default: :func:`all_winner_choices`). A choice names one winner per
    pooling block (its position, 0-based, row-major; blocks in map order).

    For each choice, every ``Max`` is replaced by its chosen input and every
    :class:`winner` by 1 or 0; then, for every parameter, the direct
    gradient, the δ-route gradient and the derivative of the Max-free
    (smooth) network must be the same expression. Over all choices this
    proves both routes equal wherever the maxima are strict, and that the
    indicators are the true derivative of ``Max``.

    >>> from symbackprop import ConvolutionalNetwork
    >>> net = ConvolutionalNetwork((2, 3), 1, (2, 2), pool=(1, 2), outputs=1, activation="generic")
    >>> proofs = prove_with_winners(net)
    >>> sorted(proofs), all(all(v.values()) for v in proofs.values())
    ([(0,), (1,)], True)
    """
    _require_winners(model)
    full = model.full_substitution()
    blocks = [blk for m in model.pooling.blocks for row in m for blk in row]
    index_of = {}
    for b, block in enumerate(blocks):
        index_of[block] = b
        index_of[tuple(replace_quantities(s, full) for s in block)] = b
    route = delta_route(model)
    direct = direct_route(model, force=True, shared=True)
    by_delta = {p: route.expanded(p) for p in model.parameters}
    results: dict[tuple, dict[sp.Symbol, bool]] = {}
    for choice in all_winner_choices(model) if choices is None else choices:
        choice = tuple(choice)
        if len(choice) != len(blocks):
            raise NetworkSpecError(f"one winner per pooling block: {len(blocks)} blocks, got {len(choice)} choices")

        def fix(expr: sp.Expr, choice=choice) -> sp.Expr:
            expr = expr.replace(
                winner, lambda m, *args: sp.S.One if choice[index_of[args]] == int(m) - 1 else sp.S.Zero
            )
            return expr.replace(PoolMax, lambda *args: args[choice[index_of[args]]])

        smooth_cost = fix(direct.cost)
        verdicts = {}
        for p in model.parameters:
            smooth = sp.diff(smooth_cost, p)
            verdicts[p] = (
                sp.expand(smooth - fix(by_delta[p])) == 0 and sp.expand(smooth - fix(direct.gradients[p])) == 0
            )
        results[choice] = verdicts
    return results

def all_winner_choices(model: ConvolutionalNetwork):
    """Every way of choosing one winner per pooling block.

    >>> from symbackprop import ConvolutionalNetwork
    >>> len(list(all_winner_choices(ConvolutionalNetwork((3, 3), 2, 2, pool=2, outputs=1))))
    16
    """
    _require_winners(model)
    ph, pw = model.pool
    count = sum(1 for m in model.pooling.blocks for row in m for _ in row)
    return itertools.product(range(ph * pw), repeat=count)


def _require_winners(model: ConvolutionalNetwork) -> None:
    # Only a max has winners; a mean has none to fix, and verify(exact=True) proves it already.
    if model.pooling.kind != "max":
        raise NetworkSpecError(
            f"{model.pooling.kind} pooling has no winners to fix; prove its routes with verify(model, exact=True)"
        )
