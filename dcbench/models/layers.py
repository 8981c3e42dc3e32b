"""Factories for the interchangeable parts of a network: normalisation, activation, pooling.

They are the axes of the ConvNet search space, so each kind is one dictionary entry; VGG and
ResNet reuse the normalisation factory so "instance" means exactly the same layer everywhere.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

# Private but stable since torch 2.0; without it we always take the transform-safe path.
_is_transformed = getattr(torch._C._functorch, "is_functorch_wrapped_tensor", None)


class InstanceNorm2d(nn.InstanceNorm2d):
    """``nn.InstanceNorm2d(C, affine=True)`` that stays correct under ``torch.func`` transforms.

    In eager mode it is the stock layer (the fast kernel; ~20 % faster than GroupNorm(C, C) in
    the project's measurements). Under ``vmap(grad(...))`` the stock layer gives the right loss
    and parameter gradients but a *silently wrong* gradient with respect to the input when the
    result is backpropagated again (gradient matching does exactly that). Seen with torch 2.14;
    ``instance_norm`` runs through ``batch_norm``, and functorch#534 reports the batching rule of
    its backward getting the input gradient wrong. Inside a transform we therefore compute the same
    math (per-sample, per-channel mean and variance over H, W, then the affine) with
    ``F.group_norm`` using one group per channel, whose batching rule is correct. The two paths
    agree to float rounding; ``tests/models`` checks both.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Under torch.compile there are no functorch wrappers, and the private check would
        # break the graph: take the stock kernel.
        if torch.compiler.is_compiling() or (
            _is_transformed is not None and not _is_transformed(x)
        ):
            return super().forward(x)
        if x.dim() == 3:  # unbatched (C, H, W), e.g. when vmapping over single samples
            return self.forward(x.unsqueeze(0)).squeeze(0)
        return F.group_norm(x, x.shape[1], self.weight, self.bias, self.eps)


class LayerNorm(nn.LayerNorm):
    """``nn.LayerNorm([C, H, W])`` (the authors' ConvNetLN) that stays correct under
    ``torch.func`` transforms.

    In eager mode it is the stock layer. Under ``vmap(grad(...))`` the stock layer, like
    instance norm (see :class:`InstanceNorm2d`), gives the right loss and parameter gradients
    but a wrong gradient with respect to the input when the result is backpropagated again:
    with torch 2.14 a relative error of 1e-4 even in float64, where a per-class loop and a
    decomposed layer norm agree to 1e-16. Inside a transform we therefore normalise with
    ``F.group_norm`` in one group (mean and variance over C, H, W per sample, the same
    statistics), whose batching rule is correct, then apply the per-pixel affine.
    ``tests/models`` checks both paths.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.compiler.is_compiling() or (
            _is_transformed is not None and not _is_transformed(x)
        ):
            return super().forward(x)
        if x.dim() == len(self.normalized_shape):  # unbatched (C, H, W)
            return self.forward(x.unsqueeze(0)).squeeze(0)
        out = F.group_norm(x, 1, None, None, self.eps)
        if self.weight is not None:
            out = out * self.weight
        return out if self.bias is None else out + self.bias


#: The side lengths (height, width) of the feature maps a normalisation layer sees.
MapSize = tuple[int, int]

#: name -> constructor of a normalisation layer for ``channels`` feature maps of ``size``.
#: All but "batch" normalise each sample on its own, which is what lets the condensation engine
#: run every class through one forward pass and ``torch.func.vmap`` over classes.
NORMS: dict[str, Callable[[int, MapSize], nn.Module]] = {
    "none": lambda c, size: nn.Identity(),
    "batch": lambda c, size: nn.BatchNorm2d(c),
    # The authors' ConvNetLN: nn.LayerNorm([C, H, W]), so its affine is per pixel and its
    # parameters are (C, H, W); the matching distance reads them as (C, H*W). Our subclass keeps
    # it correct under torch.func.vmap(grad(...)) (see LayerNorm).
    "layer": lambda c, size: LayerNorm([c, *size]),
    # Layer normalisation with one scale/shift per channel (dcbench's "layer" until the
    # authors' LayerNorm replaced it): the same statistics, parameters independent of the size.
    "groupnorm1": lambda c, size: nn.GroupNorm(1, c, affine=True),
    # Same math as the authors' GroupNorm(C, C) but measured ~20 % faster on CPU; our subclass
    # keeps it correct under torch.func.vmap(grad(...)) (see InstanceNorm2d).
    "instance": lambda c, size: InstanceNorm2d(c, affine=True),
    "group": lambda c, size: nn.GroupNorm(4, c, affine=True),
}

#: Normalisations VGG11 and ResNet18 accept (the authors' default and their "BN" variants).
DEEP_NORMS = ("instance", "batch")

#: name -> activation module. Not in-place: in-place ops break functional transforms and the
#: double backward of gradient matching, and save no time here.
ACTS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "sigmoid": nn.Sigmoid,
    "leakyrelu": lambda: nn.LeakyReLU(negative_slope=0.01),
}

#: name -> 2x2 pooling module with stride 2 (halves each side), or None for no pooling.
POOLS: dict[str, Callable[[], nn.Module] | None] = {
    "none": None,
    "max": lambda: nn.MaxPool2d(kernel_size=2, stride=2),
    "avg": lambda: nn.AvgPool2d(kernel_size=2, stride=2),
}


def conv_relu(
    in_ch: int, out_ch: int, kernel: int, padding: int = 0, pool: bool = False
) -> list[nn.Module]:
    """Conv2d -> ReLU (-> 2x2 max pooling), to splice into an ``nn.Sequential``."""
    layers = [nn.Conv2d(in_ch, out_ch, kernel_size=kernel, padding=padding), nn.ReLU()]
    return [*layers, nn.MaxPool2d(kernel_size=2, stride=2)] if pool else layers


def make_norm(kind: str, channels: int, size: MapSize) -> nn.Module:
    """Normalisation layer ``kind`` (a key of :data:`NORMS`) for ``channels`` maps of ``size``
    (a layer norm's parameters have that shape)."""
    return NORMS[kind](channels, size)


def make_act(kind: str) -> nn.Module:
    """Activation ``kind`` (a key of :data:`ACTS`)."""
    return ACTS[kind]()
