"""ConvNet: the paper's defaults, the 720-point NAS grid, option checks."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from dcbench.errors import DcbenchError
from dcbench.models import CONVNET_GRID, ConvNet, has_batchnorm, iter_convnet_grid
from dcbench.models.layers import InstanceNorm2d, LayerNorm

SHAPES = [(1, 28, 28), (3, 32, 32)]


def test_grid_has_720_points() -> None:
    assert math.prod(len(v) for v in CONVNET_GRID.values()) == 720
    points = list(iter_convnet_grid())
    assert len(points) == 720
    assert len({tuple(sorted(p.items())) for p in points}) == 720
    assert points[0] == {"width": 32, "depth": 1, "act": "relu", "norm": "none", "pool": "none"}


@pytest.mark.parametrize("shape", SHAPES, ids=["28x28x1", "32x32x3"])
def test_every_grid_point_builds_and_runs(shape: tuple[int, int, int]) -> None:
    c, h, w = shape
    x = torch.randn(2, c, h, w)
    failures = []
    with torch.no_grad():
        for point in iter_convnet_grid():
            try:
                out = ConvNet(c, 10, (h, w), **point)(x)
                assert out.shape == (2, 10), out.shape
            except Exception as exc:  # collect all failures into one readable report
                failures.append(f"{point}: {type(exc).__name__}: {exc}")
    assert not failures, "\n".join(failures[:20])


@pytest.mark.parametrize("shape", SHAPES, ids=["28x28x1", "32x32x3"])
def test_default_is_the_papers_convnet(shape: tuple[int, int, int]) -> None:
    c, h, w = shape
    model = ConvNet(c, 10, (h, w))
    assert model.feature_dim == 2048
    assert model.classifier.in_features == 128 * 4 * 4
    convs = [m for m in model.features if isinstance(m, nn.Conv2d)]
    assert [m.out_channels for m in convs] == [128] * 3
    assert convs[0].padding == ((3, 3) if h == 28 else (1, 1))
    assert sum(isinstance(m, nn.InstanceNorm2d) for m in model.features) == 3
    assert sum(isinstance(m, nn.AvgPool2d) for m in model.features) == 3
    assert not has_batchnorm(model)
    assert model.embed(torch.randn(2, c, h, w)).shape == (2, 2048)


@pytest.mark.parametrize("shape", SHAPES, ids=["28x28x1", "32x32x3"])
def test_without_pooling_features_stay_32x32(shape: tuple[int, int, int]) -> None:
    c, h, w = shape
    for depth in (1, 4):
        assert ConvNet(c, 10, (h, w), width=8, depth=depth, pool="none").feature_dim == 8 * 32 * 32


def test_layer_choices() -> None:
    def kinds(**opts: object) -> set[type]:
        return {type(m) for m in ConvNet(3, 10, (32, 32), width=8, depth=1, **opts).features}

    assert nn.BatchNorm2d in kinds(norm="batch")
    assert InstanceNorm2d in kinds(norm="instance")  # the vmap-safe subclass
    assert issubclass(InstanceNorm2d, nn.InstanceNorm2d)
    assert LayerNorm in kinds(norm="layer") and issubclass(LayerNorm, nn.LayerNorm)
    assert nn.GroupNorm in kinds(norm="groupnorm1") and nn.GroupNorm in kinds(norm="group")
    assert kinds(norm="none", pool="none") == {nn.Conv2d, nn.ReLU}
    assert nn.MaxPool2d in kinds(pool="max")
    assert nn.Sigmoid in kinds(act="sigmoid")
    leaky = [m for m in ConvNet(3, 10, (32, 32), width=8, act="leakyrelu").features]
    assert any(isinstance(m, nn.LeakyReLU) and m.negative_slope == 0.01 for m in leaky)
    groups = {
        norm: next(
            m
            for m in ConvNet(3, 10, (32, 32), width=8, norm=norm).features
            if isinstance(m, nn.GroupNorm)
        ).num_groups
        for norm in ("groupnorm1", "group")
    }
    assert groups == {"groupnorm1": 1, "group": 4}


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32)], ids=["28x28x1", "32x32x3"])
def test_layer_norm_is_the_authors_per_pixel_layernorm(shape: tuple[int, int, int]) -> None:
    """nn.LayerNorm([C, H, W]) on each block's conv output (before pooling; 28x28 inputs are
    padded to 32x32), affine per pixel; groupnorm1 has the same statistics, one scale and
    shift per channel."""
    sides = (32, 16, 8)
    model = ConvNet(shape[0], 10, shape[1:], width=8, norm="layer")
    norms = [m for m in model.features if isinstance(m, nn.LayerNorm)]
    assert [n.normalized_shape for n in norms] == [(8, s, s) for s in sides]
    assert all(n.elementwise_affine and n.weight.shape == n.bias.shape == (8, s, s)
               for n, s in zip(norms, sides, strict=True))
    first = norms[0]
    with torch.no_grad():
        first.weight.normal_()
        first.bias.normal_()
    x = torch.randn(4, 8, 32, 32)
    flat = x.flatten(1)
    mean, var = flat.mean(1, keepdim=True), flat.var(1, unbiased=False, keepdim=True)
    ref = ((flat - mean) / torch.sqrt(var + 1e-5)).view_as(x)
    with torch.no_grad():
        torch.testing.assert_close(first(x), ref * first.weight + first.bias)
        gn1 = ConvNet(shape[0], 10, shape[1:], width=8, norm="groupnorm1").features[1]
        assert isinstance(gn1, nn.GroupNorm) and gn1.weight.shape == (8,)
        torch.testing.assert_close(gn1(x), ref)


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"norm": "foo"}, ["'norm'", "instance", "batch", "group"]),
        ({"act": "tanh"}, ["'act'", "relu", "sigmoid", "leakyrelu"]),
        ({"pool": "min"}, ["'pool'", "none", "max", "avg"]),
        ({"depth": 0}, ["'depth'", ">= 1"]),
        ({"width": 0}, ["'width'", ">= 1"]),
        ({"width": "wide"}, ["'width'", ">= 1"]),
        ({"width": 30, "norm": "group"}, ["'width'", "multiples of 4"]),
        ({"depth": 6, "pool": "avg"}, ["'depth'", "pool=none"]),
    ],
)
def test_bad_options_raise_one_line_errors(options: dict, words: list[str]) -> None:
    with pytest.raises(DcbenchError) as info:
        ConvNet(3, 10, (32, 32), **options)
    message = str(info.value)
    assert "\n" not in message
    for word in words:
        assert word in message


def test_deep_without_pooling_is_fine() -> None:
    assert ConvNet(1, 10, (28, 28), width=4, depth=6, pool="none").feature_dim == 4 * 32 * 32
