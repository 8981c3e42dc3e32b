"""MNIST, CIFAR-10/100, SVHN and USPS through torchvision's dataset classes.

torchvision knows these files' layouts and download URLs; we only take its raw arrays, turn
them into float32 in [0, 1] and normalise them: MNIST, SVHN and CIFAR-10/100 with the DC
authors' constants (:data:`~dcbench.data.base.AUTHORS_STATS`), USPS with statistics computed
from its train split.
torchvision is imported lazily: it costs import time that Fashion-MNIST and toy runs don't need.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from dcbench.data.base import AUTHORS_STATS, ClassDataset
from dcbench.data.registry import default_cache_root, register_dataset
from dcbench.errors import DataNotFoundError, DcbenchError

DIGITS = [str(d) for d in range(10)]

#: USPS digits are 16x16; they are upsampled to MNIST's 28x28 so that the same models
#: (whose flattened feature size depends on the input size) serve MNIST and USPS, and so that
#: digit datasets can be compared or transferred between with one architecture.
USPS_SIZE = (28, 28)


#: name -> (torchvision.datasets class, layout of its ``data`` array, where the files are
#: expected, class names (None: torchvision's ``classes``), size to resize to (None: keep)).
_READERS: dict[str, tuple[str, str, str, list[str] | None, tuple[int, int] | None]] = {
    "mnist": ("MNIST", "NHW", "{root}/MNIST/raw/*-ubyte", DIGITS, None),
    "cifar10": ("CIFAR10", "NHWC", "{root}/cifar-10-batches-py/", None, None),
    "cifar100": ("CIFAR100", "NHWC", "{root}/cifar-100-python/", None, None),
    "svhn": ("SVHN", "NCHW", "{root}/train_32x32.mat and test_32x32.mat", DIGITS, None),
    "usps": ("USPS", "NHW", "{root}/usps.bz2 and usps.t.bz2", DIGITS, USPS_SIZE),
}


def _instantiate(
    name: str, layout_hint: str, make: Callable[[], Any], root: Path, download: bool
) -> Any:
    """Build a torchvision dataset, turning its 'not found' failures into DataNotFoundError."""
    try:
        return make()
    except FileNotFoundError as exc:  # USPS opens its .bz2 without checking first
        detail = f"missing {exc.filename}" if exc.filename else ""
        raise DataNotFoundError(_not_found(name, layout_hint, root, detail)) from None
    except (RuntimeError, OSError) as exc:  # OSError includes URLError (no network)
        if download:
            raise DataNotFoundError(f"{name}: download into {root} failed: {exc}") from None
        if "not found" in str(exc).lower():
            raise DataNotFoundError(_not_found(name, layout_hint, root, "")) from None
        raise DcbenchError(f"{name}: cannot read the files under {root}: {exc}") from None


def _not_found(name: str, layout_hint: str, root: Path, detail: str) -> str:
    detail = f" ({detail})" if detail else ""
    return (
        f"{name} not found under {root}{detail}; pass --download to fetch it, or put the files "
        f"under --data-root (expected {layout_hint})"
    )


def _to_unit(images: np.ndarray | Tensor, layout: str) -> Tensor:
    """uint8 images in ``layout`` ('NHW', 'NHWC' or 'NCHW') -> contiguous float32 NCHW in [0, 1]."""
    x = torch.as_tensor(np.asarray(images))
    if layout == "NHW":
        x = x.unsqueeze(1)
    elif layout == "NHWC":
        x = x.permute(0, 3, 1, 2)
    return x.to(torch.float32, memory_format=torch.contiguous_format).div_(255.0)


def _load(name: str, root: Path | None, download: bool) -> ClassDataset:
    """Read source ``name`` (a key of :data:`_READERS`): both splits, then convert them."""
    import torchvision.datasets as tvd

    tv_class, layout, hint, class_names, resize = _READERS[name]
    cls = getattr(tvd, tv_class)
    r = root if root is not None else default_cache_root()

    def make(train: bool) -> Any:
        if name == "svhn":
            return cls(str(r), split="train" if train else "test", download=download)
        return cls(str(r), train=train, download=download)

    hint = hint.format(root=r)
    splits = [_instantiate(name, hint, partial(make, t), r, download) for t in (True, False)]
    xs = []
    for split in splits:
        x = _to_unit(split.data, layout)
        if resize is not None and tuple(x.shape[-2:]) != resize:
            # Bilinear upsampling is a convex combination of pixels: values stay in [0, 1].
            x = F.interpolate(x, size=resize, mode="bilinear", align_corners=False)
        xs.append(x)
    # SVHN keeps its labels in .labels; torchvision already maps its label 10 (digit 0) to 0.
    labels = [s.labels if name == "svhn" else s.targets for s in splits]
    ys = [torch.as_tensor(np.asarray(y), dtype=torch.int64) for y in labels]
    names = class_names if class_names is not None else list(splits[0].classes)
    return ClassDataset.from_unit_range(name, xs[0], ys[0], xs[1], ys[1], names,
                                        stats=AUTHORS_STATS.get(name))


# --------------------------------------------------------------------------- sources
@register_dataset(
    "mnist",
    summary="MNIST digits, 10 classes, 28x28 grey (torchvision layout, --download)",
    channels=1,
    image_size=(28, 28),
    num_classes=10,
)
def load_mnist(arg: str | None, root: Path | None, download: bool) -> ClassDataset:
    return _load("mnist", root, download)


@register_dataset(
    "cifar10",
    summary="CIFAR-10, 10 classes, 32x32 colour (torchvision layout, --download)",
    channels=3,
    image_size=(32, 32),
    num_classes=10,
)
def load_cifar10(arg: str | None, root: Path | None, download: bool) -> ClassDataset:
    return _load("cifar10", root, download)


@register_dataset(
    "cifar100",
    summary="CIFAR-100, 100 classes, 32x32 colour (torchvision layout, --download)",
    channels=3,
    image_size=(32, 32),
    num_classes=100,
)
def load_cifar100(arg: str | None, root: Path | None, download: bool) -> ClassDataset:
    return _load("cifar100", root, download)


@register_dataset(
    "svhn",
    summary="SVHN house-number digits, 10 classes, 32x32 colour (torchvision, --download)",
    channels=3,
    image_size=(32, 32),
    num_classes=10,
)
def load_svhn(arg: str | None, root: Path | None, download: bool) -> ClassDataset:
    return _load("svhn", root, download)


@register_dataset(
    "usps",
    summary="USPS digits, 10 classes, 16x16 grey upsampled to 28x28 (torchvision, --download)",
    channels=1,
    image_size=USPS_SIZE,
    num_classes=10,
)
def load_usps(arg: str | None, root: Path | None, download: bool) -> ClassDataset:
    return _load("usps", root, download)
