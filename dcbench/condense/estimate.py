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
from typing import Any

import torch
import torch.nn.functional as F

from dcbench.data import ClassDataset
from dcbench.models import model_from_spec

#: A synthetic-image gradient is matched through a double backward: ~2 passes per image.
SYNTHETIC_PASSES = 2.0


def passes(method: str, config: Any, classes: int, ipc: int, class_size: int) -> float:
    """Image passes of one condensation of ``classes`` classes at ``ipc``."""
    if method == "dc":
        per_outer = classes * config.batch_real + SYNTHETIC_PASSES * classes * ipc
        inner = (config.outer_loop - 1) * config.inner_loop * classes * ipc
        return config.iterations * (config.outer_loop * per_outer + inner)
    if hasattr(config, "pool_per_class"):  # herding, kcenter, forgetting: a reference net
        pool = min(config.pool_per_class or class_size, class_size) * classes
        return config.epochs * pool + pool / 3  # training, then one forward for features
    return 0.0


def seconds_per_pass(model: str, ds: ClassDataset, device: torch.device,
                     batch: int = 64) -> float:
    """Seconds of one image pass of ``model`` here (a timed eager step after a warm-up; under
    a forked random state, so the probe changes no result)."""
    with torch.random.fork_rng(devices=[device.index or 0] if device.type == "cuda" else []):
        net = model_from_spec(model, ds.channels, ds.num_classes, ds.image_size).to(device)
        x = torch.randn(batch, ds.channels, *ds.image_size, device=device)
        y = torch.randint(0, ds.num_classes, (batch,), device=device)
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            F.cross_entropy(net(x), y).backward()
            if device.type == "cuda":
                torch.cuda.synchronize()
            times.append(time.perf_counter() - t0)
    return min(times[1:]) / batch


def describe(seconds: float) -> str:
    if seconds >= 3600:
        return f"~{seconds / 3600:.1f} h"
    return f"~{seconds / 60:.0f} min" if seconds >= 60 else f"~{seconds:.0f} s"
