"""Replay memories as Avalanche ``ExemplarsBuffer``s holding in-memory tensors.

:class:`CondensedBuffer` is the point of this package: after each experience it condenses the
experience's *new* classes with the core engine (:func:`dcbench.condense.condense`; ``dc`` by
default, or the coreset selectors ``herding``/``random``/``kcenter``/``forgetting``) into ``ipc``
images per class and keeps the old classes' images, so the memory holds exactly
``ipc × classes seen``. :class:`ReservoirBuffer` (reservoir sampling at a fixed size) and
:class:`EmptyBuffer` are the references.

Every buffer keeps its memory as tensors (``images``, ``labels``, ``task_labels``), exposes
them to Avalanche as a ``ClassificationDataset`` in ``self.buffer`` (same sample tuple as the
stream: ``(x, y, t)`` or ``(x, y)``) and round-trips through ``state_dict``/``load_state_dict``
(used to resume a run step by step). The buffers follow Avalanche 0.6's storage-policy API:
``post_adapt(agent, experience)`` does the work and ``update(strategy)`` — what ``ReplayPlugin``
and ``GDumbPlugin`` still call — forwards to it without the deprecation warning.

The buffers do not disturb the caller's random streams: condensation and sampling run under
``torch.random.fork_rng`` with seeds derived from ``(seed, experience)``.
"""

from __future__ import annotations

import time
from abc import abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import DataLoader

from dcbench.condense import CondenseRequest, condense
from dcbench.continual._compat import quiet_avalanche_import
from dcbench.data import ClassDataset
from dcbench.errors import DcbenchError
from dcbench.seeding import derive_seed, generator

with quiet_avalanche_import():
    from avalanche.benchmarks.utils.utils import concat_datasets
    from avalanche.training.storage_policy import ExemplarsBuffer

#: ``source(experience) -> (dataset, classes)``: the experience's data as a dcbench dataset.
Source = Callable[[Any], tuple[ClassDataset, list[int]]]


class TensorBuffer(ExemplarsBuffer):
    """Shared machinery: memory tensors, the Avalanche view of them, state, data extraction."""

    kind = "tensor"

    def __init__(self, max_size: int, *, source: Source | None = None,
                 device: torch.device | str = "cpu") -> None:
        super().__init__(max_size)
        self.source = source
        self.device = torch.device(device)
        self.images: Tensor | None = None
        self.labels = torch.zeros(0, dtype=torch.int64)
        self.task_labels = torch.zeros(0, dtype=torch.int64)
        self.task_in_getitem = True  # set from the stream's samples at the first update
        self.last_update_s = 0.0

    # -- Avalanche storage-policy API ---------------------------------------------------------
    def update(self, strategy: Any, **kwargs: Any) -> None:
        """What ReplayPlugin/GDumbPlugin call; forwards to :meth:`post_adapt`."""
        self.post_adapt(strategy, strategy.experience)

    def post_adapt(self, agent_state: Any, exp: Any) -> None:
        t0 = time.perf_counter()
        self._detect_format(exp)
        self._add_experience(exp)
        self._rebuild()
        self.last_update_s = time.perf_counter() - t0

    @abstractmethod
    def _add_experience(self, exp: Any) -> None:
        """Take the new experience's samples into memory (each subclass's selection rule)."""

    # -- memory -------------------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self.labels.numel())

    def _append(self, images: Tensor, labels: Tensor, task_label: int) -> None:
        images = images.detach().cpu().float()
        labels = labels.detach().cpu().long()
        self.images = images if self.images is None else torch.cat([self.images, images])
        self.labels = torch.cat([self.labels, labels])
        tl = torch.full((len(labels),), int(task_label), dtype=torch.int64)
        self.task_labels = torch.cat([self.task_labels, tl])

    def _keep(self, idx: Tensor) -> None:
        if self.images is not None:
            self.images = self.images[idx]
        self.labels = self.labels[idx]
        self.task_labels = self.task_labels[idx]

    def _rebuild(self) -> None:
        """Expose the memory tensors to Avalanche as ``self.buffer``."""
        if self.images is None or len(self) == 0:
            self.buffer = concat_datasets([])
            return
        from dcbench.continual.streams import avalanche_dataset

        self.buffer = avalanche_dataset(
            self.images, self.labels, self.task_labels.tolist(), self.task_in_getitem
        )

    # -- state --------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "images": None if self.images is None else self.images.clone(),
            "labels": self.labels.clone(),
            "task_labels": self.task_labels.clone(),
            "task_in_getitem": self.task_in_getitem,
            "max_size": self.max_size,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("kind") != self.kind:
            raise DcbenchError(f"saved memory is a {state.get('kind')!r} buffer, not {self.kind!r}")
        self.images = state["images"]
        self.labels = state["labels"].long()
        self.task_labels = state["task_labels"].long()
        self.task_in_getitem = bool(state["task_in_getitem"])
        self.max_size = int(state["max_size"])
        self._rebuild()

    # -- the experience's data ----------------------------------------------------------------
    def _detect_format(self, exp: Any) -> None:
        if len(exp.dataset):
            self.task_in_getitem = len(exp.dataset[0]) == 3

    def experience_data(self, exp: Any) -> tuple[ClassDataset, list[int]]:
        """The experience's train data as a dcbench dataset, and its classes.

        With a ``source`` (dcbench streams) that is the original tensors; otherwise the
        experience's dataset is read once through a DataLoader with its *eval* transforms
        (no augmentation) and wrapped in a ClassDataset whose mean/std are 0/1 (the images are
        kept exactly as the stream delivers them).
        """
        if self.source is not None:
            return self.source(exp)
        data = exp.dataset.eval()
        batches = list(DataLoader(data, batch_size=1024, shuffle=False,
                                  collate_fn=getattr(data, "collate_fn", None)))
        if not batches:
            raise DcbenchError(f"experience {exp.current_experience} has no data")
        x = torch.cat([batch[0].float() for batch in batches])
        y = torch.cat([torch.as_tensor(batch[1]).long() for batch in batches])
        k = int(y.max()) + 1
        c = x.shape[1]
        ds = ClassDataset(f"experience-{exp.current_experience}", x, y, x[:1], y[:1],
                          [str(i) for i in range(k)], (0.0,) * c, (1.0,) * c)
        return ds, sorted(torch.unique(y).tolist())


def _task_label(exp: Any) -> int:
    label = getattr(exp, "task_label", None)
    if label is not None:
        return int(label)
    return int((getattr(exp, "task_labels", None) or [0])[0])


class CondensedBuffer(TensorBuffer):
    """Memory of ``ipc`` condensed (or coreset-selected) images per class.

    After each experience the classes not yet in memory are condensed with ``method`` at
    ``preset`` settings plus ``settings`` (see ``dcbench methods``) and appended; old classes'
    images are kept. ``group_by="experience"`` instead condenses every class of every experience
    (for streams that revisit classes in a new domain, e.g. SVHN → MNIST → USPS): the memory then
    holds ``ipc`` images per (experience, class).

    ``max_size`` is ``ipc × max_classes`` when ``max_classes`` is given (pass it to
    ``ReplayPlugin(mem_size=...)``), else it follows the memory as it grows. With
    ``checkpoint_dir`` an iterative method (DC) checkpoints there and an interrupted
    condensation resumes mid-experience.
    """

    kind = "condensed"

    def __init__(
        self,
        ipc: int,
        method: str = "dc",
        *,
        max_classes: int | None = None,
        preset: str = "quick",
        settings: dict[str, Any] | None = None,
        seed: int = 0,
        device: torch.device | str = "cpu",
        source: Source | None = None,
        group_by: str = "class",
        progress: bool = False,
        checkpoint_dir: str | Path | None = None,
    ) -> None:
        if ipc < 1:
            raise DcbenchError(f"ipc must be at least 1 (got {ipc})")
        if group_by not in ("class", "experience"):
            raise DcbenchError(f"group_by must be 'class' or 'experience', got {group_by!r}")
        from dcbench.condense import make_config

        make_config(method, preset, ipc, settings)  # unknown method/setting fails now
        super().__init__(ipc * max_classes if max_classes else 0, source=source, device=device)
        self.ipc = ipc
        self.method = method
        self.preset = preset
        self.settings = dict(settings or {})
        self.seed = seed
        self.group_by = group_by
        self.progress = progress
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir is not None else None
        self.fixed_size = bool(max_classes)
        self.groups: list[tuple[int, int]] = []  # (experience, class) in memory order
        self.group_sizes: list[int] = []

    def _stored(self, eid: int, c: int) -> bool:
        if self.group_by == "experience":
            return (eid, c) in self.groups
        return any(g[1] == c for g in self.groups)

    def _add_experience(self, exp: Any) -> None:
        eid = int(exp.current_experience)
        dataset, classes = self.experience_data(exp)
        new = [int(c) for c in classes if not self._stored(eid, int(c))]
        if not new:
            return
        checkpoint = None
        if self.checkpoint_dir is not None:  # iterative methods resume from it mid-experience
            checkpoint = self.checkpoint_dir / f"condense-exp{eid}-{self.method}.pt"
        request = CondenseRequest(dataset, ipc=self.ipc, seed=derive_seed(self.seed, eid, 0xB0F),
                                  device=self.device, progress=self.progress, classes=new,
                                  checkpoint=checkpoint)
        dev = self.device
        devices = [] if dev.type != "cuda" else [
            dev.index if dev.index is not None else torch.cuda.current_device()]
        with torch.random.fork_rng(devices=devices):
            sset = condense(self.method, request, self.preset, self.settings)
        if checkpoint is not None and checkpoint.exists():
            checkpoint.unlink()
        expected = torch.tensor(new).repeat_interleave(self.ipc)
        if not torch.equal(sset.labels.cpu().long(), expected):
            raise DcbenchError(f"{self.method} returned labels out of class order")
        self._append(sset.images, sset.labels, _task_label(exp))
        self.groups.extend((eid, c) for c in new)
        self.group_sizes.extend([self.ipc] * len(new))
        if not self.fixed_size:
            self.max_size = max(self.max_size, len(self))

    def resize(self, strategy: Any, new_size: int) -> None:
        """Shrink to ``new_size`` images: the first ``new_size // groups`` images of each group."""
        self.max_size = new_size
        self.fixed_size = True
        if len(self) <= new_size or not self.groups:
            return
        per_group = new_size // len(self.groups)
        keep, offset = [], 0
        for size in self.group_sizes:
            keep.extend(range(offset, offset + min(size, per_group)))
            offset += size
        self._keep(torch.tensor(keep, dtype=torch.int64))
        self.group_sizes = [min(s, per_group) for s in self.group_sizes]
        self.ipc = per_group
        self._rebuild()

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state.update(groups=[list(g) for g in self.groups], group_sizes=list(self.group_sizes),
                     ipc=self.ipc, method=self.method)
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("method") != self.method:
            raise DcbenchError(
                f"saved memory was made with {state.get('method')!r}, not {self.method!r}"
            )
        self.groups = [(int(e), int(c)) for e, c in state["groups"]]
        self.group_sizes = [int(s) for s in state["group_sizes"]]
        self.ipc = int(state["ipc"])
        super().load_state_dict(state)


class ReservoirBuffer(TensorBuffer):
    """Reservoir sampling at a fixed size (what Avalanche's ReservoirSamplingBuffer does),
    on tensors and with a seeded generator so that it can be saved and resumed.

    Every training image gets a random weight; the memory keeps the ``max_size`` largest
    weights seen so far, i.e. a uniform sample of the stream. It fills up to ``max_size`` at
    the first experiences, so early on it holds more images than a class-balanced buffer with
    the same final budget.
    """

    kind = "reservoir"

    def __init__(self, max_size: int, *, seed: int = 0, source: Source | None = None,
                 device: torch.device | str = "cpu") -> None:
        if max_size < 1:
            raise DcbenchError(f"reservoir size must be at least 1 (got {max_size})")
        super().__init__(max_size, source=source, device=device)
        self.seed = seed
        self.weights = torch.zeros(0)

    def _add_experience(self, exp: Any) -> None:
        eid = int(exp.current_experience)
        dataset, classes = self.experience_data(exp)
        idx = torch.cat([dataset.class_indices(c) for c in classes])
        new_w = torch.rand(len(idx), generator=generator(self.seed, eid, 0x2E5))
        weights = torch.cat([self.weights, new_w])
        order = torch.argsort(weights, descending=True, stable=True)[: self.max_size]
        n_old = len(self.weights)
        old, new = order[order < n_old], order[order >= n_old] - n_old
        self._keep(old)
        self._append(dataset.x_train[idx[new]], dataset.y_train[idx[new]], _task_label(exp))
        self.weights = torch.cat([self.weights[old], new_w[new]])

    def resize(self, strategy: Any, new_size: int) -> None:
        self.max_size = new_size
        if len(self) > new_size:
            keep = torch.argsort(self.weights, descending=True, stable=True)[:new_size]
            self._keep(keep)
            self.weights = self.weights[keep]
            self._rebuild()

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "weights": self.weights.clone()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.weights = state["weights"]
        super().load_state_dict(state)


class EmptyBuffer(TensorBuffer):
    """No memory at all (plain fine-tuning with the replay protocols): the lower bound."""

    kind = "none"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(0, **kwargs)

    def _add_experience(self, exp: Any) -> None:
        return None

    def resize(self, strategy: Any, new_size: int) -> None:
        self.max_size = new_size
