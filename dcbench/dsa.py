"""Differentiable Siamese Augmentation (Zhao & Bilen, ICML 2021), batched.

DSA augments the real and the synthetic images of a class with *the same* random transform
(siamese) inside the condensation loss, so their gradients or embeddings stay comparable, and
every op is differentiable with respect to the images. As in the authors' ``'S'`` mode one op
family of the strategy is drawn per call (per class when siamese); ``color`` is brightness,
saturation and contrast in turn. Parameters are the authors' ``ParamDiffAug``.

Unlike the authors' code, which re-seeds the global RNG before each draw, the parameters are
drawn once into a :class:`Transform` and applied to as many batches as needed: one draw per
class, applied to that class's real and synthetic images, is the siamese trick. All classes of
one draw are augmented in one batched call (no Python loop over samples or classes).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from dcbench.errors import DcbenchError

FULL = "color_crop_cutout_flip_scale_rotate"
NO_FLIP = "color_crop_cutout_scale_rotate"
#: Datasets whose images must not be mirrored (digits): the authors drop ``flip`` for them.
DIGIT_DATASETS = ("mnist", "svhn")


@dataclass(frozen=True)
class DSAParams:
    """The authors' ``ParamDiffAug``: the range of each op's random parameter."""

    prob_flip: float = 0.5
    ratio_scale: float = 1.2
    ratio_rotate: float = 15.0  # degrees
    ratio_crop_pad: float = 0.125  # largest shift, as a fraction of the side
    ratio_cutout: float = 0.5  # side of the zeroed square, as a fraction of the side
    brightness: float = 1.0
    saturation: float = 2.0
    contrast: float = 0.5


PARAMS = DSAParams()

# -- the ops: (images, per-sample uniforms of shape (n, k), params) -> images -------------------


def _color(x: torch.Tensor, u: torch.Tensor, p: DSAParams) -> torch.Tensor:
    b, s, c = (u[:, i].view(-1, 1, 1, 1).to(x.device, x.dtype) for i in range(3))
    x = x + (b - 0.5) * p.brightness
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (s * p.saturation) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (c + p.contrast) + mean


def _shifts(u: torch.Tensor, largest: int) -> torch.Tensor:
    """Uniform integers in [-largest, largest] from uniforms in [0, 1)."""
    return (u * (2 * largest + 1)).floor().long().clamp(max=2 * largest) - largest


def _crop(x: torch.Tensor, u: torch.Tensor, p: DSAParams) -> torch.Tensor:
    """Shift by whole pixels with zero fill (the authors pad by one zero pixel and clamp)."""
    n, ch, h, w = x.shape
    dy = _shifts(u[:, 0], int(h * p.ratio_crop_pad + 0.5)).to(x.device)
    dx = _shifts(u[:, 1], int(w * p.ratio_crop_pad + 0.5)).to(x.device)
    padded = F.pad(x, (1, 1, 1, 1))
    rows = (torch.arange(h, device=x.device) + dy.view(-1, 1) + 1).clamp(0, h + 1)
    cols = (torch.arange(w, device=x.device) + dx.view(-1, 1) + 1).clamp(0, w + 1)
    out = padded.gather(2, rows.view(n, 1, h, 1).expand(n, ch, h, w + 2))
    return out.gather(3, cols.view(n, 1, 1, w).expand(n, ch, h, w))


def _cutout(x: torch.Tensor, u: torch.Tensor, p: DSAParams) -> torch.Tensor:
    """Zero a square of half the side at a random centre (clipped at the border)."""
    _, _, h, w = x.shape
    sh, sw = int(h * p.ratio_cutout + 0.5), int(w * p.ratio_cutout + 0.5)
    cy = (u[:, 0] * (h + 1 - sh % 2)).floor().long().to(x.device) - sh // 2
    cx = (u[:, 1] * (w + 1 - sw % 2)).floor().long().to(x.device) - sw // 2
    r, c = torch.arange(h, device=x.device), torch.arange(w, device=x.device)
    in_rows = (r >= cy.view(-1, 1)) & (r < (cy + sh).view(-1, 1))
    in_cols = (c >= cx.view(-1, 1)) & (c < (cx + sw).view(-1, 1))
    keep = ~(in_rows.unsqueeze(2) & in_cols.unsqueeze(1))
    return x * keep.unsqueeze(1).to(x.dtype)


def _flip(x: torch.Tensor, u: torch.Tensor, p: DSAParams) -> torch.Tensor:
    flip = (u[:, 0] < p.prob_flip).view(-1, 1, 1, 1).to(x.device)
    return torch.where(flip, x.flip(3), x)


def _affine(x: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    grid = F.affine_grid(theta.to(x.device, x.dtype), list(x.shape), align_corners=True)
    return F.grid_sample(x, grid, align_corners=True)


def _scale(x: torch.Tensor, u: torch.Tensor, p: DSAParams) -> torch.Tensor:
    lo, hi = 1.0 / p.ratio_scale, p.ratio_scale
    theta = torch.zeros(len(x), 2, 3)
    theta[:, 0, 0], theta[:, 1, 1] = (u[:, i] * (hi - lo) + lo for i in range(2))
    return _affine(x, theta)


def _rotate(x: torch.Tensor, u: torch.Tensor, p: DSAParams) -> torch.Tensor:
    angle = (u[:, 0] - 0.5) * 2 * p.ratio_rotate * math.pi / 180
    cos, sin = torch.cos(angle), torch.sin(angle)
    theta = torch.zeros(len(x), 2, 3)
    theta[:, 0, 0], theta[:, 0, 1], theta[:, 1, 0], theta[:, 1, 1] = cos, sin, -sin, cos
    return _affine(x, theta)


Op = Callable[[torch.Tensor, torch.Tensor, DSAParams], torch.Tensor]
#: op family -> (the op, how many uniforms it draws per sample)
FAMILIES: dict[str, tuple[Op, int]] = {
    "color": (_color, 3),
    "crop": (_crop, 2),
    "cutout": (_cutout, 2),
    "flip": (_flip, 1),
    "scale": (_scale, 2),
    "rotate": (_rotate, 1),
}
_DRAWS = 3  # uniforms drawn per group, enough for every family


def parse_strategy(strategy: str) -> list[str]:
    """The op families of ``"color_crop_..."``; ``"none"`` is no augmentation."""
    if strategy.lower() == "none":
        return []
    families = strategy.split("_")
    unknown = [f for f in families if f not in FAMILIES]
    if unknown or not all(families):
        what = ", ".join(unknown) if unknown else "(empty)"
        raise DcbenchError(f"unknown DSA op {what} in strategy {strategy!r}; "
                           f"known: {', '.join(FAMILIES)} joined by _, or none")
    return families


def strategy_for(dataset: str) -> str:
    """The authors' strategy for a dataset: no flip for digits."""
    name = dataset.lower().replace("_", "-")
    return NO_FLIP if name in DIGIT_DATASETS else FULL


def resolve_strategy(strategy: str, dataset: str) -> str:
    """``"auto"`` becomes the dataset's strategy; any other value is checked."""
    if strategy == "auto":
        return strategy_for(dataset)
    parse_strategy(strategy)
    return strategy


@dataclass
class Transform:
    """Drawn parameters for ``groups`` groups: one op family and one parameter set per group.

    ``apply(x, group_of)`` augments sample ``i`` of ``x`` with the parameters of group
    ``group_of[i]``; applying the same Transform to two batches is the siamese augmentation.
    """

    families: list[str]
    choice: torch.Tensor  # (groups,) index into families
    uniforms: torch.Tensor  # (groups, _DRAWS)
    params: DSAParams = PARAMS

    @classmethod
    def sample(cls, strategy: str, groups: int, g: torch.Generator,
               params: DSAParams = PARAMS) -> Transform:
        families = parse_strategy(strategy)
        choice = torch.randint(0, max(1, len(families)), (groups,), generator=g)
        return cls(families, choice, torch.rand(groups, _DRAWS, generator=g), params)

    def apply(self, x: torch.Tensor, group_of: torch.Tensor | None = None) -> torch.Tensor:
        if not self.families:
            return x
        group_of = torch.arange(len(x)) if group_of is None else group_of.cpu()
        chosen = self.choice[group_of]
        u = self.uniforms[group_of]
        for i, family in enumerate(self.families):
            rows = (chosen == i).nonzero().squeeze(1)
            if len(rows) == 0:
                continue
            op, _ = FAMILIES[family]
            if len(rows) == len(x):
                x = op(x, u, self.params)
            else:  # only the rows that drew this family, put back in place (differentiably)
                at = rows.to(x.device)
                x = x.index_copy(0, at, op(x.index_select(0, at), u[rows], self.params))
        return x


def augment(x: torch.Tensor, strategy: str, g: torch.Generator) -> torch.Tensor:
    """Non-siamese DSA (training a network on a set): one op family for the whole batch,
    drawn per call as the authors do, with per-sample parameters."""
    families = parse_strategy(strategy)
    if not families:
        return x
    family = int(torch.randint(0, len(families), (1,), generator=g))
    t = Transform(families, torch.full((len(x),), family), torch.rand(len(x), _DRAWS,
                                                                       generator=g))
    return t.apply(x)


def siamese(strategy: str, groups: int, g: torch.Generator) -> Transform:
    """One transform per group (class), to apply identically to its real and synthetic images."""
    return Transform.sample(strategy, groups, g)
