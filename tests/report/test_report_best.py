"""``dcbench best``: the best measured set within a time budget, and its command."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from dcbench.cli import cli
from dcbench.errors import DcbenchError
from dcbench.report.best import Option, best_within, options
from dcbench.report.condensation import aggregate
from dcbench.report.evaluations import load_evaluations


def option(method: str, minutes: float, mean: float, overrides: str = "",
           iterations: int | None = None, sets: int = 1, budget: float | None = None) -> Option:
    return Option("fashion-mnist", method, 10, "quick", overrides, minutes, iterations, mean,
                  0.5, 3, "curve" if iterations else "preset", sets, budget)


def test_a_curve_point_is_remade_by_its_iterations_without_the_budget() -> None:
    point = option("dm", 9.8, 82.0, "batch_real=256,budget_minutes=60,iterations=20000", 412)
    assert point.settings() == {"batch_real": "256", "iterations": "412"}
    assert point.command() == ("dcbench condense --dataset fashion-mnist --method dm --ipc 10 "
                               "--preset quick --set dm.batch_real=256 --set dm.iterations=412")
    model = option("dc", 1.0, 50.0, "model=convnet:depth=1:width=4")
    assert model.settings() == {"model": "convnet:depth=1:width=4"}
    assert option("dsa", 20.0, 80.0).command().endswith("--method dsa --ipc 10 --preset quick")


def test_a_point_pooled_over_seeds_is_remade_by_its_budget() -> None:
    """Two seeds reached different iteration counts in 10 minutes: no single count remakes
    both, the budget does."""
    pooled = option("dm", 10.2, 82.0, "budget_minutes=60,iterations=20000", 431, sets=2,
                    budget=10.0)
    assert pooled.settings() == {}
    assert pooled.command().endswith("--preset quick --budget-minutes 10")
    assert pooled.label() == "dm (quick, 10 min budget)"

def test_options_within_the_budget_rank_by_accuracy() -> None:
    found = [option("dc", 30.0, 79.0), option("dm", 10.4, 82.5, "", 400),
             option("dm", 5.0, 81.0, "", 200), option("herding", 3.0, 77.3),
             option("dm", 8.0, 81.5, "batch_real=256", 300)]
    # 10.4 <= 10 x 1.05; one per method and setting: dm's 81.0 is the same curve as its 82.5
    assert [o.mean for o in best_within(found, 10)] == [82.5, 81.5, 77.3]
    assert best_within(found, 2) == []
    with pytest.raises(DcbenchError, match="--minutes must be positive"):
        best_within(found, 0)


def test_options_are_the_results_preset_rows(fixture_results: Path) -> None:
    evals = load_evaluations(fixture_results)
    agg = aggregate(evals)
    dataset = agg["dataset"].iloc[0]
    found = options(evals, dataset, 1)
    rows = agg[(agg["dataset"] == dataset) & (agg["ipc"] == 1)]
    assert sorted(o.method for o in found) == sorted(rows["method"])
    dc = next(o for o in found if o.method == "dc")
    row = rows[rows["method"] == "dc"].iloc[0]
    assert (dc.mean, dc.n, dc.minutes) == (row["mean"], row["n"], row["condense_time_s"] / 60)


def test_sets_made_with_changed_settings_are_options_of_their_own(
        fixture_results: Path) -> None:
    """A set made with overrides (or an earlier release's preset, which reads as overrides)
    is measured too: it is an option, remade with its settings. A set the clock ended is a
    one-point curve, remade exactly by the iterations it got (a pooled one by its budget)."""
    evals = load_evaluations(fixture_results)
    dataset = evals["dataset"].iloc[0]
    dc = (evals["method"] == "dc") & (evals["ipc"] == 1)
    changed = options(evals.assign(overrides=evals["overrides"].where(~dc, "iterations=7")),
                      dataset, 1)
    (option_,) = [o for o in changed if o.method == "dc"]
    assert option_.source == "set" and option_.command().endswith("--set dc.iterations=7")
    budget = options(evals.assign(overrides=evals["overrides"].where(~dc, "budget_minutes=30")),
                     dataset, 1)
    (option_,) = [o for o in budget if o.method == "dc"]
    done = int(evals.loc[dc, "iterations_done"].iloc[0])
    assert option_.source == "curve" and option_.budget == 30.0
    assert option_.command().endswith(f"--preset quick --set dc.iterations={done}")


def test_the_command_prints_the_ranking_or_one_line(fixture_results: Path) -> None:
    dataset = aggregate(load_evaluations(fixture_results))["dataset"].iloc[0]
    args = ["best", "--dataset", dataset, "--ipc", "1", "--results", str(fixture_results)]
    out = CliRunner().invoke(cli, [*args, "--minutes", "600"])
    assert out.exit_code == 0, out.output
    assert out.output.startswith(f"best measured within 600 min of condensation ({dataset}")
    assert f"dcbench condense --dataset {dataset} --method" in out.output
    none = CliRunner().invoke(cli, [*args, "--minutes", "1e-9"])
    assert none.exit_code == 1 and "no " in none.output and "the fastest took" in none.output
    empty = CliRunner().invoke(cli, [*args[:-2], "--results", str(fixture_results / "x"),
                                     "--minutes", "5"])
    assert empty.exit_code == 1 and "nothing measured" in empty.output
    unknown = CliRunner().invoke(cli, ["best", "--dataset", "nosuch", "--ipc", "1",
                                       "--minutes", "5", "--results", str(fixture_results)])
    assert unknown.exit_code == 1 and "unknown dataset 'nosuch'" in unknown.output
    alias = CliRunner().invoke(cli, ["best", "--dataset", "fmnist", "--ipc", "1", "--minutes",
                                     "5", "--results", str(fixture_results)])
    assert "nothing measured for fashion-mnist at ipc 1" in alias.output  # the alias resolved
