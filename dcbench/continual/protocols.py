"""The three training protocols, each an Avalanche ``Naive`` strategy with plugins.

* ``gdumb`` — Avalanche's ``GDumbPlugin`` with the buffer as its storage policy: at each step
  the buffer first takes the new experience (condensed before training), then a *fresh* model
  is trained from scratch on the memory alone. This is the DM paper's continual-learning
  protocol, and each step is exactly the core evaluation of the memory as a training set.
* ``replay`` — the model of the previous step is fine-tuned on the new experience, each
  mini-batch of ``batch_size`` new samples joined by ``replay_batch`` memory samples
  (Avalanche's ``ReplayPlugin``/``ReplayDataLoader``); the buffer takes the experience after
  training.
* ``replay+kd`` — ``replay`` plus Avalanche's ``LwFPlugin`` (its loss; see
  :class:`LwFClassIncrementalPlugin` for the one fix): ``kd_alpha`` × KL divergence at
  temperature ``kd_temperature`` between the previous model's and the current model's outputs
  on the units of the classes seen before, over the whole mixed mini-batch.

Every protocol trains with the core evaluation protocol's optimiser and schedule
(:class:`dcbench.evaluation.EvalProtocol`: SGD, lr, momentum, weight decay, batch size, lr × 0.1
after ``lr_decay_at`` of the epochs, augmentation) through :class:`EvalProtocolPlugin`; the
optimiser is created afresh at every step (no momentum carried across experiences).
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from dcbench.augment import AUGMENTATIONS
from dcbench.continual._compat import quiet_avalanche_import
from dcbench.errors import DcbenchError
from dcbench.evaluation.protocol import EvalProtocol
from dcbench.progress import progress_bar
from dcbench.registry import Registry

with quiet_avalanche_import():
    from avalanche.core import SupervisedPlugin
    from avalanche.training.plugins import (
        EvaluationPlugin,
        GDumbPlugin,
        LwFPlugin,
        ReplayPlugin,
    )
    from avalanche.training.supervised import Naive

#: Whether a protocol continues from the previous step's model (whose state must be kept).
NEEDS_PREVIOUS_MODEL = {"gdumb": False, "replay": True, "replay+kd": True}


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
    """The core protocol inside an Avalanche strategy: lr schedule, augmentation, a finite-loss
    check and a progress bar over the step's epochs."""

    def __init__(self, protocol: EvalProtocol, g: torch.Generator, progress: bool = False,
                 desc: str = "train") -> None:
        super().__init__()
        self.protocol = protocol
        self.g = g
        self.augment = AUGMENTATIONS.get(
            protocol.augment if protocol.augment != "auto" else "none"
        )
        self.identity = protocol.augment in ("none", "auto")
        self.decay_epoch = int(protocol.epochs * protocol.lr_decay_at)
        self.progress = progress
        self.desc = desc
        self.epoch = 0
        self.bar = None

    def before_training_exp(self, strategy: Any, **kwargs: Any) -> None:
        self.epoch = 0
        for group in strategy.optimizer.param_groups:
            group["lr"] = self.protocol.lr
        self.bar = progress_bar(total=strategy.train_epochs, desc=self.desc,
                                enabled=self.progress)

    def before_training_epoch(self, strategy: Any, **kwargs: Any) -> None:
        if self.epoch == self.decay_epoch and self.epoch > 0:
            for group in strategy.optimizer.param_groups:
                group["lr"] *= 0.1

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


@dataclass
class StepContext:
    """What a protocol's plugins may need besides the buffer."""

    settings: EvalProtocol
    device: torch.device
    previous_model: nn.Module | None = None
    previous_classes: list[int] | None = None
    step: int = 0
    replay_batch: int | None = None
    kd_alpha: float = 1.0
    kd_temperature: float = 2.0


#: protocol name -> ``plugins(buffer, context)``; the names are those of
#: :data:`dcbench.continual.config.PROTOCOLS`.
PROTOCOL_PLUGINS: Registry[Callable[[Any, StepContext], list[Any]]] = Registry("protocol")


@PROTOCOL_PLUGINS.register("gdumb")
def _gdumb(buffer: Any, ctx: StepContext) -> list[Any]:
    gdumb = GDumbPlugin(mem_size=max(1, buffer.max_size))
    gdumb.storage_policy = buffer  # filled before training; the model is reset every step
    return [gdumb]


@PROTOCOL_PLUGINS.register("replay")
def _replay(buffer: Any, ctx: StepContext) -> list[Any]:
    return [ReplayPlugin(
        mem_size=buffer.max_size, batch_size=ctx.settings.batch_size,
        batch_size_mem=ctx.replay_batch or ctx.settings.batch_size, storage_policy=buffer,
    )]


@PROTOCOL_PLUGINS.register("replay+kd")
def _replay_kd(buffer: Any, ctx: StepContext) -> list[Any]:
    lwf = LwFClassIncrementalPlugin(alpha=ctx.kd_alpha, temperature=ctx.kd_temperature)
    if ctx.previous_model is not None and ctx.previous_classes:
        teacher = copy.deepcopy(ctx.previous_model).to(ctx.device)
        teacher.eval()
        lwf.lwf.prev_model = teacher
        lwf.lwf.prev_classes_by_task[0] = {int(c) for c in ctx.previous_classes}
        lwf.lwf.expcount = ctx.step
    return [*_replay(buffer, ctx), lwf]


def build_strategy(
    protocol: str,
    model: nn.Module,
    buffer: Any,
    settings: EvalProtocol,
    device: torch.device,
    g: torch.Generator,
    *,
    previous_model: nn.Module | None = None,
    previous_classes: list[int] | None = None,
    step: int = 0,
    replay_batch: int | None = None,
    kd_alpha: float = 1.0,
    kd_temperature: float = 2.0,
    progress: bool = False,
    desc: str = "train",
) -> Any:
    """An Avalanche ``Naive`` strategy set up for one step of ``protocol``.

    ``previous_model``/``previous_classes`` restore LwF's teacher for ``replay+kd`` when a step
    runs in a fresh strategy (as every step does, so that a resumed run equals an
    uninterrupted one); the teacher is copied here, before any training.
    """
    ctx = StepContext(settings, device, previous_model, previous_classes, step, replay_batch,
                      kd_alpha, kd_temperature)
    plugins = [EvalProtocolPlugin(settings, g, progress, desc),
               *PROTOCOL_PLUGINS.get(protocol)(buffer, ctx)]
    optimizer = torch.optim.SGD(model.parameters(), lr=settings.lr, momentum=settings.momentum,
                                weight_decay=settings.weight_decay)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "No loggers specified": we log through dcbench
        evaluator = EvaluationPlugin()
    return Naive(
        model=model, optimizer=optimizer, criterion=nn.CrossEntropyLoss(),
        train_mb_size=settings.batch_size, train_epochs=settings.epochs,
        eval_mb_size=settings.test_batch, device=device, plugins=plugins, evaluator=evaluator,
    )
