"""Fixtures for the continual-learning tests: one thread, tiny generated data, tiny settings."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import torch

from dcbench.data import ClassDataset, make_toy_dataset

#: A tiny continual task: 4 toy classes in 2 experiences, 2 images per class, a 2-block ConvNet
#: of width 8, 2 epochs, one DC iteration: each step takes well under a second.
TINY_TOY = "toy:classes=4:per_class=12:test_per_class=6:size=16x16"
TINY: dict[str, Any] = {
    "dataset": TINY_TOY,
    "experiences": 2,
    "ipc": 2,
    "model": "convnet:width=8:depth=2",
    "epochs": 2,
    "method_settings": {
        "dc": {"iterations": 1, "outer_loop": 2, "inner_loop": 1, "batch_real": 8,
               "compile": False},
        "herding": {"epochs": 1, "pool_per_class": 0},
    },
    "seeds": [0],
}


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    """Tiny tensors on a shared 2-core machine: one intra-op thread is fastest."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(autouse=True)
def _results_in_tmp(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fresh run directories go to a temporary results root, never ./results."""
    monkeypatch.setenv("DCBENCH_RESULTS", str(tmp_path / "results"))


@pytest.fixture(scope="session")
def toy6() -> ClassDataset:
    """6 classes, 10 train / 5 test images each, 1×16×16 (read-only)."""
    return make_toy_dataset(num_classes=6, per_class=10, test_per_class=5, image_size=(16, 16))


@pytest.fixture
def tiny() -> dict[str, Any]:
    import copy

    return copy.deepcopy(TINY)
