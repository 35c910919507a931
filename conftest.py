"""Names every doctest may use without importing them."""

import numpy as np
import pytest
import sympy as sp

import symbackprop


@pytest.fixture(autouse=True)
def _doctest_names(doctest_namespace):
    doctest_namespace.update(np=np, sp=sp, Network=symbackprop.Network)
