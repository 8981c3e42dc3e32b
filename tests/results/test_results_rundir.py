"""Run directories: fresh ones never clash, named ones resume only the same run, outputs are
checked before work; manifests say how a result was made."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch

import dcbench
from dcbench.errors import DcbenchError
from dcbench.results import RunDir, environment_info, make_manifest
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
    dirs = [RunDir.fresh("evaluate", "toy dc/ipc1").path for _ in range(5)]
    assert len(set(dirs)) == 5
    for d in dirs:
        assert d.is_dir() and d.parent == tmp_path / "evaluate" and not any(d.iterdir())
        assert "toy-dc-ipc1" in d.name and "/" not in d.name
    explicit = RunDir.fresh("nas", "x", root=tmp_path / "elsewhere").path
    assert explicit.parent == tmp_path / "elsewhere" / "nas"


def test_open_creates_resumes_the_same_run_and_refuses_another(tmp_path: Path) -> None:
    out = tmp_path / "a" / "run"
    run = RunDir.open("continual", out, {"ipc": 2, "seed": 0})
    assert out.is_dir() and not run.resumed
    run.write_config({"ipc": 2, "seed": 0, "jobs": 4}, {"ipc": 2, "seed": 0}, extra=1)
    record = json.loads((out / "config.json").read_text())
    assert record == {"kind": "continual", "config": {"ipc": 2, "seed": 0, "jobs": 4},
                      "identity": {"ipc": 2, "seed": 0}, "extra": 1}
    again = RunDir.open("continual", out, {"seed": 0, "ipc": 2})
    assert again.resumed and again.read_config() == record
    with pytest.raises(DcbenchError, match=r"other settings \(ipc: 2 → 3\)"):
        RunDir.open("continual", out, {"ipc": 3, "seed": 0})
    with pytest.raises(DcbenchError, match="holds a continual run, not a nas run"):
        RunDir.open("nas", out, {"ipc": 2, "seed": 0})


def test_open_adopts_only_known_files_and_old_configs(tmp_path: Path) -> None:
    old = tmp_path / "old"
    old.mkdir()
    (old / "set.pt").write_bytes(b"x")
    assert RunDir.open("condense", old, {"a": 1}, adopt=("set.pt",)).resumed
    with pytest.raises(DcbenchError, match="is not a condense run directory"):
        RunDir.open("condense", old, {"a": 1})
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    (legacy / "config.json").write_text(json.dumps({"kind": "nas", "settings": {"a": 1}}))
    run = RunDir.open("nas", legacy, {"a": 1}, identity_of=lambda r: r["settings"])
    assert run.resumed
    with pytest.raises(DcbenchError, match="other settings"):
        RunDir.open("nas", legacy, {"a": 2}, identity_of=lambda r: r["settings"])


@pytest.mark.parametrize("where", ["file", "under-file", "proc"])
def test_unusable_output_locations_are_one_line_errors(tmp_path: Path, where: str) -> None:
    blocker = tmp_path / "f"
    blocker.write_text("x")
    path = {"file": blocker, "under-file": blocker / "run",
            "proc": Path("/proc/dcbench-test/run")}[where]
    with pytest.raises(DcbenchError, match=r"cannot (use|create) ") as info:
        RunDir.open("evaluate", path, {})
    assert str(path) in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(DcbenchError):
        RunDir.fresh("evaluate", "x", root=path)


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
    load = env["machine"]["load_average"]  # Linux here: 1, 5 and 15 minutes
    assert len(load) == 3 and all(v >= 0 for v in load)
    assert environment_info().keys() == env.keys()
