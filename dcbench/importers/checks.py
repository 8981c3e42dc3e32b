"""Checks and the one conversion every imported set goes through, whatever its format.

A released file states little about itself, so each check turns a silent misreading into a
one-line DcbenchError: a wrong shape, labels that are not hard class indices, unequal classes,
NaN, and value ranges that do not fit the space the user (or the format) says the images are
in. The range checks are plausibility checks, not proofs: they catch a wrong ``--space``,
wrong ``--mean/--std``, 0..255 pixels and ZCA-whitened images, and ``--no-range-check`` turns
them off for the rare set that really lies outside.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from dcbench.data import ClassDataset
from dcbench.errors import DcbenchError

#: Pixel files may round a hair outside [0, 1].
PIXEL_SLACK = 0.01
#: Distilled images drift outside [0, 1] once mapped back to pixels, but a full range beyond it
#: on either side means the stated space or mean/std is wrong.
NORMALISED_SLACK = 1.0
#: Normalised images have a spread of about 1; ZCA-whitened ones are centred on 0 with a far
#: smaller spread (the whitening shrinks the dominant, smooth components).
WHITENED_STD = 0.5
WHITENED_MEAN = 0.2

FLAGS_HINT = "set --space (and --mean/--std), or pass --no-range-check if you are sure"


def as_tensor(value: Any, what: str) -> Tensor:
    """A numeric tensor from a tensor or NumPy array; anything else is a one-line error."""
    import numpy as np

    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf":
            raise DcbenchError(f"{what} have dtype {value.dtype}, not numbers")
        value = torch.from_numpy(np.ascontiguousarray(value))
    if not isinstance(value, Tensor):
        raise DcbenchError(f"{what} are a {type(value).__name__}, not a tensor or array")
    if value.is_complex():
        raise DcbenchError(f"{what} are complex numbers")
    return value.detach().cpu()


# --------------------------------------------------------------------------- images
def to_nchw(x: Tensor, ds: ClassDataset) -> tuple[Tensor, str]:
    """(N, C, H, W) float64 images of ``ds``'s shape, and the layout they were found in.

    Channels-last (what JAX code writes) and channel-less grey images are accepted because
    their reading is unambiguous; any other shape is refused.
    """
    c, (h, w) = ds.channels, ds.image_size
    x = x.to(torch.float64)
    if x.dim() == 4 and tuple(x.shape[1:]) == (c, h, w):
        return x, "NCHW"
    if x.dim() == 4 and tuple(x.shape[1:]) == (h, w, c):
        return x.permute(0, 3, 1, 2).contiguous(), "NHWC (transposed)"
    if x.dim() == 3 and c == 1 and tuple(x.shape[1:]) == (h, w):
        return x.unsqueeze(1), "NHW (channel added)"
    raise DcbenchError(f"images have shape {tuple(x.shape)}, but {ds.name} needs "
                       f"(N, {c}, {h}, {w}) (channels {c}, size {h}x{w})")


def check_finite(x: Tensor) -> None:
    bad = int((~torch.isfinite(x)).sum())
    if bad:
        raise DcbenchError(f"images contain {bad} NaN or infinite values")


def _stat(values: Sequence[float]) -> Tensor:
    return torch.tensor(list(values), dtype=torch.float64).view(1, -1, 1, 1)


def to_pixels(x: Tensor, space: str, mean: Sequence[float] | None,
              std: Sequence[float] | None) -> Tensor:
    """[0, 1] pixels from images in ``space`` (normalised with ``mean``/``std``)."""
    if space == "pixel":
        return x
    assert mean is not None and std is not None
    return x * _stat(std) + _stat(mean)


def check_range(x: Tensor, space: str, mean: Sequence[float] | None,
                std: Sequence[float] | None) -> None:
    """Refuse values that cannot be in ``space``; the message names the observed range."""
    lo, hi = float(x.min()), float(x.max())
    seen = f"values range over [{lo:.4g}, {hi:.4g}]"
    if space == "pixel":
        if lo < -PIXEL_SLACK or hi > 1 + PIXEL_SLACK:
            scale = " (0..255 pixels? divide by 255)" if lo >= 0 and hi <= 255.5 else ""
            raise DcbenchError(f"{seen}, not the [0, 1] of --space pixel{scale}; {FLAGS_HINT}")
        return
    if lo >= 0 and hi <= 1:
        raise DcbenchError(f"{seen}: that looks like [0, 1] pixels, not normalised values "
                           f"(which go below 0); {FLAGS_HINT}")
    pixels = to_pixels(x, space, mean, std)
    plo, phi = float(pixels.min()), float(pixels.max())
    if plo < -NORMALISED_SLACK or phi > 1 + NORMALISED_SLACK:
        raise DcbenchError(
            f"{seen}, which the assumed normalisation (mean {_fmt(mean)}, std {_fmt(std)}) "
            f"maps to pixels in [{plo:.4g}, {phi:.4g}], far outside [0, 1]; {FLAGS_HINT}")


def looks_whitened(x: Tensor) -> bool:
    """Centred on 0 with a small spread: how ZCA-whitened images (MTT, KIP) look."""
    return abs(float(x.mean())) < WHITENED_MEAN and float(x.std()) < WHITENED_STD


def check_not_whitened(x: Tensor) -> None:
    """Refuse to guess whether centred, low-contrast values are normalised or ZCA-whitened."""
    if looks_whitened(x):
        raise DcbenchError(
            f"the images look ZCA-whitened (mean {float(x.mean()):.3g}, std "
            f"{float(x.std()):.3g}: centred, low contrast) and dcbench will not guess; pass "
            "--zca if they are, or --no-range-check if they are really normalised")


def to_dataset_space(x: Tensor, space: str, mean: Sequence[float] | None,
                     std: Sequence[float] | None, ds: ClassDataset) -> Tensor:
    """float32 images in ``ds``'s normalised space (identity when already in it)."""
    if space == "normalised" and tuple(mean or ()) == ds.mean and tuple(std or ()) == ds.std:
        return x.to(torch.float32)
    pixels = to_pixels(x, space, mean, std)
    return ((pixels - _stat(ds.mean)) / _stat(ds.std)).to(torch.float32)


def _fmt(values: Sequence[float] | None) -> str:
    return "(" + ", ".join(f"{v:.4g}" for v in values or ()) + ")"


# --------------------------------------------------------------------------- labels
def hard_labels(y: Tensor, num_classes: int) -> tuple[Tensor, str]:
    """(N,) int64 class indices, and how they were stored.

    One-hot rows (also the centred ones, e.g. -0.1/0.9) become their argmax; real soft labels
    (learned label distributions) are refused: dcbench's protocol trains on hard labels, so
    such a set would be evaluated as something it is not.
    """
    if y.dim() == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.dim() == 2:
        if y.shape[1] != num_classes:
            raise DcbenchError(f"labels are (N, {y.shape[1]}) rows but the dataset has "
                               f"{num_classes} classes")
        if not is_one_hot(y):
            raise DcbenchError("labels are soft (per-class scores, not one-hot); dcbench "
                               "evaluates hard labels only, so this set cannot be imported")
        return y.argmax(dim=1), "one-hot (argmax)"
    if y.dim() != 1:
        raise DcbenchError(f"labels have shape {tuple(y.shape)}; expected (N,) class indices "
                           "or (N, classes) one-hot rows")
    if y.dtype == torch.bool:
        raise DcbenchError("labels are booleans, not class indices")
    if y.is_floating_point():
        if not bool(torch.isfinite(y).all()) or not bool((y == y.round()).all()):
            raise DcbenchError("labels are not whole numbers (class indices 0..K-1 expected)")
    return y.to(torch.int64), "class indices"


def is_one_hot(y: Tensor) -> bool:
    """Every row one high value and all others one low value, the same pair in every row."""
    if len(y) == 0:
        return False
    y = y.to(torch.float64)
    hi, lo = y.max(dim=1).values, y.min(dim=1).values
    at_hi = torch.isclose(y, hi[:, None])
    at_lo = torch.isclose(y, lo[:, None])
    return bool((hi > lo).all() and (at_hi.sum(dim=1) == 1).all() and (at_hi | at_lo).all()
                and torch.isclose(hi, hi[0]).all() and torch.isclose(lo, lo[0]).all())


def check_labels(y: Tensor, n_images: int, ds: ClassDataset) -> int:
    """Check the labels against the images and classes; return the images per class."""
    if len(y) != n_images:
        raise DcbenchError(f"{n_images} images but {len(y)} labels")
    if n_images == 0:
        raise DcbenchError("the set is empty")
    k = ds.num_classes
    lo, hi = int(y.min()), int(y.max())
    if lo < 0 or hi >= k:
        raise DcbenchError(f"labels range over [{lo}, {hi}] but {ds.name} has {k} classes "
                           f"(0..{k - 1})")
    counts = torch.bincount(y, minlength=k).tolist()
    missing = [c for c, n in enumerate(counts) if n == 0]
    if missing:
        raise DcbenchError(f"class {missing[0]} ({ds.class_names[missing[0]]!r}) has no images"
                           f" ({len(missing)} classes empty); a set needs every class")
    if min(counts) != max(counts):
        few, many = counts.index(min(counts)), counts.index(max(counts))
        raise DcbenchError(
            f"classes have unequal image counts: {min(counts)} for class {few} "
            f"({ds.class_names[few]!r}) but {max(counts)} for class {many} "
            f"({ds.class_names[many]!r}); a set needs the same number per class")
    return counts[0]


def sort_by_class(x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    """Stable sort by label, as SyntheticSet requires (images of a class keep their order)."""
    order = torch.sort(y, stable=True).indices
    return x[order].contiguous(), y[order].contiguous()
