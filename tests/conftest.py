"""Fixtures that several test modules share because they are expensive to build."""

from __future__ import annotations

import pytest

from symbackprop.documents.topics import all_documents


@pytest.fixture(scope="session")
def documents():
    """Every derivation document, built once per test process (building them takes seconds)."""
    return all_documents()


@pytest.fixture(scope="session")
def central_differences():
    """``differences(cost, params)``: ``(cost(p + h e) − cost(p − h e)) / 2h`` for
    every entry ``e`` of every parameter array, as ``{name: array}`` shaped like
    ``params`` (h = 10⁻⁶), to hold a computed gradient against."""

    def differences(cost, params, h=1e-6):
        import numpy as np

        estimates = {}
        for name, value in params.items():
            estimates[name] = np.empty(value.shape)
            for index in np.ndindex(value.shape):
                up = {k: v.copy() for k, v in params.items()}
                down = {k: v.copy() for k, v in params.items()}
                up[name][index] += h
                down[name][index] -= h
                estimates[name][index] = (cost(up) - cost(down)) / (2 * h)
        return estimates

    return differences
