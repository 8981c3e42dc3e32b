"""The DC authors' training-time augmentation for MNIST-like data, vectorised.

Each image gets one of: crop (shift by up to 4 px, zero fill), scale (×[0.8, 1.2]), rotate
(±45°), noise (+N(0, 0.001)). Zero is the mean pixel in the normalised space, which is what the
authors' fill amounts to. All geometric ops go through one ``affine_grid``/``grid_sample`` call.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from dcbench.registry import Registry

AUGMENTATIONS: Registry = Registry("augmentation")


@AUGMENTATIONS.register("none")
def no_augment(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    return x


@AUGMENTATIONS.register("dc")
def dc_augment(
    x: torch.Tensor, g: torch.Generator, crop: int = 4, scale: float = 0.2, rotate: float = 45.0,
    noise: float = 0.001,
) -> torch.Tensor:
    n, _, h, w = x.shape
    op = torch.randint(0, 4, (n,), generator=g)
    u = torch.rand(n, 3, generator=g)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = 1.0
    is_crop, is_scale, is_rot = op == 0, op == 1, op == 2
    shift = (torch.floor(u[:, :2] * (2 * crop + 1)) - crop) * 2 / torch.tensor([w, h])
    theta[is_crop, :, 2] = shift[is_crop]
    factor = 1 + (u[:, 0] - 0.5) * 2 * scale
    theta[is_scale, 0, 0] = 1 / factor[is_scale]
    theta[is_scale, 1, 1] = 1 / factor[is_scale]
    angle = (u[:, 2] - 0.5) * 2 * math.radians(rotate)
    cos, sin = torch.cos(angle), torch.sin(angle)
    rot = torch.stack([torch.stack([cos, -sin], 1), torch.stack([sin, cos], 1)], 1)
    theta[is_rot, :, :2] = rot[is_rot]
    theta = theta.to(x.device, x.dtype)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    out = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    is_noise = (op == 3).to(x.device).view(n, 1, 1, 1)
    eps = torch.randn(x.shape, generator=g).to(x.device, x.dtype) * noise
    return torch.where(is_noise, x + eps, out)


#: The protocol's choice per dataset: the authors augment only MNIST when training on DC sets.
AUTO_AUGMENT = {"mnist": "dc"}


def resolve_augment(name: str, dataset: str) -> str:
    if name == "auto":
        return AUTO_AUGMENT.get(dataset, "none")
    AUGMENTATIONS.get(name)
    return name
