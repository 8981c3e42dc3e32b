"""README's measured table is generated between its markers, from the report's own tables."""

from __future__ import annotations

import json
from pathlib import Path

from dcbench.report.build import all_tables
from dcbench.report.evaluations import load_evaluations
from dcbench.report.readme import BEGIN, END, measured_block, update_readme


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
    assert dc["condense_min"] > 0  # each row says how long its set took to condense
    assert f"(n={int(dc['n'])}, {dc['condense_min']:.1f} min" in block
    assert "2.50× at ipc 1, same matching loss" in block
    paper = evals.assign(preset=evals["preset"].where(evals["method"] != "dc", "paper"))
    with_paper = measured_block(all_tables(fixture_results, paper), bench)
    assert "ConvNet, ipc 1, paper preset | DC " in with_paper  # a paper-preset run has its row
    assert "ipc 1, paper preset" not in block
    assert "Final: condensed" in block  # the continual fixture run's final accuracy


def test_shipped_command_speed_and_paper_preset_hours_come_from_cli_speed(
    tmp_path: Path,
) -> None:
    bench = tmp_path / "bench"
    bench.mkdir()
    (bench / "cli_speed.json").write_text(json.dumps({
        "threads": 2,
        "dc": {"1": {"cli": {"seconds_per_iteration": 1.8}, "authors": {
            "seconds_per_iteration": 9.0}, "speedup": 5.0,
            "cli_bf16": {"seconds_per_iteration": 1.5}, "speedup_bf16": 6.0}},
        "paper_preset_seconds_per_iteration": {"dm ipc 10": {
            "seconds_per_iteration": 0.36, "paper_iterations": 20000}},
        "evaluate": {"cli": {"train_s": 30.0}, "authors": {"train_s": 90.0}, "speedup": 3.0}}))
    block = measured_block([], bench)
    assert "DC ipc 1: 1.80 vs 9.00 s/iteration (5.00×)" in block
    assert "dc.precision=bf16 1.50 s (6.00×)" in block
    assert "evaluation training 30 vs 90 s (3.00×)" in block
    assert "DC ipc 1: 0.5 h (authors' loop 2.5 h)" in block  # 1000 iterations
    assert "DM ipc 10: 2.0 h (20000 × 0.36 s)" in block


def test_the_parallel_evaluation_row_comes_from_its_benchmark(tmp_path: Path) -> None:
    bench = tmp_path / "bench"
    bench.mkdir()
    assert "--jobs 2" not in measured_block([], bench)
    (bench / "eval_parallel.json").write_text(json.dumps({"results": [
        {"set": "results/condense/fashion-mnist-dc-ipc10-quick-seed0/set.pt", "models": 4,
         "threads": {"wall_s": 300.4}, "processes": {"wall_s": 200.2}, "speedup": 1.5}]}))
    block = measured_block([], bench)
    assert "`--jobs 2 --threads 1` vs `--threads 2`" in block
    assert "4 models, DC ipc 10: 300 → 200 s (1.50×)" in block


def test_the_quick_preset_row_comes_from_its_benchmark(tmp_path: Path) -> None:
    import dataclasses

    from dcbench.condense.dm import DMConfig

    bench = tmp_path / "bench"
    bench.mkdir()
    assert "preset set, run alone" not in measured_block([], bench)
    now = dataclasses.asdict(DMConfig.preset("quick", 10))
    (bench / "preset_speed.json").write_text(json.dumps({"preset": "quick", "threads": 2,
        "sets": {"dm ipc 10": {"method": "dm", "ipc": 10, "timed_iterations": 40,
                               "process_wall_s": 60.0, "seconds_per_iteration": 0.5,
                               "settings": {**now, "iterations": 40}}}}))
    block = measured_block([], bench)
    minutes = (60.0 + (now["iterations"] - 40) * 0.5) / 60
    assert "One quick-preset set, run alone (2 threads" in block
    assert f"DM ipc 10: {minutes:.1f} min ({now['iterations']} × 0.50 s)" in block


def test_the_make_run_row_comes_from_its_benchmark(tmp_path: Path) -> None:
    bench = tmp_path / "bench"
    bench.mkdir()
    assert "`make run`" not in measured_block([], bench)
    (bench / "make_run.json").write_text(json.dumps({
        "commit": "abcdef0123", "setup_s": 120.0, "run_s": 480.0, "condense_s": 330.0,
        "evaluate_s": 102.0, "accuracy_mean": 69.5, "accuracy_std": 0.4, "models": 5}))
    block = measured_block([], bench)
    assert ("10.0 min: setup 2.0 min, condensation 5.5 min, evaluation 1.7 min; ConvNet "
            "69.50 ± 0.40 (n=5) at commit abcdef0") in block
