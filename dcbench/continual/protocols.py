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
(:class:`dcbench.evaluation.EvalProtocol`: SGD, lr, momentum, weight decay, batch size,
``epochs + 1`` passes with lr × 0.1 and a momentum restart after pass
``int(epochs × lr_decay_at) + 1``, augmentation) through
:class:`~dcbench.continual.plugins.EvalProtocolPlugin`; the optimiser is created afresh at
every step (no momentum carried across experiences).

The protocols are registered records (:data:`PROTOCOLS`): a protocol is its plugins and
whether it continues from the previous step's model.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from dcbench.evaluation.protocol import EvalProtocol, make_optimizer
from dcbench.registry import Registry


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



@dataclass(frozen=True)
class Protocol:
    """A training protocol: its Avalanche plugins, and whether it continues from the previous
    step's model (whose state a step must then keep)."""

    name: str
    needs_previous_model: bool
    plugins: Callable[[Any, StepContext], list[Any]]


#: The protocols by name. Light to import: Avalanche is imported when plugins are built.
PROTOCOLS: Registry[Protocol] = Registry("protocol")


def register_protocol(name: str, needs_previous_model: bool):
    def deco(plugins: Callable[[Any, StepContext], list[Any]]):
        PROTOCOLS.register(name)(Protocol(name, needs_previous_model, plugins))
        return plugins
    return deco


@register_protocol("gdumb", needs_previous_model=False)
def _gdumb(buffer: Any, ctx: StepContext) -> list[Any]:
    from avalanche.training.plugins import GDumbPlugin

    gdumb = GDumbPlugin(mem_size=max(1, buffer.max_size))
    gdumb.storage_policy = buffer  # filled before training; the model is reset every step
    return [gdumb]


@register_protocol("replay", needs_previous_model=True)
def _replay(buffer: Any, ctx: StepContext) -> list[Any]:
    from avalanche.training.plugins import ReplayPlugin

    return [ReplayPlugin(
        mem_size=buffer.max_size, batch_size=ctx.settings.batch_size,
        batch_size_mem=ctx.replay_batch or ctx.settings.batch_size, storage_policy=buffer,
    )]


@register_protocol("replay+kd", needs_previous_model=True)
def _replay_kd(buffer: Any, ctx: StepContext) -> list[Any]:
    from dcbench.continual.plugins import LwFClassIncrementalPlugin

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
    from avalanche.training.plugins import EvaluationPlugin
    from avalanche.training.supervised import Naive

    from dcbench.continual.plugins import EvalProtocolPlugin  # imports Avalanche quietly

    ctx = StepContext(settings, device, previous_model, previous_classes, step, replay_batch,
                      kd_alpha, kd_temperature)
    plugins = [EvalProtocolPlugin(settings, g, progress, desc),
               *PROTOCOLS.get(protocol).plugins(buffer, ctx)]
    optimizer = make_optimizer(model, settings)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "No loggers specified": we log through dcbench
        evaluator = EvaluationPlugin()
    return Naive(
        model=model, optimizer=optimizer, criterion=nn.CrossEntropyLoss(),
        train_mb_size=settings.batch_size, train_epochs=settings.resolved().passes,
        eval_mb_size=settings.test_batch, device=device, plugins=plugins, evaluator=evaluator,
    )
