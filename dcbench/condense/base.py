"""What every condensation method shares: the request, the registry and the result metadata.

A method is one registered class with a ``Config`` dataclass (its hyper-parameters, with a
``quick`` and a ``paper`` preset, see :mod:`dcbench.condense.config`) and a
``run(request, config)`` returning a SyntheticSet.
Methods know nothing of continual learning or NAS: those call :func:`dcbench.condense.condense`.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from dcbench.data import ClassDataset
from dcbench.data.registry import check_usable
from dcbench.errors import DcbenchError
from dcbench.registry import Registry


@dataclass
class CondenseRequest:
    """The inputs every method takes, whatever its hyper-parameters."""

    dataset: ClassDataset
    ipc: int
    seed: int = 0
    device: torch.device = dataclasses.field(default_factory=lambda: torch.device("cpu"))
    checkpoint: Path | None = None  # where to keep resumable state (methods that iterate)
    progress: bool = True
    classes: list[int] | None = None  # condense only these classes (continual learning)
    #: Save the set as it stands once these many minutes of condensation have passed
    #: (``snapshot_dir/set-<m>min.pt``), for accuracy-vs-time curves; iterative methods only.
    snapshot_minutes: list[float] = dataclasses.field(default_factory=list)
    snapshot_dir: Path | None = None
    #: Stop at the first iteration end after these many minutes of condensation (summed
    #: across resumes) and return the set as it is then; iterative methods only.
    budget_minutes: float | None = None
    #: Recorded in every snapshot as it is saved (the run's preset), so a snapshot file is
    #: written once: its content digest identifies it to its evaluations.
    snapshot_meta: dict[str, Any] = dataclasses.field(default_factory=dict)

    def class_list(self) -> list[int]:
        return list(range(self.dataset.num_classes)) if self.classes is None else self.classes


CONDENSERS: Registry[type] = Registry("condensation method")


def check_request(request: CondenseRequest) -> None:
    """Reject impossible requests with a one-line message before any work starts."""
    ds = request.dataset
    if request.classes is None:  # a whole dataset (not one experience of a stream)
        check_usable(ds)
    if request.ipc < 1:
        raise DcbenchError(f"ipc must be at least 1 (got {request.ipc})")
    counts = ds.class_counts()
    for c in request.class_list():
        if not 0 <= c < ds.num_classes:
            raise DcbenchError(f"class {c} is not in {ds.name} (0..{ds.num_classes - 1})")
        if counts[c] < request.ipc:
            raise DcbenchError(
                f"ipc {request.ipc} is larger than class {c} ({ds.class_names[c]!r}) "
                f"of {ds.name}, which has {counts[c]} training images"
            )


def base_meta(request: CondenseRequest, method: str, config: Any) -> dict[str, Any]:
    """Metadata every saved set carries (see SyntheticSet)."""
    from dcbench.results.manifest import environment_info

    ds = request.dataset
    classes = request.class_list()
    env = environment_info()
    return {
        "dataset": ds.name,
        "class_names": list(ds.class_names),
        "classes": classes,
        "mean": [float(m) for m in ds.mean],
        "std": [float(s) for s in ds.std],
        "image_size": list(ds.image_size),
        "channels": ds.channels,
        "ipc": request.ipc,
        "method": method,
        "hparams": dataclasses.asdict(config),
        "seed": request.seed,
        "versions": {k: env[k] for k in ("dcbench", "torch", "torchvision")},
        "git_commit": env["git_commit"],
        "device": str(request.device),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
