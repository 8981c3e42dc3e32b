"""The continual-learning reader and tables, on a run written by ``dcbench run continual``;
the run's own table.md holds the report's rows."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from dcbench.report import continual_steps, continual_summary, continual_table
from dcbench.report.continual import run_steps, run_table, step_stats
from dcbench.report.render import DASH, fmt_stat
from dcbench.report.runs import read_run
from dcbench.results.stats import mean_std


@pytest.fixture(scope="module")
def metrics(fixture_runs) -> dict:
    return json.loads((fixture_runs.continual / "metrics.json").read_text())


def _ours(table) -> dict[str, dict[str, str]]:
    return {r[2]: dict(zip(table.columns, r, strict=True)) for r in table.rows
            if r[0].startswith("ours")}


def test_steps_are_the_recorded_accuracies(fixture_results: Path, metrics: dict) -> None:
    steps = continual_steps(fixture_results)
    assert set(steps["label"]) == {"condensed (dc)", "herding"}
    assert sorted(set(steps["seed"])) == [0, 1] and sorted(set(steps["step"])) == [1, 2, 3]
    for buffer, b in metrics["buffers"].items():
        for seed, unit in b["seeds"].items():
            mine = steps[(steps["buffer"] == buffer) & (steps["seed"] == int(seed))]
            assert list(mine["accuracy"]) == unit["average_accuracy"]


def test_continual_table_matches_the_run(fixture_results: Path, fixture_runs,
                                         metrics: dict) -> None:
    t = continual_table(fixture_results)
    ours = _ours(t)
    assert set(ours) == {"condensed (dc)", "herding"}
    for label, buffer in (("condensed (dc)", "condensed"), ("herding", "herding")):
        b = metrics["buffers"][buffer]
        row, summary = ours[label], b["summary"]
        for k in (1, 2, 3):
            accs = [u["average_accuracy"][k - 1] for u in b["seeds"].values()]
            assert row[f"Step {k}"] == fmt_stat(*mean_std(accs))
            written = summary["average_accuracy"][k - 1]  # the writer's own mean ± std
            assert row[f"Step {k}"] == fmt_stat(written["mean"], written["std"])
        final, forget = summary["final_average_accuracy"], summary["average_forgetting"]
        assert row["Final"] == fmt_stat(final["mean"], final["std"]) == row["Step 3"]
        assert row["Forgetting"] == fmt_stat(forget["mean"], forget["std"])
        assert row["Seeds"] == "2"
        assert row["Setting"] == f"{fixture_runs.dataset}, gdumb, preset quick"
    assert any(r[1] == "SVHN → MNIST → USPS, with KD" and r[2] == "DC" and r[5] == "95.2"
               for r in t.rows)


def test_summary_of_complete_memories(fixture_results: Path, metrics: dict) -> None:
    s = continual_summary(fixture_results).set_index("buffer")
    for buffer, b in metrics["buffers"].items():
        assert s.loc[buffer, "memory_size"] == b["summary"]["memory_size"] == 6  # ipc 2 × 3
        assert s.loc[buffer, "final_mean"] == b["summary"]["final_average_accuracy"]["mean"]
        assert s.loc[buffer, "step_time_mean"] == b["summary"]["step_wall_time_s"]["mean"]


def test_the_runs_table_holds_the_reports_rows(fixture_results: Path, fixture_runs) -> None:
    md = (fixture_runs.continual / "table.md").read_text()
    assert md.startswith(f"### {fixture_runs.dataset}: 3 experiences, gdumb, ipc 2")
    for label, row in _ours(continual_table(fixture_results)).items():
        cells = [row[c] for c in ("Step 1", "Step 2", "Step 3", "Final", "Forgetting",
                                  "Seeds")]
        assert f"| {label} | 6 | {' | '.join(cells)} | " in md


def test_run_table_without_a_complete_memory(fixture_runs, tmp_path: Path) -> None:
    run_dir = tmp_path / "continual" / "partial"
    shutil.copytree(fixture_runs.continual, run_dir)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    herding = metrics["buffers"]["herding"]
    herding["summary"] = {"seeds": [], "complete": False}
    for unit in herding["seeds"].values():
        unit["average_accuracy"] = unit["average_accuracy"][:1]  # interrupted after step 1
    (run_dir / "metrics.json").write_text(json.dumps(metrics))
    t = run_table(read_run(run_dir), "partial", [])
    row = dict(zip(t.columns, next(r for r in t.rows if r[0] == "herding"), strict=True))
    assert row["Step 1"] != DASH and row["Step 2"] == row["Final"] == row["Images"] == DASH
    assert row["s / step"] == DASH and row["Seeds"] == "2"


def test_summary_csv_is_read_when_metrics_lack_the_seeds(fixture_runs, tmp_path: Path) -> None:
    """An older run directory without per-seed numbers: one pseudo-seed of means."""
    run_dir = tmp_path / "continual" / "old"
    shutil.copytree(fixture_runs.continual, run_dir)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    metrics["buffers"] = {}
    (run_dir / "metrics.json").write_text(json.dumps(metrics))
    steps = run_steps(read_run(run_dir))
    assert set(steps["seed"]) == {-1} and len(steps) == 2 * 3
    full = run_steps(read_run(fixture_runs.continual))
    means = step_stats(full).set_index(["label", "step"])["mean"]
    for r in steps.itertuples():
        assert r.accuracy == pytest.approx(means[(r.label, r.step)], abs=1e-4)  # 4 decimals
