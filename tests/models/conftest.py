"""Fixtures for the model tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    """Run the model tests on one intra-op thread.

    These tests run many tiny forward passes; on the shared 2-core machine two spinning
    OpenMP threads made the 720-point grid check ~7x slower (wall) than one thread.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
