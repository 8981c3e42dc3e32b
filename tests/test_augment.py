"""The DC authors' augmentation (one of crop / scale / rotate / noise per image), vectorised."""

from __future__ import annotations

import math

import pytest
import torch

from dcbench.augment import AUGMENTATIONS, dc_augment, no_augment, resolve_augment
from dcbench.errors import DcbenchError

pytestmark = pytest.mark.usefixtures("one_thread")
N, H, W = 64, 28, 28


def blob(n: int = N, c: int = 1) -> torch.Tensor:
    """Centred Gaussian blobs (rotation-invariant), slightly different per image."""
    yy = torch.arange(H).view(H, 1) - (H - 1) / 2
    xx = torch.arange(W).view(1, W) - (W - 1) / 2
    sigma = torch.linspace(3.0, 4.0, n).view(n, 1, 1, 1)
    img = torch.exp(-(yy**2 + xx**2) / (2 * sigma**2))
    return img.expand(n, c, H, W).contiguous()


def randn(*shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(99))


def draws(seed: int, n: int = N) -> tuple[torch.Tensor, torch.Tensor]:
    """The op and uniform draws dc_augment makes first from a generator seeded ``seed``."""
    g = torch.Generator().manual_seed(seed)
    op = torch.randint(0, 4, (n,), generator=g)
    u = torch.rand(n, 3, generator=g)
    return op, u


def shifted(img: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """out[i, j] = img[i + dy, j + dx], zero outside."""
    out = torch.zeros_like(img)
    h, w = img.shape[-2:]
    ys, xs = slice(max(0, -dy), min(h, h - dy)), slice(max(0, -dx), min(w, w - dx))
    yt, xt = slice(max(0, dy), min(h, h + dy)), slice(max(0, dx), min(w, w + dx))
    out[..., ys, xs] = img[..., yt, xt]
    return out


@pytest.mark.parametrize("shape", [(N, 1, 28, 28), (10, 3, 32, 32), (5, 2, 16, 12)])
def test_shape_dtype_and_determinism(shape) -> None:
    x = randn(*shape)
    a = dc_augment(x, torch.Generator().manual_seed(0))
    b = dc_augment(x, torch.Generator().manual_seed(0))
    assert a.shape == x.shape and a.dtype == x.dtype
    assert torch.equal(a, b) and torch.isfinite(a).all()
    assert not torch.equal(a, dc_augment(x, torch.Generator().manual_seed(1)))


def test_every_image_is_changed_except_a_zero_crop_shift() -> None:
    x = randn(256, 1, H, W)
    seed = 3
    out = dc_augment(x, torch.Generator().manual_seed(seed))
    op, u = draws(seed, 256)
    assert set(op.tolist()) == {0, 1, 2, 3}  # every kind occurs
    shift = torch.floor(u[:, :2] * 9) - 4
    zero_crop = (op == 0) & (shift == 0).all(1)
    unchanged = (out - x).flatten(1).abs().amax(1) < 1e-6
    assert torch.equal(unchanged, zero_crop)
    assert unchanged.sum() <= 8  # ~1/81 of the crops


def test_crop_is_an_integer_shift_with_zero_fill() -> None:
    x = randn(N, 2, H, W)
    out = dc_augment(x, torch.Generator().manual_seed(5))
    op, u = draws(5)
    shift = (torch.floor(u[:, :2] * 9) - 4).long()  # (dx, dy) in pixels, each in -4..4
    assert shift.abs().max() <= 4
    crops = (op == 0).nonzero().flatten().tolist()
    assert crops
    for i in crops:
        dx, dy = shift[i].tolist()
        torch.testing.assert_close(out[i], shifted(x[i], dy, dx), atol=1e-4, rtol=0)


def test_noise_is_small_and_rotation_keeps_a_centred_blob() -> None:
    x = blob()
    out = dc_augment(x, torch.Generator().manual_seed(7))
    op, u = draws(7)
    for i in (op == 3).nonzero().flatten().tolist():
        diff = (out[i] - x[i]).abs()
        assert 0 < diff.max() < 0.001 * 6  # N(0, 0.001) noise
    for i in (op == 2).nonzero().flatten().tolist():
        # a rotation of at most 45 degrees; the blob is round, so it stays put
        assert abs(float((u[i, 2] - 0.5) * 2 * 45)) <= 45
        torch.testing.assert_close(out[i], x[i], atol=0.04, rtol=0)


def orientation(img: torch.Tensor) -> float:
    """Angle (degrees) of the principal axis of a (H, W) image's mass."""
    yy, xx = torch.meshgrid(torch.arange(H, dtype=torch.float64),
                            torch.arange(W, dtype=torch.float64), indexing="ij")
    m = img.double().clamp_min(0)
    total = m.sum()
    cy, cx = (m * yy).sum() / total, (m * xx).sum() / total
    mu20 = (m * (xx - cx) ** 2).sum() / total
    mu02 = (m * (yy - cy) ** 2).sum() / total
    mu11 = (m * (xx - cx) * (yy - cy)).sum() / total
    return math.degrees(0.5 * math.atan2(2 * float(mu11), float(mu20 - mu02)))


def test_rotation_turns_a_bar_by_the_drawn_angle_up_to_45_degrees() -> None:
    yy = torch.arange(H).view(H, 1) - (H - 1) / 2
    xx = torch.arange(W).view(1, W) - (W - 1) / 2
    bar = torch.exp(-(xx**2) / (2 * 5.0**2) - yy**2 / (2 * 1.5**2))
    x = bar.expand(N, 1, H, W).contiguous()
    assert abs(orientation(x[0, 0])) < 0.5
    out = dc_augment(x, torch.Generator().manual_seed(13))
    op, u = draws(13)
    rotations = (op == 2).nonzero().flatten().tolist()
    assert rotations
    angles = []
    for i in rotations:
        angle = float((u[i, 2] - 0.5) * 2 * 45)
        angles.append(abs(angle))
        assert abs(orientation(out[i, 0])) == pytest.approx(abs(angle), abs=3.0)
    assert max(angles) > 20  # the check saw real rotations


def test_scale_zooms_by_a_factor_between_0_8_and_1_2() -> None:
    x = blob()
    out = dc_augment(x, torch.Generator().manual_seed(11))
    op, u = draws(11)
    scales = (op == 1).nonzero().flatten().tolist()
    assert scales
    for i in scales:
        factor = 1 + (float(u[i, 0]) - 0.5) * 2 * 0.2
        assert 0.8 <= factor <= 1.2
        # the blob's mass grows with the area: factor ** 2
        ratio = float(out[i].sum() / x[i].sum())
        assert ratio == pytest.approx(factor**2, rel=0.03)


def test_registry_and_resolution() -> None:
    x = randn(3, 1, 4, 4)
    assert no_augment(x, torch.Generator()) is x
    assert AUGMENTATIONS.get("dc") is dc_augment and AUGMENTATIONS.get("none") is no_augment
    assert resolve_augment("auto", "mnist") == "dc"
    assert resolve_augment("auto", "fashion-mnist") == "none"
    assert resolve_augment("dc", "fashion-mnist") == "dc"
    with pytest.raises(DcbenchError, match="unknown augmentation"):
        resolve_augment("mixup", "mnist")
