"""A diverging condensation stops (or warns) with one line naming the setting to change."""

from __future__ import annotations

import math

import pytest
import torch

from dcbench.condense import CondenseRequest, condense
from dcbench.condense.divergence import MIN_ITERATIONS, DivergenceGuard
from dcbench.data import make_toy_dataset
from dcbench.errors import DcbenchError


def test_exploding_images_stop_the_run() -> None:
    guard = DivergenceGuard("dc", 0.1, real_std=1.0)
    guard.check(0, 1.0, torch.randn(100) * 2.0, [1.0])  # 2x: fine
    with pytest.raises(DcbenchError, match=r"dc diverged at iteration 3: the synthetic images' "
                                           r"std is \d.\d\d, \d.\dx .*dc.lr_img \(now 0.1\)"):
        guard.check(3, 1.0, torch.randn(100) * 5.0, [1.0])


def test_without_a_bound_large_images_pass_but_non_finite_ones_stop() -> None:
    guard = DivergenceGuard("dm", 1.0, real_std=1.0, max_std_ratio=None)  # DM: scale-invariant
    guard.check(3, 1.0, torch.randn(100) * 50.0, [1.0])
    with pytest.raises(DcbenchError, match="dm diverged"):
        guard.check(4, 1.0, torch.tensor([0.0, math.inf]), [1.0])


def test_dm_runs_without_the_std_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    import dcbench.condense.loop as loop

    seen: list[float | None] = []
    real = loop.DivergenceGuard

    def spy(*args, **kwargs):
        seen.append(args[3])
        return real(*args, **kwargs)

    monkeypatch.setattr(loop, "DivergenceGuard", spy)
    ds = make_toy_dataset(num_classes=3, per_class=12, test_per_class=2, image_size=(16, 16))
    for method in ("dm", "dc"):
        condense(method, CondenseRequest(ds, ipc=1, progress=False), overrides={
            "model": "convnet:width=8:depth=2", "iterations": 1, "compile": False})
    assert seen == [None, 3.0]


def test_non_finite_values_stop_the_run() -> None:
    guard = DivergenceGuard("dc", 0.1, real_std=1.0)
    with pytest.raises(DcbenchError, match="matching loss became nan"):
        guard.check(0, math.nan, torch.zeros(4), [math.nan])
    with pytest.raises(DcbenchError, match="diverged"):
        guard.check(0, 1.0, torch.tensor([0.0, math.inf]), [1.0])


def test_a_rising_loss_warns_once(capsys: pytest.CaptureFixture) -> None:
    guard = DivergenceGuard("dc", 0.1, real_std=1.0)
    falling = [10.0 - 0.1 * i for i in range(MIN_ITERATIONS)]
    for i in range(1, len(falling) + 1):
        guard.check(i, falling[i - 1], torch.randn(50), falling[:i])
    assert not guard.notes
    rising = [10.0 + 0.1 * i for i in range(MIN_ITERATIONS)]
    for _ in range(2):
        guard.check(len(rising), rising[-1], torch.randn(50), rising)
    assert len(guard.notes) == 1 and "matching loss is rising" in guard.notes[0]
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "dc.lr_img" in err[0]


def test_a_huge_image_learning_rate_is_stopped_not_saved() -> None:
    ds = make_toy_dataset(num_classes=3, per_class=10, test_per_class=2, image_size=(16, 16))
    request = CondenseRequest(ds, ipc=1, seed=0, progress=False)
    settings = {"model": "convnet:depth=1:width=8", "iterations": 5, "lr_img": 1e6,
                "compile": False}
    with pytest.raises(DcbenchError, match="dc diverged at iteration 0"):
        condense("dc", request, overrides=settings)
