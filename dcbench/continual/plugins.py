"""The Avalanche plugins every continual protocol trains with.

:class:`EvalProtocolPlugin` runs the core evaluation protocol inside an Avalanche strategy: the
optimiser, the lr schedule and the momentum restart at the drop come from
:mod:`dcbench.evaluation.protocol` (``make_optimizer``, ``begin_pass``), so the rules are written
once; the strategy's ``train_epochs`` is the protocol's ``passes``.
:class:`LwFClassIncrementalPlugin` fixes Avalanche 0.6's LwF bookkeeping for datasets without
task sets. Imports Avalanche.
"""

from __future__ import annotations

import copy
from typing import Any

import torch

from dcbench.augment import get_augmentation
from dcbench.continual._compat import quiet_avalanche_import
from dcbench.errors import DcbenchError
from dcbench.evaluation.protocol import EvalProtocol, begin_pass
from dcbench.progress import progress_bar

with quiet_avalanche_import():
    from avalanche.core import SupervisedPlugin
    from avalanche.training.plugins import LwFPlugin


class LwFClassIncrementalPlugin(LwFPlugin):
    """Avalanche's ``LwFPlugin`` (the distillation loss is its own), with the end-of-experience
    update rewritten for experience datasets without ``task_set``: Avalanche 0.6's
    ``class_incremental_benchmark`` yields plain ``ClassificationDataset``s, on which
    ``LearningWithoutForgetting.post_adapt`` fails with an AttributeError."""

    def after_training_exp(self, strategy: Any, **kwargs: Any) -> None:
        lwf = self.lwf
        lwf.expcount += 1
        lwf.prev_model = copy.deepcopy(strategy.model)
        data = strategy.experience.dataset
        tasks = getattr(data, "targets_task_labels", None)
        tasks = list(tasks) if tasks is not None else [0] * len(data.targets)
        for t, y in zip(tasks, data.targets, strict=True):
            lwf.prev_classes_by_task[int(t)].add(int(y))


class EvalProtocolPlugin(SupervisedPlugin):
    """The core protocol inside an Avalanche strategy: lr schedule (with the momentum restart),
    augmentation, a finite-loss check and a progress bar over the step's passes. An unresolved
    protocol is resolved knowing nothing of the data (``auto``: no augmentation)."""

    def __init__(self, protocol: EvalProtocol, g: torch.Generator, progress: bool = False,
                 desc: str = "train") -> None:
        super().__init__()
        self.protocol = protocol.resolved()
        self.g = g
        self.augment = get_augmentation(self.protocol.augment)
        self.identity = self.protocol.augment == "none"
        self.progress = progress
        self.desc = desc
        self.epoch = 0
        self.bar = None

    def before_training_exp(self, strategy: Any, **kwargs: Any) -> None:
        self.epoch = 0
        self.bar = progress_bar(total=strategy.train_epochs, desc=self.desc,
                                enabled=self.progress)

    def before_training_epoch(self, strategy: Any, **kwargs: Any) -> None:
        begin_pass(strategy.optimizer, self.protocol, self.epoch)

    def before_forward(self, strategy: Any, **kwargs: Any) -> None:
        if not self.identity:
            strategy.mbatch[0] = self.augment(strategy.mbatch[0], self.g)

    def before_backward(self, strategy: Any, **kwargs: Any) -> None:
        if not torch.isfinite(strategy.loss):
            raise DcbenchError(
                f"training diverged (loss {float(strategy.loss)}) at epoch {self.epoch}"
            )

    def after_training_epoch(self, strategy: Any, **kwargs: Any) -> None:
        self.epoch += 1
        if self.bar is not None:
            self.bar.update(1)

    def after_training_exp(self, strategy: Any, **kwargs: Any) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
