"""``dcbench methods``: presets' settings from the method configs, measured lines from the
results folder (never typed)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from dcbench.cli import cli
from dcbench.condense.dc import DCConfig
from dcbench.report.condensation import aggregate
from dcbench.report.evaluations import load_evaluations
from dcbench.report.methods import measured, preset_summary


def test_preset_summary_groups_equal_ipcs() -> None:
    text = preset_summary(DCConfig, "quick")
    assert text.startswith("ipc 1: iterations=100 outer_loop=1 inner_loop=1")
    assert "ipc 10,50: iterations=20 outer_loop=5 inner_loop=10 batch_real=128" in text


def test_measured_lines_are_the_results_pooled_numbers(fixture_results: Path) -> None:
    lines = measured(fixture_results)
    agg = aggregate(load_evaluations(fixture_results))
    row = agg[(agg["method"] == "random") & (agg["preset"] == "quick")].iloc[0]
    (line,) = lines[("random", "quick")]
    assert f"{row['mean']:.1f} ± {row['std']:.1f} (n={int(row['n'])})" in line
    out = CliRunner().invoke(cli, ["methods", "--results", str(fixture_results)])
    assert out.exit_code == 0, out.output
    assert f"measured: {line}" in out.output and "mean ± sample std" in out.output
    bare = CliRunner().invoke(cli, ["methods", "--results", str(fixture_results / "nothing")])
    assert bare.exit_code == 0 and "measured:" not in bare.output


def test_paper_preset_hours_come_from_the_speed_benchmark(tmp_path: Path) -> None:
    import json

    bench = tmp_path / "bench"
    bench.mkdir()
    (bench / "cli_speed.json").write_text(json.dumps({
        "threads": 2, "dc": {"10": {"cli": {"seconds_per_iteration": 120.0}}},
        "paper_preset_seconds_per_iteration": {"dm ipc 10": {
            "seconds_per_iteration": 1.8, "paper_iterations": 20000}}}))
    out = CliRunner().invoke(cli, ["methods", "--results", str(tmp_path / "none"),
                                   "--benchmarks", str(bench)])
    assert out.exit_code == 0, out.output
    assert "expected: ipc 10: 33.3 h here (1000 × 120.00 s/iteration, 2 threads" in out.output
    assert "expected: ipc 10: 10.0 h here (20000 × 1.80 s/iteration" in out.output
    bare = CliRunner().invoke(cli, ["methods", "--benchmarks", str(tmp_path / "none")])
    assert bare.exit_code == 0 and "expected:" not in bare.output


def _preset_speed(bench: Path, settings: dict) -> None:
    import json

    bench.mkdir(exist_ok=True)
    (bench / "preset_speed.json").write_text(json.dumps({
        "preset": "quick", "threads": 2, "sets": {"dc ipc 10": {
            "method": "dc", "ipc": 10, "timed_iterations": 3, "process_wall_s": 90.0,
            "seconds_per_iteration": 15.0, "settings": settings}}}))


def test_quick_preset_minutes_extrapolate_the_timed_command(tmp_path: Path) -> None:
    import dataclasses

    now = dataclasses.asdict(DCConfig.preset("quick", 10))
    _preset_speed(tmp_path / "bench", {**now, "iterations": 3})
    out = CliRunner().invoke(cli, ["methods", "--results", str(tmp_path / "none"),
                                   "--benchmarks", str(tmp_path / "bench")])
    assert out.exit_code == 0, out.output
    minutes = (90.0 + (now["iterations"] - 3) * 15.0) / 60
    assert (f"expected: ipc 10: {minutes:.1f} min here alone ({now['iterations']} × 15.00 "
            "s/iteration + start-up, 2 threads") in out.output


def test_quick_preset_minutes_measured_with_other_settings_are_left_out(tmp_path: Path) -> None:
    import dataclasses

    now = dataclasses.asdict(DCConfig.preset("quick", 10))
    _preset_speed(tmp_path / "bench", {**now, "iterations": 3,
                                       "batch_real": now["batch_real"] * 2})
    out = CliRunner().invoke(cli, ["methods", "--results", str(tmp_path / "none"),
                                   "--benchmarks", str(tmp_path / "bench")])
    assert out.exit_code == 0, out.output
    assert "min here alone" not in out.output
