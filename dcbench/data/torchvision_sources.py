"""MNIST, CIFAR-10/100, SVHN and USPS through torchvision's dataset classes.

torchvision knows these files' layouts and download URLs; we only take its raw arrays, turn
them into float32 in [0, 1] and normalise with statistics computed from the train split
(rather than hard-coded constants, so a partial or re-packaged copy stays consistent).
torchvision is imported lazily: it costs import time that Fashion-MNIST and toy runs don't need.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from dcbench.data.base import ClassDataset
from dcbench.data.registry import default_cache_root, register_dataset
from dcbench.errors import DataNotFoundError, DcbenchError

DIGITS = [str(d) for d in range(10)]

#: USPS digits are 16x16; they are upsampled to MNIST's 28x28 so that the same models
#: (whose flattened feature size depends on the input size) serve MNIST and USPS, and so that
#: digit datasets can be compared or transferred between with one architecture.
USPS_SIZE = (28, 28)


@dataclass(frozen=True)
class _Split:
    """What one torchvision split gives us: uint8 images (layout given separately), labels."""

    images: np.ndarray | Tensor
    labels: Any


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


def _build(
    name: str,
    train: _Split,
    test: _Split,
    layout: str,
    class_names: list[str],
    resize: tuple[int, int] | None = None,
) -> ClassDataset:
    xs = []
    for split in (train, test):
        x = _to_unit(split.images, layout)
        if resize is not None and tuple(x.shape[-2:]) != resize:
            # Bilinear upsampling is a convex combination of pixels: values stay in [0, 1].
            x = F.interpolate(x, size=resize, mode="bilinear", align_corners=False)
        xs.append(x)
    ys = [torch.as_tensor(np.asarray(s.labels), dtype=torch.int64) for s in (train, test)]
    return ClassDataset.from_unit_range(name, xs[0], ys[0], xs[1], ys[1], class_names)


def _splits(
    name: str,
    layout_hint: str,
    make: Callable[[str, bool], Any],
    root: Path | None,
    download: bool,
) -> tuple[Any, Any]:
    """The (train, test) torchvision datasets; ``make(root, is_train)`` builds one."""
    r = root if root is not None else default_cache_root()
    hint = layout_hint.format(root=r)
    return tuple(  # type: ignore[return-value]
        _instantiate(name, hint, lambda t=t: make(str(r), t), r, download) for t in (True, False)
    )


# --------------------------------------------------------------------------- sources
@register_dataset(
    "mnist",
    summary="MNIST digits, 10 classes, 28x28 grey (torchvision layout, --download)",
    channels=1,
    image_size=(28, 28),
    num_classes=10,
)
def load_mnist(arg: str | None, root: Path | None, download: bool) -> ClassDataset:
    from torchvision.datasets import MNIST

    def make(r: str, train: bool) -> Any:
        return MNIST(r, train=train, download=download)

    train, test = _splits("mnist", "{root}/MNIST/raw/*-ubyte", make, root, download)
    return _build(
        "mnist", _Split(train.data, train.targets), _Split(test.data, test.targets), "NHW", DIGITS
    )


def _cifar(
    name: str, cls_name: str, folder: str, root: Path | None, download: bool
) -> ClassDataset:
    import torchvision.datasets as tvd

    cls = getattr(tvd, cls_name)

    def make(r: str, train: bool) -> Any:
        return cls(r, train=train, download=download)

    train, test = _splits(name, "{root}/" + folder + "/", make, root, download)
    return _build(
        name,
        _Split(train.data, train.targets),
        _Split(test.data, test.targets),
        "NHWC",
        list(train.classes),
    )


@register_dataset(
    "cifar10",
    summary="CIFAR-10, 10 classes, 32x32 colour (torchvision layout, --download)",
    channels=3,
    image_size=(32, 32),
    num_classes=10,
)
def load_cifar10(arg: str | None, root: Path | None, download: bool) -> ClassDataset:
    return _cifar("cifar10", "CIFAR10", "cifar-10-batches-py", root, download)


@register_dataset(
    "cifar100",
    summary="CIFAR-100, 100 classes, 32x32 colour (torchvision layout, --download)",
    channels=3,
    image_size=(32, 32),
    num_classes=100,
)
def load_cifar100(arg: str | None, root: Path | None, download: bool) -> ClassDataset:
    return _cifar("cifar100", "CIFAR100", "cifar-100-python", root, download)


@register_dataset(
    "svhn",
    summary="SVHN house-number digits, 10 classes, 32x32 colour (torchvision, --download)",
    channels=3,
    image_size=(32, 32),
    num_classes=10,
)
def load_svhn(arg: str | None, root: Path | None, download: bool) -> ClassDataset:
    from torchvision.datasets import SVHN

    def make(r: str, train: bool) -> Any:
        return SVHN(r, split="train" if train else "test", download=download)

    hint = "{root}/train_32x32.mat and test_32x32.mat"
    train, test = _splits("svhn", hint, make, root, download)
    # torchvision already maps SVHN's label 10 (digit 0) to 0, so labels are 0..9 here.
    return _build(
        "svhn", _Split(train.data, train.labels), _Split(test.data, test.labels), "NCHW", DIGITS
    )


@register_dataset(
    "usps",
    summary="USPS digits, 10 classes, 16x16 grey upsampled to 28x28 (torchvision, --download)",
    channels=1,
    image_size=USPS_SIZE,
    num_classes=10,
)
def load_usps(arg: str | None, root: Path | None, download: bool) -> ClassDataset:
    from torchvision.datasets import USPS

    def make(r: str, train: bool) -> Any:
        return USPS(r, train=train, download=download)

    train, test = _splits("usps", "{root}/usps.bz2 and usps.t.bz2", make, root, download)
    return _build(
        "usps",
        _Split(train.data, train.targets),
        _Split(test.data, test.targets),
        "NHW",
        DIGITS,
        resize=USPS_SIZE,
    )
