"""Coreset baselines behind the same registry and SyntheticSet format as DC.

``random`` picks real images at random. ``herding`` and ``kcenter`` select in the feature space
(``model.embed``) of a network trained on the real data; ``forgetting`` ranks images by the
forgetting events counted while training that same network (one training serves both).
The quick preset trains on, and selects from, a random pool per class; ``paper`` uses all data.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

from dcbench.condense.base import CONDENSERS, CondenseRequest, base_meta
from dcbench.condense.selection import ForgettingTracker, herding, kcenter, most_forgotten
from dcbench.condense.synthetic_set import SyntheticSet
from dcbench.errors import DcbenchError
from dcbench.evaluation.protocol import EvalProtocol, train_model
from dcbench.models import model_from_spec
from dcbench.seeding import derive_seed, generator


@dataclass
class RandomConfig:
    """Random real images: no settings beyond the seed."""

    @classmethod
    def preset(cls, name: str, ipc: int) -> RandomConfig:
        return cls()


@dataclass
class FeatureConfig:
    """The reference network trained on real data, whose features/forgetting drive selection."""

    model: str = "convnet"
    epochs: int = 10
    pool_per_class: int = 0  # 0 = every training image of the class
    lr: float = 0.01
    batch_size: int = 256

    @classmethod
    def preset(cls, name: str, ipc: int) -> FeatureConfig:
        if name == "paper":
            return cls(epochs=10, pool_per_class=0)
        return cls(epochs=4, pool_per_class=max(300, 2 * ipc))

    def validate(self) -> None:
        if self.epochs < 1 or self.pool_per_class < 0:
            raise DcbenchError("coreset settings: epochs must be ≥ 1 and pool_per_class ≥ 0")


def _pool(request: CondenseRequest, config: FeatureConfig) -> dict[int, torch.Tensor]:
    """Candidate indices (into x_train) per class: all, or a seeded random pool."""
    ds, g = request.dataset, generator(request.seed, 0x9001)
    out = {}
    for c in request.class_list():
        idx = ds.class_indices(c)
        k = config.pool_per_class
        if k and k < len(idx):
            idx = idx[torch.randperm(len(idx), generator=g)[: max(k, request.ipc)]]
        out[c] = idx
    return out


def _reference_net(request: CondenseRequest, config: FeatureConfig, pool: dict[int, torch.Tensor]):
    """Train the reference network on the pool, counting forgetting events on the way."""
    ds = request.dataset
    all_idx = torch.cat([pool[c] for c in request.class_list()])
    x, y = ds.x_train[all_idx], ds.y_train[all_idx]
    tracker = ForgettingTracker(len(all_idx))

    def on_batch(idx: torch.Tensor, logits: torch.Tensor, target: torch.Tensor) -> None:
        tracker.update(idx, (logits.argmax(1) == target).cpu())

    torch.manual_seed(derive_seed(request.seed, 0x7E7))
    net = model_from_spec(config.model, ds.channels, ds.num_classes, ds.image_size)
    protocol = EvalProtocol(epochs=config.epochs, lr=config.lr, batch_size=config.batch_size,
                            augment="none")
    train_model(net, x, y, protocol, generator(request.seed, 0x7E8), request.device,
                on_batch=on_batch, progress=request.progress)
    return net, all_idx, tracker.counts(config.epochs)


@torch.no_grad()
def _embed(net, x: torch.Tensor, device, batch: int = 1024) -> torch.Tensor:
    net.eval()
    return torch.cat([net.embed(x[i:i + batch].to(device)).cpu() for i in range(0, len(x), batch)])


def _finish(request: CondenseRequest, method: str, config, picks: dict[int, torch.Tensor],
            t0: float) -> SyntheticSet:
    ds = request.dataset
    order = request.class_list()
    idx = torch.cat([picks[c] for c in order])
    meta = base_meta(request, method, config)
    meta.update(source_indices=idx.tolist(), wall_time_s=round(time.perf_counter() - t0, 3),
                iterations_done=0)
    labels = torch.tensor(order).repeat_interleave(request.ipc)
    return SyntheticSet(ds.x_train[idx].clone(), labels, meta)


@CONDENSERS.register("random")
class RandomCoreset:
    """Random real images per class (seeded)."""

    Config = RandomConfig

    def run(self, request: CondenseRequest, config: RandomConfig) -> SyntheticSet:
        t0, ds = time.perf_counter(), request.dataset
        g = generator(request.seed, 0x5EED)
        picks = {}
        for c in request.class_list():
            idx = ds.class_indices(c)
            picks[c] = idx[torch.randperm(len(idx), generator=g)[: request.ipc]]
        return _finish(request, "random", config, picks, t0)


Selector = Callable[[torch.Tensor, torch.Tensor, int, torch.Generator], list[int]]


class _FeatureCoreset:
    """Shared driver: train the reference net once, then select per class."""

    Config = FeatureConfig
    name = ""

    @staticmethod
    def select(feats: torch.Tensor, counts: torch.Tensor, k: int, g: torch.Generator) -> list[int]:
        """The selection rule; each registered subclass overrides it."""
        return list(range(k))

    def run(self, request: CondenseRequest, config: FeatureConfig) -> SyntheticSet:
        t0 = time.perf_counter()
        pool = _pool(request, config)
        net, all_idx, counts = _reference_net(request, config, pool)
        need_features = self.name in ("herding", "kcenter")
        feats = _embed(net, request.dataset.x_train[all_idx], request.device) if need_features \
            else torch.zeros(len(all_idx), 1)
        g = generator(request.seed, 0xF0)
        picks, offset = {}, 0
        for c in request.class_list():
            n = len(pool[c])
            sl = slice(offset, offset + n)
            chosen = self.select(feats[sl], counts[sl], request.ipc, g)
            picks[c] = all_idx[sl][torch.tensor(chosen, dtype=torch.long)]
            offset += n
        return _finish(request, self.name, config, picks, t0)


@CONDENSERS.register("herding")
class HerdingCoreset(_FeatureCoreset):
    """Herding: greedy mean matching in the features of a network trained on real data."""

    name = "herding"

    @staticmethod
    def select(feats, counts, k, g):
        return herding(feats, k)


@CONDENSERS.register("kcenter")
class KCenterCoreset(_FeatureCoreset):
    """K-center: farthest-first selection in the features of a network trained on real data."""

    name = "kcenter"

    @staticmethod
    def select(feats, counts, k, g):
        return kcenter(feats, k)


@CONDENSERS.register("forgetting")
class ForgettingCoreset(_FeatureCoreset):
    """Forgetting: the images forgotten most often while training on real data (Toneva et al.)."""

    name = "forgetting"

    @staticmethod
    def select(feats, counts, k, g):
        return most_forgotten(counts, k, g)
