"""The replay memories a continual run can use, as registered records.

``condensed`` (the run's condensation method), ``reservoir`` and ``none`` are registered here;
every registered condensation method name (``herding``, ``random``, ``dc``, …) is also a buffer
that keeps that method's images per class. Light to import: a record's ``make`` imports the
Avalanche-backed buffer classes (:mod:`dcbench.continual.buffers`) when a buffer is built.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from dcbench.errors import UnknownNameError
from dcbench.registry import Registry


@dataclass
class BufferRequest:
    """What a buffer is built from at each step of a run."""

    ipc: int
    max_classes: int  # (experience, class) groups of the whole stream
    method: str | None  # the condensation method behind the buffer, if any
    preset: str
    settings: dict[str, Any]  # that method's overrides
    seed: int
    device: torch.device
    source: Any
    progress: bool = False
    group_by: str = "class"
    checkpoint_dir: Path | None = None


@dataclass(frozen=True)
class BufferKind:
    """A memory: how it is built and which condensation method (if any) fills it."""

    name: str
    summary: str
    make: Callable[[BufferRequest], Any]
    #: ``method(run_method)``: the condensation method behind this buffer in a run whose
    #: ``method`` setting is ``run_method`` (None: no method).
    method: Callable[[str], str | None]


BUFFERS: Registry[BufferKind] = Registry("buffer")


def _condensed(r: BufferRequest) -> Any:
    from dcbench.continual.buffers import CondensedBuffer

    return CondensedBuffer(
        r.ipc, r.method or "dc", max_classes=r.max_classes, preset=r.preset,
        settings=r.settings, seed=r.seed, device=r.device, source=r.source,
        progress=r.progress, group_by=r.group_by, checkpoint_dir=r.checkpoint_dir)


def _reservoir(r: BufferRequest) -> Any:
    from dcbench.continual.buffers import ReservoirBuffer

    return ReservoirBuffer(r.ipc * r.max_classes, seed=r.seed, source=r.source,
                           device=r.device)


def _none(r: BufferRequest) -> Any:
    from dcbench.continual.buffers import EmptyBuffer

    return EmptyBuffer(source=r.source, device=r.device)


for _kind in (
    BufferKind("condensed", "the run's condensation method (--method), ipc images per class",
               _condensed, lambda run_method: run_method),
    BufferKind("reservoir", "reservoir sampling at ipc x classes", _reservoir,
               lambda run_method: None),
    BufferKind("none", "no memory (fine-tuning only)", _none, lambda run_method: None),
):
    BUFFERS.register(_kind.name)(_kind)


def buffer_kind(name: str) -> BufferKind:
    """The registered buffer, or the buffer of a registered condensation method."""
    from dcbench.condense import CONDENSERS

    if name in BUFFERS:
        return BUFFERS.get(name)
    if name not in CONDENSERS:
        raise UnknownNameError(f"unknown buffer {name!r}; known: {', '.join(buffer_names())}")
    key = name.strip().lower()
    return BufferKind(key, f"the {key} method's images per class", _condensed,
                      lambda run_method: key)


def buffer_names() -> list[str]:
    from dcbench.condense import CONDENSERS

    return sorted(set(BUFFERS.names()) | set(CONDENSERS.names()))
