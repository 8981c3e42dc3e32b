"""Per-class parameter gradients with torch.func match a per-class autograd loop.

The gradient-matching engine computes every class's parameter gradient in one
``vmap(grad(loss))`` call and backpropagates a function of them into the synthetic images, so
the transform must support double backward and give the loop's numbers.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, grad, vmap

from dcbench.models import ConvNet
from dcbench.models.layers import InstanceNorm2d, LayerNorm

CLASSES, IPC = 3, 2


def _loop(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[list, torch.Tensor]:
    """Reference: one class at a time with autograd.grad(create_graph=True)."""
    params = list(model.parameters())
    per_class, total = [], torch.zeros(())
    for c in range(CLASSES):
        sl = slice(c * IPC, (c + 1) * IPC)
        loss = F.cross_entropy(model(x[sl]), y[sl])
        grads = torch.autograd.grad(loss, params, create_graph=True)
        per_class.append(grads)
        total = total + sum(g.pow(2).sum() for g in grads)
    total.backward()
    stacked = [torch.stack([pc[i] for pc in per_class]) for i in range(len(params))]
    return stacked, total


def _vmapped(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[list, torch.Tensor]:
    params = {k: v.detach() for k, v in model.named_parameters()}

    def loss(p: dict, xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(functional_call(model, p, (xb,)), yb)

    grads = vmap(grad(loss), in_dims=(None, 0, 0))(
        params, x.view(CLASSES, IPC, *x.shape[1:]), y.view(CLASSES, IPC)
    )
    total = sum(g.pow(2).sum() for g in grads.values())
    total.backward()
    return [grads[k] for k, _ in model.named_parameters()], total


@pytest.mark.parametrize(
    "options",
    [
        {"norm": "instance"},
        {"norm": "none"},
        {"norm": "layer"},  # the authors' LayerNorm([C, H, W])
        {"norm": "groupnorm1"},
        {"norm": "group"},
        {"norm": "instance", "act": "leakyrelu", "pool": "max"},
        {"norm": "instance", "act": "sigmoid", "pool": "none", "depth": 1},
    ],
    ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items()),
)
@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32)], ids=["28x28x1", "32x32x3"])
def test_vmap_grad_matches_loop(options: dict, shape: tuple[int, int, int]) -> None:
    torch.manual_seed(0)
    opts = {"width": 8, "depth": 2, **options}
    model = ConvNet(shape[0], CLASSES, shape[1:], **opts)
    x0 = torch.randn(CLASSES * IPC, *shape)
    y = torch.arange(CLASSES).repeat_interleave(IPC)

    x_loop = x0.clone().requires_grad_(True)
    g_loop, total_loop = _loop(model, x_loop, y)
    x_vmap = x0.clone().requires_grad_(True)
    g_vmap, total_vmap = _vmapped(model, x_vmap, y)

    tol = {"rtol": 1e-5, "atol": 1e-5}
    assert x_vmap.grad is not None and x_vmap.grad.abs().sum() > 0
    torch.testing.assert_close(total_vmap, total_loop, **tol)
    for a, b in zip(g_vmap, g_loop, strict=True):
        torch.testing.assert_close(a, b, **tol)
    torch.testing.assert_close(x_vmap.grad, x_loop.grad, **tol)


def test_instance_norm_paths_agree() -> None:
    """The eager kernel and the transform-safe group_norm path compute the same function."""
    torch.manual_seed(0)
    layer = InstanceNorm2d(6, affine=True)
    with torch.no_grad():
        layer.weight.uniform_(0.5, 1.5)
        layer.bias.normal_()
    x = torch.randn(4, 6, 5, 7)
    eager = layer(x)
    batched = vmap(layer)(x.view(2, 2, 6, 5, 7)).reshape_as(x)  # (2, C, H, W) per call
    per_sample = vmap(layer)(x)  # unbatched (C, H, W) per call
    torch.testing.assert_close(batched, eager, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(per_sample, eager, rtol=1e-5, atol=1e-5)
    assert isinstance(layer, nn.InstanceNorm2d)


def test_layer_norm_paths_agree() -> None:
    """The stock LayerNorm([C, H, W]) and the transform-safe group_norm path compute the same
    function, per-pixel affine included."""
    torch.manual_seed(0)
    layer = LayerNorm([6, 5, 7])
    with torch.no_grad():
        layer.weight.uniform_(0.5, 1.5)
        layer.bias.normal_()
    x = torch.randn(4, 6, 5, 7)
    eager = layer(x)
    batched = vmap(layer)(x.view(2, 2, 6, 5, 7)).reshape_as(x)
    per_sample = vmap(layer)(x)
    torch.testing.assert_close(batched, eager, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(per_sample, eager, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(eager, nn.LayerNorm.forward(layer, x))


@pytest.mark.xfail(
    strict=False,
    reason="torch 2.14: stock nn.LayerNorm gives an input gradient off by ~1e-4 (relative, even "
    "in float64) through vmap(grad) + backward; dcbench.models.layers.LayerNorm works around "
    "it. An XPASS here means torch fixed it.",
)
def test_stock_layer_norm_under_vmap_canary() -> None:
    torch.manual_seed(0)
    model = ConvNet(1, CLASSES, (28, 28), width=8, depth=1, norm="layer")
    model.features[1] = nn.LayerNorm([8, 32, 32])
    x0 = torch.randn(CLASSES * IPC, 1, 28, 28)
    y = torch.arange(CLASSES).repeat_interleave(IPC)
    x_loop, x_vmap = x0.clone().requires_grad_(True), x0.clone().requires_grad_(True)
    _loop(model, x_loop, y)
    _vmapped(model, x_vmap, y)
    torch.testing.assert_close(x_vmap.grad, x_loop.grad, rtol=1e-5, atol=1e-5)


@pytest.mark.xfail(
    strict=False,
    reason="torch 2.14: stock nn.InstanceNorm2d gives a wrong input gradient through "
    "vmap(grad) + backward; dcbench.models.layers.InstanceNorm2d works around it. "
    "An XPASS here means torch fixed it.",
)
def test_stock_instance_norm_under_vmap_canary() -> None:
    torch.manual_seed(0)
    model = ConvNet(1, CLASSES, (28, 28), width=8, depth=1)
    model.features[1] = nn.InstanceNorm2d(8, affine=True)
    x0 = torch.randn(CLASSES * IPC, 1, 28, 28)
    y = torch.arange(CLASSES).repeat_interleave(IPC)
    x_loop, x_vmap = x0.clone().requires_grad_(True), x0.clone().requires_grad_(True)
    _loop(model, x_loop, y)
    _vmapped(model, x_vmap, y)
    torch.testing.assert_close(x_vmap.grad, x_loop.grad, rtol=1e-5, atol=1e-5)
