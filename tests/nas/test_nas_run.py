"""End-to-end NAS runs on generated data: outputs, cache/resume, executors, proxies."""

from __future__ import annotations

import csv
import importlib.util
import json
from pathlib import Path

import pytest
import torch

from dcbench.condense import CondenseRequest, condense
from dcbench.config import load
from dcbench.data import load_dataset, make_toy_dataset
from dcbench.errors import DcbenchError
from dcbench.nas import NASConfig, run_nas
from dcbench.nas.proxies import early_stopping_plan, scoring_indices, whole_indices
from dcbench.nas.training import Job, TrainData, run_job

TOY = "toy:classes=3:per_class=12:test_per_class=10:size=16x16"  # as in conftest.py


def _run(settings: dict, **extra):
    return run_nas(load(NASConfig, {**settings, **extra}))


def _accs(result) -> dict:
    return {k: r["accuracy"] for k, r in result.records.items()}


def test_tiny_run_writes_every_output(results_root: Path, tiny_settings: dict) -> None:
    result = _run(tiny_settings)
    out = result.run_dir
    assert out.parent == results_root / "nas"
    for name in ("config.json", "manifest.json", "candidates.csv", "runs.csv", "ranking.json",
                 "ranking.md", "scatter.png"):
        assert (out / name).is_file(), name
    assert (out / "scatter.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert result.jobs_run == 4 * 3 and result.jobs_cached == 0

    rows = list(csv.DictReader((out / "candidates.csv").open()))
    assert [r["spec"] for r in rows] == ["convnet:depth=1:pool=avg:width=8",
                                         "convnet:depth=2:pool=avg:width=8",
                                         "convnet:depth=1:pool=avg:width=16",
                                         "convnet:depth=2:pool=avg:width=16"]
    for col in ("random_acc", "early-stopping_acc", "whole_acc", "whole_seconds", "truth_rank"):
        assert col in rows[0]
    assert sorted(int(r["truth_rank"]) for r in rows) == [1, 2, 3, 4]
    assert len(list(csv.DictReader((out / "runs.csv").open()))) == 12

    ranking = json.loads((out / "ranking.json").read_text())
    assert ranking["k"] == 3 and "ground truth" in ranking["top_k_by"]
    assert list(ranking["proxies"]) == ["random", "early-stopping", "whole"]
    rnd = ranking["proxies"]["random"]
    for key in ("spearman_all", "kendall_all", "spearman_top_k", "kendall_top_k",
                "precision_at_k", "selected_accuracy", "regret", "search_s", "prep_s",
                "speedup_vs_whole", "images_stored", "epochs"):
        assert key in rnd, key
    assert rnd["images_stored"] == 6 and rnd["epochs"] == 4
    whole = ranking["proxies"]["whole"]
    assert whole["spearman_all"] == pytest.approx(1.0) and whole["regret"] == 0
    assert whole["images_stored"] == 36 and whole["epochs"] == 6
    assert "whole training split (36 images), 6 epochs" in ranking["ground_truth"]
    # 6 images x (4 + 1) passes = 30 < 2 x 36: 2 passes (epochs 1) over 15 images
    es = ranking["proxies"]["early-stopping"]
    assert es["images_stored"] == 15 and es["epochs"] == 1 and es["compute_ratio"] == 1.0
    md = (out / "ranking.md").read_text()
    assert "Spearman top-3" in md and "k = 3" in md
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "nas" and manifest["units_run"] == 12
    config = json.loads((out / "config.json").read_text())
    assert config["config"]["whole_epochs"] == 6 and len(config["candidates"]) == 4


def test_rerun_resumes_and_recomputes_only_missing_units(results_root: Path,
                                                         tiny_settings: dict) -> None:
    first = _run(tiny_settings)
    again = _run(tiny_settings)
    assert again.jobs_run == 0 and again.jobs_cached == 12
    assert again.run_dir != first.run_dir  # a fresh run directory, never overwritten
    assert _accs(again) == _accs(first)
    # lose one finished unit (as if interrupted before it): only it is trained again
    cached = sorted((results_root / "nas" / "cache").rglob("*.seed0.json"))
    assert len(cached) == 12
    cached[0].unlink()
    third = _run(tiny_settings)
    assert third.jobs_run == 1 and third.jobs_cached == 11
    assert _accs(third) == _accs(first)  # deterministic


def test_cache_is_shared_across_spaces_and_proxy_lists(results_root: Path,
                                                       tiny_settings: dict) -> None:
    _run(tiny_settings)
    sub = {"name": "two", "candidates": ["convnet:depth=1:pool=avg:width=16",
                                         "convnet:depth=2:pool=avg:width=8"]}
    other = _run(tiny_settings, space=sub, top_k=2, proxies=["early-stopping"])
    assert other.jobs_run == 0 and other.jobs_cached == 4  # ground truth reused
    longer = _run(tiny_settings, epochs=5)  # a different protocol is a different unit
    assert longer.jobs_run == 8 and longer.jobs_cached == 4  # only whole is unchanged


def test_process_pool_gives_identical_results(results_root: Path, tiny_settings: dict,
                                              tmp_path: Path) -> None:
    seq = _run(tiny_settings, cache=str(tmp_path / "c1"))
    pool = _run(tiny_settings, cache=str(tmp_path / "c2"), workers=2)
    assert pool.jobs_run == 12
    assert _accs(pool) == _accs(seq)


def test_ray_executor_in_local_mode(results_root: Path, tiny_settings: dict,
                                    tmp_path: Path) -> None:
    if importlib.util.find_spec("ray") is None:
        pytest.skip("Ray is not installed (optional extra: pip install 'dcbench[ray]')")
    seq = _run(tiny_settings, cache=str(tmp_path / "c1"))
    ray_run = _run(tiny_settings, cache=str(tmp_path / "c2"), executor="ray", workers=2)
    assert ray_run.jobs_run == 12
    assert _accs(ray_run) == _accs(seq)


def test_ray_executor_without_ray_is_a_one_line_error(monkeypatch, tiny_settings) -> None:
    if importlib.util.find_spec("ray") is not None:
        pytest.skip("Ray is installed")
    with pytest.raises(DcbenchError, match=r"needs Ray.*pip install"):
        _run(tiny_settings, executor="ray")


def _saved_set(path: Path, dataset, ipc: int, seed: int = 5) -> Path:
    sset = condense("random", CondenseRequest(dataset, ipc=ipc, seed=seed, progress=False))
    sset.save(path, png=False)
    return path


def test_condensed_proxy_from_a_saved_set(results_root: Path, tiny_settings: dict,
                                          tmp_path: Path) -> None:
    ds = load_dataset(TOY)
    path = _saved_set(tmp_path / "set.pt", ds, ipc=2)
    result = _run(tiny_settings, proxies=["condensed"], condensed_set=str(path))
    p = result.ranking["proxies"]["condensed"]
    assert p["set"] == str(path) and p["images_stored"] == 6 and not p["made_by_this_run"]
    wrong_ipc = _saved_set(tmp_path / "ipc3.pt", ds, ipc=3)
    with pytest.raises(DcbenchError, match="has ipc 3 but this run uses ipc 2"):
        _run(tiny_settings, proxies=["condensed"], condensed_set=str(wrong_ipc))
    other = make_toy_dataset(num_classes=4, per_class=12, test_per_class=10, image_size=(16, 16))
    alien = _saved_set(tmp_path / "alien.pt", other, ipc=2)
    with pytest.raises(DcbenchError, match="classes differ"):
        _run(tiny_settings, proxies=["condensed"], condensed_set=str(alien))


def test_condensed_proxy_made_on_the_fly_then_reused(results_root: Path,
                                                     tiny_settings: dict) -> None:
    settings = {**tiny_settings, "proxies": ["condensed", "herding"],
                "method_settings": {"dc": {"iterations": 1, "compile": False}}}
    first = _run(settings)
    for name, method in (("condensed", "dc"), ("herding", "herding")):
        p = first.ranking["proxies"][name]
        assert p["made_by_this_run"] and p["method"] == method and p["images_stored"] == 6
        assert Path(p["set"]).is_relative_to(results_root / "condense")
    second = _run(settings)
    assert not second.ranking["proxies"]["condensed"]["made_by_this_run"]
    assert not second.ranking["proxies"]["herding"]["made_by_this_run"]
    assert second.jobs_run == 0


def test_early_stopping_matches_the_proxy_compute() -> None:
    """Sample passes: a proxy set's images x (epochs + 1), as a protocol trains."""
    # quick: 100 x 101 = 10100 passes; 2 passes (epoch 1) over 5000 images
    assert early_stopping_plan(100, 100, 5000) == (1, 5000)
    # paper: 10100 < 2 x 60000: 2 passes (the fewest) over 5050 images
    assert early_stopping_plan(100, 100, 60000) == (1, 5050)
    assert early_stopping_plan(100, 100, 4000) == (2, 4000)  # 2.525 passes round to 3
    assert early_stopping_plan(6, 4, 36) == (1, 15)
    for args in ((100, 100, 60000), (6, 4, 36), (7, 4, 40)):
        epochs, n = early_stopping_plan(*args)
        assert epochs >= 1 and abs(n * (epochs + 1) - args[0] * (args[1] + 1)) <= 1


def test_ground_truth_and_test_subsets_are_stratified_and_fixed() -> None:
    ds = load_dataset(TOY)
    idx = whole_indices(ds, 5)
    assert torch.bincount(ds.y_train[idx]).tolist() == [5, 5, 5]
    assert torch.equal(idx, whole_indices(ds, 5))
    assert len(whole_indices(ds, 0)) == len(ds.x_train)
    t = scoring_indices(ds, 4)
    assert torch.bincount(ds.y_test[t]).tolist() == [4, 4, 4]


def test_a_diverging_candidate_is_recorded_not_fatal(monkeypatch) -> None:
    import dcbench.nas.training as training

    def diverge(*args, **kwargs):
        raise DcbenchError("training diverged (loss nan) at epoch 0")

    monkeypatch.setattr(training, "train_model", diverge)
    ds = load_dataset(TOY)
    data = TrainData(1, 3, (16, 16), ds.x_test, ds.y_test, {"p": (ds.x_train, ds.y_train)})
    from dataclasses import asdict

    from dcbench.evaluation.protocol import EvalProtocol

    job = Job("convnet:width=8:depth=1", 1, "p", 0, asdict(EvalProtocol(epochs=1)))
    record = run_job(job, data)
    assert "diverged" in record["diverged"] and 0 <= record["accuracy"] <= 100


def test_out_directory_resumes_the_same_run_and_refuses_another(
        results_root: Path, tiny_settings: dict, tmp_path: Path) -> None:
    out = tmp_path / "my-run"
    result = _run(tiny_settings, out=str(out))
    assert result.run_dir == out and (out / "ranking.json").is_file()
    again = _run(tiny_settings, out=str(out))  # the same settings: every unit from the cache
    assert again.run_dir == out and again.jobs_run == 0
    with pytest.raises(DcbenchError, match="other settings"):
        _run({**tiny_settings, "epochs": tiny_settings.get("epochs", 1) + 1}, out=str(out))
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "notes.txt").write_text("mine")
    with pytest.raises(DcbenchError, match="not a nas run directory"):
        _run(tiny_settings, out=str(tmp_path / "foreign"))


def test_an_unusable_out_fails_before_any_work(results_root: Path, tiny_settings: dict,
                                               tmp_path: Path, monkeypatch) -> None:
    from dcbench.nas import experiment

    def no_data(*args, **kwargs):
        raise AssertionError("the data was loaded before the output location was checked")

    monkeypatch.setattr("dcbench.data.load_dataset", no_data)
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(DcbenchError, match="a-file is a file"):
        experiment.run_nas(load(NASConfig, {**tiny_settings, "out": str(blocker / "run")}))
    assert not (blocker.parent / "run").exists()


def test_an_out_under_proc_fails_before_any_work(results_root: Path, tiny_settings: dict,
                                                 monkeypatch) -> None:
    from dcbench.nas import experiment

    def no_data(*args, **kwargs):
        raise AssertionError("the data was loaded before the output location was checked")

    monkeypatch.setattr("dcbench.data.load_dataset", no_data)
    with pytest.raises(DcbenchError, match="cannot create /proc/dcbench-x/run: /proc"):
        experiment.run_nas(load(NASConfig, {**tiny_settings, "out": "/proc/dcbench-x/run"}))
