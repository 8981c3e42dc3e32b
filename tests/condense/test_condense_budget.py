"""``--budget-minutes``: the clock ends a condensation; the set says how far it got."""

from __future__ import annotations

import itertools
import types
from pathlib import Path

import pytest
import torch

from dcbench.condense import CondenseConfig, CondenseRequest, SyntheticSet, loop
from dcbench.condense.job import condense_job, run_name
from dcbench.config import ConfigError, load

TINY = {"model": "convnet:width=8:depth=1", "compile": False, "checkpoint_every": 1}


@pytest.fixture
def ten_seconds_a_tick(monkeypatch: pytest.MonkeyPatch) -> None:
    """The loop's clock advances 10 s every time it is read (a deterministic slow machine)."""
    ticks = itertools.count(step=10.0)
    monkeypatch.setattr(loop, "time", types.SimpleNamespace(perf_counter=lambda: next(ticks)))


def config(ds, budget: float | None, **settings) -> CondenseConfig:
    return load(CondenseConfig, {"dataset": ds.name, "method": "dc", "ipc": 1,
                                 "method_settings": {"dc": {**TINY, **settings}},
                                 "budget_minutes": budget})


def test_the_budget_ends_the_run_and_its_iterations_remake_the_set(
    tiny_dataset, tmp_path: Path, ten_seconds_a_tick: None, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DCBENCH_RESULTS", str(tmp_path / "results"))
    budgeted = config(tiny_dataset, 1.0)
    assert budgeted.method_config().iterations == 1000  # lifted to the paper's count
    path, _ = condense_job(budgeted, CondenseRequest(tiny_dataset, ipc=1, progress=False))
    assert path.parent.name == run_name(tiny_dataset.name, "dc", 1, "quick", 0, TINY, 1.0)
    meta = SyntheticSet.load(path).meta
    # ticks of 10 s (the clock is read three or four times an iteration): the 60 s pass at
    # the end of the second iteration
    assert meta["iterations_done"] == len(meta["loss_history"]) == 2
    assert meta["stopped_by_budget"] and meta["budget_minutes"] == 1.0
    again, _ = condense_job(config(tiny_dataset, None, iterations=2),
                            CondenseRequest(tiny_dataset, ipc=1, progress=False),
                            tmp_path / "by-count")
    assert torch.equal(SyntheticSet.load(again).images, SyntheticSet.load(path).images)


def test_a_run_that_ends_first_says_so(tiny_dataset, tmp_path: Path) -> None:
    path, _ = condense_job(config(tiny_dataset, 600.0, iterations=2),
                           CondenseRequest(tiny_dataset, ipc=1, progress=False), tmp_path / "r")
    meta = SyntheticSet.load(path).meta
    assert meta["iterations_done"] == 2 and meta["stopped_by_budget"] is False


def test_a_resumed_run_past_its_budget_iterates_no_more(
    tiny_dataset, tmp_path: Path, ten_seconds_a_tick: None,
) -> None:
    from dcbench.condense.dc import DCCondenser

    budgeted = config(tiny_dataset, 1.0)
    req = CondenseRequest(tiny_dataset, ipc=1, progress=False, budget_minutes=1.0,
                          checkpoint=tmp_path / "checkpoint.pt")
    first = DCCondenser().run(req, budgeted.method_config())
    state = torch.load(req.checkpoint, weights_only=False)
    state["state"]["wall_time_s"] = 61.0  # the checkpoint says the budget already passed
    torch.save(state, req.checkpoint)
    resumed = DCCondenser().run(req, budgeted.method_config())
    assert resumed.meta["iterations_done"] == first.meta["iterations_done"] - 1


def test_budgets_are_checked() -> None:
    with pytest.raises(ConfigError, match="budget_minutes: must be positive"):
        load(CondenseConfig, {"method": "dc", "budget_minutes": 0})
    with pytest.raises(ConfigError, match="random does not iterate"):
        load(CondenseConfig, {"method": "random", "budget_minutes": 5})
    explicit = load(CondenseConfig, {"method": "dm", "ipc": 1, "budget_minutes": 5,
                                     "method_settings": {"dm": {"iterations": 50}}})
    assert explicit.method_config().iterations == 50
    assert "budget_minutes" not in load(CondenseConfig, {"method": "dm"}).identity()


def test_the_report_sees_a_budget_as_a_changed_setting(tiny_dataset, tmp_path: Path,
                                                       ten_seconds_a_tick: None) -> None:
    """So the synthetic-sets figure and the preset rows never show a budget's set as the
    preset's own."""
    from dcbench.report.evaluations import load_condense

    condense_job(config(tiny_dataset, 1.0), CondenseRequest(tiny_dataset, ipc=1, progress=False),
                 tmp_path / "results" / "condense" / "budget")
    (row,) = load_condense(tmp_path / "results").to_dict("records")
    assert row["overrides"]["budget_minutes"] == 1.0
