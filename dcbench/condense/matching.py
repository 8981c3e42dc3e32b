"""Gradient-matching distances.

The DC paper's distance treats each weight tensor layer-wise: reshape it to
(output units, rest) — a conv to (out, in·kh·kw), a linear as is — and sum over output units of
``1 − cos(g_real, g_syn)`` with 1e-6 in the denominator; 1-D tensors (biases, norm affines)
contribute nothing. Every function here takes gradients with an optional leading *class*
dimension, so the engine can score all classes at once and the result is the per-class sum.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from dcbench.registry import Registry

#: Distances that give 1-D tensors no weight, so the engine need not compute their gradients.
MULTIDIM_ONLY = frozenset({"layerwise"})

Distance = Callable[[Sequence[torch.Tensor], Sequence[torch.Tensor], int], torch.Tensor]
DISTANCES: Registry[Distance] = Registry("matching distance")


def _units(g: torch.Tensor, lead: int) -> torch.Tensor:
    """Reshape a gradient to (*lead dims, output units, rest)."""
    shape = g.shape[:lead]
    return g.reshape(*shape, g.shape[lead], -1)


@DISTANCES.register("layerwise")
def layerwise_distance(
    g_real: Sequence[torch.Tensor], g_syn: Sequence[torch.Tensor], lead: int = 0
) -> torch.Tensor:
    """The DC paper's distance, summed over tensors (and over the ``lead`` class dims)."""
    total = g_syn[0].new_zeros(())
    for gr, gs in zip(g_real, g_syn, strict=True):
        if gs.dim() - lead <= 1:  # biases and norm affines are ignored, as in the paper
            continue
        r, s = _units(gr, lead), _units(gs, lead)
        cos = (r * s).sum(-1) / (r.norm(dim=-1) * s.norm(dim=-1) + 1e-6)
        total = total + (1 - cos).sum()
    return total


@DISTANCES.register("mse")
def mse_distance(
    g_real: Sequence[torch.Tensor], g_syn: Sequence[torch.Tensor], lead: int = 0
) -> torch.Tensor:
    """Squared Euclidean distance of all gradients (an ablation in the paper)."""
    total = g_syn[0].new_zeros(())
    for gr, gs in zip(g_real, g_syn, strict=True):
        total = total + (gr - gs).pow(2).sum()
    return total


@DISTANCES.register("cos")
def cosine_distance(
    g_real: Sequence[torch.Tensor], g_syn: Sequence[torch.Tensor], lead: int = 0
) -> torch.Tensor:
    """1 − cosine of the concatenated gradient vectors, per class (an ablation in the paper)."""
    r = torch.cat([g.reshape(*g.shape[:lead], -1) for g in g_real], dim=-1)
    s = torch.cat([g.reshape(*g.shape[:lead], -1) for g in g_syn], dim=-1)
    cos = (r * s).sum(-1) / (r.norm(dim=-1) * s.norm(dim=-1) + 1e-6)
    return (1 - cos).sum()
