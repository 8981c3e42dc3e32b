"""README's measured table is generated between its markers, from the report's own tables."""

from __future__ import annotations

import json
from pathlib import Path

from dcbench.report.build import all_tables
from dcbench.report.readme import BEGIN, END, measured_block, update_readme
from dcbench.report.runs import load_evaluations


def test_the_block_is_replaced_between_the_markers_only(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\nbefore\n{BEGIN}\nold numbers\n{END}\nafter\n")
    assert update_readme(readme, f"{BEGIN}\nnew numbers\n{END}")
    assert readme.read_text() == f"# x\n\nbefore\n{BEGIN}\nnew numbers\n{END}\nafter\n"
    plain = tmp_path / "OTHER.md"
    plain.write_text("no markers\n")
    assert not update_readme(plain, f"{BEGIN}\nnew\n{END}")
    assert plain.read_text() == "no markers\n"


def test_rows_come_from_the_results_and_benchmarks(fixture_results: Path, tmp_path: Path) -> None:
    evals = load_evaluations(fixture_results)
    bench = tmp_path / "bench"
    bench.mkdir()
    (bench / "dc_speed.json").write_text(json.dumps({"threads": 2, "results": [
        {"ipc": 1, "speedup": 2.5, "losses_match": True}]}))
    block = measured_block(all_tables(fixture_results, evals), bench)
    assert block.startswith(BEGIN) and block.endswith(END)
    table1 = next(t for t in all_tables(fixture_results, evals) if t.name == "table1-quick")
    dc = table1.data[(table1.data["method"] == "dc") & (table1.data["n"] > 0)].iloc[0]
    assert f"DC {dc['mean']:.1f} ± {dc['std']:.1f} (n={int(dc['n'])}" in block
    assert "2.50× at ipc 1, same matching loss" in block
    assert "Final: condensed" in block  # the continual fixture run's final accuracy
