"""The one file format for condensed and coreset training sets.

A saved set is a plain ``torch.load``-able dict, so it can be used without dcbench:

``{"format": "dcbench.synthetic_set", "format_version": 1, "images": (N,C,H,W) float32,
"labels": (N,) int64, "meta": {...}}``

``images`` are in the *normalised* space the networks train on: ``pixel = image * std + mean``
per channel gives [0, 1] pixels (the ``meta`` holds mean, std and the sentence saying so).
Labels are sorted by class, ``ipc`` images per class, class ``k`` named ``meta["class_names"][k]``.
These two facts are what other tools leave ambiguous.
"""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from dcbench.errors import DcbenchError
from dcbench.results.io import _clean, atomic_write_bytes, atomic_write_with

FORMAT = "dcbench.synthetic_set"
FORMAT_VERSION = 1
NORMALISATION_NOTE = "images are normalised: pixel = image * std[c] + mean[c], pixels in [0, 1]"
REQUIRED_META = ("dataset", "class_names", "mean", "std", "ipc", "method")


@dataclass
class SyntheticSet:
    """Images and labels of a small training set plus everything needed to interpret them."""

    images: torch.Tensor
    labels: torch.Tensor
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.validate()

    @property
    def ipc(self) -> int:
        return int(self.meta["ipc"])

    @property
    def num_classes(self) -> int:
        return len(self.meta["class_names"])

    def validate(self) -> None:
        """Raise a one-line DcbenchError if the set is malformed."""
        x, y = self.images, self.labels
        if not isinstance(x, torch.Tensor) or x.dim() != 4:
            raise DcbenchError("synthetic set: images must be a (N, C, H, W) tensor")
        if not isinstance(y, torch.Tensor) or y.dim() != 1 or len(y) != len(x):
            raise DcbenchError("synthetic set: labels must be a (N,) tensor matching the images")
        missing = [k for k in REQUIRED_META if k not in self.meta]
        if missing:
            raise DcbenchError(f"synthetic set: metadata lacks {', '.join(missing)}")
        if not torch.isfinite(x).all():
            raise DcbenchError("synthetic set: images contain NaN or inf")
        k = len(self.meta["class_names"])
        if len(y) and (int(y.min()) < 0 or int(y.max()) >= k):
            raise DcbenchError(f"synthetic set: labels outside 0..{k - 1}")
        if len(self.meta["mean"]) != x.shape[1] or len(self.meta["std"]) != x.shape[1]:
            raise DcbenchError("synthetic set: mean/std do not match the image channels")

    def to_dict(self) -> dict[str, Any]:
        # JSON round trip: only plain types, so ``torch.load(weights_only=True)`` reads it.
        meta = json.loads(json.dumps(_clean(self.meta)))
        meta.setdefault("normalisation", NORMALISATION_NOTE)
        meta.setdefault("label_order", "sorted by class; class k is class_names[k]")
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "images": self.images.detach().cpu().float().contiguous(),
            "labels": self.labels.detach().cpu().long().contiguous(),
            "meta": meta,
        }

    def save(self, path: str | Path, png: bool = True) -> Path:
        """Write the set atomically, and a PNG grid of the (denormalised) images beside it."""
        path = Path(path)
        buf = io.BytesIO()
        torch.save(self.to_dict(), buf)
        atomic_write_bytes(path, buf.getvalue())
        if png:
            save_grid(self, path.with_suffix(".png"))
        return path

    @classmethod
    def load(cls, path: str | Path) -> SyntheticSet:
        path = Path(path)
        if not path.is_file():
            raise DcbenchError(f"no synthetic set at {path}")
        try:
            obj = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # corrupt, truncated or not a torch file
            raise DcbenchError(f"cannot read synthetic set {path}: {type(exc).__name__}") from None
        if not isinstance(obj, dict) or obj.get("format") != FORMAT:
            raise DcbenchError(f"{path} is not a dcbench synthetic set")
        if obj.get("format_version", 0) > FORMAT_VERSION:
            raise DcbenchError(f"{path} has a newer format version than this dcbench reads")
        if not all(k in obj for k in ("images", "labels", "meta")) or not isinstance(
            obj["meta"], dict
        ):
            raise DcbenchError(f"{path} is a damaged synthetic set (no images, labels or meta)")
        return cls(images=obj["images"], labels=obj["labels"], meta=dict(obj["meta"]))

    def denormalised(self) -> torch.Tensor:
        mean = torch.tensor(self.meta["mean"]).view(1, -1, 1, 1)
        std = torch.tensor(self.meta["std"]).view(1, -1, 1, 1)
        return (self.images.detach().cpu() * std + mean).clamp(0, 1)


def save_grid(sset: SyntheticSet, path: str | Path) -> Path:
    """A PNG with one row per class (ipc images in a row; wrapped at 10 columns)."""
    import torchvision.utils as vutils

    pixels = sset.denormalised()
    ipc = max(1, sset.ipc)
    nrow = ipc if ipc <= 10 else 10
    if ipc == 1:
        nrow = min(10, len(pixels)) or 1
    grid = vutils.make_grid(pixels, nrow=nrow, padding=2, pad_value=1.0)
    if pixels.shape[1] == 1:
        grid = grid[:1]  # make_grid copies grey to three channels; keep one
    array = (grid.mul(255).round().byte().permute(1, 2, 0).numpy())
    from PIL import Image

    if array.shape[2] == 1:
        img = Image.fromarray(array[:, :, 0], mode="L")
    else:
        img = Image.fromarray(array)
    scale = max(1, math.ceil(256 / max(img.size)))
    if scale > 1:
        img = img.resize((img.size[0] * scale, img.size[1] * scale), Image.NEAREST)
    return atomic_write_with(path, lambda p: img.save(p, format="PNG"))
