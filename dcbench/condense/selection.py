"""Coreset selection rules on feature vectors: herding, k-center, forgetting ranking.

Pure functions of tensors, so they are tested on hand-made points; the condensers in
``coresets.py`` supply the features (from a network trained on the real data).
"""

from __future__ import annotations

import torch


def herding(features: torch.Tensor, k: int) -> list[int]:
    """Greedy mean matching (Welling 2009): pick the point that brings the running mean of the
    picked points closest to the mean of all points; no point is picked twice."""
    n = len(features)
    if k > n:
        raise ValueError(f"cannot pick {k} of {n} points")
    f = features.double()
    mu = f.mean(0)
    picked: list[int] = []
    total = torch.zeros_like(mu)
    available = torch.ones(n, dtype=torch.bool)
    for t in range(1, k + 1):
        cand = (total.unsqueeze(0) + f) / t
        dist = (cand - mu).norm(dim=1)
        dist[~available] = float("inf")
        i = int(dist.argmin())
        picked.append(i)
        available[i] = False
        total += f[i]
    return picked


def kcenter(features: torch.Tensor, k: int, first: int | None = None) -> list[int]:
    """Greedy k-center (farthest-first traversal, Sener & Savarese 2018). Starts at ``first``,
    by default the point nearest the mean, then repeatedly adds the point farthest from the
    picked ones; the coverage radius never grows as k grows."""
    n = len(features)
    if k > n:
        raise ValueError(f"cannot pick {k} of {n} points")
    f = features.double()
    if first is None:
        first = int((f - f.mean(0)).norm(dim=1).argmin())
    picked = [first]
    nearest = (f - f[first]).norm(dim=1)
    nearest[first] = -1.0  # never pick a point twice, even among coinciding features
    for _ in range(k - 1):
        i = int(nearest.argmax())
        picked.append(i)
        nearest = torch.minimum(nearest, (f - f[i]).norm(dim=1))
        nearest[i] = -1.0
    return picked


def coverage_radius(features: torch.Tensor, picked: list[int]) -> float:
    """Largest distance from any point to its nearest picked point (what k-center minimises)."""
    f = features.double()
    d = torch.cdist(f, f[picked])
    return float(d.min(dim=1).values.max())


def most_forgotten(counts: torch.Tensor, k: int, generator: torch.Generator) -> list[int]:
    """Indices of the ``k`` largest forgetting counts, ties broken at random (Toneva et al.
    2019: examples never learned count as forgotten most often, see ``ForgettingTracker``)."""
    n = len(counts)
    if k > n:
        raise ValueError(f"cannot pick {k} of {n} points")
    jitter = torch.rand(n, generator=generator, dtype=torch.float64) * 0.5
    order = torch.argsort(counts.double() + jitter, descending=True)
    return order[:k].tolist()


class ForgettingTracker:
    """Counts forgetting events: an example classified correctly at one presentation and
    wrongly at its next one. Examples never classified correctly get ``epochs + 1`` events,
    more than any learned example can have, so they rank first."""

    def __init__(self, n: int) -> None:
        self.last = torch.zeros(n, dtype=torch.bool)
        self.learned = torch.zeros(n, dtype=torch.bool)
        self.events = torch.zeros(n, dtype=torch.long)
        self.presentations = 0

    def update(self, idx: torch.Tensor, correct: torch.Tensor) -> None:
        idx, correct = idx.cpu(), correct.cpu()
        self.events[idx] += (self.last[idx] & ~correct).long()
        self.last[idx] = correct
        self.learned[idx] |= correct

    def counts(self, epochs: int) -> torch.Tensor:
        out = self.events.clone()
        out[~self.learned] = epochs + 1
        return out
