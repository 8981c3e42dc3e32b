"""Continual learning with condensed memories, on Avalanche 0.6 (``dcbench run continual``).

Modules: :mod:`~dcbench.continual.config` (ContinualConfig),
:mod:`~dcbench.continual.memories` and :mod:`~dcbench.continual.protocols` (the buffer and
protocol registries, light to import), :mod:`~dcbench.continual.plugins` (Avalanche plugins),
:mod:`~dcbench.continual.streams` (class-incremental and dataset-sequence Avalanche benchmarks
from dcbench datasets), :mod:`~dcbench.continual.buffers` (CondensedBuffer and the reference
buffers, Avalanche ``ExemplarsBuffer`` subclasses), :mod:`~dcbench.continual.protocols`
(gdumb, replay, replay+kd as Avalanche strategies), :mod:`~dcbench.continual.runner`
(resumable experiment), :mod:`~dcbench.continual.state` (per-step state files),
:mod:`~dcbench.continual.outputs` (metrics, tables, plots of a run),
:mod:`~dcbench.continual.metrics` and :mod:`~dcbench.continual.plot`.

Avalanche (~3 s and ~1 GB to import) is imported only when a stream, buffer or strategy is
built; ``import dcbench.continual`` and the task module stay light.

The condensed buffer in plain Avalanche code (see README.md in this folder)::

    from avalanche.benchmarks.classic import SplitMNIST
    from avalanche.training.plugins import ReplayPlugin
    from avalanche.training.supervised import Naive
    from dcbench.continual import CondensedBuffer

    benchmark = SplitMNIST(n_experiences=5, seed=0)
    buffer = CondensedBuffer(ipc=10, method="dc", max_classes=10,
                             settings={"model": "convnet:width=32", "iterations": 20})
    replay = ReplayPlugin(mem_size=buffer.max_size, storage_policy=buffer)
    strategy = Naive(model=model, optimizer=optimizer, train_mb_size=128, plugins=[replay])
    for experience in benchmark.train_stream:
        strategy.train(experience)      # after each experience: condense its classes
"""

from __future__ import annotations

from typing import Any

from dcbench.continual.config import ContinualConfig

__all__ = [
    "CondensedBuffer",
    "ContinualConfig",
    "DcbenchStream",
    "EmptyBuffer",
    "ReservoirBuffer",
    "class_incremental_stream",
    "dataset_sequence_stream",
    "run_experiment",
]

_LAZY = {
    "CondensedBuffer": "dcbench.continual.buffers",
    "ReservoirBuffer": "dcbench.continual.buffers",
    "EmptyBuffer": "dcbench.continual.buffers",
    "DcbenchStream": "dcbench.continual.streams",
    "class_incremental_stream": "dcbench.continual.streams",
    "dataset_sequence_stream": "dcbench.continual.streams",
    "run_experiment": "dcbench.continual.runner",
}


def __getattr__(name: str) -> Any:
    """Avalanche-backed names are imported on first use."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'dcbench.continual' has no attribute {name!r}")
