"""Proxies: the cheap training sets a search ranks candidates on, and the ground truth.

Each proxy is one registered builder returning a :class:`ProxyData` (the tensors to train on,
the epochs, how many images it stores and what it is, in words that go into the results):

* ``condensed``: a synthetic set (gradient matching, ``dc``), loaded from ``condensed_set`` or
  made with the condensation engine at ``ipc`` (``condense_job``: saved under
  ``results/condense/``, so later runs reuse it; the quick preset's default set is
  ``results/condense/<dataset>-dc-ipc<ipc>-quick-seed<seed>/set.pt``);
* ``random``, ``herding``, ``kcenter``, ``forgetting``: coresets of real images from the same
  engine, at the same ipc;
* ``early-stopping``: the ground truth's training images with the proxies' training compute
  (images x passes, a protocol making ``epochs + 1`` passes): whole passes when the compute
  covers the ground-truth set twice, else two passes (the fewest a protocol makes) over a
  random subset of half that size;
* ``whole``: the ground truth: the training split (or a stated per-class subset of it in the
  quick preset) for ``whole_epochs``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from dcbench.condense.synthetic_set import SyntheticSet
from dcbench.data import ClassDataset
from dcbench.errors import DcbenchError
from dcbench.evaluation.protocol import passes_for
from dcbench.registry import Registry
from dcbench.seeding import generator

#: Proxies run when none are named; ``whole`` (the ground truth) is always added.
DEFAULT_PROXIES = ("condensed", "random", "herding", "early-stopping")
GROUND_TRUTH = "whole"


@dataclass
class ProxyContext:
    """What a proxy builder may use."""

    dataset: ClassDataset
    ipc: int
    epochs: int  # training epochs on a proxy set
    whole_epochs: int
    whole_idx: torch.Tensor  # indices into x_train: the ground truth's training images
    proxy_seed: int = 0
    condense_preset: str = "quick"
    condense_method: str = "dc"
    condense_settings: dict[str, Any] = field(default_factory=dict)
    condensed_set: Path | None = None
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    progress: bool = False
    echo: Callable[[str], None] = lambda msg: None

    @property
    def set_images(self) -> int:
        """Images of a proxy set at this ipc (what the compute match refers to)."""
        return self.ipc * self.dataset.num_classes


@dataclass
class ProxyData:
    """The tensors one proxy trains on, and how to state it in the results."""

    name: str
    x: torch.Tensor
    y: torch.Tensor
    epochs: int
    images_stored: int
    description: str
    prep_s: float = 0.0  # making the set (condensation, selection); 0 when none
    info: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "epochs": self.epochs,
                "train_images": len(self.x), "images_stored": self.images_stored,
                "sample_passes": len(self.x) * passes_for(self.epochs),
                "prep_s": round(self.prep_s, 3),
                **self.info}


PROXIES: Registry[Callable[[ProxyContext], ProxyData]] = Registry("proxy")


def check_set_matches(sset: SyntheticSet, ds: ClassDataset, where: str) -> None:
    """A saved set must come from this dataset, in its normalisation."""
    if list(sset.meta["class_names"]) != list(ds.class_names):
        raise DcbenchError(f"{where}: its classes differ from {ds.name}'s; wrong dataset?")
    if tuple(sset.images.shape[1:]) != (ds.channels, *ds.image_size):
        raise DcbenchError(f"{where}: its images are {tuple(sset.images.shape[1:])}, "
                           f"{ds.name}'s are {(ds.channels, *ds.image_size)}")
    ours = list(ds.mean) + list(ds.std)
    theirs = list(sset.meta["mean"]) + list(sset.meta["std"])
    if max(abs(a - b) for a, b in zip(ours, theirs, strict=True)) > 1e-3:
        raise DcbenchError(f"{where}: normalised with another mean/std than {ds.name}")


def _from_set(name: str, ctx: ProxyContext, sset: SyntheticSet, path: Path, made: bool,
              what: str) -> ProxyData:
    check_set_matches(sset, ctx.dataset, f"{name} set {path}")
    if sset.ipc != ctx.ipc:
        raise DcbenchError(f"the {name} set {path} has ipc {sset.ipc} but this run uses ipc "
                           f"{ctx.ipc}; pass --ipc {sset.ipc} or another set")
    meta = sset.meta
    prep = float(meta.get("wall_time_s") or 0.0)
    info = {"set": str(path), "method": meta.get("method"), "set_seed": meta.get("seed"),
            "set_preset": meta.get("preset"), "iterations_done": meta.get("iterations_done"),
            "made_by_this_run": made}
    desc = (f"{what}: {len(sset.images)} images ({sset.ipc} per class), "
            f"{ctx.epochs} epochs; set {path}")
    return ProxyData(name, sset.images.float(), sset.labels.long(), ctx.epochs,
                     len(sset.images), desc, prep, info)


def _engine_set(method: str, ctx: ProxyContext, overrides: dict[str, Any]) -> tuple[Path, bool]:
    """The engine's set for (dataset, method, ipc, preset, seed), made if missing."""
    from dcbench.condense import CondenseConfig, CondenseRequest
    from dcbench.condense.job import condense_job
    from dcbench.config import load

    request = CondenseRequest(ctx.dataset, ipc=ctx.ipc, seed=ctx.proxy_seed, device=ctx.device,
                              progress=ctx.progress)
    config = load(CondenseConfig, {
        "dataset": ctx.dataset.name, "method": method, "ipc": ctx.ipc,
        "preset": ctx.condense_preset, "seed": ctx.proxy_seed,
        "method_settings": {method: overrides} if overrides else {}})
    path, existed = condense_job(config, request)
    ctx.echo(f"{method} set: {'reusing' if existed else 'made'} {path}")
    return path, not existed


@PROXIES.register("condensed")
def condensed_proxy(ctx: ProxyContext) -> ProxyData:
    if ctx.condensed_set is not None:
        path, made = Path(ctx.condensed_set), False
    else:
        path, made = _engine_set(ctx.condense_method, ctx, ctx.condense_settings)
    sset = SyntheticSet.load(path)
    return _from_set("condensed", ctx, sset, path, made,
                     f"condensed ({sset.meta.get('method', '?')}) set")


def _coreset(method: str, what: str) -> Callable[[ProxyContext], ProxyData]:
    def build(ctx: ProxyContext) -> ProxyData:
        path, made = _engine_set(method, ctx, {})
        return _from_set(method, ctx, SyntheticSet.load(path), path, made, what)

    build.__doc__ = f"{what} from the condensation engine, at the run's ipc."
    return build


PROXIES.register("random")(_coreset("random", "random real images"))
PROXIES.register("herding")(_coreset("herding", "herding coreset"))
PROXIES.register("kcenter")(_coreset("kcenter", "k-center coreset"))
PROXIES.register("forgetting")(_coreset("forgetting", "forgetting coreset"))


@PROXIES.register(GROUND_TRUTH)
def whole_proxy(ctx: ProxyContext) -> ProxyData:
    idx, ds = ctx.whole_idx, ctx.dataset
    n, total = len(idx), len(ds.x_train)
    words = f"the whole training split ({n} images)" if n == total else \
        f"a stratified subset of {n} of the {total} training images"
    return ProxyData(GROUND_TRUTH, ds.x_train[idx], ds.y_train[idx], ctx.whole_epochs, n,
                     f"{words}, {ctx.whole_epochs} epochs", 0.0, {"subset": n != total})


def early_stopping_plan(set_images: int, epochs: int, whole_images: int) -> tuple[int, int]:
    """(epochs, images) over the ground-truth set whose sample passes match the proxy sets'
    ``set_images x passes_for(epochs)``.

    Whole passes over the set when the budget covers it at least twice (rounded to the nearest
    pass; a protocol's epochs are at least 1, so it makes at least 2 passes), else 2 passes
    over a random subset of half the budget's size.
    """
    budget = set_images * passes_for(epochs)
    if budget >= 2 * whole_images:
        return max(2, round(budget / whole_images)) - 1, whole_images
    return 1, max(1, budget // 2)


@PROXIES.register("early-stopping")
def early_stopping_proxy(ctx: ProxyContext) -> ProxyData:
    ds = ctx.dataset
    budget = ctx.set_images * passes_for(ctx.epochs)
    epochs, n = early_stopping_plan(ctx.set_images, ctx.epochs, len(ctx.whole_idx))
    idx = ctx.whole_idx
    if n < len(idx):
        g = generator(ctx.proxy_seed, 0xE5)
        idx = idx[torch.randperm(len(idx), generator=g)[:n]].sort().values
    passes = n * passes_for(epochs)
    desc = (f"early stopping: {epochs} epoch(s) ({passes_for(epochs)} passes) over {n} images "
            f"of the ground truth's training set = {passes} sample passes, matching the proxy "
            f"sets' {ctx.set_images} images x {passes_for(ctx.epochs)} passes = {budget} "
            f"(ratio {passes / budget:.2f})")
    return ProxyData("early-stopping", ds.x_train[idx], ds.y_train[idx], epochs, n, desc, 0.0,
                     {"compute_budget": budget, "compute_ratio": round(passes / budget, 4)})


def _stratified(labels: torch.Tensor, num_classes: int, per_class: int,
                g: torch.Generator) -> torch.Tensor:
    """All indices of ``labels`` (``per_class`` 0), or ``per_class`` random ones per class."""
    if per_class <= 0:
        return torch.arange(len(labels))
    parts = []
    for c in range(num_classes):
        idx = torch.nonzero(labels == c, as_tuple=True)[0]
        parts.append(idx[torch.randperm(len(idx), generator=g)[:per_class]])
    return torch.cat(parts).sort().values


def whole_indices(ds: ClassDataset, per_class: int, seed: int = 0) -> torch.Tensor:
    """Ground-truth training images: all (``per_class`` 0) or a seeded stratified subset."""
    return _stratified(ds.y_train, ds.num_classes, per_class, generator(seed, 0x3401E))


def scoring_indices(ds: ClassDataset, per_class: int, seed: int = 0) -> torch.Tensor:
    """Test images every candidate is scored on: all, or a seeded stratified subset."""
    return _stratified(ds.y_test, ds.num_classes, per_class, generator(seed, 0x7E57))


def build_proxies(names: list[str], ctx: ProxyContext) -> dict[str, ProxyData]:
    """Build every proxy (ground truth included), timing each build."""
    out = {}
    for name in names:
        t0 = time.perf_counter()
        data = PROXIES.get(name)(ctx)
        if not data.prep_s:
            data.prep_s = 0.0 if name in (GROUND_TRUTH, "early-stopping") else \
                time.perf_counter() - t0
        out[name] = data
    return out
