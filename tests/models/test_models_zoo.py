"""Every registered model: shapes on both input geometries, determinism, functional calls."""

from __future__ import annotations

import pytest
import torch
from torch.func import functional_call

from dcbench.models import MODELS, build_model, has_batchnorm

SHAPES = [(1, 28, 28), (3, 32, 32)]
EXPECTED = {"convnet", "mlp", "lenet", "alexnet", "vgg11", "resnet18"}


def test_registered_names() -> None:
    assert set(MODELS.names()) == EXPECTED


@pytest.mark.parametrize("shape", SHAPES, ids=["28x28x1", "32x32x3"])
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_forward_shape_and_embed(name: str, shape: tuple[int, int, int]) -> None:
    c, h, w = shape
    model = build_model(name, c, 10, (h, w))
    x = torch.randn(2, c, h, w)
    with torch.no_grad():
        out = model(x)
        feats = model.embed(x)
    assert out.shape == (2, 10)
    assert feats.shape == (2, model.feature_dim)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_init_is_deterministic_given_torch_rng(name: str) -> None:
    torch.manual_seed(123)
    a = build_model(name, 3, 10, (32, 32)).state_dict()
    torch.manual_seed(123)
    b = build_model(name, 3, 10, (32, 32)).state_dict()
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    c = build_model(name, 3, 10, (32, 32)).state_dict()  # RNG moved on: different weights
    assert not all(torch.equal(a[k], c[k]) for k in a)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_functional_call_matches_forward(name: str) -> None:
    torch.manual_seed(0)
    model = build_model(name, 1, 10, (28, 28))
    x = torch.randn(2, 1, 28, 28)
    state = {k: v.clone() for k, v in model.state_dict(keep_vars=False).items()}
    with torch.no_grad():
        expected = model(x)
        got = functional_call(model, state, (x,))
    torch.testing.assert_close(got, expected)


def test_has_batchnorm() -> None:
    for name in EXPECTED:
        assert not has_batchnorm(build_model(name, 1, 10, (28, 28))), name
    assert has_batchnorm(build_model("convnet", 1, 10, (28, 28), norm="batch", width=8))
    assert has_batchnorm(build_model("vgg11", 1, 10, (28, 28), norm="batch"))
    assert has_batchnorm(build_model("resnet18", 1, 10, (28, 28), norm="batch"))
    for norm in ("none", "instance", "layer", "groupnorm1", "group"):
        assert not has_batchnorm(build_model("convnet", 1, 10, (28, 28), norm=norm, width=8))


def test_reference_feature_sizes() -> None:
    """The authors' fixed sizes: both geometries end in the same feature."""
    for c, h in ((1, 28), (3, 32)):
        assert build_model("lenet", c, 10, (h, h)).fc_1.in_features == 16 * 5 * 5
        assert build_model("alexnet", c, 10, (h, h)).feature_dim == 192 * 4 * 4
        assert build_model("vgg11", c, 10, (h, h)).feature_dim == 512
        assert build_model("resnet18", c, 10, (h, h)).feature_dim == 512
    assert build_model("mlp", 1, 10, (28, 28)).fc_1.in_features == 784
    assert build_model("mlp", 3, 10, (32, 32)).fc_1.in_features == 3072
