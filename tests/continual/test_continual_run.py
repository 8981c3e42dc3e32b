"""End to end on generated data: every protocol, the run directory, resume, CLI errors."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest
import torch
import yaml
from click.testing import CliRunner

from dcbench import parallel
from dcbench.cli import cli
from dcbench.config import load
from dcbench.continual import runner
from dcbench.continual.config import ContinualConfig
from dcbench.continual.metrics import average_forgetting
from dcbench.errors import DcbenchError

OUTPUTS = ("config.json", "manifest.json", "metrics.json", "summary.csv", "table.md",
           "accuracy_vs_step.png")


def run_continual_task(data: dict, **options):
    """A mapping of settings, loaded and run as every entry point does."""
    config = load(ContinualConfig, {k: v for k, v in data.items() if k != "kind"})
    return runner.run_experiment(config, **options)


def _matrices(metrics: dict) -> dict:
    return {b: {s: u["accuracy_matrix"] for s, u in v["seeds"].items()}
            for b, v in metrics["buffers"].items()}


def test_cli_gdumb_end_to_end_writes_the_run_directory(tiny, tmp_path: Path) -> None:
    task = tmp_path / "task.yaml"
    task.write_text(yaml.safe_dump({"kind": "continual", **tiny}))
    out = tmp_path / "run"
    result = CliRunner().invoke(cli, [
        "run", "continual", "--task", str(task), "--buffer", "condensed,herding,random",
        "--seeds", "0,1", "--out", str(out), "--quiet",
    ])
    assert result.exit_code == 0, result.output
    assert "| condensed (dc) | 8 |" in result.output
    for name in OUTPUTS:
        assert (out / name).is_file(), name
    assert sorted(p.name for p in (out / "memory").iterdir()) == [
        "condensed-seed0.png", "herding-seed0.png", "random-seed0.png"]
    metrics = json.loads((out / "metrics.json").read_text())
    unit = metrics["buffers"]["condensed"]["seeds"]["1"]
    assert unit["memory_size"] == [4, 8]
    matrix = unit["accuracy_matrix"]
    assert matrix[0][1] is None and all(0 <= v <= 100 for v in matrix[1])
    assert unit["final_average_accuracy"] == pytest.approx(sum(matrix[1]) / 2)
    summary = metrics["buffers"]["herding"]["summary"]
    assert summary["seeds"] == [0, 1] and summary["final_average_accuracy"]["n"] == 2
    rows = list(csv.DictReader((out / "summary.csv").open()))
    assert [r["buffer"] for r in rows] == ["condensed", "herding", "random"]
    with (out / "accuracy" / "random-seed0.csv").open() as f:
        assert next(csv.reader(f))[:3] == ["step", "exp0", "exp1"]
    config = json.loads((out / "config.json").read_text())
    assert config["training_protocol"]["epochs"] == 2
    assert config["method_settings_resolved"]["dc"]["iterations"] == 1
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "continual" and manifest["steps_run"] == 12
    assert manifest["step_compute_time_s"] > 0 and manifest["estimate_s"] > 0
    state = torch.load(out / "state/condensed/seed0/step01.pt", weights_only=True)
    assert state["memory"]["images"].shape == (8, 1, 16, 16) and state["model"] is None


@pytest.mark.parametrize(("protocol", "buffers"), [("replay", ["random", "none"]),
                                                   ("replay+kd", ["condensed", "reservoir"])])
def test_replay_protocols_end_to_end(tiny, tmp_path: Path, protocol, buffers) -> None:
    tiny.update(protocol=protocol, buffers=buffers)
    result = run_continual_task(tiny, out=tmp_path / "run", quiet=True)
    assert result.steps_run == 4
    for b in buffers:
        unit = result.metrics["buffers"][b]["seeds"]["0"]
        assert len(unit["accuracy_matrix"]) == 2
    none_or_res = result.metrics["buffers"][buffers[1]]["seeds"]["0"]["memory_size"]
    assert none_or_res == ([0, 0] if "none" in buffers else [8, 8])
    state = torch.load(tmp_path / "run/state" / buffers[0] / "seed0/step00.pt",
                       weights_only=True)
    assert state["model"] is not None  # replay continues from the previous model


def test_interrupted_run_resumes_at_the_next_step(tiny, tmp_path: Path, monkeypatch) -> None:
    tiny.update(experiences=2, buffers=["condensed"], protocol="replay+kd")
    config = load(ContinualConfig, tiny)
    clean = runner.run_experiment(config, out=tmp_path / "clean", quiet=True)

    real_step = runner.run_step

    def crash_at_step_1(*args, **kwargs):
        if args[4] == 1:
            raise KeyboardInterrupt
        return real_step(*args, **kwargs)

    monkeypatch.setattr(runner, "run_step", crash_at_step_1)
    with pytest.raises(KeyboardInterrupt):
        runner.run_experiment(config, out=tmp_path / "resumed", quiet=True)
    state_dir = tmp_path / "resumed/state/condensed/seed0"
    assert sorted(p.name for p in state_dir.iterdir()) == ["step00.pt"]
    monkeypatch.setattr(runner, "run_step", real_step)
    resumed = runner.run_experiment(config, out=tmp_path / "resumed", quiet=True)
    assert (resumed.steps_run, resumed.steps_skipped) == (1, 1)
    assert _matrices(resumed.metrics) == _matrices(clean.metrics)
    for name in ("step00.pt", "step01.pt"):
        a = torch.load(tmp_path / "clean/state/condensed/seed0" / name, weights_only=True)
        b = torch.load(state_dir / name, weights_only=True)
        assert torch.equal(a["memory"]["images"], b["memory"]["images"])
    again = runner.run_experiment(config, out=tmp_path / "resumed", quiet=True)
    assert (again.steps_run, again.steps_skipped) == (0, 2)


def test_resume_may_add_buffers_but_not_change_settings(tiny, tmp_path: Path) -> None:
    tiny.update(buffers=["random"])
    out = tmp_path / "run"
    run_continual_task(tiny, out=out, quiet=True)
    more = run_continual_task({**tiny, "buffers": ["reservoir"]}, out=out, quiet=True)
    assert set(more.metrics["buffers"]) == {"random", "reservoir"} and more.steps_run == 2
    with pytest.raises(DcbenchError, match="other settings .*ipc: 2 → 1"):
        run_continual_task({**tiny, "ipc": 1}, out=out, quiet=True)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "x.txt").write_text("x")
    with pytest.raises(DcbenchError, match="not a continual run directory"):
        run_continual_task(tiny, out=tmp_path / "other", quiet=True)


def test_resume_refuses_a_preset_that_changed_since_the_run_began(tiny, tmp_path: Path) -> None:
    """The identity names the preset; the settings it resolved to are checked too, so a
    release that changes a preset never mixes two settings in one run's steps."""
    import json

    tiny.update(buffers=["condensed"], experiences=2)
    out = tmp_path / "run"
    run_continual_task(tiny, out=out, quiet=True)
    record = json.loads((out / "config.json").read_text())
    now = record["method_settings_resolved"]["dc"]["lr_img"]
    record["method_settings_resolved"]["dc"]["lr_img"] = now * 5  # as an older preset had it
    record["method_settings_resolved"]["dc"]["compile"] = True  # neutral: no difference
    (out / "config.json").write_text(json.dumps(record))
    with pytest.raises(DcbenchError, match=rf"other dc settings .*lr_img: {now * 5} → {now}"):
        run_continual_task(tiny, out=out, quiet=True)
    record["method_settings_resolved"]["dc"]["lr_img"] = now
    (out / "config.json").write_text(json.dumps(record))
    again = run_continual_task(tiny, out=out, quiet=True)
    assert again.steps_run == 0


def test_fresh_run_directory_under_results_continual(tiny, tmp_path: Path) -> None:
    tiny.update(buffers=["random"], experiences=1, dataset="toy:classes=2:per_class=4:"
                "test_per_class=2:size=16x16",
                training={"augment": "crop_scale_rotate", "lr": 0.02})
    result = run_continual_task(tiny, quiet=True)
    assert result.metrics["training_protocol"]["augment"] == "crop_scale_rotate"
    assert result.metrics["training_protocol"]["lr"] == 0.02
    assert result.run_dir.parent == tmp_path / "results" / "continual"
    assert str(result) == str(result.run_dir)
    unit = result.metrics["buffers"]["random"]["seeds"]["0"]
    assert unit["average_forgetting"] is None  # undefined for one experience


def test_worker_runs_a_unit_like_the_main_process(tiny, tmp_path: Path) -> None:
    tiny.update(buffers=["random"])
    config = load(ContinualConfig, tiny)
    a = runner.run_experiment(config, out=tmp_path / "a", quiet=True)
    out_b = tmp_path / "b"
    out_b.mkdir()
    assert runner._worker(config.to_dict(), str(out_b), "random", 0, 1, "cpu", None,
                          False) == (2, 0)
    b = torch.load(out_b / "state/random/seed0/step01.pt", weights_only=True)
    ref = torch.load(a.run_dir / "state/random/seed0/step01.pt", weights_only=True)
    assert b["correct"] == ref["correct"]


class _InlinePool:
    """ProcessPoolExecutor's interface, running each unit in this process (no spawn cost)."""

    def __init__(self, max_workers=None, mp_context=None, initializer=None, initargs=()):
        self.max_workers = max_workers
        if initializer is not None:
            initializer(*initargs)

    def shutdown(self, wait=True, cancel_futures=False):
        pass

    def submit(self, fn, *args):
        from concurrent.futures import Future

        future: Future = Future()
        try:
            future.set_result(fn(*args))
        except BaseException as exc:  # noqa: BLE001 (handed to the caller, as a pool does)
            future.set_exception(exc)
        return future


def _parallel_vs_one(tiny, tmp_path: Path) -> None:
    tiny.update(buffers=["random", "reservoir"])
    config = load(ContinualConfig, tiny)
    one = runner.run_experiment(config, out=tmp_path / "one", quiet=True)
    two = runner.run_experiment(config, out=tmp_path / "two", quiet=True, jobs=2, threads=1)
    assert two.steps_run == 4 and _matrices(two.metrics) == _matrices(one.metrics)
    manifest = json.loads((two.run_dir / "manifest.json").read_text())
    assert manifest["jobs"] == 2


def test_parallel_jobs_orchestration(tiny, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(parallel, "ProcessPoolExecutor", _InlinePool)
    _parallel_vs_one(tiny, tmp_path)


@pytest.mark.skipif(not os.environ.get("DCBENCH_TEST_SPAWN"),
                    reason="spawns 2 processes importing Avalanche (~30-60 s on 2 busy cores); "
                           "set DCBENCH_TEST_SPAWN=1")
def test_parallel_jobs_in_spawned_processes(tiny, tmp_path: Path) -> None:
    _parallel_vs_one(tiny, tmp_path)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--ipc", "0"], "ipc: must be at least 1"),
        (["--buffer", "condensed,foo"], "unknown buffer 'foo'"),
        (["--protocol", "ewc"], "unknown protocol 'ewc'"),
        (["--experiences", "9"], "9 experiences need at least 9 classes"),
        (["--ipc", "50"], "ipc 50 is larger than"),
        (["--set", "bogus=1"], "unknown key bogus"),
        (["--set", "dc.bogus=1"], "unknown key dc.bogus"),
        (["--model", "convnet:depth=zero"], "depth"),
    ],
)
def test_bad_input_is_a_one_line_error(tmp_path: Path, args, message) -> None:
    out = tmp_path / "run"
    result = CliRunner().invoke(cli, [
        "run", "continual", "--dataset", "toy:classes=4:per_class=12:test_per_class=6",
        "--experiences", "2", "--ipc", "2", *args, "--quiet", "--out", str(out),
    ])
    assert result.exit_code != 0
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error:") and message in lines[0], lines
    assert not out.exists()  # nothing is created before the input is checked


def test_keyboard_interrupt_names_the_resume_command(tmp_path: Path, monkeypatch) -> None:
    def interrupted(config, echo=None, **kwargs):
        echo(f"run directory: {tmp_path / 'r'}")
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "run_experiment", interrupted)
    result = CliRunner().invoke(cli, ["run", "continual", "--quiet"])
    assert result.exit_code == 130
    assert f"--out {tmp_path / 'r'}" in result.output


def test_average_forgetting_is_chaudhrys() -> None:
    rows = [[90.0], [70.0, 80.0], [60.0, 85.0, 75.0]]
    # exp0: max(90, 70) - 60 = 30; exp1: max(80) - 85 = -5 -> mean 12.5
    assert average_forgetting(rows) == pytest.approx(12.5)
    assert average_forgetting([[50.0]]) != average_forgetting([[50.0]])  # NaN


def test_dataset_sequence_end_to_end_with_stand_ins(tiny, tmp_path: Path, monkeypatch) -> None:
    """SVHN → MNIST → USPS shapes (3×32×32, 1×28×28, 1×16×16) on generated stand-ins."""
    from dcbench.continual import sequence
    from dcbench.data import make_toy_dataset

    shapes = {"svhn": (3, (32, 32)), "mnist": (1, (28, 28)), "usps": (1, (16, 16))}

    def fake_load(name, root=None, download=False):
        c, size = shapes[name]
        return make_toy_dataset(3, 6, 3, channels=c, image_size=size, seed=len(name))

    monkeypatch.setattr(sequence, "load_dataset", fake_load)
    tiny.pop("dataset")
    tiny.update(sequence=["svhn", "mnist", "usps"], protocol="replay+kd", buffers=["condensed"],
                ipc=1)
    result = run_continual_task(tiny, out=tmp_path / "run", quiet=True)
    unit = result.metrics["buffers"]["condensed"]["seeds"]["0"]
    assert unit["classes_per_experience"] == [[0, 1, 2]] * 3
    assert unit["memory_size"] == [3, 6, 9]  # ipc per (dataset, class) seen
    state = torch.load(tmp_path / "run/state/condensed/seed0/step02.pt", weights_only=True)
    assert state["memory"]["images"].shape == (9, 3, 32, 32)
    assert len(unit["accuracy_matrix"][2]) == 3


def test_protocols_are_registered_records() -> None:
    from dcbench.continual.protocols import PROTOCOLS

    assert PROTOCOLS.names() == ["gdumb", "replay", "replay+kd"]
    assert [PROTOCOLS.get(n).needs_previous_model for n in PROTOCOLS.names()] == [
        False, True, True]
