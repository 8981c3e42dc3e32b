"""The evaluation protocol, in one place: train fresh models on a tensor set, test on the real
test split, report the *final-epoch* accuracy (never the best epoch on test).

Defaults are the DC authors' (see ../shared/REFERENCE.md): 300 epochs, SGD lr 0.01 with ×0.1
after half the epochs, momentum 0.9, weight decay 5e-4, batch 256, augmentation only for MNIST.
Every result file records the resolved :class:`EvalProtocol`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from dcbench.augment import AUGMENTATIONS, resolve_augment
from dcbench.data import ClassDataset
from dcbench.errors import DcbenchError
from dcbench.models import model_from_spec
from dcbench.progress import progress_bar
from dcbench.results.stats import mean_std  # re-exported: callers import it from here
from dcbench.seeding import derive_seed, generator

BatchHook = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], None]


@dataclass
class EvalProtocol:
    """How a model is trained on a (synthetic) set and scored; recorded with every result."""

    epochs: int = 300
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 5e-4
    batch_size: int = 256
    lr_decay_at: float = 0.5  # fraction of epochs after which lr is multiplied by 0.1
    augment: str = "auto"  # auto = "dc" for MNIST, "none" otherwise (the authors' choice)
    num_models: int = 5
    test_batch: int = 2048
    reported: str = "final-epoch test accuracy on the full test split"

    def validate(self) -> None:
        for key in ("epochs", "batch_size", "num_models", "test_batch"):
            if getattr(self, key) < 1:
                raise DcbenchError(f"{key}: must be at least 1 (got {getattr(self, key)})")
        if not self.lr > 0:
            raise DcbenchError(f"lr: must be positive (got {self.lr})")
        if not 0 <= self.lr_decay_at <= 1:
            raise DcbenchError(f"lr_decay_at: must be a fraction in [0, 1] "
                               f"(got {self.lr_decay_at})")
        if self.augment != "auto":
            AUGMENTATIONS.get(self.augment)

    def resolved(self, dataset: str) -> EvalProtocol:
        return dataclasses.replace(self, augment=resolve_augment(self.augment, dataset))


def make_optimizer(model: nn.Module, protocol: EvalProtocol) -> torch.optim.Optimizer:
    """The protocol's optimiser: SGD with its lr, momentum and weight decay."""
    return torch.optim.SGD(model.parameters(), lr=protocol.lr, momentum=protocol.momentum,
                           weight_decay=protocol.weight_decay)


def lr_for_epoch(protocol: EvalProtocol, epoch: int) -> float:
    """The protocol's step schedule: ``lr``, then ×0.1 from epoch ``epochs × lr_decay_at``
    (no drop when that is epoch 0)."""
    decay_epoch = int(protocol.epochs * protocol.lr_decay_at)
    return protocol.lr * 0.1 if 0 < decay_epoch <= epoch else protocol.lr


def train_model(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    protocol: EvalProtocol,
    g: torch.Generator,
    device: torch.device,
    on_batch: BatchHook | None = None,
    progress: bool = False,
) -> nn.Module:
    """Train ``model`` in place with the protocol; ``on_batch(idx, logits, y)`` sees each batch
    (used to count forgetting events)."""
    model.to(device).train()
    opt = make_optimizer(model, protocol)
    augment = AUGMENTATIONS.get(protocol.augment if protocol.augment != "auto" else "none")
    x, y = x.to(device), y.to(device)
    n, b = len(x), protocol.batch_size
    bar = progress_bar(total=protocol.epochs, desc="train", enabled=progress)
    for epoch in range(protocol.epochs):
        for group in opt.param_groups:
            group["lr"] = lr_for_epoch(protocol, epoch)
        order = torch.randperm(n, generator=g)
        for start in range(0, n, b):
            idx = order[start:start + b]
            xb = augment(x[idx.to(device)], g)
            out = model(xb)
            loss = F.cross_entropy(out, y[idx.to(device)])
            if not torch.isfinite(loss):
                value = float(loss.detach())
                raise DcbenchError(f"training diverged (loss {value}) at epoch {epoch}")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if on_batch is not None:
                on_batch(idx, out.detach(), y[idx.to(device)])
        bar.update(1)
    bar.close()
    return model


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int, device) -> float:
    """Top-1 accuracy in percent."""
    model.to(device).eval()
    correct = 0
    for start in range(0, len(x), batch):
        out = model(x[start:start + batch].to(device))
        correct += int((out.argmax(1) == y[start:start + batch].to(device)).sum())
    return 100.0 * correct / max(1, len(x))


def evaluate_set(
    images: torch.Tensor,
    labels: torch.Tensor,
    dataset: ClassDataset,
    models: Sequence[str],
    protocol: EvalProtocol,
    seed: int = 0,
    device: torch.device | str = "cpu",
    progress: bool = True,
) -> dict[str, Any]:
    """Train ``protocol.num_models`` fresh models of each spec on the set; test on the real
    test split. Returns ``{"protocol": ..., "models": {spec: {"accuracies", "mean", "std"}}}``."""
    device = torch.device(device)
    protocol = protocol.resolved(dataset.name)
    protocol.validate()
    results: dict[str, Any] = {}
    total = len(models) * protocol.num_models
    bar = progress_bar(total=total, desc="evaluate", enabled=progress)
    for m_i, spec in enumerate(models):
        accs = []
        for r in range(protocol.num_models):
            torch.manual_seed(derive_seed(seed, m_i, r, 7))
            model = model_from_spec(spec, dataset.channels, dataset.num_classes, dataset.image_size)
            train_model(model, images, labels, protocol, generator(seed, m_i, r, 8), device)
            acc = accuracy(model, dataset.x_test, dataset.y_test, protocol.test_batch, device)
            accs.append(acc)
            bar.update(1)
            bar.set_postfix(model=spec, acc=f"{accs[-1]:.2f}")
        mean, std = mean_std(accs)
        results[spec] = {"accuracies": accs, "mean": mean, "std": std}
    bar.close()
    return {"protocol": dataclasses.asdict(protocol), "models": results}
