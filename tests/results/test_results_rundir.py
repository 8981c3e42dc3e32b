"""Run directories are fresh and never reused; manifests say how a result was made."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

import dcbench
from dcbench.results import environment_info, fresh_run_dir, make_manifest
from dcbench.results.manifest import command_line
from dcbench.results.rundir import results_root, slug


def test_results_root_follows_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DCBENCH_RESULTS", str(tmp_path / "r"))
    assert results_root() == tmp_path / "r"
    monkeypatch.delenv("DCBENCH_RESULTS")
    assert results_root() == Path("results")


def test_fresh_run_dirs_never_clash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DCBENCH_RESULTS", str(tmp_path))
    dirs = [fresh_run_dir("evaluate", "toy dc/ipc1") for _ in range(5)]
    assert len(set(dirs)) == 5
    for d in dirs:
        assert d.is_dir() and d.parent == tmp_path / "evaluate" and not any(d.iterdir())
        assert "toy-dc-ipc1" in d.name and "/" not in d.name
    explicit = fresh_run_dir("nas", "x", root=tmp_path / "elsewhere")
    assert explicit.parent == tmp_path / "elsewhere" / "nas"


def test_slug() -> None:
    assert slug("toy:classes=3:size=16x16") == "toy-classes-3-size-16x16"
    assert slug("npz:/data/x.npz") == "npz-data-x.npz"
    assert slug("///") == "run"


def test_manifest_records_command_seeds_versions_and_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "argv", ["/venv/bin/dcbench", "condense", "--ipc", "1", "--set",
                                      "model=convnet:width=8 x"])
    assert command_line() == "dcbench condense --ipc 1 --set 'model=convnet:width=8 x'"
    m = make_manifest("condense", {"a": 1}, seeds=[0, 1], wall_time_s=1.23456, extra="yes")
    assert m["kind"] == "condense" and m["seeds"] == [0, 1] and m["config"] == {"a": 1}
    assert m["wall_time_s"] == 1.235 and m["extra"] == "yes" and m["finished_at"]
    assert m["command"].startswith("dcbench condense")
    env = m["environment"]
    assert env["dcbench"] == dcbench.__version__ and env["torch"] == torch.__version__
    assert env["python"] and env["machine"]["torch_threads"] == torch.get_num_threads()
    assert environment_info().keys() == env.keys()
