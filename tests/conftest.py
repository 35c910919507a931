"""Fixtures that several test modules share because they are expensive to build."""

from __future__ import annotations

import pytest

from symbackprop.documents.topics import all_documents


@pytest.fixture(scope="session")
def documents():
    """Every derivation document, built once per test process (building them takes seconds)."""
    return all_documents()
