"""Shared fixtures for the data tests: tiny IDX trees and a hand-made dataset."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from dcbench.data import ClassDataset, write_idx


def write_fake_idx_tree(
    directory: Path, n_train: int = 30, n_test: int = 10, gz: bool = True
) -> dict[str, np.ndarray]:
    """Four (Fashion-)MNIST-style IDX files with labels cycling 0..9; returns the arrays."""
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": (np.arange(n_train) % 10).astype(np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": (np.arange(n_test) % 10).astype(np.uint8),
    }
    for name, arr in arrays.items():
        write_idx(directory / (name + (".gz" if gz else "")), arr)
    return arrays


@pytest.fixture
def fake_idx_tree() -> Callable[..., dict[str, np.ndarray]]:
    """The writer above, as a fixture (test modules here are not a package to import from)."""
    return write_fake_idx_tree


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail loudly if anything tries to open a network connection."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the data code tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture
def small() -> ClassDataset:
    """3 classes (train counts 4, 2, 6), 2 channels, 5x6 images, values in [0, 1]."""
    g = torch.Generator().manual_seed(1)
    y_train = torch.tensor([0, 2, 1, 0, 2, 2, 0, 1, 2, 2, 0, 2])
    y_test = torch.tensor([0, 1, 2, 2, 1])
    x_train = torch.rand(len(y_train), 2, 5, 6, generator=g)
    x_test = torch.rand(len(y_test), 2, 5, 6, generator=g)
    return ClassDataset.from_unit_range("small", x_train, y_train, x_test, y_test, ["a", "b", "c"])
