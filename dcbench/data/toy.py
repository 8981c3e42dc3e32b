"""A generated dataset for tests and smoke runs: no files, deterministic, quick to learn.

Each class is a smooth template (a sum of a few low-frequency cosine waves, partly shared
between classes so that they are confusable) and each image is that template shifted by a few
pixels, rescaled in contrast, overlaid with a random smooth "clutter" pattern and covered in
Gaussian pixel noise. With the defaults a small ConvNet trained on one random image per class
scores ~55 % on 4 classes (chance 25 %; ~35 % on 10 classes) and ~80 % on 10 per class: real
signal to distil, with room for a better condensation method to score higher.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from pathlib import Path

import torch
from torch import Tensor

from dcbench.data.base import ClassDataset
from dcbench.data.registry import register_dataset
from dcbench.errors import DcbenchError


@dataclass(frozen=True)
class ToyConfig:
    """The generator's knobs; the spec ``toy:classes=10:size=32`` sets them by short name."""

    classes: int = 4
    per_class: int = 40
    test_per_class: int = 20
    channels: int = 1
    size: tuple[int, int] = (28, 28)
    noise: float = 0.6
    clutter: float = 0.8
    shift: int = 3
    seed: int = 0

    def spec_help(self) -> str:
        """Every option with its value, ``classes=4:per_class=40:...`` (for help texts)."""
        return ":".join(f"{k}={_text(k, v)}" for k, v in self.__dict__.items())

    def spec(self) -> str:
        """The canonical spec naming this dataset: ``load_dataset(spec)`` rebuilds it."""
        changed = {k: v for k, v in self.__dict__.items() if v != getattr(ToyConfig, k)}
        return ":".join(["toy", *(f"{k}={_text(k, v)}" for k, v in changed.items())])


def _text(key: str, value: object) -> str:
    if key == "size" and isinstance(value, tuple):
        return f"{value[0]}x{value[1]}"
    return str(value)


_WAVES = 4  # cosine waves per pattern and channel
_SHARED = 0.6  # weight of the component common to all classes (makes them confusable)


def _patterns(count: int, cfg: ToyConfig, gen: torch.Generator) -> Tensor:
    """``count`` random smooth (C,H,W) patterns, each with zero mean and unit std.

    Integer frequencies keep every wave periodic over the image, so a circular shift
    (``torch.roll``) is a seamless translation.
    """
    h, w = cfg.size
    yy = torch.arange(h, dtype=torch.float64).view(h, 1) / h
    xx = torch.arange(w, dtype=torch.float64).view(1, w) / w
    shape = (count, cfg.channels, _WAVES, 1, 1)
    fy = torch.randint(0, 3, shape, generator=gen)
    fx = torch.randint(1, 3, shape, generator=gen)
    flip = torch.randint(0, 2, shape, generator=gen).bool()
    gx, gy = torch.where(flip, fy, fx), torch.where(flip, fx, fy)  # vary the orientation
    phase = torch.rand(shape, generator=gen, dtype=torch.float64) * 2 * math.pi
    amp = torch.rand(shape, generator=gen, dtype=torch.float64) + 0.5
    p = (amp * torch.cos(2 * math.pi * (gy * yy + gx * xx) + phase)).sum(dim=2)
    return _standardise(p)


def _standardise(p: Tensor) -> Tensor:
    p = p - p.mean(dim=(1, 2, 3), keepdim=True)
    return p / p.std(dim=(1, 2, 3), keepdim=True).clamp_min(1e-12)


def _templates(cfg: ToyConfig, gen: torch.Generator) -> Tensor:
    """(K, C, H, W) class templates: a shared pattern plus a class-specific one."""
    shared = _patterns(1, cfg, gen)
    return _standardise(_SHARED * shared + _patterns(cfg.classes, cfg, gen))


def _images(cfg: ToyConfig, templates: Tensor, per_class: int, gen: torch.Generator) -> Tensor:
    """``per_class`` distorted copies of each template, in (0, 1).

    Distortions: a random circular shift of up to ``shift`` pixels, a contrast factor in
    [0.7, 1.3], a random smooth *clutter* pattern of the same family as the templates (the
    part that makes one image per class a poor summary) and white pixel noise.
    """
    k, c, h, w = templates.shape
    n = k * per_class
    base = templates.repeat_interleave(per_class, dim=0)
    shifts = torch.randint(-cfg.shift, cfg.shift + 1, (n, 2), generator=gen).tolist()
    shifted = torch.stack(
        [
            torch.roll(img, shifts=(dy, dx), dims=(1, 2))
            for img, (dy, dx) in zip(base, shifts, strict=True)
        ]
    )
    contrast = 0.7 + 0.6 * torch.rand(n, 1, 1, 1, generator=gen, dtype=torch.float64)
    clutter = _patterns(n, cfg, gen)
    white = torch.randn(n, c, h, w, generator=gen, dtype=torch.float64)
    x = contrast * shifted + cfg.clutter * clutter + cfg.noise * white
    return torch.sigmoid(x).to(torch.float32)  # a smooth squash into (0, 1)


def make_toy_dataset(
    num_classes: int = ToyConfig.classes,
    per_class: int = ToyConfig.per_class,
    test_per_class: int = ToyConfig.test_per_class,
    channels: int = ToyConfig.channels,
    image_size: tuple[int, int] = ToyConfig.size,
    noise: float = ToyConfig.noise,
    clutter: float = ToyConfig.clutter,
    shift: int = ToyConfig.shift,
    seed: int = ToyConfig.seed,
) -> ClassDataset:
    """Generate the toy dataset: the same tensors for the same arguments (own CPU generator).

    ``noise`` is the std of the per-pixel Gaussian noise and ``clutter`` the weight of the
    per-image smooth distractor pattern, both relative to a unit-std template; ``shift`` is the
    largest random translation in pixels. Raise any of them to make the task harder.
    """
    cfg = ToyConfig(
        classes=int(num_classes),
        per_class=int(per_class),
        test_per_class=int(test_per_class),
        channels=int(channels),
        size=(int(image_size[0]), int(image_size[1])),
        noise=float(noise),
        clutter=float(clutter),
        shift=int(shift),
        seed=int(seed),
    )
    _check(cfg)
    gen = torch.Generator().manual_seed(cfg.seed)
    templates = _templates(cfg, gen)
    x_train = _images(cfg, templates, cfg.per_class, gen)
    x_test = _images(cfg, templates, cfg.test_per_class, gen)
    y_train = torch.arange(cfg.classes).repeat_interleave(cfg.per_class)
    y_test = torch.arange(cfg.classes).repeat_interleave(cfg.test_per_class)
    names = [f"class{i}" for i in range(cfg.classes)]
    return ClassDataset.from_unit_range(cfg.spec(), x_train, y_train, x_test, y_test, names)


def _check(cfg: ToyConfig) -> None:
    if cfg.classes < 2:
        raise DcbenchError(f"toy dataset needs at least 2 classes, got {cfg.classes}")
    if cfg.per_class < 1 or cfg.test_per_class < 1:
        raise DcbenchError("toy dataset needs per_class >= 1 and test_per_class >= 1")
    if cfg.channels < 1 or min(cfg.size) < 4:
        raise DcbenchError(f"toy dataset needs channels >= 1 and size >= 4, got {cfg}")
    if cfg.noise < 0 or cfg.clutter < 0 or cfg.shift < 0:
        raise DcbenchError("toy dataset needs noise, clutter and shift >= 0")


def parse_toy_options(arg: str | None) -> dict[str, object]:
    """``classes=10:channels=3:size=32`` (':' or ',' separated) -> make_toy_dataset kwargs."""
    kwargs: dict[str, object] = {}
    if not arg:
        return kwargs
    known = [f.name for f in fields(ToyConfig)]
    rename = {"classes": "num_classes", "size": "image_size"}
    for item in arg.replace(",", ":").split(":"):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        key, value = key.strip().lower(), value.strip()
        if not sep or key not in known:
            raise DcbenchError(
                f"bad toy option {item!r}; use key=value with keys {', '.join(known)}"
            )
        try:
            if key == "size":
                h, _, w = value.lower().partition("x")
                parsed: object = (int(h), int(w or h))
            elif key in ("noise", "clutter"):
                parsed = float(value)
            else:
                parsed = int(value)
        except ValueError:
            raise DcbenchError(f"bad value for toy option {key}: {value!r}") from None
        kwargs[rename.get(key, key)] = parsed
    return kwargs


@register_dataset(
    "toy",
    summary="generated: smooth class patterns + shifts + noise (toy:classes=K:channels=C:size=S)",
    arg="optional",
    arg_help=ToyConfig().spec_help(),
)
def _load_toy(arg: str | None, root: Path | None, download: bool) -> ClassDataset:
    return make_toy_dataset(**parse_toy_options(arg))  # type: ignore[arg-type]
