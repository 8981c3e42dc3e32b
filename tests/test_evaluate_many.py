"""benchmarks/evaluate_many.py: many shipped `dcbench evaluate` processes up to a deadline."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from dcbench.condense import CondenseRequest, condense
from dcbench.data import load_dataset

TOY = "toy:classes=3:per_class=8:test_per_class=4:size=16x16"
SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "evaluate_many.py"


def _module():
    spec = importlib.util.spec_from_file_location("evaluate_many", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks itself up there
    spec.loader.exec_module(module)
    return module


def test_jobs_run_the_shipped_command_and_report_their_run(tmp_path: Path, monkeypatch,
                                                           capsys) -> None:
    sset = condense("random", CondenseRequest(load_dataset(TOY), ipc=1, progress=False))
    set_path = sset.save(tmp_path / "random" / "set.pt")
    jobs = tmp_path / "jobs.txt"
    jobs.write_text(f"# one set\n{set_path} 2  # two models\n")
    monkeypatch.setenv("DCBENCH_RESULTS", str(tmp_path / "results"))
    many = _module()
    assert many.main([str(jobs), "--parallel", "2", "--deadline-s", "300", "--",
                      "--device", "cpu", "--epochs", "1", "--set", "compile=false"]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    summary = json.loads(line)
    assert summary["returncode"] == 0 and summary["num_models"] == 2
    metrics = json.loads((Path(summary["run"]) / "metrics.json").read_text())
    assert len(metrics["models"]["convnet"]["accuracies"]) == 2
    manifest = json.loads((Path(summary["run"]) / "manifest.json").read_text())
    assert manifest["command"].startswith(f"dcbench evaluate {set_path} --num-models 2")


def test_a_deadline_leaves_jobs_unstarted_and_fails(tmp_path: Path, capsys) -> None:
    jobs = tmp_path / "jobs.txt"
    jobs.write_text("a/set.pt 3\n")
    assert _module().main([str(jobs), "--deadline-s", "0"]) == 1
    assert json.loads(capsys.readouterr().out)["not_started"] is True


def test_a_malformed_line_is_named(tmp_path: Path) -> None:
    jobs = tmp_path / "jobs.txt"
    jobs.write_text("a/set.pt three\n")
    with pytest.raises(SystemExit, match="jobs.txt:1: expected 'SET NUM_MODELS'"):
        _module().main([str(jobs)])
