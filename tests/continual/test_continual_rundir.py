"""A continual run directory: fresh, resumed with more buffers or seeds, or refused."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from dcbench.config import load
from dcbench.continual.config import ContinualConfig
from dcbench.continual.rundir import config_record, prepare_run_dir, write_config_record
from dcbench.errors import DcbenchError


def _started(config: ContinualConfig, out: Path) -> None:
    """What run_experiment writes first: config.json with the resolved method settings."""
    run, config = prepare_run_dir(config, out)
    write_config_record(run, config, "toy")


def test_a_resumed_run_adds_buffers_and_seeds_to_those_it_has(tmp_path: Path, tiny: dict) -> None:
    out = tmp_path / "run"
    first = load(ContinualConfig, {**tiny, "buffers": ["random"], "seeds": [0]})
    _started(first, out)
    more = load(ContinualConfig, {**tiny, "buffers": ["herding", "random"], "seeds": [1]})
    run, merged = prepare_run_dir(more, out)
    assert run.path == out
    assert merged.buffers == ["random", "herding"] and merged.seeds == [0, 1]


def test_a_run_of_another_experiment_is_refused(tmp_path: Path, tiny: dict) -> None:
    out = tmp_path / "run"
    _started(load(ContinualConfig, {**tiny, "buffers": ["random"]}), out)
    other = load(ContinualConfig, {**tiny, "buffers": ["random"], "ipc": 1})
    with pytest.raises(DcbenchError):
        prepare_run_dir(other, out)


def test_settings_that_resolve_differently_now_are_refused(tmp_path: Path, tiny: dict) -> None:
    """A preset changed since the run began: the remaining steps would condense otherwise."""
    out = tmp_path / "run"
    config = load(ContinualConfig, {**tiny, "buffers": ["dc"]})
    run, config = prepare_run_dir(config, out)
    record = config_record(config, "toy")
    old = dict(record["method_settings_resolved"]["dc"], inner_loop=7)  # as an older preset
    run.write_config(record["config"], config.identity(), **{
        **{k: v for k, v in record.items() if k != "config"},
        "method_settings_resolved": {"dc": old, "no-such-method": {}}})
    with pytest.raises(DcbenchError, match=r"other dc settings.*inner_loop: 7 → 1"):
        prepare_run_dir(config, out)
    # pinning the old settings is another experiment (method_settings is in the identity),
    # so the message does not offer it
    pinned = dataclasses.replace(config, method_settings={
        "dc": {**tiny["method_settings"]["dc"], "inner_loop": 7}})
    with pytest.raises(DcbenchError, match="holds a run with other settings"):
        prepare_run_dir(pinned, out)


def test_a_fresh_run_gets_its_own_directory(tmp_path: Path, tiny: dict, monkeypatch) -> None:
    monkeypatch.setenv("DCBENCH_RESULTS", str(tmp_path))
    config = load(ContinualConfig, {**tiny, "buffers": ["random"]})
    a, _ = prepare_run_dir(config, None)
    b, _ = prepare_run_dir(config, None)
    assert a.path != b.path and a.path.parent == tmp_path / "continual"
