"""What a NAS run will cost, said before it starts (and checked against the truth after).

The paper's grid is 720 ConvNets; on two CPU cores its quick ground truth alone is days. The
estimate multiplies every unit's multiply-accumulates (training ≈ 3 passes per image per epoch,
testing 1 pass per test image) by a throughput measured here in a short probe: one mid-sized
candidate trained on one batch, timed after a warm-up step. Units already in the cache cost
nothing; workers divide the rest. It ignores the making of condensed/coreset proxies (the
condensation prints its own progress) and is honest within a factor of about two: the
manifest records estimated and actual seconds side by side.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from dcbench.condense.estimate import describe, step_seconds
from dcbench.evaluation.protocol import passes_for
from dcbench.models import build_model
from dcbench.nas.proxies import GROUND_TRUTH, early_stopping_plan
from dcbench.nas.spaces import SearchSpace


@dataclass
class Estimate:
    units: int
    seconds: float
    macs_per_s: float

    def line(self, workers: int, threads: int) -> str:
        return (f"estimate: {self.units} units, {describe(self.seconds)} on this machine with "
                f"{workers} worker(s) x {threads} thread(s) "
                f"(probe: {self.macs_per_s / 1e9:.1f} GMAC/s); "
                "smaller: --space convnet-grid-small, a --preset quick ground truth; faster: "
                "--workers, --executor ray")


def proxy_passes(proxies: list[str], set_images: int, epochs: int, whole_images: int,
                 whole_epochs: int) -> dict[str, int]:
    """Training image passes of one unit of each proxy (images x (epochs + 1), the protocol's
    passes)."""
    out = {}
    for name in proxies:
        if name == GROUND_TRUTH:
            out[name] = whole_images * passes_for(whole_epochs)
        elif name == "early-stopping":
            e, n = early_stopping_plan(set_images, epochs, whole_images)
            out[name] = passes_for(e) * n
        else:
            out[name] = set_images * passes_for(epochs)
    return out


def probe_macs_per_s(space: SearchSpace, costs: dict[str, dict[str, int]], channels: int,
                     classes: int, size: tuple[int, int], device: torch.device,
                     batch: int = 128) -> float:
    """Multiply-accumulates per second of a training step of the median candidate."""
    mid = sorted(space.candidates, key=lambda c: costs[c.spec]["macs"])[len(space) // 2]
    step = step_seconds(lambda: build_model(mid.model, channels, classes, size, **mid.options),
                        channels, classes, size, device, batch)
    return max(1.0, 3.0 * costs[mid.spec]["macs"] * batch / step)


def estimate(space: SearchSpace, costs: dict[str, dict[str, int]], passes: dict[str, int],
             test_images: int, seeds: list[int], cached: int, workers: int,
             macs_per_s: float) -> Estimate:
    total = 0.0
    for c in space.candidates:
        macs = costs[c.spec]["macs"]
        total += sum(3.0 * macs * n + macs * test_images for n in passes.values())
    units = len(space) * len(passes) * len(seeds)
    share = 1 - cached / units if units else 0.0
    seconds = total * len(seeds) * share / macs_per_s / max(1, workers)
    return Estimate(units - cached, seconds, macs_per_s)
