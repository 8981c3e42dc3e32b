"""Accuracy-vs-time curves: a condense task with snapshots, every snapshot evaluated, then the
report's curve frame, figure, CSV and time-to-accuracy table (issue 13)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from dcbench.cli import cli
from dcbench.report import load_evaluations
from dcbench.report.build import build_report
from dcbench.report.condensation import aggregate
from dcbench.report.curves import curve_frame, time_to_accuracy

TOY = "toy:classes=3:per_class=8:test_per_class=4:size=16x16"
MODEL = "convnet:depth=1:width=4"
CURVE_TASK = {
    "kind": "condense",
    "description": "DM on a toy dataset, saved after (almost) no time and at the end.",
    "expected_time": {"quick": "seconds", "paper": "seconds"},
    "dataset": TOY,
    "methods": ["dm", "random"],
    "ipc": [1],
    # budgets of microseconds: every snapshot is due after the first iteration
    "snapshot_minutes": [1e-7, 2e-7],
    "method_settings": {"dm": {"model": MODEL, "iterations": 3, "batch_real": 4,
                               "compile": False}},
    "evaluation": {"models": [MODEL], "num_models": 2, "epochs": 2},
    "presets": {"quick": {"seeds": [0]}, "paper": {"seeds": [0]}},
}


@pytest.fixture(scope="module")
def curve_results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("curves")
    root = tmp / "results"
    task = tmp / "curves-toy.yaml"
    task.write_text(yaml.safe_dump(CURVE_TASK))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DCBENCH_RESULTS", str(root))
        res = CliRunner().invoke(cli, ["run", str(task), "--quiet", "--threads", "1",
                                       "--device", "cpu"])
        assert res.exit_code == 0, res.output
        assert res.output.count("snapshot: ") == 2, res.output  # dm's two; random has none
    return root


def test_every_snapshot_is_saved_and_evaluated(curve_results: Path) -> None:
    (run,) = [p for p in (curve_results / "condense").iterdir() if "-dm-" in p.name]
    snaps = sorted(p.name for p in (run / "snapshots").glob("*.pt"))
    assert snaps == ["set-1e-07min.pt", "set-2e-07min.pt"]
    evals = load_evaluations(curve_results)
    dm = evals[evals["method"] == "dm"]
    assert sorted(dm["snapshot_minutes"].dropna().unique()) == [1e-7, 2e-7]
    assert set(dm["iterations_done"]) == {1, 3}  # snapshots after iteration 1, the final set
    assert set(dm["overrides"]) == {"batch_real=4,iterations=3,model=" + MODEL}


def test_curves_pool_each_budget_and_stay_out_of_preset_tables(curve_results: Path) -> None:
    evals = load_evaluations(curve_results)
    curves = curve_frame(evals.assign(model="convnet"))  # the toy model stands in for ConvNet
    assert list(curves["method"]) == ["dm"] * 3
    assert curves["final"].tolist().count(True) == 1
    assert (curves["n"] == 2).all() and (curves["sets"] == 1).all()
    final = curves[curves["final"]].iloc[0]
    assert final["iterations"] == 3 and final["minutes"] >= curves["minutes"].min()
    # the curve's run (its snapshots and its final set) never pools into the preset's rows
    agg = aggregate(evals.assign(model="convnet"))
    assert set(agg["method"]) == {"random"}
    table = time_to_accuracy(evals.assign(model="convnet"))
    assert len(table.rows) == 1 and table.rows[0][2].startswith("DM (quick, batch_real=4")



def test_a_point_pools_the_sets_of_several_seeds_and_says_how_many(curve_results: Path
                                                                    ) -> None:
    evals = load_evaluations(curve_results).assign(model="convnet")
    dm = evals[evals["method"] == "dm"]
    # the same curve from a second seed: other sets (paths), 0.5 points better, 2x the time
    other = dm.assign(set_path=dm["set_path"] + ".seed1", seed=1,
                      accuracy=dm["accuracy"] + 0.5, condense_time_s=dm["condense_time_s"] * 2)
    both = pd.concat([evals, other], ignore_index=True)
    curves = curve_frame(both)
    assert (curves["n"] == 4).all() and (curves["sets"] == 2).all()
    one, two = curve_frame(evals), curves
    assert two["mean"].round(6).tolist() == (one["mean"] + 0.25).round(6).tolist()
    assert two["minutes"].round(9).tolist() == (one["minutes"] * 1.5).round(9).tolist()
    cells = time_to_accuracy(both).rows[0]
    assert any("(n=4, 2 sets)" in c for c in cells), cells
    assert not any("sets)" in c for c in time_to_accuracy(evals).rows[0])

def test_report_writes_the_curve_figure_csv_and_time_to_accuracy(
    curve_results: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dcbench.report.build as build
    import dcbench.report.curves as curves

    real = curves.curve_frame
    monkeypatch.setattr(curves, "curve_frame",
                        lambda evals, **kw: real(evals.assign(model="convnet"), **kw))
    out = tmp_path / "report"
    build_report(curve_results, out)
    (figure,) = (out / "figures").glob("curves-toy*.png")
    assert figure.stat().st_size > 0
    csv = pd.read_csv(out / "tables" / "curves.csv")
    assert len(csv) == 3 and set(csv["method"]) == {"dm"}
    text = (out / "time-to-accuracy.md").read_text()
    assert f"| {TOY} | 1 | DM (quick, batch_real=4" in text, text
    assert text.count("- Each cell:") == 1  # the table's notes, once
    assert build.curves is curves


def test_readme_block_has_a_time_to_accuracy_row(curve_results: Path, tmp_path: Path) -> None:
    from dcbench.report.readme import measured_block

    table = time_to_accuracy(load_evaluations(curve_results).assign(model="convnet"))
    block = measured_block([table], tmp_path)
    assert f"{TOY}, ipc 1: condensation time to accuracy" in block
    assert "DM (quick, batch_real=4" in block and "results/time-to-accuracy.md" in block


def test_a_budget_run_without_snapshots_is_a_one_point_curve(tmp_path: Path) -> None:
    """A settings sweep at a fixed budget: each setting's set, ended by the clock, is a point
    of time-to-accuracy beside the curves (and never a preset row)."""
    task = {**CURVE_TASK, "methods": ["dm"], "snapshot_minutes": [], "budget_minutes": 1e-7}
    path = tmp_path / "sweep-toy.yaml"
    path.write_text(yaml.safe_dump(task))
    root = tmp_path / "results"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DCBENCH_RESULTS", str(root))
        res = CliRunner().invoke(cli, ["run", str(path), "--quiet", "--threads", "1",
                                       "--device", "cpu"])
        assert res.exit_code == 0, res.output
    evals = load_evaluations(root).assign(model="convnet")
    assert evals["snapshot_minutes"].isna().all()
    curves = curve_frame(evals)
    assert len(curves) == 1 and curves.iloc[0]["final"]
    assert "budget_minutes=1e-07" in curves.iloc[0]["overrides"]
    assert curves.iloc[0]["iterations"] == 1  # the clock ended it after its first iteration
    table = time_to_accuracy(evals)
    assert len(table.rows) == 1 and "budget_minutes=1e-07" in table.rows[0][2]
    assert aggregate(evals).empty
