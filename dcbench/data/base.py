"""The one in-memory dataset type every condenser, trainer and application works on.

Condensation touches every class's images thousands of times, so a dataset is kept as whole
tensors (no ``DataLoader``, no per-sample ``__getitem__``), already normalised per channel: with
the DC authors' constants for the datasets they name (:data:`AUTHORS_STATS`), else with the
*train* split's mean/std. Synthetic images live in that same normalised space; ``mean`` and
``std`` travel with the dataset so that they can be undone for plots (``denormalize``) and
recorded in a synthetic set's metadata.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from dcbench.errors import DcbenchError

#: Per-channel (mean, std).
Stats = tuple[tuple[float, ...], tuple[float, ...]]

#: The constants the DC authors hard-code in ``get_dataset`` (VICO-UoE/DatasetCondensation
#: utils.py), keyed by dcbench dataset name: these datasets are normalised exactly as theirs,
#: so their published sets and ours live in one space. (CIFAR-10's std is their well-known
#: value, not the split's: the split's is about (0.247, 0.243, 0.262).)
AUTHORS_STATS: dict[str, Stats] = {
    "mnist": ((0.1307,), (0.3081,)),
    "fashion-mnist": ((0.2861,), (0.3530,)),
    "svhn": ((0.4377, 0.4438, 0.4728), (0.1980, 0.2010, 0.1970)),
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)),
    "cifar100": ((0.5071, 0.4866, 0.4409), (0.2673, 0.2564, 0.2762)),
}


def channel_stats(x: Tensor) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and (population) std of ``x`` (N,C,H,W).

    Per-image sums and norms are taken in float32 (fast, and exact enough over one image's
    pixels), then combined over images in float64 so that 60000 images lose no precision.
    Casting the whole split to float64 instead costs ~20x the time (and its memory).
    """
    n, c = x.shape[0], x.shape[1]
    flat = x.reshape(n, c, -1)
    count = n * flat.shape[2]
    total = flat.sum(dim=2).to(torch.float64).sum(dim=0)
    total_sq = torch.linalg.vector_norm(flat, dim=2).to(torch.float64).square().sum(dim=0)
    mean = total / count
    var = (total_sq / count - mean.square()).clamp_min(0.0)
    return tuple(mean.tolist()), tuple(var.sqrt().tolist())


def all_finite(x: Tensor) -> bool:
    """True when ``x`` has no NaN/inf; a sum check first, as it needs no bool-sized copy."""
    if x.numel() == 0 or bool(torch.isfinite(x.sum())):
        return True
    return bool(torch.isfinite(x).all())  # the sum may overflow with finite but huge values


def _stat_view(values: Sequence[float], like: Tensor) -> Tensor:
    """``values`` shaped (C,1,1) so it broadcasts over (..., C, H, W)."""
    return torch.tensor(values, dtype=like.dtype, device=like.device).view(-1, 1, 1)


@dataclass(eq=False, repr=False)
class ClassDataset:
    """A labelled image dataset held as normalised float32 tensors, train and test.

    ``x_*`` are (N,C,H,W) float32 normalised with the train split's ``mean``/``std``; ``y_*`` are
    (N,) int64 labels in ``[0, num_classes)``, where ``num_classes == len(class_names)``.
    Construction validates everything (shapes, dtypes, label range, finite values) so that a bad
    file fails here with one line instead of deep inside a training loop.
    """

    name: str
    x_train: Tensor
    y_train: Tensor
    x_test: Tensor
    y_test: Tensor
    class_names: list[str]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    _index_cache: dict[int, Tensor] = field(default_factory=dict, init=False, compare=False)

    def __post_init__(self) -> None:
        self.class_names = [str(n) for n in self.class_names]
        self.mean = tuple(float(v) for v in self.mean)
        self.std = tuple(float(v) for v in self.std)
        self._validate()

    # ------------------------------------------------------------------ construction helpers
    @classmethod
    def from_unit_range(
        cls,
        name: str,
        x_train: Tensor,
        y_train: Tensor,
        x_test: Tensor,
        y_test: Tensor,
        class_names: Sequence[str],
        stats: Stats | None = None,
    ) -> ClassDataset:
        """Build from images in [0, 1]: normalise both splits with ``stats`` (None: the train
        split's mean/std, computed here).

        The tensors are normalised in place when they are already float32 (saves a copy of a
        whole split); pass clones if the caller still needs the [0, 1] versions.
        """
        x_train = _as_float32(x_train, "x_train")
        x_test = _as_float32(x_test, "x_test")
        if x_test.untyped_storage().data_ptr() == x_train.untyped_storage().data_ptr():
            x_test = x_test.clone()  # shared memory would be normalised twice
        for split, x in (("x_train", x_train), ("x_test", x_test)):
            if x.dim() != 4:
                raise DcbenchError(f"{split} must be N,C,H,W; got shape {tuple(x.shape)}")
            if not all_finite(x):
                raise DcbenchError(f"{split} contains NaN or infinite values")
        if x_train.shape[0] == 0:
            raise DcbenchError(f"dataset {name!r}: the train split is empty")
        mean, std = stats if stats is not None else channel_stats(x_train)
        # A constant channel would divide by zero; leave it unscaled instead.
        std = tuple(s if s > 1e-12 else 1.0 for s in std)
        for x in (x_train, x_test):
            x.sub_(_stat_view(mean, x)).div_(_stat_view(std, x))
        y_train, y_test = _as_int64(y_train), _as_int64(y_test)
        return cls(name, x_train, y_train, x_test, y_test, list(class_names), mean, std)

    # ------------------------------------------------------------------ validation
    def _validate(self) -> None:
        where = f"dataset {self.name!r}"
        k = len(self.class_names)
        if k == 0:
            raise DcbenchError(f"{where}: no classes")
        if len(set(self.class_names)) != k:
            raise DcbenchError(f"{where}: duplicate class names {self.class_names}")
        shape = None
        for split in ("train", "test"):
            x: Tensor = getattr(self, f"x_{split}")
            y: Tensor = getattr(self, f"y_{split}")
            if not isinstance(x, Tensor) or not isinstance(y, Tensor):
                raise DcbenchError(f"{where}: x_{split} and y_{split} must be tensors")
            if x.dim() != 4:
                raise DcbenchError(f"{where}: x_{split} must be N,C,H,W; got {tuple(x.shape)}")
            if x.dtype != torch.float32:
                raise DcbenchError(f"{where}: x_{split} must be float32, got {x.dtype}")
            if y.dim() != 1 or y.dtype != torch.int64:
                raise DcbenchError(
                    f"{where}: y_{split} must be a 1-D int64 tensor; got {y.dtype} {tuple(y.shape)}"
                )
            if x.shape[0] != y.shape[0]:
                raise DcbenchError(
                    f"{where}: {x.shape[0]} {split} images but {y.shape[0]} {split} labels"
                )
            if x.shape[0] == 0:
                raise DcbenchError(f"{where}: the {split} split is empty")
            if shape is None:
                shape = tuple(x.shape[1:])
            elif tuple(x.shape[1:]) != shape:
                raise DcbenchError(
                    f"{where}: test images are {tuple(x.shape[1:])} but train images {shape}"
                )
            lo, hi = int(y.min()), int(y.max())
            if lo < 0 or hi >= k:
                raise DcbenchError(
                    f"{where}: {split} label out of range [{lo}, {hi}] for {k} classes"
                )
            if not all_finite(x):
                raise DcbenchError(f"{where}: x_{split} contains NaN or infinite values")
        c = self.x_train.shape[1]
        if len(self.mean) != c or len(self.std) != c:
            raise DcbenchError(
                f"{where}: mean/std have {len(self.mean)}/{len(self.std)} values for {c} channels"
            )
        stats = torch.tensor(self.mean + self.std, dtype=torch.float64)
        if not bool(torch.isfinite(stats).all()) or min(self.std) <= 0:
            raise DcbenchError(f"{where}: invalid mean/std {self.mean}/{self.std}")

    # ------------------------------------------------------------------ shape information
    @property
    def channels(self) -> int:
        return int(self.x_train.shape[1])

    @property
    def image_size(self) -> tuple[int, int]:
        """(H, W)."""
        return int(self.x_train.shape[2]), int(self.x_train.shape[3])

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    # ------------------------------------------------------------------ per-class access
    def class_indices(self, c: int) -> Tensor:
        """Indices into ``x_train`` of class ``c`` (cached: condensers ask every iteration).

        The cache assumes the tensors are not modified in place after construction; derive a
        new dataset (e.g. :meth:`subset_classes`) instead.
        """
        self._check_class(c)
        if c not in self._index_cache:
            self._index_cache[c] = torch.nonzero(self.y_train == c, as_tuple=True)[0]
        return self._index_cache[c]

    def class_counts(self) -> list[int]:
        """Number of train images per class, in class order."""
        return torch.bincount(self.y_train, minlength=self.num_classes).tolist()

    def class_images(self, c: int) -> Tensor:
        """All train images of class ``c`` (a copy, M,C,H,W)."""
        return self.x_train[self.class_indices(c)]

    def sample_class_indices(
        self, c: int, n: int, generator: torch.Generator | None = None
    ) -> Tensor:
        """``n`` random train indices of class ``c``: distinct while the class has enough.

        When ``n`` exceeds the class size every image is used once and only the surplus is
        drawn with replacement, so no image is left out needlessly.
        """
        if n < 0:
            raise DcbenchError(f"cannot sample {n} images")
        idx = self.class_indices(c)
        count = idx.numel()
        if count == 0:
            raise DcbenchError(f"class {c} ({self.class_names[c]!r}) has no train images")
        perm = torch.randperm(count, generator=generator)
        if n > count:
            extra = torch.randint(count, (n - count,), generator=generator)
            perm = torch.cat([perm, extra])
        return idx[perm[:n]]

    def sample_class(self, c: int, n: int, generator: torch.Generator | None = None) -> Tensor:
        """``n`` random train images of class ``c`` (see :meth:`sample_class_indices`)."""
        return self.x_train[self.sample_class_indices(c, n, generator)]

    def _check_class(self, c: int) -> None:
        if not 0 <= int(c) < self.num_classes:
            raise DcbenchError(f"class {c} out of range for {self.num_classes} classes")

    # ------------------------------------------------------------------ normalisation
    def normalize(self, x: Tensor) -> Tensor:
        """Map images in [0, 1] (..., C, H, W) into this dataset's normalised space."""
        return (x - _stat_view(self.mean, x)) / _stat_view(self.std, x)

    def denormalize(self, x: Tensor) -> Tensor:
        """Map normalised images (..., C, H, W) back to [0, 1] (clamped) for viewing/saving."""
        return (x * _stat_view(self.std, x) + _stat_view(self.mean, x)).clamp(0.0, 1.0)

    # ------------------------------------------------------------------ derived datasets
    def subset_classes(self, classes: Sequence[int], relabel: bool = True) -> ClassDataset:
        """Train and test restricted to ``classes`` (continual learning's experiences).

        With ``relabel`` the classes become ``0..len(classes)-1`` in the order given and
        ``class_names`` shrinks accordingly; without it labels and names are kept, so the
        subset shares the full label space. ``mean``/``std`` stay those of the full train
        split on purpose: every subset then lives in one normalised space, and images
        condensed from one subset can be mixed with another's.
        """
        classes = [int(c) for c in classes]
        if not classes:
            raise DcbenchError("subset_classes needs at least one class")
        if len(set(classes)) != len(classes):
            raise DcbenchError(f"duplicate classes in {classes}")
        for c in classes:
            self._check_class(c)
        keep = torch.tensor(classes, dtype=torch.int64)
        if relabel:
            mapping = torch.full((self.num_classes,), -1, dtype=torch.int64)
            mapping[keep] = torch.arange(len(classes))
            names = [self.class_names[c] for c in classes]
        else:
            mapping = torch.arange(self.num_classes)
            names = list(self.class_names)
        splits = []
        for x, y in ((self.x_train, self.y_train), (self.x_test, self.y_test)):
            mask = torch.isin(y, keep)
            splits.extend([x[mask], mapping[y[mask]]])
        return ClassDataset(self.name, *splits, names, self.mean, self.std)

    # ------------------------------------------------------------------ reporting
    def describe(self) -> dict[str, Any]:
        """Plain-JSON summary for logs, metadata and ``dcbench data info``."""
        return {
            "name": self.name,
            "channels": self.channels,
            "image_size": list(self.image_size),
            "num_classes": self.num_classes,
            "train_size": int(self.x_train.shape[0]),
            "test_size": int(self.x_test.shape[0]),
            "train_class_counts": self.class_counts(),
            "mean": list(self.mean),
            "std": list(self.std),
            "class_names": list(self.class_names),
        }

    def __repr__(self) -> str:
        c, (h, w) = self.channels, self.image_size
        return (
            f"ClassDataset({self.name!r}, {self.num_classes} classes, {c}x{h}x{w}, "
            f"train={self.x_train.shape[0]}, test={self.x_test.shape[0]})"
        )

    def __len__(self) -> int:
        return int(self.x_train.shape[0])


def _as_float32(x: Tensor, what: str) -> Tensor:
    if not isinstance(x, Tensor):
        raise DcbenchError(f"{what} must be a tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise DcbenchError(f"{what} must hold floats in [0, 1], got {x.dtype}")
    return x if x.dtype == torch.float32 else x.to(torch.float32)


def _as_int64(y: Tensor) -> Tensor:
    """Integer labels of any width as int64 (other dtypes are left for validation to reject)."""
    if isinstance(y, Tensor) and not y.is_floating_point() and y.dtype != torch.bool:
        return y.to(torch.int64)
    return y
