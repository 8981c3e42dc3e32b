"""DSA: gradient matching with Differentiable Siamese Augmentation (Zhao & Bilen, ICML 2021).

DC's loop (:class:`~dcbench.condense.dc.GradientMatcher`) with one change: in every outer step
each class's real batch and synthetic images get the same random transform (one op family of
the strategy per class, the authors' ``'S'`` mode) before their gradients are matched, and the
network's inner training augments every batch. The augmentation itself is :mod:`dcbench.dsa`.
Sets made this way are evaluated with DSA augmentation and 1000 epochs (the authors' protocol;
:mod:`dcbench.evaluation.protocol` resolves it from the set's method).
"""

from __future__ import annotations

from dataclasses import dataclass

from dcbench import dsa
from dcbench.condense.base import CONDENSERS, CondenseRequest
from dcbench.condense.dc import DCConfig, GradientMatcher
from dcbench.condense.loop import run_iterations
from dcbench.condense.synthetic_set import SyntheticSet

#: Where this implementation differs from the authors' code on purpose (recorded in every set).
DEVIATIONS = [
    "siamese parameters are drawn once per class from a seeded generator and applied to both "
    "batches (the authors re-seed the global RNG from the clock); same distribution",
    "all classes' synthetic gradients in one batched pass (torch.func.vmap); same math",
]


@dataclass
class DSAConfig(DCConfig):
    """DC's settings plus the augmentation strategy; ``paper`` as the authors' README runs it
    (their loops and learning rates, 1000 iterations, init real)."""

    strategy: str = "auto"  # auto: color_crop_cutout_flip_scale_rotate; no flip for digits

    @classmethod
    def preset(cls, name: str, ipc: int) -> DSAConfig:
        config = super().preset(name, ipc)
        config.init = "real"
        return config

    def validate(self) -> None:
        super().validate()
        if self.strategy != "auto":
            dsa.parse_strategy(self.strategy)


@CONDENSERS.register("dsa")
class DSACondenser:
    """DSA: gradient matching with siamese augmentation (Zhao & Bilen, ICML 2021); resumes."""

    Config = DSAConfig

    def run(self, request: CondenseRequest, config: DSAConfig) -> SyntheticSet:
        strategy = dsa.resolve_strategy(config.strategy, request.dataset.name)
        matcher = GradientMatcher(request, config, strategy=strategy)
        return run_iterations("dsa", request, config, matcher, {"dsa_strategy": strategy,
                                                                "deviations": DEVIATIONS})
