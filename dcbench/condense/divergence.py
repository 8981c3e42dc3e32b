"""Stop a condensation that is diverging instead of saving a set that trains nothing.

Seen on a user's 8×8 dataset: gradient matching ran to the end with exit 0, its matching loss
rose steadily and the synthetic images grew to a standard deviation of 5 (real data: 1 in the
normalised space), and the set trained ConvNets far worse than random real images. The three
signs, checked after every iteration, each cheap:

* a non-finite loss or image: stop;
* images whose standard deviation exceeds :data:`MAX_STD_RATIO` × the real images' (the sets
  dcbench has made on Fashion-MNIST stay within 1.2×): stop;
* a loss whose mean over the last fifth of the iterations so far is :data:`RISE` above its mean
  over the first fifth (after at least :data:`MIN_ITERATIONS`): warn once.

Each message is one line naming the setting to change.

The std bound is for gradient matching (dc, dsa). Distribution matching (dm) passes no bound:
its loss goes through instance-normalised features, which do not change when an image is
scaled, and SGD on a scale-invariant loss grows the images' norm steadily without anything
being wrong (measured: DM at ipc 1 reached 3x the real std after 571 iterations at the authors'
lr 1.0, its loss still falling). Non-finite values and a rising loss are still caught there.
"""

from __future__ import annotations

import math
import statistics
import sys
from dataclasses import dataclass, field

import torch

from dcbench.errors import DcbenchError

MAX_STD_RATIO = 3.0
RISE = 0.05
MIN_ITERATIONS = 30


@dataclass
class DivergenceGuard:
    """Watches one condensation; ``method`` and ``lr`` name what to change in the message."""

    method: str
    lr: float
    real_std: float
    max_std_ratio: float | None = MAX_STD_RATIO  # None: no bound (scale-invariant losses)
    warned: bool = False
    notes: list[str] = field(default_factory=list)

    def _hint(self) -> str:
        return (f"lower --set {self.method}.lr_img (now {self.lr:g}) or use a smaller "
                f"network for small images (--set {self.method}.model=convnet:depth=2)")

    def check(self, iteration: int, loss: float, images: torch.Tensor,
              history: list[float]) -> None:
        std = float(images.detach().std())
        if not math.isfinite(loss) or not math.isfinite(std):
            raise DcbenchError(f"{self.method} diverged at iteration {iteration}: the matching "
                               f"loss became {loss}; {self._hint()}")
        if self.max_std_ratio is not None and std > self.max_std_ratio * self.real_std:
            raise DcbenchError(
                f"{self.method} diverged at iteration {iteration}: the synthetic images' std "
                f"is {std:.2f}, {std / self.real_std:.1f}x the real images' "
                f"({self.real_std:.2f}); {self._hint()}")
        if not self.warned and len(history) >= MIN_ITERATIONS:
            k = len(history) // 5
            first, last = statistics.fmean(history[:k]), statistics.fmean(history[-k:])
            if last > first * (1 + RISE):
                self.warned = True
                note = (f"warning: {self.method} matching loss is rising ({first:.4g} → "
                        f"{last:.4g} over {len(history)} iterations); {self._hint()}")
                self.notes.append(note)
                print(note, file=sys.stderr)
