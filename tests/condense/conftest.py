"""The condensation tests run on one thread (see ``tests/conftest.py::one_thread``)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _condense_one_thread(one_thread: None) -> None:
    """Every test here: one thread, so runs are fast on the shared machine and bit-exact."""
