"""Table 1 and the cross-architecture table, from real evaluate runs: the numbers the tables
show are the pooled mean ± sample std of the accuracies the runs recorded."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from dcbench.condense.synthetic_set import SyntheticSet
from dcbench.report import (
    aggregate,
    cross_arch_table,
    load_evaluations,
    table1,
    table1_frame,
    table1_tables,
)
from dcbench.report.render import DASH, NOT_RUN, fmt_stat
from dcbench.results.stats import mean_std


@pytest.fixture(scope="module")
def evals(fixture_results) -> pd.DataFrame:
    return load_evaluations(fixture_results)


@pytest.fixture(scope="module")
def toy(fixture_runs) -> str:
    """The fixture tree's dataset: not one of the paper's, so shown under its own name."""
    return fixture_runs.dataset


def test_bf16_evaluations_never_mix_into_the_fp32_tables(evals, toy: str) -> None:
    assert set(evals["precision"]) == {"fp32"}
    key = (toy, "random", 1, "quick")
    fp32 = aggregate(evals).set_index(["dataset", "method", "ipc", "preset"]).loc[key]
    half = evals.copy()
    half.loc[half["method"] == "random", "precision"] = "bf16"
    mixed = half.copy()
    mixed.loc[mixed["method"] == "random", "accuracy"] = 0.0  # would drag the mean down
    agg = aggregate(pd.concat([evals, mixed[mixed["precision"] == "bf16"]]))
    assert agg.set_index(["dataset", "method", "ipc", "preset"]).loc[key]["n"] == fp32["n"]
    assert key[1] in set(aggregate(half, precision="bf16")["method"])
    assert key[1] not in set(aggregate(half)["method"])


def test_table1_pools_seeds_with_sample_std(evals, fixture_runs, toy: str) -> None:
    agg = aggregate(evals).set_index(["dataset", "method", "ipc", "preset"])
    r = agg.loc[(toy, "random", 1, "quick")]
    accs = fixture_runs.accuracies("random0", "random1")
    assert r["n"] == len(accs) == 4 and r["sets"] == 2 and r["seeds"] == [0, 1]
    assert (r["mean"], r["std"]) == pytest.approx(mean_std(accs))
    dc = fixture_runs.accuracies("dc_again")  # the repeated evaluation counts once
    d = agg.loc[(toy, "dc", 1, "quick")]
    assert d["n"] == 2 and (d["mean"], d["std"]) == pytest.approx(mean_std(dc))
    made = SyntheticSet.load(fixture_runs.sets["dc"]).meta["wall_time_s"]
    assert d["condense_time_s"] == pytest.approx(made)
    h = agg.loc[(toy, "herding", 5, "paper")]
    herding = fixture_runs.accuracies("herding")
    assert h["n"] == 2 and (h["mean"], h["std"]) == pytest.approx(mean_std(herding))
    assert h["epochs"] == [2] and any("dcbench condense" in c for c in h["commands"])


def test_table1_cells_and_renderings(evals, fixture_runs, toy: str) -> None:
    t = table1(evals, "quick")
    assert [r[:2] for r in t.rows] == [[toy, "1"]]  # only what ran: no paper dataset
    cells = dict(zip(t.columns, t.rows[0], strict=True))
    random_cell = fmt_stat(*mean_std(fixture_runs.accuracies("random0", "random1")), 4)
    assert cells["Random (ours)"] == random_cell
    assert cells["Random (paper)"] == DASH  # the paper has no toy numbers
    assert cells["DC (ours)"] == fmt_stat(*mean_std(fixture_runs.accuracies("dc")), 2)
    assert cells["Herding (ours)"] == NOT_RUN  # herding ran in the paper preset only
    assert cells["Whole data (paper)"] == DASH
    md, tex = t.markdown(), t.latex()
    assert f"| {toy} | 1 | {random_cell} | {DASH} |" in md
    assert "Preset `quick`" in md and "n = synthetic sets × models" in md
    assert "Training epochs in our evaluations: 2 (the authors' protocol: 300" in md
    assert random_cell.replace("±", "$\\pm$") in tex and "\\begin{tabular}" in tex
    assert math.isnan(table1_frame(evals, "quick").set_index(["method", "ipc"]).loc[
        ("random", 1), "diff"])
    assert [x.name for x in table1_tables(evals)] == ["table1-paper", "table1-quick"]
    paper = table1(evals, "paper")
    cells5 = dict(zip(paper.columns, next(r for r in paper.rows if r[:2] == [toy, "5"]),
                      strict=True))
    herding = fixture_runs.accuracies("herding")
    assert cells5["Herding (ours)"] == fmt_stat(*mean_std(herding), 2)


def test_table1_puts_the_published_numbers_beside_ours(evals, fixture_runs) -> None:
    """Runs meet the paper's rows by dataset name: the toy runs, relabelled, fill FashionMNIST."""
    fmnist = evals.assign(dataset="fashion-mnist")
    t = table1(fmnist, "quick")
    assert [r[0] for r in t.rows] == ["FashionMNIST"] * 3  # every ipc of a dataset that ran
    cells = dict(zip(t.columns, next(r for r in t.rows if r[:2] == ["FashionMNIST", "1"]),
                     strict=True))
    mean, std = mean_std(fixture_runs.accuracies("random0", "random1"))
    assert cells["Random (ours)"] == fmt_stat(mean, std, 4)
    assert cells["Random (paper)"] == "51.4 ± 3.8"
    assert cells["DC (paper)"] == "70.5 ± 0.6"
    assert cells["Whole data (paper)"] == "93.5 ± 0.1"
    assert f"| FashionMNIST | 1 | {fmt_stat(mean, std, 4)} | 51.4 ± 3.8 |" in t.markdown()
    frame = table1_frame(fmnist, "quick").set_index(["method", "ipc"])
    assert frame.loc[("random", 1), "diff"] == pytest.approx(mean - 51.4)


def test_table1_without_runs_is_all_not_yet_run(evals) -> None:
    t = table1(evals.iloc[0:0], "paper")
    assert len(t.rows) == 12  # 4 datasets × 3 ipc
    assert all(r[2] == NOT_RUN for r in t.rows)


def test_cross_architecture_table(evals, fixture_runs, toy: str) -> None:
    t = cross_arch_table(evals)
    assert t.rows[0][0].startswith("paper: MNIST") and t.rows[0][2] == "69.6 ± 1.6"
    ours = next(r for r in t.rows if r[0] == f"ours: {toy}, DC, ipc 1")
    cells = dict(zip(t.columns, ours, strict=True))
    mlp = fixture_runs.accuracies("dc_again", model="mlp")
    assert cells["MLP"] == fmt_stat(*mean_std(mlp), 2)
    assert cells["ConvNet"] == fmt_stat(*mean_std(fixture_runs.accuracies("dc_again")), 2)
    assert cells["ResNet18"] == NOT_RUN
    assert all("Random" not in r[0] for r in t.rows)  # evaluated on the ConvNet only


def test_sets_with_changed_settings_stay_out_of_the_preset_rows(fixture_results) -> None:
    """A set condensed with ``--set dc.precision=bf16`` (or any setting that changes a set)
    is not the quick preset: it never pools into that row."""
    from dcbench.report.condensation import aggregate
    from dcbench.report.evaluations import load_evaluations

    evals = load_evaluations(fixture_results)
    dc = evals[evals["method"] == "dc"]
    changed = dc.assign(overrides="precision=bf16", set_run="other", accuracy=0.0,
                        set_path="elsewhere/set.pt")
    both = aggregate(pd.concat([evals, changed], ignore_index=True))
    alone = aggregate(evals)
    key = (both["method"] == "dc") & (both["ipc"] == 1)
    assert both[key]["n"].tolist() == alone[(alone["method"] == "dc") & (alone["ipc"] == 1)][
        "n"].tolist()
    assert both[key]["mean"].iloc[0] > 0


def test_a_time_budget_counts_as_a_changed_setting() -> None:
    from dcbench.report.evaluations import overrides_text

    assert overrides_text({"precision": "bf16", "compile": True}) == "precision=bf16"
    assert overrides_text({}, 60.0) == "budget_minutes=60"
    assert overrides_text({"precision": "bf16"}, 7.5) == "budget_minutes=7.5,precision=bf16"
    assert overrides_text(None) == ""


def test_a_set_made_before_its_preset_changed_reads_as_overridden() -> None:
    """Overrides are measured against the preset as it is now: a set recorded with other
    settings (e.g. an older quick preset's iterations) never pools into the preset's rows."""
    import dataclasses

    from dcbench.condense.config import make_config
    from dcbench.report.evaluations import set_overrides

    quick = dataclasses.asdict(make_config("dm", "quick", 10))
    config = {"method": "dm", "preset": "quick", "ipc": 10, "overrides": {}, "settings": quick}
    assert set_overrides(config) == ""
    older = {**config, "settings": {**quick, "iterations": quick["iterations"] + 7,
                                    "compile": not quick["compile"], "removed_key": 1}}
    assert set_overrides(older) == f"iterations={quick['iterations'] + 7}"
    without_precision = {k: v for k, v in quick.items() if k != "precision"}
    assert set_overrides({**config, "settings": without_precision}) == ""  # earlier: fp32
    paper_cap = make_config("dm", "paper", 10).iterations
    budget = {**config, "budget_minutes": 60,
              "settings": {**quick, "iterations": paper_cap}}
    assert set_overrides(budget) == "budget_minutes=60"  # the budget lifts the cap
    assert set_overrides({"overrides": {"iterations": 3}}) == "iterations=3"  # no settings
    assert set_overrides({**config, "method": "gone", "overrides": {"x": 1}}) == "x=1"


def test_models_of_the_earlier_protocol_are_marked_until_trained_again(
        fixture_runs, tmp_path) -> None:
    """An evaluation recorded without ``schedule`` (trained before the protocol followed the
    authors') marks the cells it pools into and adds the note that says why; a newer training
    of the same models replaces it, and the mark goes."""
    import json
    import shutil

    from dcbench.report.evaluations import EARLIER_PROTOCOL_MARK

    root = tmp_path / "results"
    shutil.copytree(fixture_runs.root, root)
    original = fixture_runs.evals["random0"]
    run = root / original.relative_to(fixture_runs.root)
    metrics = json.loads((run / "metrics.json").read_text())
    for result in metrics["models"].values():
        del result["protocol"]["schedule"]
    (run / "metrics.json").write_text(json.dumps(metrics))

    def random_cell_and_notes() -> tuple[str, list[str]]:
        t = table1(load_evaluations(root), "quick")
        return dict(zip(t.columns, t.rows[0], strict=True))["Random (ours)"], t.notes

    accs = fixture_runs.accuracies("random0", "random1")
    cell, notes = random_cell_and_notes()
    assert cell == f"{fmt_stat(*mean_std(accs), 4)} {EARLIER_PROTOCOL_MARK}"
    earlier = [n for n in notes if n.startswith(EARLIER_PROTOCOL_MARK)]
    assert len(earlier) == 1 and "(2 models in this table)" in earlier[0]
    shutil.copytree(original, run.with_name(run.name + "-again"))  # trained again, as now
    cell, notes = random_cell_and_notes()
    assert cell == fmt_stat(*mean_std(accs), 4)
    assert not any(n.startswith(EARLIER_PROTOCOL_MARK) for n in notes)
