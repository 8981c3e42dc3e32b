"""The result schema: what the writers produce, the loader reads back unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from dcbench.report import check_run, discover_runs, load_evaluations, load_runs, read_run
from dcbench.results import atomic_write_json, atomic_write_text, environment_info, make_manifest


def test_round_trip_of_a_run_directory(tmp_path: Path) -> None:
    run = tmp_path / "evaluate" / "20260101-000000-x"
    config = {"set": "s.pt", "models": ["convnet"], "protocol": {"epochs": 3}, "device": "cpu"}
    manifest = make_manifest("evaluate", config, seeds=[3], wall_time_s=1.23456)
    metrics = {"set": {"dataset": "toy", "method": "random", "ipc": 1, "seed": 3,
                       "preset": "quick", "path": "s.pt"},
               "protocol": {"epochs": 3}, "models": {"convnet": {"accuracies": [1.5, 2.5],
                                                               "mean": 2.0, "std": 0.7071}}}
    atomic_write_json(run / "manifest.json", manifest)
    atomic_write_json(run / "metrics.json", metrics)
    atomic_write_text(run / "metrics.csv", "model,run,accuracy\nconvnet,0,1.5\nconvnet,1,2.5\n")

    back = read_run(run)
    assert back.kind == "evaluate" and back.name == run.name and back.complete
    assert back.manifest == json.loads(json.dumps(manifest))
    assert back.metrics == metrics
    assert back.config == config
    assert check_run(run) == []

    row = load_runs(tmp_path).iloc[0]
    env = environment_info()
    assert row["run_id"] == f"evaluate/{run.name}"
    assert row["command"] == manifest["command"]
    assert row["seeds"] == [3]
    assert row["wall_time_s"] == round(1.23456, 3)
    assert row["dcbench_version"] == env["dcbench"]
    assert row["torch_version"] == env["torch"]
    assert row["avalanche_version"] == env["avalanche-lib"]
    assert row["git_commit"] == env["git_commit"]
    assert row["cpu_count"] == env["machine"]["cpu_count"]
    assert row["config.protocol.epochs"] == 3
    assert row["files"] == ["manifest.json", "metrics.csv", "metrics.json"]

    evals = load_evaluations(tmp_path)
    assert list(evals["accuracy"]) == [1.5, 2.5]
    assert set(evals["model"]) == {"convnet"} and set(evals["seed"]) == {3}
    # the CSV says the same as the JSON
    csv = pd.read_csv(run / "metrics.csv")
    assert list(csv["accuracy"]) == list(evals["accuracy"])


def test_check_run_names_what_is_missing(tmp_path: Path) -> None:
    run = tmp_path / "nas" / "r"
    atomic_write_json(run / "manifest.json", {"kind": "nas", "command": "dcbench x",
                                              "environment": {"torch": "2"}})
    problems = check_run(run)
    assert "nas/r: manifest lacks 'seeds'" in problems
    assert "nas/r: manifest environment lacks 'git_commit'" in problems
    assert "nas/r: missing candidates.csv" in problems
    assert check_run(tmp_path / "nowhere") == [f"no run directory at {tmp_path / 'nowhere'}"]


def test_loader_selects_kinds_paths_and_skips_unfinished(fixture_results: Path) -> None:
    runs = load_runs(fixture_results)
    assert set(runs["kind"]) == {"condense", "evaluate", "continual", "nas"}
    assert "condense/toy-dc-ipc2-quick-seed0" not in set(runs["run_id"])
    assert len(runs) == 4 + 5 + 1 + 1  # the NAS run reused the random set; its cache is no run
    assert all(c.startswith("dcbench ") for c in runs["command"])
    with_unfinished = load_runs(fixture_results, include_incomplete=True)
    assert len(with_unfinished) == len(runs) + 1
    assert not with_unfinished.set_index("run_id").loc[
        "condense/toy-dc-ipc2-quick-seed0", "complete"]
    assert set(load_runs(fixture_results, kinds=["nas"])["kind"]) == {"nas"}
    some = discover_runs(fixture_results, kinds=["evaluate"])[:2]
    assert list(load_runs(some)["path"]) == [str(p) for p in some]
    assert load_runs(fixture_results / "nothing-here").empty
