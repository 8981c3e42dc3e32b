"""A condensation as the CLI runs it: named run directory, outputs, reuse, resume, cleanup."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from dcbench.condense import CondenseConfig, CondenseRequest, SyntheticSet
from dcbench.condense.dc import DCCondenser, GradientMatcher
from dcbench.condense.job import condense_job, run_name
from dcbench.config import load
from dcbench.errors import DcbenchError

TINY = {"model": "convnet:width=8:depth=1", "iterations": 3, "compile": False,
        "checkpoint_every": 1}


@pytest.fixture
def results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "results"
    monkeypatch.setenv("DCBENCH_RESULTS", str(root))
    return root


def request(ds, seed: int = 0, ipc: int = 1) -> CondenseRequest:
    return CondenseRequest(ds, ipc=ipc, seed=seed, progress=False)


def job(method: str, req: CondenseRequest, preset: str, overrides: dict,
        out: Path | None = None) -> tuple[Path, bool]:
    """``dcbench condense`` for ``req``'s dataset, ipc and seed with ``overrides``."""
    config = load(CondenseConfig, {
        "dataset": req.dataset.name, "method": method, "ipc": req.ipc, "preset": preset,
        "seed": req.seed, "method_settings": {method: overrides} if overrides else {}})
    return condense_job(config, req, out)


def test_run_names_identify_the_request() -> None:
    base = run_name("toy", "dc", 10, "quick", 0, {})
    assert base == "toy-dc-ipc10-quick-seed0"
    a = run_name("toy", "dc", 10, "quick", 0, {"lr_img": 1.0})
    assert a.startswith(base + "-") and a != run_name("toy", "dc", 10, "quick", 0, {"lr_img": 2})
    assert a == run_name("toy", "dc", 10, "quick", 0, {"lr_img": 1.0})
    assert "/" not in run_name("npz:/data/x.npz", "dc", 1, "quick", 0, {})


def test_job_writes_set_grid_manifest_and_reuses_a_finished_set(
    tiny_dataset, results: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, existed = job("dc", request(tiny_dataset), "quick", TINY)
    assert not existed
    out = path.parent
    assert out.parent == results / "condense"
    assert sorted(p.name for p in out.iterdir()) == [
        "config.json", "manifest.json", "set.png", "set.pt"]
    sset = SyntheticSet.load(path)
    assert sset.meta["preset"] == "quick" and sset.meta["iterations_done"] == 3
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "condense" and manifest["seeds"] == [0]
    assert manifest["config"]["settings"]["model"] == TINY["model"]
    assert manifest["config"]["overrides"] == TINY
    assert manifest["wall_time_s"] >= 0 and manifest["environment"]["torch"] == torch.__version__
    assert manifest["command"]

    def must_not_run(*args, **kwargs):
        raise AssertionError("a finished set was recomputed")

    monkeypatch.setattr(DCCondenser, "run", must_not_run)
    before = path.stat().st_mtime_ns
    again, existed = job("dc", request(tiny_dataset), "quick", TINY)
    assert existed and again == path and path.stat().st_mtime_ns == before


def test_an_existing_set_made_otherwise_is_not_passed_off_as_done(
    tiny_dataset, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    job("random", request(tiny_dataset), "quick", {}, out)
    with pytest.raises(DcbenchError, match="other settings"):
        job("dc", request(tiny_dataset), "quick", TINY, out)
    with pytest.raises(DcbenchError, match="other settings"):
        job("random", request(tiny_dataset, seed=3), "quick", {}, out)
    _, existed = job("random", request(tiny_dataset), "quick", {}, out)
    assert existed


def test_a_preset_changed_since_a_set_was_made_condenses_into_a_folder_of_its_own(
    tiny_dataset, results: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After an upgrade changes a preset, the same command makes the new preset's set beside
    the old one (whose results point at it) instead of refusing or reusing it."""
    import dataclasses

    from dcbench.condense.dc import DCConfig

    def preset_with(iterations: int):
        return classmethod(lambda cls, name, ipc: dataclasses.replace(
            DCConfig(), **{**TINY, "iterations": iterations}))

    monkeypatch.setattr(DCConfig, "preset", preset_with(2))
    old, _ = job("dc", request(tiny_dataset), "quick", {})
    old_bytes = old.read_bytes()
    monkeypatch.setattr(DCConfig, "preset", preset_with(3))
    new, existed = job("dc", request(tiny_dataset), "quick", {})
    assert not existed and new.parent.name.startswith(old.parent.name + "-")
    assert old.read_bytes() == old_bytes
    assert SyntheticSet.load(new).meta["iterations_done"] == 3
    assert job("dc", request(tiny_dataset), "quick", {}) == (new, True)
    (old.parent / "config.json").unlink()  # a folder from before config.json: its set says
    monkeypatch.setattr(DCConfig, "preset", preset_with(2))
    assert job("dc", request(tiny_dataset), "quick", {}) == (old, True)


def test_a_set_made_before_the_precision_setting_is_still_the_fp32_set(
    tiny_dataset, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    path, _ = job("dc", request(tiny_dataset), "quick", TINY, out)
    sset = SyntheticSet.load(path)
    del sset.meta["hparams"]["precision"]  # as every set of the previous release
    sset.save(path)
    _, existed = job("dc", request(tiny_dataset), "quick", TINY, out)
    assert existed  # reused: it is what fp32 makes
    with pytest.raises(DcbenchError, match="other settings"):
        job("dc", request(tiny_dataset), "quick", {**TINY, "precision": "bf16"}, out)


def test_snapshots_are_saved_after_their_minutes_of_condensation(
    tiny_dataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    saved: list[str] = []
    save = SyntheticSet.save
    monkeypatch.setattr(SyntheticSet, "save",
                        lambda self, path, **kw: saved.append(Path(path).name)
                        or save(self, path, **kw))
    out = tmp_path / "run"
    config = load(CondenseConfig, {
        "dataset": tiny_dataset.name, "method": "dc", "ipc": 1, "seed": 0,
        "method_settings": {"dc": TINY}, "snapshot_minutes": "1e-9,2e-9,600"})
    path, _ = condense_job(config, request(tiny_dataset), out)
    snaps = sorted((out / "snapshots").glob("set-*.pt"))
    assert [p.name for p in snaps] == ["set-1e-09min.pt", "set-2e-09min.pt"]  # 600 min: never
    # each written once, with its preset: its digest stays what its evaluations record
    assert sorted(saved) == ["set-1e-09min.pt", "set-2e-09min.pt", "set.pt"]
    final = SyntheticSet.load(path)
    for snap in snaps:
        meta = SyntheticSet.load(snap).meta
        assert meta["iterations_done"] == 1 and meta["preset"] == "quick"
        assert 0 < meta["wall_time_s"] <= final.meta["wall_time_s"]
        assert meta["snapshot_minutes"] in (1e-9, 2e-9)
    with pytest.raises(DcbenchError, match="snapshot_minutes: must be positive"):
        load(CondenseConfig, {"method": "dc", "snapshot_minutes": [5, -1]})


def test_a_snapshot_carries_the_method_metadata_its_evaluation_needs(
    tiny_dataset, tmp_path: Path
) -> None:
    """A DM snapshot records the DSA strategy it was condensed with, as the final set does
    (evaluation augments with it; without it the dataset's default was used)."""
    out = tmp_path / "run"
    config = load(CondenseConfig, {
        "dataset": tiny_dataset.name, "method": "dm", "ipc": 1, "seed": 0,
        "method_settings": {"dm": {"model": "convnet:width=8:depth=1", "iterations": 2,
                                   "batch_real": 4, "compile": False,
                                   "strategy": "color_crop"}},
        "snapshot_minutes": "1e-9"})
    path, _ = condense_job(config, request(tiny_dataset), out)
    final = SyntheticSet.load(path).meta
    (snap,) = (out / "snapshots").glob("set-*.pt")
    meta = SyntheticSet.load(snap).meta
    assert final["dsa_strategy"] == "color_crop"
    assert meta["dsa_strategy"] == final["dsa_strategy"]
    assert meta["deviations"] == final["deviations"]


def test_a_corrupt_finished_set_is_reported(tiny_dataset, tmp_path: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "set.pt").write_bytes(b"oops")
    with pytest.raises(DcbenchError, match="cannot read"):
        job("random", request(tiny_dataset), "quick", {}, out)


@pytest.mark.parametrize(
    "method, overrides, ipc",
    [
        ("dc", {"model": "nosuchnet"}, 1),  # fails inside the run, after the directory exists
        ("herding", {"model": "convnet:bogus=1"}, 1),
        ("dc", {"nosuchsetting": 1}, 1),  # fails before
        ("random", {}, 99),
    ],
)
def test_a_failing_request_leaves_no_directory_behind(
    tiny_dataset, results: Path, method: str, overrides: dict, ipc: int
) -> None:
    with pytest.raises(DcbenchError):
        job(method, request(tiny_dataset, ipc=ipc), "quick", overrides)
    assert not results.exists()


def test_an_interrupted_job_keeps_its_checkpoint_and_resumes(
    tiny_dataset, results: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = GradientMatcher.iteration

    def stop_at_2(self, it: int) -> float:
        if it == 2:
            raise KeyboardInterrupt
        return original(self, it)

    monkeypatch.setattr(GradientMatcher, "iteration", stop_at_2)
    with pytest.raises(KeyboardInterrupt):
        job("dc", request(tiny_dataset), "quick", TINY)
    (out,) = (results / "condense").iterdir()
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.pt", "config.json"]
    monkeypatch.setattr(GradientMatcher, "iteration", original)
    path, existed = job("dc", request(tiny_dataset), "quick", TINY)
    assert not existed and path.parent == out
    assert not (out / "checkpoint.pt").exists()  # removed once the set is saved
    fresh = job("dc", request(tiny_dataset), "quick", TINY, results / "fresh")[0]
    assert torch.equal(SyntheticSet.load(path).images, SyntheticSet.load(fresh).images)
