"""``dcbench run <task file>``: dispatch by kind, reuse of finished work, dry runs."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from dcbench.cli import cli
from dcbench.report import load_evaluations

TOY = "toy:classes=3:per_class=8:test_per_class=4:size=16x16"
TINY = {
    "kind": "condense",
    "description": "Two random sets of a tiny toy dataset, each evaluated on one small model.",
    "expected_time": {"quick": "seconds", "paper": "seconds"},
    "dataset": TOY,
    "methods": ["random"],
    "ipc": [1],
    "evaluation": {"models": ["convnet:depth=1:width=4"], "num_models": 1, "epochs": 2},
    "presets": {"quick": {"seeds": [0, 1]}, "paper": {"seeds": [0]}},
}


@pytest.fixture
def results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "results"
    monkeypatch.setenv("DCBENCH_RESULTS", str(root))
    return root


def write(tmp_path: Path, data: dict, name: str) -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    return path


def run(*args: str):
    return CliRunner().invoke(cli, ["run", *args, "--quiet", "--threads", "1",
                                    "--device", "cpu"])


def test_condense_task_runs_then_reuses_everything(tmp_path: Path, results: Path) -> None:
    path = write(tmp_path, TINY, "condense-tiny.yaml")
    res = run(str(path))
    assert res.exit_code == 0, res.output
    assert res.output.count("saved: ") == 2 and res.output.count("results: ") == 2
    evals = load_evaluations(results)
    assert sorted(evals["seed"]) == [0, 1]  # evaluation seed = the set's seed by default
    assert set(evals["eval_seed"]) == {0, 1} and set(evals["preset"]) == {"quick"}
    again = run(str(path))
    assert again.exit_code == 0, again.output
    assert again.output.count("set exists: ") == 2
    assert again.output.count("evaluated already: ") == 2
    assert len(list((results / "evaluate").iterdir())) == 2
    # a different protocol is a new evaluation; the sets are still reused
    third = run(str(path), "--set", "evaluation.num_models=2", "--set", "seeds=[0]")
    assert third.exit_code == 0, third.output
    assert "set exists: " in third.output and "evaluated already" not in third.output
    assert len(list((results / "evaluate").iterdir())) == 3


def test_dry_run_changes_nothing(tmp_path: Path, results: Path) -> None:
    path = write(tmp_path, TINY, "condense-tiny.yaml")
    res = run(str(path), "--dry-run", "--preset", "paper")
    assert res.exit_code == 0, res.output
    assert "[1/1] condense " in res.output and "to condense; to evaluate" in res.output
    assert not results.exists()


def test_evaluate_task(tmp_path: Path, results: Path) -> None:
    assert run(str(write(tmp_path, {**TINY, "presets": {"quick": {"seeds": [0]},
                                                        "paper": {}}}, "condense-a.yaml"))
               ).exit_code == 0
    task = {"kind": "evaluate", "description": "Evaluate every toy set again.",
            "expected_time": {"quick": "s", "paper": "s"},
            "sets": [str(results / "condense" / "*" / "set.pt")],
            "evaluation": {"models": ["mlp"], "num_models": 1, "epochs": 1},
            "presets": {"quick": {}, "paper": {"evaluation": {"num_models": 2}}}}
    path = write(tmp_path, task, "evaluate-all.yaml")
    res = run(str(path))
    assert res.exit_code == 0, res.output
    assert set(load_evaluations(results)["model"]) == {"convnet:depth=1:width=4", "mlp"}
    missing = write(tmp_path, {**task, "sets": [str(tmp_path / "none" / "*.pt")]},
                    "evaluate-none.yaml")
    res = run(str(missing))
    assert res.exit_code == 1 and "sets: nothing matches" in res.output


@pytest.mark.parametrize("kind", ["continual", "nas"])
def test_applications_are_dispatched(kind: str, tmp_path: Path, results: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """continual/nas files go to their packages' run_*_task with the raw mapping, the preset
    and the overrides (stand-in modules here, so this does not depend on those packages)."""
    calls: dict = {}

    class Config:
        @classmethod
        def from_dict(cls, d):
            if "bad" in d:
                from dcbench.errors import DcbenchError

                raise DcbenchError("bad: unknown key")
            calls.setdefault("validated", []).append(dict(d))
            return cls()

    def run_task(config_dict, preset=None, overrides=None, options=None):
        calls["run"] = (config_dict, preset, overrides, options)
        return tmp_path / "run-dir"

    module = types.ModuleType(f"dcbench.{kind}.config")
    setattr(module, "ContinualConfig" if kind == "continual" else "NASConfig", Config)
    setattr(module, f"run_{kind}_task", run_task)
    monkeypatch.setitem(sys.modules, f"dcbench.{kind}.config", module)
    data = {"kind": kind, "description": "A stand-in.", "expected_time": {"quick": "s",
                                                                          "paper": "s"},
            "alpha": 1, "presets": {"quick": {"beta": 2}, "paper": {"beta": 3}}}
    path = write(tmp_path, data, f"{kind}-x.yaml")
    res = run(str(path), "--preset", "paper", "--set", "gamma=4")
    assert res.exit_code == 0, res.output
    raw, preset, overrides, options = calls["run"]
    assert raw["presets"] == data["presets"] and preset == "paper"
    assert overrides == {"gamma": 4} and options.threads == 1 and options.quiet
    assert {"alpha": 1, "beta": 3, "gamma": 4, "preset": "paper"} in calls["validated"]
    assert f"results: {tmp_path / 'run-dir'}" in res.output
    res = run(str(path), "--set", "bad=1")
    assert res.exit_code == 1 and "bad: unknown key" in res.output
