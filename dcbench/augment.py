"""Training-time augmentations of the evaluation protocol, vectorised over the batch.

Every entry of :data:`AUGMENTATIONS` is ``(x, g) -> x`` with all randomness drawn from ``g``.
Which one an evaluation uses is the authors' rule, written once in
:func:`dcbench.evaluation.protocol.resolve_augment`:

* ``crop_scale_rotate`` — the DC authors' ``augment`` with that strategy (MNIST): each image
  gets exactly one of crop, scale or rotate;
* ``crop_noise`` — their strategy for batch-norm ConvNets: one of crop or noise per image;
* ``dsa`` / ``dsa-noflip`` — differentiable siamese augmentation, not siamese here (training a
  network on a set), for DSA and DM sets; digits are not mirrored.

The authors loop over the images in Python; here each op runs once on the images that drew it.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from dcbench.registry import Registry

Augmentation = Callable[[torch.Tensor, torch.Generator], torch.Tensor]
AUGMENTATIONS: Registry[Augmentation] = Registry("augmentation")

#: The authors' ``dc_aug_param``: crop shift (px), scale range, rotation (degrees), noise std.
CROP, SCALE, ROTATE, NOISE = 4, 0.2, 45, 0.001

#: Registry name -> DSA strategy (``dcbench.dsa``); the authors drop ``flip`` for digits.
DSA_STRATEGIES = {
    "dsa": "color_crop_cutout_flip_scale_rotate",
    "dsa-noflip": "color_crop_cutout_scale_rotate",
}


@AUGMENTATIONS.register("none")
def no_augment(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    return x


# -- the authors' per-image ops, each on a sub-batch ------------------------------------------


def _remap(x: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor,
           fill: torch.Tensor) -> torch.Tensor:
    """``out[i, c, r, s] = x[i, c, rows[i, r], cols[i, s]]``; an index outside the image reads
    ``fill`` (per channel)."""
    n, ch, h, w = x.shape
    rows, cols = rows.to(x.device), cols.to(x.device)
    inside = (((rows >= 0) & (rows < h)).view(n, 1, -1, 1)
              & ((cols >= 0) & (cols < w)).view(n, 1, 1, -1))
    r = rows.clamp(0, h - 1).view(n, 1, -1, 1).expand(n, ch, rows.shape[1], w)
    out = x.gather(2, r)
    c = cols.clamp(0, w - 1).view(n, 1, 1, -1).expand(n, ch, rows.shape[1], cols.shape[1])
    out = out.gather(3, c)
    return torch.where(inside, out, fill.to(x.device, x.dtype).view(1, ch, 1, 1))


def _crop(x: torch.Tensor, shift: torch.Tensor, mean: torch.Tensor) -> torch.Tensor:
    """Shift by ``shift`` (n, 2) = (dy, dx) whole pixels: ``out[r, s] = x[r + dy, s + dx]``,
    the batch's channel mean outside (the authors pad by 4 with the mean and take a window)."""
    _, _, h, w = x.shape
    rows = torch.arange(h) + shift[:, :1]
    cols = torch.arange(w) + shift[:, 1:]
    return _remap(x, rows, cols, mean)


def _nearest_axis(size: int, scaled: torch.Tensor, canvas: torch.Tensor) -> torch.Tensor:
    """Source indices along one axis of the authors' scale op, one row per image (n, size).

    They resize to ``scaled`` pixels with nearest neighbours (``F.interpolate``'s default:
    source ``floor(k * size / scaled)`` in float32), paste that at ``(canvas - scaled) // 2`` on
    a zero canvas of side ``canvas`` (the largest of both new sides and the image's) and take
    the window at ``(canvas - size) // 2``; -1 marks the canvas's zeros.
    """
    scaled, canvas = scaled.view(-1, 1), canvas.view(-1, 1)
    k = torch.arange(size) + (canvas - size) // 2 - (canvas - scaled) // 2
    ratio = size / scaled.to(torch.float32)
    src = torch.floor(k.to(torch.float32) * ratio).long().clamp(max=size - 1)
    return torch.where((k >= 0) & (k < scaled), src, -1)


def _scale(x: torch.Tensor, factors: torch.Tensor) -> torch.Tensor:
    """The authors' scale: height and width times independent ``factors`` (n, 2), nearest
    neighbours, centred, cropped back or padded with zeros (their canvas is ``torch.zeros``).
    They multiply both factors by the height; the width is used here (the same on square
    images)."""
    _, ch, h, w = x.shape
    hs, ws = (factors[:, 0] * h).long(), (factors[:, 1] * w).long()
    canvas = torch.stack([hs, ws, torch.full_like(hs, h), torch.full_like(hs, w)]).amax(0)
    rows, cols = _nearest_axis(h, hs, canvas), _nearest_axis(w, ws, canvas)
    return _remap(x, rows, cols, x.new_zeros(ch))


def _window_offset(side: int, other: int, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Where the authors' window sits, relative to the rotated image's centre, along an axis of
    ``side`` pixels (``other`` across): 0 or -0.5 px.

    scipy's ``rotate(reshape=True)`` returns ``int(|cos|·side + |sin|·other + 0.5)`` pixels
    rotated about their centre, and they keep the window at ``int((out - side) / 2)``: half a
    pixel off-centre when ``out - side`` is odd.
    """
    out = (cos.abs().double() * side + sin.abs().double() * other + 0.5).floor()
    return (torch.div(out - side, 2, rounding_mode="floor") - (out - side) / 2).float()


def _rotate(x: torch.Tensor, degrees: torch.Tensor, fill: torch.Tensor) -> torch.Tensor:
    """Rotate about the centre by ``degrees`` (n,), ``fill`` outside, as the authors' window of
    scipy's rotated image (see :func:`_window_offset`).

    They use scipy's cubic-spline ``rotate`` (cval = the mean of the channel means); this is
    bilinear ``grid_sample``, with the fill blended in at the border as a constant ``cval``
    would be (sampling ``x - fill`` with zero padding, then adding ``fill`` back).
    """
    n, _, h, w = x.shape
    a = torch.deg2rad(degrees.to(torch.float64))
    cos, sin = torch.cos(a), torch.sin(a)
    dy, dx = _window_offset(h, w, cos, sin), _window_offset(w, h, cos, sin)
    cos, sin = cos.float(), sin.float()
    # output pixel q (from the centre, in pixels) reads input R (q + d); written in
    # affine_grid's normalised coordinates (-1..1 per side)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0], theta[:, 0, 1] = cos, -sin * h / w
    theta[:, 1, 0], theta[:, 1, 1] = sin * w / h, cos
    theta[:, 0, 2] = (cos * dx - sin * dy) * 2 / w
    theta[:, 1, 2] = (sin * dx + cos * dy) * 2 / h
    grid = F.affine_grid(theta.to(x.device, x.dtype), list(x.shape), align_corners=False)
    out = F.grid_sample(x - fill, grid, mode="bilinear", padding_mode="zeros",
                        align_corners=False)
    return out + fill


def _noise(x: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    return x + NOISE * eps.to(x.device, x.dtype)


def _draws(x: torch.Tensor, g: torch.Generator, strategy: tuple[str, ...]
           ) -> dict[str, torch.Tensor]:
    """Every random number of one call, drawn for all images whatever op they get, so that an
    image's parameters do not depend on the others' choices (the noise only when it is an op:
    it is the one draw of a whole batch's size)."""
    n = len(x)
    draws = {
        "op": torch.randint(0, len(strategy), (n,), generator=g),
        "shift": torch.randint(-CROP, CROP, (n, 2), generator=g),  # -4..3, as theirs
        "factors": 1 - SCALE + 2 * SCALE * torch.rand(n, 2, generator=g),
        "degrees": torch.randint(-ROTATE, ROTATE, (n,), generator=g),  # -45..44, as theirs
    }
    if "noise" in strategy:
        draws["eps"] = torch.randn(x.shape, generator=g)
    return draws


#: op name -> (images, their draws, the batch's channel means) -> images.
_OPS: dict[str, Callable[[torch.Tensor, dict[str, torch.Tensor], torch.Tensor], torch.Tensor]] = {
    "crop": lambda x, d, mean: _crop(x, d["shift"], mean),
    "scale": lambda x, d, mean: _scale(x, d["factors"]),
    "rotate": lambda x, d, mean: _rotate(x, d["degrees"], mean.mean()),
    "noise": lambda x, d, mean: _noise(x, d["eps"]),
}


def _one_op_each(x: torch.Tensor, g: torch.Generator, strategy: tuple[str, ...]) -> torch.Tensor:
    """The authors' ``augment``: each image gets one op of ``strategy``, uniformly; the crop
    fills with the batch's per-channel mean, computed before any op. The draws stay on the
    generator's device (the CPU), the images on theirs."""
    d = _draws(x, g, strategy)
    mean = x.mean(dim=(0, 2, 3))
    out = x.clone()
    for k, name in enumerate(strategy):
        picked = (d["op"] == k).nonzero().flatten()
        if len(picked):
            on = picked.to(x.device)
            out[on] = _OPS[name](x[on], {key: v[picked] for key, v in d.items()}, mean)
    return out


@AUGMENTATIONS.register("crop_scale_rotate")
def crop_scale_rotate(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """MNIST: one of crop (shift −4..3 px, mean fill), scale (height and width ×U(0.8, 1.2)
    each, nearest, zero fill) or rotate (integer degrees in [−45, 44], mean fill) per image;
    no noise."""
    return _one_op_each(x, g, ("crop", "scale", "rotate"))


@AUGMENTATIONS.register("crop_noise")
def crop_noise(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Batch-norm ConvNets: one of crop (as above) or noise (+0.001·N(0, 1)) per image."""
    return _one_op_each(x, g, ("crop", "noise"))


# -- DSA ----------------------------------------------------------------------------------------


@AUGMENTATIONS.register("dsa")
def dsa_full(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """DSA with every op family (one family per call, parameters per image)."""
    from dcbench import dsa  # imported when used: DSA is its own module

    return dsa.augment(x, DSA_STRATEGIES["dsa"], g)


@AUGMENTATIONS.register("dsa-noflip")
def dsa_noflip(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """DSA without mirroring, for digits."""
    from dcbench import dsa

    return dsa.augment(x, DSA_STRATEGIES["dsa-noflip"], g)


def dsa_for(dataset: str | None, strategy: str | None = None) -> str:
    """The augmentation name of DSA with ``strategy`` (default: the one the authors use on
    ``dataset``): ``dsa``, ``dsa-noflip``, or ``dsa:<strategy>`` for any other."""
    from dcbench import dsa

    strategy = strategy or dsa.strategy_for(dataset or "")
    named = [name for name, s in DSA_STRATEGIES.items() if s == strategy]
    return named[0] if named else f"dsa:{strategy}"


def get_augmentation(name: str) -> Augmentation:
    """The augmentation called ``name``: a registered one, or ``dsa:<strategy>`` (the DSA ops
    of a set condensed with its own strategy, e.g. ``dsa:color_crop``)."""
    if name.startswith("dsa:"):
        from dcbench import dsa

        strategy = name.removeprefix("dsa:")
        dsa.parse_strategy(strategy)
        return lambda x, g: dsa.augment(x, strategy, g)
    return AUGMENTATIONS.get(name)

