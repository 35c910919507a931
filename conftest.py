"""Names every doctest may use without importing them."""

import os

import numpy as np
import pytest
import sympy as sp
from hypothesis import settings

import symbackprop


@pytest.fixture(autouse=True)
def _doctest_names(doctest_namespace):
    doctest_namespace.update(np=np, sp=sp, Network=symbackprop.Network)


# CI explores the same examples every run, so a red build always reproduces;
# local runs keep drawing new ones.
if os.environ.get("CI"):
    settings.register_profile("ci", derandomize=True, deadline=None)
    settings.load_profile("ci")
