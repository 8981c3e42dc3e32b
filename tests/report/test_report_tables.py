"""Tables from fixture runs match hand-computed means and stds."""

from __future__ import annotations

import math
import shutil
import statistics
from pathlib import Path

import pytest
from click.testing import CliRunner

from dcbench.cli import cli
from dcbench.report import (
    aggregate,
    build_report,
    continual_table,
    cross_arch_table,
    load_evaluations,
    nas_table,
    reproducibility_table,
    table1,
    table1_frame,
    table1_tables,
)
from dcbench.report.render import NOT_RUN, fmt_stat
from dcbench.report.reproducibility import Ours, verdict


@pytest.fixture(scope="module")
def evals(fixture_results: Path):
    return load_evaluations(fixture_results)


def test_table1_pools_seeds_with_sample_std(evals) -> None:
    agg = aggregate(evals).set_index(["dataset", "method", "ipc", "preset"])
    r = agg.loc[("fashion-mnist", "random", 1, "quick")]
    assert r["n"] == 4 and r["sets"] == 2 and r["seeds"] == [0, 1]
    assert r["mean"] == pytest.approx(53.0)
    assert r["std"] == pytest.approx(statistics.stdev([50, 52, 54, 56]))  # 2.582
    d = agg.loc[("fashion-mnist", "dc", 1, "quick")]
    assert (d["n"], d["mean"], d["std"]) == (3, pytest.approx(71.0), pytest.approx(1.0))
    assert d["condense_time_s"] == pytest.approx(600.0)
    h = agg.loc[("fashion-mnist", "herding", 10, "paper")]
    assert (h["n"], h["mean"], h["std"]) == (2, 60.0, 0.0)


def test_table1_cells_and_renderings(evals) -> None:
    t = table1(evals, "quick")
    row = next(r for r in t.rows if r[:2] == ["FashionMNIST", "1"])
    cells = dict(zip(t.columns, row, strict=True))
    assert cells["Random (ours)"] == "53.0 ± 2.6 (n=4)"
    assert cells["Random (paper)"] == "51.4 ± 3.8"
    assert cells["DC (ours)"] == "71.0 ± 1.0 (n=3)"
    assert cells["DC (paper)"] == "70.5 ± 0.6"
    assert cells["Herding (ours)"] == NOT_RUN  # herding ran in the paper preset only
    assert cells["Whole data (paper)"] == "93.5 ± 0.1"
    assert [r[0] for r in t.rows] == ["FashionMNIST"] * 3  # only datasets that ran
    md, tex = t.markdown(), t.latex()
    assert "| FashionMNIST | 1 | 53.0 ± 2.6 (n=4) | 51.4 ± 3.8 |" in md
    assert "Preset `quick`" in md and "n = synthetic sets × models" in md
    assert "53.0 $\\pm$ 2.6 (n=4)" in tex and "\\begin{tabular}" in tex
    frame = table1_frame(evals, "quick").set_index(["method", "ipc"])
    assert frame.loc[("random", 1), "diff"] == pytest.approx(53.0 - 51.4)
    assert [x.name for x in table1_tables(evals)] == ["table1-paper", "table1-quick"]
    paper = table1(evals, "paper")
    row10 = next(r for r in paper.rows if r[:2] == ["FashionMNIST", "10"])
    assert dict(zip(paper.columns, row10, strict=True))["Herding (ours)"] == "60.0 ± 0.0 (n=2)"


def test_table1_without_runs_is_all_not_yet_run(evals) -> None:
    t = table1(evals.iloc[0:0], "paper")
    assert len(t.rows) == 12  # 4 datasets × 3 ipc
    assert all(r[2] == NOT_RUN for r in t.rows)


def test_cross_architecture_table(evals) -> None:
    t = cross_arch_table(evals)
    assert t.rows[0][0].startswith("paper: MNIST") and t.rows[0][2] == "69.6 ± 1.6"
    ours = next(r for r in t.rows if r[0] == "ours: FashionMNIST, DC, ipc 1")
    cells = dict(zip(t.columns, ours, strict=True))
    assert cells["MLP"] == f"61.0 ± {math.sqrt(2):.1f} (n=2)"
    assert cells["ConvNet"] == "71.0 ± 1.0 (n=3)"
    assert cells["ResNet18"] == NOT_RUN
    assert all("Random" not in r[0] for r in t.rows)  # evaluated on the ConvNet only


def test_continual_and_nas_tables(fixture_results: Path) -> None:
    t = continual_table(fixture_results)
    ours = {r[2]: dict(zip(t.columns, r, strict=True)) for r in t.rows
            if r[0].startswith("ours")}
    # condensed: seeds 0, 1 -> 80, 82 | 70, 72 | 60, 62
    dc = ours["condensed (dc)"]
    assert [dc["Step 1"], dc["Step 2"], dc["Step 3"]] == [
        fmt_stat(81.0, math.sqrt(2)), fmt_stat(71.0, math.sqrt(2)), fmt_stat(61.0, math.sqrt(2))]
    assert dc["Final"] == fmt_stat(61.0, math.sqrt(2))
    assert dc["Forgetting"] == fmt_stat(5.5, math.sqrt(0.5))
    assert dc["Seeds"] == "2" and dc["Setting"] == "fashion-mnist, gdumb, preset quick"
    assert ours["herding"]["Step 1"] == fmt_stat(71.0, math.sqrt(2))
    assert any(r[1] == "SVHN → MNIST → USPS, with KD" and r[2] == "DC" and r[5] == "95.2"
               for r in t.rows)
    n = nas_table(fixture_results)
    rows = {r[1]: r for r in n.rows if r[0].startswith("ours")}
    assert rows["DC (condensed)"][2:7] == ["90.0", "1.00", "1.00", "1.00", "2.0"]
    assert rows["Random"][2:6] == ["85.0", "0.50", "0.40", "0.33"]
    assert "fashion-mnist, 4 ConvNets, k=3" in rows["Random"][0]
    assert any(r[0].startswith("paper") and r[1] == "DC" and r[3] == "0.79" for r in n.rows)


def test_verdicts() -> None:
    assert verdict(None, 70.5, 0.6) == NOT_RUN
    assert verdict(Ours(71.0, 1.0, 3, "paper", []), 70.5, 0.6) == "reproduced"
    assert verdict(Ours(66.0, 0.5, 3, "paper", []), 70.5, 0.6) == "within 5 points (below)"
    assert verdict(Ours(73.2, 0.1, 3, "quick", []), 70.5, 0.1) == \
        "within 3 points (above), quick preset"
    # a wide spread counts: |53 - 51.4| < sqrt(3.8² + 2.6²)
    assert verdict(Ours(53.0, 2.6, 4, "paper", []), 51.4, 3.8) == "reproduced"
    assert verdict(Ours(0.5, None, 1, None, []), 0.79, tolerance=0.1, unit="",
                   digits=2).startswith("within 0.29")


def test_reproducibility_rows(evals, fixture_results: Path) -> None:
    t = reproducibility_table(evals, fixture_results)
    rows = {(r[0], r[1]): r for r in t.rows}
    r = rows[("Table 1", "FashionMNIST, Random, ipc 1")]
    assert r[2:5] == ["51.4 ± 3.8", "53.0 ± 2.6", "quick, n=4"]
    assert r[6] == "reproduced, quick preset"
    assert "dcbench" in r[5]
    h = rows[("Table 1", "FashionMNIST, Herding, ipc 10")]
    assert h[6] == "within 12 points (below)"  # 60.0 vs 71.1 ± 0.7
    assert rows[("Table 1", "MNIST, DC, ipc 1")][3:] == [NOT_RUN, "", "", NOT_RUN]
    assert rows[("Table 2", "MNIST, DC ipc 1 → MLP")][6] == NOT_RUN
    # our continual/NAS fixture runs are on Fashion-MNIST: shown, but no verdict
    cl = rows[("Continual (Fig. 4)", "DC without KD, after stage 2")]
    assert cl[6] == "other setting" and cl[3].startswith("71.0 ± 1.4 (other setting: ")
    assert rows[("Continual (Fig. 4)", "Herding with KD, after stage 3")][3].startswith("51.0")
    nas = rows[("NAS (Table 4)", "DC: Spearman (top-10)")]
    assert nas[6] == "other setting" and nas[3].startswith("1.00 (other setting: fashion-mnist")
    assert rows[("NAS (Table 4)", "Early-stopping: Spearman (top-10)")][6] == NOT_RUN
    assert len(t.rows) == 60 + 6 + 8 + 10


def test_build_report_writes_everything_and_removes_stale(fixture_results: Path,
                                                          tmp_path: Path) -> None:
    root = tmp_path / "results"
    shutil.copytree(fixture_results, root)
    result = build_report(root)
    names = {p.name for p in result.written}
    for stem in ("table1-quick", "table1-paper", "cross-architecture", "continual", "nas"):
        assert {f"{stem}.md", f"{stem}.tex"} <= names
    for stem in ("synthetic-sets-fashion-mnist-quick", "synthetic-sets-fashion-mnist-paper",
                 "accuracy-vs-time-fashion-mnist", "continual-20260101-000000-fmnist-cl",
                 "nas-scatter-20260101-000000-fmnist-nas"):
        assert {f"{stem}.png", f"{stem}.pdf"} <= names
    assert all(p.stat().st_size > 0 for p in result.written)
    repro = (tmp_path / "REPRODUCIBILITY.md").read_text()
    assert "| Table 1 | FashionMNIST, Random, ipc 1 | 51.4 ± 3.8 | 53.0 ± 2.6 |" in repro
    assert result.problems == []
    # remove the paper-preset runs: their table and grid disappear on the next report
    shutil.rmtree(root / "condense" / "fashion-mnist-herding-ipc10-paper-seed0")
    shutil.rmtree(root / "evaluate" / "20260101-000005-herding")
    again = build_report(root)
    assert not (root / "tables" / "table1-paper.md").exists()
    assert not (root / "figures" / "synthetic-sets-fashion-mnist-paper.png").exists()
    assert {p.name for p in again.removed} >= {"table1-paper.md", "table1-paper.tex"}


def test_report_command(fixture_results: Path, tmp_path: Path) -> None:
    root, out = tmp_path / "results", tmp_path / "out"
    shutil.copytree(fixture_results / "nas", root / "nas")  # one run: one figure, quick
    res = CliRunner().invoke(cli, ["report", "--results", str(root), "--out", str(out),
                                   "--strict"])
    assert res.exit_code == 0, res.output
    assert (out / "REPRODUCIBILITY.md").is_file() and (out / "tables" / "nas.tex").is_file()
    assert (out / "figures" / "nas-scatter-20260101-000000-fmnist-nas.pdf").is_file()
    assert "1 runs read" in res.output
    (root / "nas" / "broken").mkdir()
    (root / "nas" / "broken" / "manifest.json").write_text('{"kind": "nas"}')
    res = CliRunner().invoke(cli, ["report", "--results", str(root), "--out", str(out),
                                   "--strict"])
    assert res.exit_code == 1 and "schema problem" in res.output
    res = CliRunner().invoke(cli, ["report", "--results", str(tmp_path / "none")])
    assert res.exit_code != 0 and "no results folder" in res.output
