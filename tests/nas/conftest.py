"""Fixtures for the NAS tests: one thread, a private results root, a tiny generated dataset."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

#: 3 classes, 12 train / 10 test images per class, 1x16x16: generated, no files.
TOY = "toy:classes=3:per_class=12:test_per_class=10:size=16x16"

#: A 4-candidate space that trains in milliseconds on TOY.
TINY_SPACE = {"name": "tiny", "grid": {"width": [8, 16], "depth": [1, 2], "pool": ["avg"]}}


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    """One intra-op thread: tiny tensors on a shared 2-core machine, bit-exact comparisons."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def results_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Results (condensed sets, NAS runs, the cache) go under a temporary directory."""
    root = tmp_path / "results"
    monkeypatch.setenv("DCBENCH_RESULTS", str(root))
    return root


@pytest.fixture
def tiny_settings() -> dict[str, Any]:
    """Settings of a seconds-long run on TOY (no on-the-fly gradient matching)."""
    return {
        "space": TINY_SPACE, "dataset": TOY, "ipc": 2, "epochs": 4, "whole_epochs": 6,
        "whole_per_class": 0, "test_per_class": 0, "top_k": 3, "threads": 1,
        "proxies": ["random", "early-stopping"], "device": "cpu", "quiet": True,
    }
