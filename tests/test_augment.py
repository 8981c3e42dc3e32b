"""The evaluation augmentations: the DC authors' one-op-per-image strategies (checked image by
image against their per-image code, written out here as a loop) and the DSA wrappers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.ndimage import rotate as scipy_rotate

from dcbench.augment import (
    AUGMENTATIONS,
    DSA_STRATEGIES,
    crop_noise,
    crop_scale_rotate,
    dsa_for,
    no_augment,
)

pytestmark = pytest.mark.usefixtures("one_thread")
H = W = 28
SHIFTS = range(-4, 4)
SIDES = range(int(0.8 * H), int(1.2 * H) + 1)  # int(f * 28) for f in [0.8, 1.2)


def smooth(n: int, c: int = 1, seed: int = 0) -> torch.Tensor:
    """Random images blurred to a few pixels' scale, so that bilinear and cubic rotations of
    them agree closely; an offset per channel, so that the batch mean is not zero."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, c, H, W, generator=g)
    k = torch.exp(-torch.arange(-4, 5.0) ** 2 / 8)
    k = (k / k.sum()).view(1, 1, 1, 9).expand(c, 1, 1, 9)
    x = F.conv2d(F.conv2d(x, k, padding=(0, 4), groups=c), k.transpose(2, 3), padding=(4, 0),
                 groups=c)
    return 3 * x + torch.arange(1, c + 1.0).view(1, c, 1, 1)


# -- the authors' per-image ops (utils.py ``augment``), for one image of a batch ---------------


def their_crop(img: torch.Tensor, mean: list[float], dy: int, dx: int) -> torch.Tensor:
    """``cropfun`` with ``r, c = dy + 4, dx + 4``: pad 4 with the channel means, take a window."""
    c, h, w = img.shape
    canvas = torch.zeros(c, h + 8, w + 8)
    for ch in range(c):
        canvas[ch] = mean[ch]
    canvas[:, 4:4 + h, 4:4 + w] = img
    return canvas[:, dy + 4:dy + 4 + h, dx + 4:dx + 4 + w]


def their_scale(img: torch.Tensor, hs: int, ws: int) -> torch.Tensor:
    """``scalefun`` after drawing the new sides: nearest resize, centre on zeros, window."""
    c, h, w = img.shape
    tmp = F.interpolate(img[None], [hs, ws])[0]
    m = max(hs, ws, h, w)
    canvas = torch.zeros(c, m, m)
    r, s = int((m - hs) / 2), int((m - ws) / 2)
    canvas[:, r:r + hs, s:s + ws] = tmp
    r, s = int((m - h) / 2), int((m - w) / 2)
    return canvas[:, r:r + h, s:s + w]


def their_rotate(img: torch.Tensor, angle: int, cval: float) -> torch.Tensor:
    """``rotatefun``: scipy's cubic rotate with reshape, centre window, constant ``cval``."""
    out = scipy_rotate(img.numpy(), angle=angle, axes=(-2, -1), cval=cval)
    r, s = int((out.shape[-2] - H) / 2), int((out.shape[-1] - W) / 2)
    return torch.tensor(out[:, r:r + H, s:s + W], dtype=torch.float32)


def exact(a: torch.Tensor, b: torch.Tensor) -> bool:
    return bool((a - b).abs().max() < 1e-6)


def which_crop(out: torch.Tensor, img: torch.Tensor, mean: list[float]) -> tuple | None:
    hits = [(dy, dx) for dy in SHIFTS for dx in SHIFTS if exact(out, their_crop(img, mean, dy, dx))]
    return hits[0] if hits else None


def which_scale(out: torch.Tensor, img: torch.Tensor) -> tuple | None:
    hits = [(hs, ws) for hs in SIDES for ws in SIDES if exact(out, their_scale(img, hs, ws))]
    return hits[0] if hits else None


#: Pixels whose source stays > 1 px inside the image at any angle: there bilinear and cubic
#: interpolation agree on smooth images; at the image's edge (a jump to the fill) they do not.
DISK = (torch.arange(H).view(H, 1) - (H - 1) / 2) ** 2 + (torch.arange(W) - (W - 1) / 2) ** 2 \
    <= 12.5**2


def which_rotation(out: torch.Tensor, img: torch.Tensor, cval: float) -> tuple[int, float]:
    """The integer angle in [-45, 44] whose rotation (theirs) is nearest inside :data:`DISK`,
    and that distance (bilinear here, cubic there: neighbouring angles are about as near)."""
    best = min((float((out - their_rotate(img, a, cval)).abs()[:, DISK].max()), a)
               for a in range(-45, 45))
    return best[1], best[0]


# -- tests -------------------------------------------------------------------------------------


def test_registry_and_dc_is_gone() -> None:
    assert set(AUGMENTATIONS.names()) == {"none", "crop_scale_rotate", "crop_noise", "dsa",
                                          "dsa-noflip"}
    assert AUGMENTATIONS.get("crop_scale_rotate") is crop_scale_rotate
    assert AUGMENTATIONS.get("crop_noise") is crop_noise
    x = torch.randn(3, 1, 4, 4)
    assert no_augment(x, torch.Generator()) is x


@pytest.mark.parametrize("fn", [crop_scale_rotate, crop_noise])
@pytest.mark.parametrize("shape", [(64, 1, 28, 28), (10, 3, 32, 32), (5, 2, 16, 12)])
def test_shape_dtype_and_determinism(fn, shape) -> None:
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(9))
    a = fn(x, torch.Generator().manual_seed(0))
    b = fn(x, torch.Generator().manual_seed(0))
    assert a.shape == x.shape and a.dtype == x.dtype and torch.isfinite(a).all()
    assert torch.equal(a, b)
    assert not torch.equal(a, fn(x, torch.Generator().manual_seed(1)))
    assert torch.equal(x, torch.randn(*shape, generator=torch.Generator().manual_seed(9)))


def test_crop_scale_rotate_gives_each_image_exactly_one_of_their_three_ops() -> None:
    x = smooth(96, c=2)
    out = crop_scale_rotate(x, torch.Generator().manual_seed(4))
    mean = [float(torch.mean(x[:, c])) for c in range(2)]  # theirs: the batch's, per channel
    cval = float(np.mean(mean))
    kinds = []
    for i in range(len(x)):
        if which_crop(out[i], x[i], mean) is not None:
            kinds.append("crop")
        elif which_scale(out[i], x[i]) is not None:
            kinds.append("scale")
        else:
            angle, dist = which_rotation(out[i], x[i], cval)
            assert dist < 0.1, (i, angle, dist)  # values of about ±3
            kinds.append("rotate")
    counts = {k: kinds.count(k) for k in ("crop", "scale", "rotate")}
    assert all(15 <= v <= 50 for v in counts.values()), counts  # uniform over the three


def test_rotation_is_by_the_angle_theirs_would_use_and_fills_with_the_mean() -> None:
    yy = torch.arange(H).view(H, 1) - (H - 1) / 2
    xx = torch.arange(W).view(1, W) - (W - 1) / 2
    bar = 2 * torch.exp(-(xx**2) / (2 * 5.0**2) - yy**2 / (2 * 2.5**2)) - 0.5
    x = bar.expand(64, 1, H, W).contiguous()
    out = crop_scale_rotate(x, torch.Generator().manual_seed(13))
    fill = float(x.mean())
    angles = []
    for i in range(len(x)):
        if which_crop(out[i], x[i], [fill]) is not None or which_scale(out[i], x[i]) is not None:
            continue
        angle, dist = which_rotation(out[i], x[i], fill)
        assert dist < 0.1 and -45 <= angle <= 44
        angles.append(angle)
        if abs(angle) >= 10:  # the corners come from outside the image: the batch mean
            corners = out[i, 0, [0, 0, -1, -1], [0, -1, 0, -1]]
            torch.testing.assert_close(corners, torch.full((4,), fill), atol=1e-5, rtol=0)
    assert len(angles) >= 10 and max(map(abs, angles)) > 20


def test_crop_scale_rotate_adds_no_noise() -> None:
    """A constant image stays that constant under crop (mean fill) and rotation (mean fill);
    the authors' scale pads with zeros. Noise would put any other value in."""
    x = torch.full((200, 1, H, W), 0.7)
    out = crop_scale_rotate(x, torch.Generator().manual_seed(2))
    constant = (out - 0.7).abs() < 1e-6
    assert bool((constant | (out == 0)).all())
    untouched = constant.flatten(1).all(1)
    assert 120 <= int(untouched.sum()) < 200  # crops, rotations and the scales up (~5/6)


def test_scale_is_nearest_and_anisotropic() -> None:
    x = smooth(120)
    out = crop_scale_rotate(x, torch.Generator().manual_seed(8))
    scales = [s for i in range(len(x)) if (s := which_scale(out[i], x[i])) is not None
              and which_crop(out[i], x[i], [float(x.mean())]) is None]
    assert len(scales) >= 20
    assert any(hs != ws for hs, ws in scales)  # height and width drawn independently
    assert {hs for hs, _ in scales} <= set(SIDES)


def test_crop_noise_gives_each_image_a_crop_or_a_little_noise() -> None:
    x = smooth(80, c=3, seed=5)
    out = crop_noise(x, torch.Generator().manual_seed(6))
    mean = [float(torch.mean(x[:, c])) for c in range(3)]
    crops = noises = 0
    for i in range(len(x)):
        if which_crop(out[i], x[i], mean) is not None:
            crops += 1
            continue
        eps = (out[i] - x[i]) / 0.001
        assert 0.7 < float(eps.std()) < 1.3 and float(eps.mean()) == pytest.approx(0, abs=0.2)
        noises += 1
    assert crops >= 20 and noises >= 20


@pytest.mark.parametrize("name", ["dsa", "dsa-noflip"])
def test_dsa_entries_call_dcbench_dsa_with_their_strategy(name: str) -> None:
    from dcbench import dsa

    x = torch.randn(8, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    ours = AUGMENTATIONS.get(name)(x, torch.Generator().manual_seed(3))
    theirs = dsa.augment(x, DSA_STRATEGIES[name], torch.Generator().manual_seed(3))
    assert torch.equal(ours, theirs)
    flips = "flip" in DSA_STRATEGIES[name]
    assert flips == (name == "dsa")


def test_dsa_for_drops_flip_on_digits() -> None:
    assert dsa_for("mnist") == dsa_for("svhn") == "dsa-noflip"
    assert dsa_for("fashion-mnist") == dsa_for("cifar10") == "dsa"
