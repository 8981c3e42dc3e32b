"""The NAS reader and tables, on a run written by ``dcbench run nas``; the run's own
ranking.md is the report's ranking table."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest

from dcbench.report import nas_candidates, nas_table
from dcbench.report.nas import proxy_label, ranking_table
from dcbench.report.render import DASH


@pytest.fixture(scope="module")
def ranking(fixture_runs) -> dict:
    return json.loads((fixture_runs.nas / "ranking.json").read_text())


def test_candidates_are_the_written_accuracies(fixture_results: Path, fixture_runs) -> None:
    cands = nas_candidates(fixture_results)
    assert sorted(set(cands["proxy"])) == ["condensed", "random"]  # the ground truth is a column
    rows = list(csv.DictReader((fixture_runs.nas / "candidates.csv").open()))
    assert len(rows) == 15 and len(cands) == 2 * 15
    for proxy in ("condensed", "random"):
        mine = cands[cands["proxy"] == proxy]
        assert list(mine["candidate"]) == [r["spec"] for r in rows]
        assert list(mine["proxy_accuracy"]) == [float(r[f"{proxy}_acc"]) for r in rows]
        assert list(mine["whole_accuracy"]) == [float(r["whole_acc"]) for r in rows]


def test_nas_table_matches_the_run(fixture_results: Path, fixture_runs, ranking: dict) -> None:
    n = nas_table(fixture_results)
    rows = {r[1]: r for r in n.rows if r[0].startswith("ours")}
    assert set(rows) == {"DC (condensed)", "Random", "Whole data"}
    cands = nas_candidates(fixture_results)
    for proxy, p in ranking["proxies"].items():
        assert rows[proxy_label(proxy)][2:8] == [
            f"{p['selected_accuracy']:.1f}", f"{p['spearman_top_k']:.2f}",
            f"{p['spearman_all']:.2f}", f"{p['kendall_all']:.2f}",
            f"{p['search_s'] / 60:.1f}", str(p["images_stored"])]
        chosen = cands[cands["candidate"] == p["selected_spec"]]["whole_accuracy"]
        assert list(chosen) == pytest.approx([p["selected_accuracy"]] * 2, abs=1e-4)
    assert (f"{fixture_runs.dataset}, 15 ConvNets, k=3, preset quick"
            in rows["Random"][0])
    assert rows["DC (condensed)"][7] == "3"  # ipc 1 × 3 classes
    assert any(r[0].startswith("paper") and r[1] == "DC" and r[3] == "0.79" for r in n.rows)


def test_the_runs_ranking_md_is_the_ranking_table(fixture_runs, ranking: dict) -> None:
    md = (fixture_runs.nas / "ranking.md").read_text()
    assert md == ranking_table(ranking).markdown()
    assert "Spearman top-3" in md and "k = 3" in md
    cond = ranking["proxies"]["condensed"]
    assert (f"| condensed | 2 | 3 | {cond['spearman_top_k']:.2f} | "
            f"{cond['kendall_top_k']:.2f} | {cond['spearman_all']:.2f} |") in md
    assert f"selects `{cond['selected_spec']}`" in md


def test_ranking_table_shows_undefined_numbers_as_a_dash() -> None:
    ranking = {"k": 2, "space": {"name": "s", "size": 4}, "dataset": "toy",
               "proxies": {"random": {"epochs": 3, "images_stored": 6,
                                      "spearman_top_k": math.nan, "spearman_all": None,
                                      "speedup_vs_whole": math.nan, "search_s": 1.25}}}
    t = ranking_table(ranking)
    row = dict(zip(t.columns, t.rows[0], strict=True))
    assert row["Spearman top-2"] == row["Spearman all"] == row["Speed-up"] == DASH
    assert (row["Epochs"], row["Images stored"], row["Search (s)"]) == ("3", "6", "1.2")
    assert t.title == "NAS proxies on toy: s (4 candidates)"
