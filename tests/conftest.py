"""Fixtures shared across the test tree. One is autouse: tests do not see other dcbench
commands running on the machine; every other fixture is requested by name."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from dcbench.cli import cli
from dcbench.data import ClassDataset, make_toy_dataset


@pytest.fixture(autouse=True)
def alone_on_the_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    """A dcbench command a developer runs beside the tests must not change their threads or
    add a hint line to their output (dcbench.device shares the cores with other commands)."""
    monkeypatch.setattr("dcbench.device.other_dcbench_processes", lambda *a, **k: 0)


@pytest.fixture
def one_thread() -> Iterator[None]:
    """One intra-op thread (tiny tensors on a shared 2-core machine; bit-exact comparisons)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tiny_dataset() -> ClassDataset:
    """3 classes, 12 train / 10 test images each, 1x16x16: seconds of condensation at most.

    Session-scoped: treat it as read-only (derive new datasets instead of editing tensors).
    """
    return make_toy_dataset(num_classes=3, per_class=12, test_per_class=10, image_size=(16, 16))


@pytest.fixture
def results(tmp_path: Path) -> Path:
    """Where a test's commands write (``invoke`` sets DCBENCH_RESULTS to it)."""
    return tmp_path / "results"


@pytest.fixture
def invoke(results: Path):
    """Run ``dcbench ARGS...`` in-process (click's CliRunner) with results under ``results``."""
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(cli, list(args), env={"DCBENCH_RESULTS": str(results)})

    return run
