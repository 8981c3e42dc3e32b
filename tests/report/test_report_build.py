"""``build_report``: every table and figure from a results tree, stale outputs removed; the
figures the run writers saved are the report's figures of those runs, byte for byte."""

from __future__ import annotations

import shutil
from pathlib import Path

from dcbench.report import build_report


def test_build_report_writes_everything_and_removes_stale(fixture_results: Path,
                                                          fixture_runs, tmp_path: Path) -> None:
    root = tmp_path / "results"
    shutil.copytree(fixture_results, root)
    result = build_report(root)
    names = {p.name for p in result.written}
    for stem in ("table1-quick", "table1-paper", "cross-architecture", "continual", "nas"):
        assert {f"{stem}.md", f"{stem}.tex"} <= names
    continual, nas = fixture_runs.continual.name, fixture_runs.nas.name
    toy = "toy-classes-3-per_class-8-test_per_class-4-size-16x16"
    for stem in (f"synthetic-sets-{toy}-quick", f"synthetic-sets-{toy}-paper",
                 f"accuracy-vs-time-{toy}", f"continual-{continual}", f"nas-scatter-{nas}"):
        assert {f"{stem}.png", f"{stem}.pdf"} <= names
    assert all(p.stat().st_size > 0 for p in result.written)
    figures = root / "figures"
    assert (figures / f"continual-{continual}.png").read_bytes() == \
        (fixture_runs.continual / "accuracy_vs_step.png").read_bytes()
    assert (figures / f"nas-scatter-{nas}.png").read_bytes() == \
        (fixture_runs.nas / "scatter.png").read_bytes()
    repro = (tmp_path / "REPRODUCIBILITY.md").read_text()
    assert "| Table 1 | FashionMNIST, Random, ipc 1 | 51.4 ± 3.8 | not yet run |" in repro
    assert "| Continual (Fig. 4) | DC without KD, after stage 2 | 92.4 |" in repro
    assert result.problems == []
    # remove the paper-preset runs: their table and grid disappear on the next report
    herding = fixture_runs.sets["herding"].parent
    shutil.rmtree(root / "condense" / herding.name)
    shutil.rmtree(root / "evaluate" / fixture_runs.evals["herding"].name)
    again = build_report(root)
    assert not (root / "tables" / "table1-paper.md").exists()
    assert not (figures / f"synthetic-sets-{toy}-paper.png").exists()
    assert {p.name for p in again.removed} >= {"table1-paper.md", "table1-paper.tex"}
