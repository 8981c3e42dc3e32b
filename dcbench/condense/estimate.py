"""What a condensation will cost, said before it starts.

Cost is counted in *image passes*: one forward + backward of one image through the method's
network. A method's passes follow from its settings (:func:`passes`); a short probe times an
eager training step of that network on this machine (:func:`seconds_per_pass`). The estimate
is therefore of the eager path: ``torch.compile`` (the quick DC preset) runs faster once
compiled but pays its compile time first. Commands print the estimate as one line and record
it beside the actual wall time in their manifest, so its quality is on record.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from dcbench.data import ClassDataset
from dcbench.models import model_from_spec

#: A synthetic-image gradient is matched through a double backward: ~2 passes per image.
SYNTHETIC_PASSES = 2.0
#: A forward pass without graph (DM's real embeddings) costs about a third of a training pass.
FORWARD_PASS = 1 / 3


def passes(method: str, config: Any, classes: int, ipc: int, class_size: int) -> float:
    """Image passes of one condensation of ``classes`` classes at ``ipc``."""
    if method == "dm":
        return config.iterations * classes * (FORWARD_PASS * config.batch_real + ipc)
    if method in ("dc", "dsa"):
        per_outer = classes * config.batch_real + SYNTHETIC_PASSES * classes * ipc
        inner = (config.outer_loop - 1) * config.inner_loop * classes * ipc
        return config.iterations * (config.outer_loop * per_outer + inner)
    if hasattr(config, "pool_per_class"):  # herding, kcenter, forgetting: a reference net
        pool = min(config.pool_per_class or class_size, class_size) * classes
        return config.epochs * pool + pool / 3  # training, then one forward for features
    return 0.0


def step_seconds(build: Callable[[], nn.Module], channels: int, classes: int,
                 size: tuple[int, int], device: torch.device, batch: int) -> float:
    """Seconds of one eager forward + backward of ``build()`` on a batch, timed after a
    warm-up step, under a forked random state (the probe changes no result). The one probe
    behind every estimate (condense, continual, nas)."""
    with torch.random.fork_rng(devices=[device.index or 0] if device.type == "cuda" else []):
        net = build().to(device)
        x = torch.randn(batch, channels, *size, device=device)
        y = torch.randint(0, classes, (batch,), device=device)
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            F.cross_entropy(net(x), y).backward()
            if device.type == "cuda":
                torch.cuda.synchronize()
            times.append(time.perf_counter() - t0)
    return min(times[1:])


def seconds_per_pass(model: str, ds: ClassDataset, device: torch.device,
                     batch: int = 64) -> float:
    """Seconds of one image pass of ``model`` here."""
    return step_seconds(
        lambda: model_from_spec(model, ds.channels, ds.num_classes, ds.image_size),
        ds.channels, ds.num_classes, tuple(ds.image_size), device, batch) / batch


def describe(seconds: float) -> str:
    if seconds >= 3600:
        return f"~{seconds / 3600:.1f} h"
    return f"~{seconds / 60:.0f} min" if seconds >= 60 else f"~{seconds:.0f} s"
