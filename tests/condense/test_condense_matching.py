"""Gradient-matching distances on hand-computed vectors, and their batched (per-class) form."""

from __future__ import annotations

import math

import pytest
import torch

from dcbench.condense.matching import (
    DISTANCES,
    cosine_distance,
    layerwise_distance,
    mse_distance,
)

EPS = 1e-6  # the paper's constant in the cosine's denominator


def t(values) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)


def test_layerwise_distance_by_hand() -> None:
    # A "linear" weight (2 output units x 3 inputs), a "conv" weight (2, 1, 2, 2) and a bias.
    real = [
        t([[1.0, 0.0, 0.0], [1.0, 1.0, 0.0]]),
        t([[[[1.0, 2.0], [0.0, 0.0]]], [[[0.0, 0.0], [3.0, 4.0]]]]),
        t([5.0, -5.0]),
    ]
    syn = [
        t([[0.0, 1.0, 0.0], [2.0, 2.0, 0.0]]),  # unit 0 orthogonal, unit 1 parallel
        t([[[[-1.0, -2.0], [0.0, 0.0]]], [[[0.0, 0.0], [4.0, 3.0]]]]),  # opposite; 24/25
        t([-7.0, 9.0]),  # a bias: ignored however different
    ]
    expected = (
        (1 - 0.0)
        + (1 - 4.0 / (math.sqrt(2) * math.sqrt(8) + EPS))
        + (1 - (-5.0) / (math.sqrt(5) * math.sqrt(5) + EPS))
        + (1 - 24.0 / (5.0 * 5.0 + EPS))
    )
    got = layerwise_distance(real, syn)
    assert got.item() == pytest.approx(expected, rel=1e-12, abs=1e-12)
    # Sanity of the hand numbers: orthogonal 1, parallel ~0, opposite ~2, 24/25 -> 1/25.
    assert expected == pytest.approx(1 + 0 + 2 + 0.04, abs=1e-5)


def test_layerwise_ignores_one_dimensional_tensors() -> None:
    w = [t([[1.0, 2.0]]), t([3.0])]
    changed_bias = [t([[1.0, 2.0]]), t([-100.0])]
    assert layerwise_distance(w, changed_bias).item() == pytest.approx(0.0, abs=1e-6)
    only_biases = layerwise_distance([t([1.0, 2.0])], [t([-3.0, 4.0])])
    assert only_biases.item() == 0.0


def test_layerwise_epsilon_sits_in_the_denominator() -> None:
    # Tiny identical gradients: 1e-8 / (1e-8 + 1e-6) is far from a cosine of 1.
    tiny = [t([[1e-4, 0.0]])]
    assert layerwise_distance(tiny, tiny).item() == pytest.approx(1 - 1e-8 / (1e-8 + EPS))
    # An all-zero gradient gives cosine 0 (distance 1), not NaN.
    zero = [t([[0.0, 0.0, 0.0]])]
    assert layerwise_distance(zero, [t([[1.0, 2.0, 3.0]])]).item() == pytest.approx(1.0)


def test_mse_and_cos_variants_by_hand() -> None:
    real = [t([[1.0, 2.0], [0.0, 1.0]]), t([1.0, -1.0])]
    syn = [t([[0.0, 2.0], [1.0, 1.0]]), t([2.0, -1.0])]
    # mse: every entry, biases included.
    assert mse_distance(real, syn).item() == pytest.approx(1.0 + 0 + 1.0 + 0 + 1.0 + 0)
    # cos: one cosine of the concatenated vectors (biases included).
    r, s = t([1.0, 2.0, 0.0, 1.0, 1.0, -1.0]), t([0.0, 2.0, 1.0, 1.0, 2.0, -1.0])
    expected = 1 - float(r @ s) / (float(r.norm() * s.norm()) + EPS)
    assert cosine_distance(real, syn).item() == pytest.approx(expected, rel=1e-12)
    assert DISTANCES.get("mse") is mse_distance and DISTANCES.get("cos") is cosine_distance
    assert DISTANCES.get("layerwise") is layerwise_distance


def _random_grads(classes: int, gen: torch.Generator) -> list[torch.Tensor]:
    shapes = [(4, 2, 3, 3), (4,), (4,), (5, 36), (5,)]  # conv, norm affine, linear, bias
    return [torch.randn(classes, *s, generator=gen, dtype=torch.float64) for s in shapes]


@pytest.mark.parametrize("name", ["layerwise", "mse", "cos"])
def test_batched_form_is_the_sum_of_per_class_calls(name: str) -> None:
    dist = DISTANCES.get(name)
    gen = torch.Generator().manual_seed(0)
    real, syn = _random_grads(3, gen), _random_grads(3, gen)
    batched = dist(real, syn, 1)
    per_class = sum(
        dist([g[c] for g in real], [g[c] for g in syn], 0).item() for c in range(3)
    )
    assert batched.item() == pytest.approx(per_class, rel=1e-10)
    # and it really depends on every class: changing one class changes the total
    syn[0][2] += 1.0
    assert dist(real, syn, 1).item() != pytest.approx(batched.item(), rel=1e-6)


def test_layerwise_is_zero_for_scaled_copies_and_differentiable() -> None:
    gen = torch.Generator().manual_seed(1)
    real = _random_grads(2, gen)
    syn = [(3.0 * g).requires_grad_(True) for g in real]
    d = layerwise_distance(real, syn, 1)
    assert d.item() == pytest.approx(0.0, abs=1e-5)  # cosine ignores the scale (up to EPS)
    noisy = [(g + 0.5 * torch.randn_like(g)).requires_grad_(True) for g in real]
    loss = layerwise_distance(real, noisy, 1)
    loss.backward()
    assert loss.item() > 0
    assert noisy[0].grad is not None and noisy[0].grad.abs().sum() > 0
    assert noisy[1].grad is None  # the 1-D tensors take no part
