"""Dataset sequences (the DC paper's SVHN → MNIST → USPS): load and harmonise several datasets.

The datasets of a sequence share one label space (the digits 0-9) but not one image format:
SVHN is 3×32×32 colour, MNIST 1×28×28 grey and USPS 16×16 grey (dcbench already upsamples it
to 28×28). To learn them with one network, every image is brought to one format:

* ``rgb32`` (default; the DC paper reshapes all three to 32×32 RGB): grey images are replicated
  over three channels, 28×28 images are resized to 32×32 (bilinear);
* ``grey28``: colour images become grey with the ITU-R BT.601 luma weights
  (0.299 R + 0.587 G + 0.114 B), 32×32 images are resized to 28×28 (bilinear, antialiased).

The conversion is done on [0, 1] pixels; the result is normalised with the *pooled* per-channel
mean/std of all the sequence's train splits (pixel statistics only, no labels), so that memory
images from different datasets live in one normalised space and can be mixed in one batch.
Nothing here imports Avalanche.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from dcbench.data import ClassDataset, channel_stats, default_cache_root, load_dataset, resolve_root
from dcbench.errors import DataNotFoundError, DcbenchError

FORMATS: dict[str, tuple[int, tuple[int, int]]] = {"rgb32": (3, (32, 32)), "grey28": (1, (28, 28))}
LUMA = (0.299, 0.587, 0.114)
_CHUNK = 4096


def load_sequence(
    names: Sequence[str], image_format: str = "rgb32", root: str | Path | None = None,
    download: bool = False,
) -> list[ClassDataset]:
    """Load every dataset of a sequence and harmonise them (see the module docstring).

    Missing datasets are reported together on one line, naming each and where they were
    looked for, before anything is converted.
    """
    loaded: list[ClassDataset] = []
    missing: list[str] = []
    for name in names:
        try:
            loaded.append(load_dataset(name, root=root, download=download))
        except DataNotFoundError:
            missing.append(name)
    if missing:
        where = resolve_root(root) or default_cache_root()
        raise DcbenchError(
            f"the {' → '.join(names)} sequence needs {', '.join(missing)}, not found under "
            f"{where}; put the files there (--data-root DIR) or pass --download"
        )
    return harmonise(loaded, image_format)


def harmonise(datasets: Sequence[ClassDataset], image_format: str = "rgb32") -> list[ClassDataset]:
    """The datasets in one image format and one normalised space (pooled train statistics)."""
    if image_format not in FORMATS:
        raise DcbenchError(f"unknown image format {image_format!r}; known: {', '.join(FORMATS)}")
    if not datasets:
        raise DcbenchError("a sequence needs at least one dataset")
    k = datasets[0].num_classes
    for ds in datasets[1:]:
        if ds.num_classes != k:
            raise DcbenchError(
                f"the datasets of a sequence must share one label space: {datasets[0].name} has "
                f"{k} classes, {ds.name} has {ds.num_classes}"
            )
    channels, size = FORMATS[image_format]
    converted = [[_convert(ds.denormalize(x), channels, size) for x in (ds.x_train, ds.x_test)]
                 for ds in datasets]
    mean, std = _pooled_stats([c[0] for c in converted])
    m, s = (torch.tensor(v).view(1, -1, 1, 1) for v in (mean, std))
    return [ClassDataset(f"{ds.name}@{image_format}", x_train.sub_(m).div_(s), ds.y_train.clone(),
                         x_test.sub_(m).div_(s), ds.y_test.clone(), list(datasets[0].class_names),
                         mean, std)
            for ds, (x_train, x_test) in zip(datasets, converted, strict=True)]


def _convert(x: Tensor, channels: int, size: tuple[int, int]) -> Tensor:
    """[0, 1] images (N,C,H,W) -> (N, channels, *size) in [0, 1], in chunks to bound memory."""
    c = x.shape[1]
    if c not in (1, 3) or channels not in (1, 3):
        raise DcbenchError(f"cannot convert {c}-channel images to {channels} channels")
    parts = []
    for start in range(0, len(x), _CHUNK):
        part = x[start:start + _CHUNK]
        if c == 3 and channels == 1:
            weights = torch.tensor(LUMA, dtype=part.dtype).view(1, 3, 1, 1)
            part = (part * weights).sum(dim=1, keepdim=True)
        elif c == 1 and channels == 3:
            part = part.expand(-1, 3, -1, -1)
        if tuple(part.shape[-2:]) != tuple(size):
            shrink = part.shape[-2] > size[0] or part.shape[-1] > size[1]
            part = F.interpolate(part, size=size, mode="bilinear", align_corners=False,
                                 antialias=shrink)
        parts.append(part.clamp(0.0, 1.0).contiguous())
    return torch.cat(parts) if parts else x.new_zeros((0, channels, *size))


def _pooled_stats(xs: Sequence[Tensor]) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean/std over all images of all ``xs`` (each (N,C,H,W), same C,H,W)."""
    total = sum(len(x) for x in xs)
    mean = torch.zeros(xs[0].shape[1], dtype=torch.float64)
    second = torch.zeros_like(mean)
    for x in xs:
        m, s = channel_stats(x)
        w = len(x) / total
        m_t, s_t = torch.tensor(m, dtype=torch.float64), torch.tensor(s, dtype=torch.float64)
        mean += w * m_t
        second += w * (s_t.square() + m_t.square())
    std = (second - mean.square()).clamp_min(0.0).sqrt()
    std = torch.where(std > 1e-12, std, torch.ones_like(std))
    return tuple(mean.tolist()), tuple(std.tolist())
