"""The cost estimate printed before a NAS run: its arithmetic, and that it changes nothing."""

from __future__ import annotations

import torch

from dcbench.nas.estimate import Estimate, estimate, probe_macs_per_s, proxy_passes
from dcbench.nas.spaces import check_space, resolve_space


def test_passes_per_proxy() -> None:
    passes = proxy_passes(["random", "early-stopping", "whole"], set_images=20, epochs=10,
                          whole_images=100, whole_epochs=3)
    # each protocol makes epochs + 1 passes: 20 x 11; early stopping: 1 epoch = 2 passes over
    # the 100 images (the nearest whole number of passes to 220 images); 100 x 4
    assert passes == {"random": 220, "early-stopping": 200, "whole": 400}


def test_estimate_arithmetic_and_line() -> None:
    space = resolve_space({"grid": {"width": [8, 16], "depth": [1], "pool": ["avg"]}})
    costs = check_space(space, 1, 3, (16, 16))
    passes = {"random": 10, "whole": 40}
    est = estimate(space, costs, passes, test_images=5, seeds=[0, 1], cached=0, workers=2,
                   macs_per_s=1e6)
    macs = sum(costs[c.spec]["macs"] for c in space.candidates)
    assert est.units == 8
    assert est.seconds == (macs * (3 * 50 + 2 * 5) * 2) / 1e6 / 2
    half = estimate(space, costs, passes, 5, [0, 1], cached=4, workers=2, macs_per_s=1e6)
    assert half.units == 4 and abs(half.seconds - est.seconds / 2) < 1e-9
    line = Estimate(720 * 5, 3 * 86400, 2e10).line(1, 2)
    assert line.startswith("estimate: 3600 units, ~72.0 h") and "--space convnet-grid-small" in line


def test_probe_measures_and_leaves_the_random_state_alone() -> None:
    space = resolve_space({"grid": {"width": [8], "depth": [1], "pool": ["avg"]}})
    costs = check_space(space, 1, 3, (16, 16))
    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    rate = probe_macs_per_s(space, costs, 1, 3, (16, 16), torch.device("cpu"), batch=8)
    assert rate > 0 and torch.equal(torch.rand(3), expected)
