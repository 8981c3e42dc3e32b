"""Derived seeds, so each unit of work is a pure function of (seed, step).

Seeding every iteration from ``(seed, iteration)`` instead of carrying one RNG stream makes a
resumed run produce exactly the set an uninterrupted one would, without pickling RNG states.
"""

from __future__ import annotations

import torch


def derive_seed(*parts: int) -> int:
    """A 63-bit seed mixed from integers (splitmix64-style, stable across runs and platforms)."""
    x = 0x9E3779B97F4A7C15
    for p in parts:
        x = (x ^ (int(p) & 0xFFFFFFFFFFFFFFFF)) * 0xBF58476D1CE4E5B9 & 0xFFFFFFFFFFFFFFFF
        x = (x ^ (x >> 31)) * 0x94D049BB133111EB & 0xFFFFFFFFFFFFFFFF
    return x & 0x7FFFFFFFFFFFFFFF


def generator(*parts: int) -> torch.Generator:
    """A CPU generator seeded from ``parts``."""
    return torch.Generator().manual_seed(derive_seed(*parts))
