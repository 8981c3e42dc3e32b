"""Differentiable Siamese Augmentation: each op, the siamese draw, the per-dataset strategy."""

from __future__ import annotations

import pytest
import torch

from dcbench import dsa
from dcbench.errors import DcbenchError


def images(n: int = 6, side: int = 16, channels: int = 3, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, channels, side, side, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("family", list(dsa.FAMILIES))
def test_each_op_changes_the_images_and_is_differentiable(family: str) -> None:
    x = images().requires_grad_(True)
    op, _ = dsa.FAMILIES[family]
    u = torch.full((len(x), 3), 0.1)  # every op away from its identity (flip: 0.1 < p)
    y = op(x, u, dsa.PARAMS)
    assert y.shape == x.shape and not torch.allclose(y, x)
    (y * torch.randn_like(y)).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


@pytest.mark.parametrize("family", list(dsa.FAMILIES))
def test_each_op_keeps_its_parameters_on_the_images_device(family: str) -> None:
    """Parameters are drawn on the CPU; every op must move them to the images' device (the
    ``meta`` device stands in for a GPU here: mixing devices raises)."""
    x = torch.empty(4, 3, 16, 16, device="meta")
    y = dsa.FAMILIES[family][0](x, torch.full((4, 3), 0.1), dsa.PARAMS)
    assert y.device.type == "meta" and y.shape == x.shape


def test_crop_shifts_by_whole_pixels_with_zero_fill() -> None:
    x = images(n=1, side=16, channels=1)
    u = torch.tensor([[0.0, 1.0 - 1e-6, 0.0]])  # shift -2 rows, +2 columns (16 * 1/8 = 2)
    y = dsa.FAMILIES["crop"][0](x, u, dsa.PARAMS)
    assert torch.equal(y[0, 0, 2:, :14], x[0, 0, :14, 2:])
    assert torch.equal(y[0, 0, :2], torch.zeros(2, 16)) and torch.equal(y[0, 0, :, 14:],
                                                                         torch.zeros(16, 2))


def test_cutout_zeroes_a_square_of_half_the_side() -> None:
    x = torch.ones(1, 1, 28, 28)
    y = dsa.FAMILIES["cutout"][0](x, torch.tensor([[0.5, 0.5, 0.0]]), dsa.PARAMS)
    assert int((y == 0).sum()) == 14 * 14


def test_flip_follows_its_probability() -> None:
    x = images(n=2)
    y = dsa.FAMILIES["flip"][0](x, torch.tensor([[0.2, 0, 0], [0.8, 0, 0]]), dsa.PARAMS)
    assert torch.equal(y[0], x[0].flip(2)) and torch.equal(y[1], x[1])


def test_the_siamese_transform_is_identical_on_two_batches() -> None:
    g = torch.Generator().manual_seed(3)
    t = dsa.siamese(dsa.FULL, groups=4, g=g)
    real, syn = images(n=8, seed=1), images(n=4, seed=2)
    syn[2] = real[5]  # the same image in both batches, in the same group (class 2)
    real[3] = real[5]  # and once more in class 1's group
    real_groups = torch.arange(4).repeat_interleave(2)
    out_real, out_syn = t.apply(real, real_groups), t.apply(syn, torch.arange(4))
    assert torch.allclose(out_real[5], out_syn[2])
    assert not torch.allclose(out_real[3], out_real[5])  # class 1 got another transform
    again = dsa.siamese(dsa.FULL, groups=4, g=torch.Generator().manual_seed(3))
    assert torch.equal(again.apply(real, real_groups), out_real)  # same seed, same output


def test_one_family_per_group_and_groups_differ() -> None:
    t = dsa.siamese(dsa.FULL, groups=64, g=torch.Generator().manual_seed(0))
    assert len(set(t.choice.tolist())) > 1  # classes do not all get the same op
    x = images(n=64)
    y = t.apply(x, torch.arange(64))
    flipped = [i for i in range(64) if dsa.FULL.split("_")[int(t.choice[i])] == "flip"]
    for i in flipped:  # a flip-group image is either flipped or untouched, nothing else
        assert torch.equal(y[i], x[i].flip(2)) or torch.equal(y[i], x[i])


def test_non_siamese_augment_draws_per_sample_parameters() -> None:
    x = images(n=32)
    y = dsa.augment(x, "flip", torch.Generator().manual_seed(0))
    flipped = [torch.equal(y[i], x[i].flip(2)) for i in range(32)]
    assert any(flipped) and not all(flipped)


def test_strategies_per_dataset_and_bad_ones() -> None:
    assert dsa.strategy_for("mnist") == dsa.NO_FLIP == "color_crop_cutout_scale_rotate"
    assert dsa.strategy_for("svhn") == dsa.NO_FLIP
    assert dsa.strategy_for("fashion-mnist") == dsa.FULL
    assert dsa.strategy_for("cifar10") == dsa.FULL
    assert dsa.resolve_strategy("auto", "mnist") == dsa.NO_FLIP
    x = images()
    assert torch.equal(dsa.augment(x, "none", torch.Generator()), x)
    with pytest.raises(DcbenchError, match="unknown DSA op blur"):
        dsa.resolve_strategy("color_blur", "mnist")
