"""The command line: one-line errors with nothing left behind, and condense -> evaluate runs.

Most cases run in-process with click's CliRunner; a few run the installed ``dcbench`` script
in a real subprocess to check exit codes and that stderr carries no traceback.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from dcbench import cli as cli_module
from dcbench.cli import cli
from dcbench.condense import CondenseRequest, condense
from dcbench.data import load_dataset

pytestmark = pytest.mark.usefixtures("one_thread")

TOY = "toy:classes=3:per_class=10:test_per_class=10:size=16"
MODEL = "convnet:width=8:depth=1"
DC_SETS = ["--set", f"dc.model={MODEL}", "--set", "dc.iterations=2", "--set", "dc.compile=false"]
FAST = ["--quiet", "--threads", "1", "--device", "cpu"]
EVAL = ["--models", MODEL, "--num-models", "2", "--epochs", "3"]


@pytest.fixture
def saved_set(tmp_path: Path) -> Path:
    """A valid set file for the toy spec, made without the CLI."""
    sset = condense("random", CondenseRequest(load_dataset(TOY), ipc=1, progress=False))
    return sset.save(tmp_path / "given" / "set.pt")


def files_under(root: Path) -> list[Path]:
    return sorted(root.rglob("*")) if root.exists() else []


def assert_one_line_error(result, results: Path) -> str:
    assert result.exit_code != 0, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error")]
    assert len(errors) == 1, result.stderr
    assert files_under(results) == []  # no result file or directory left behind
    return errors[0]


CONDENSE_ERRORS = {
    "unknown dataset": (["--dataset", "nosuchdata"], "unknown dataset 'nosuchdata'"),
    "unknown method": (["--method", "nosuchmethod"], "unknown condensation method"),
    "budget of a coreset": (["--method", "random", "--budget-minutes", "5"],
                            "random does not iterate"),
    "zero budget": (["--budget-minutes", "0"], "budget_minutes: must be positive"),
    "unknown model": (["--set", "dc.model=nosuchnet", "--set", "dc.compile=false"],
                      "unknown model"),
    "bad model option": (["--set", "dc.model=convnet:depth=0"], "depth"),
    "old --set spelling still checked": (["--set", "model=convnet:depth=0"], "depth"),
    "ipc larger than a class": (["--ipc", "11"], "larger than class"),
    "bad --set key": (["--set", "nosuchkey=1"], "unknown key nosuchkey"),
    "bad method setting": (["--set", "dc.nosuchkey=1"], "unknown key dc.nosuchkey"),
    "bad --set value": (["--set", "dc.iterations=abc"], "dc.iterations: must be an integer"),
    "bad --set number": (["--set", "dc.lr_img=-1"], "lr_img must be positive"),
    "--set without =": (["--set", "dc.iterations"], "not KEY=VALUE"),
    "bad preset": (["--preset", "slow"], "slow"),
    "zero threads": (["--threads", "0"], "--threads must be at least 1"),
}


@pytest.mark.parametrize("case", list(CONDENSE_ERRORS))
def test_condense_errors_are_one_line(case: str, invoke, results: Path) -> None:
    args, expected = CONDENSE_ERRORS[case]
    base = ["condense", "--dataset", TOY, "--ipc", "1", *FAST]
    line = assert_one_line_error(invoke(*base, *args), results)
    assert expected in line


EVALUATE_ERRORS = {
    "missing set file": ("missing", [], "no synthetic set at"),
    "corrupt set file": ("corrupt", [], "cannot read synthetic set"),
    "not a set": ("foreign", [], "is not a dcbench synthetic set"),
    "unknown model": ("good", ["--models", "nosuchnet"], "unknown model 'nosuchnet'"),
    "bad model spec": ("good", ["--models", "convnet:width"], "bad model spec"),
    "zero epochs": ("good", ["--epochs", "0"], "epochs: must be at least 1"),
    "bad protocol setting": ("good", ["--set", "momentun=0.5"], "unknown key momentun"),
    "unknown augmentation": ("good", ["--augment", "mixup"], "unknown augmentation"),
}


@pytest.mark.parametrize("case", list(EVALUATE_ERRORS))
def test_evaluate_errors_are_one_line(
    case: str, invoke, results: Path, saved_set: Path, tmp_path: Path
) -> None:
    which, args, expected = EVALUATE_ERRORS[case]
    path = {
        "good": saved_set,
        "missing": tmp_path / "nowhere" / "set.pt",
        "corrupt": tmp_path / "corrupt.pt",
        "foreign": tmp_path / "foreign.pt",
    }[which]
    if which == "corrupt":
        path.write_bytes(saved_set.read_bytes()[:300])
    if which == "foreign":
        torch.save({"state_dict": {"w": torch.zeros(2)}}, path)
    line = assert_one_line_error(invoke("evaluate", str(path), *EVAL, *FAST, *args), results)
    assert expected in line


def test_evaluate_out_errors_are_one_line(invoke, results: Path, saved_set: Path,
                                          tmp_path: Path) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    line = assert_one_line_error(
        invoke("evaluate", str(saved_set), *EVAL, *FAST, "--out", str(a_file / "run")), results)
    assert "cannot use" in line and "is a file" in line
    line = assert_one_line_error(invoke("evaluate", str(saved_set), str(saved_set), *EVAL, *FAST,
                                        "--out", str(tmp_path / "run")), results)
    assert "--out names one run directory" in line
    assert not (tmp_path / "run").exists()


def test_device_resolution() -> None:
    from dcbench.device import resolve_device
    from dcbench.errors import DcbenchError

    assert resolve_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected and resolve_device(None).type == expected
    with pytest.raises(DcbenchError, match="unknown device"):
        resolve_device("tpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_cuda_is_a_one_line_error(invoke, results: Path, saved_set: Path) -> None:
    line = assert_one_line_error(
        invoke("condense", "--dataset", TOY, "--ipc", "1", "--quiet", "--device", "cuda"),
        results,
    )
    assert "CUDA" in line
    line = assert_one_line_error(
        invoke("evaluate", str(saved_set), *EVAL, "--quiet", "--device", "cuda"), results
    )
    assert "CUDA" in line


def test_condense_then_evaluate(invoke, results: Path) -> None:
    args = ["condense", "--dataset", TOY, "--method", "dc", "--ipc", "2", "--seed", "4",
            *DC_SETS, *FAST]
    first = invoke(*args)
    assert first.exit_code == 0, first.output
    assert first.stdout.startswith("saved: ")
    set_path = Path(first.stdout.split("saved: ", 1)[1].strip())
    run_dir = set_path.parent
    assert run_dir.parent == results / "condense" and run_dir.name.startswith("toy-")
    assert "-dc-ipc2-quick-seed4-" in run_dir.name
    assert sorted(p.name for p in run_dir.iterdir()) == [
        "config.json", "manifest.json", "set.png", "set.pt"]
    obj = torch.load(set_path, weights_only=True)
    assert obj["images"].shape == (6, 1, 16, 16) and obj["meta"]["seed"] == 4
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["command"] and manifest["seeds"] == [4]
    assert manifest["environment"]["torch"] == torch.__version__
    assert manifest["environment"]["dcbench"] and manifest["wall_time_s"] >= 0
    assert manifest["config"]["settings"]["iterations"] == 2

    again = invoke(*args)
    assert again.exit_code == 0 and again.stdout.startswith("already done: ")
    assert sorted(p.name for p in run_dir.iterdir()) == [
        "config.json", "manifest.json", "set.png", "set.pt"]

    out_dirs = []
    for _ in range(2):
        ev = invoke("evaluate", str(set_path), *EVAL, *FAST)
        assert ev.exit_code == 0, ev.output
        assert MODEL in ev.stdout and "(n=2)" in ev.stdout
        out_dirs.append(Path(ev.stdout.split("results: ", 1)[1].strip()))
    assert out_dirs[0] != out_dirs[1]  # a fresh run directory each time
    out = out_dirs[0]
    assert out.parent == results / "evaluate"
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "manifest.json", "metrics.csv",
                                                      "metrics.json"]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["set"]["method"] == "dc" and metrics["set"]["path"] == str(set_path)
    assert metrics["protocol"]["epochs"] == 3 and metrics["protocol"]["augment"] == "none"
    assert metrics["protocol"]["reported"].startswith("final-epoch")
    accs = metrics["models"][MODEL]["accuracies"]
    rows = list(csv.DictReader(io.StringIO((out / "metrics.csv").read_text())))
    assert [(r["model"], int(r["run"])) for r in rows] == [(MODEL, 0), (MODEL, 1)]
    assert [float(r["accuracy"]) for r in rows] == pytest.approx(accs, abs=1e-4)
    ev_manifest = json.loads((out / "manifest.json").read_text())
    assert ev_manifest["kind"] == "evaluate" and ev_manifest["seeds"] == [0]
    assert ev_manifest["config"]["models"] == [MODEL]


def test_condense_into_an_explicit_out_and_with_other_settings(
    invoke, results: Path, tmp_path: Path
) -> None:
    out = tmp_path / "mine"
    base = ["condense", "--dataset", TOY, "--method", "random", "--ipc", "1", *FAST]
    assert invoke(*base, "--out", str(out)).exit_code == 0
    assert (out / "set.pt").is_file() and files_under(results) == []
    other = invoke(*base, "--seed", "1", "--out", str(out))
    assert other.exit_code == 1 and "other settings" in other.stderr


def test_listing_commands(invoke) -> None:
    top = invoke("--help")
    assert top.exit_code == 0 and "condense" in top.output and "evaluate" in top.output
    methods = invoke("methods")
    assert methods.exit_code == 0
    assert {"dc", "random", "herding", "kcenter", "forgetting"} <= {
        line.split()[0] for line in methods.output.splitlines()
    }
    assert "convnet" in invoke("models").output and "toy" in invoke("data", "list").output
    info = invoke("data", "info", TOY)
    assert info.exit_code == 0 and json.loads(info.output)["num_classes"] == 3


def test_ctrl_c_exits_130_with_a_resume_hint(monkeypatch, capsys) -> None:
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_module.cli, "main", interrupted)
    with pytest.raises(SystemExit) as info:
        cli_module.main()
    assert info.value.code == 130 and "resume" in capsys.readouterr().err


# -- the real executable ---------------------------------------------------------------------
DCBENCH = Path(sys.executable).parent / "dcbench"


def run_dcbench(*args: str, cwd: Path, results: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "DCBENCH_RESULTS": str(results), "OMP_NUM_THREADS": "1"}
    return subprocess.run([str(DCBENCH), *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


@pytest.mark.skipif(not DCBENCH.exists(), reason="the dcbench script is not installed")
def test_real_subprocess_condense_evaluate_and_an_error(tmp_path: Path) -> None:
    """Three processes only: each pays torch's import (seconds on the loaded test machine)."""
    results = tmp_path / "results"
    args = ["condense", "--dataset", TOY, "--method", "random", "--ipc", "2", *FAST]
    done = run_dcbench(*args, cwd=tmp_path, results=results)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and done.stdout.startswith("saved: ")
    set_path = Path(done.stdout.split("saved: ", 1)[1].strip())
    if not set_path.is_absolute():
        set_path = tmp_path / set_path
    manifest = json.loads((set_path.parent / "manifest.json").read_text())
    assert manifest["command"].startswith("dcbench condense --dataset")

    ev = run_dcbench("evaluate", str(set_path), *EVAL, *FAST, cwd=tmp_path, results=results)
    assert ev.returncode == 0, ev.stderr
    assert "Traceback" not in ev.stderr and "results: " in ev.stdout
    (run_dir,) = (results / "evaluate").iterdir()
    assert {p.name for p in run_dir.iterdir()} == {"config.json", "manifest.json", "metrics.csv",
                                                   "metrics.json"}

    before = files_under(results)
    bad = run_dcbench("evaluate", str(tmp_path / "missing.pt"), *FAST, cwd=tmp_path,
                      results=results)
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert bad.stderr.strip().splitlines() == [f"Error: no synthetic set at {tmp_path}/missing.pt"]
    assert files_under(results) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results"]  # nothing written to cwd


@pytest.mark.parametrize("where", ["out under a file", "results under /proc"])
def test_unusable_output_locations_fail_in_one_line_before_work(where: str, tmp_path: Path,
                                                                 saved_set: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    runner = CliRunner()
    if where == "out under a file":
        env, extra = {}, ["--out", str(blocker / "run")]
    else:
        env, extra = {"DCBENCH_RESULTS": "/proc/dcbench-results"}, []
    res = runner.invoke(cli, ["condense", "--dataset", TOY, "--method", "random", "--ipc", "1",
                              *FAST, *extra], env=env)
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert res.exit_code == 1 and len(lines) == 1 and lines[0].startswith("Error: cannot ")
    assert "Traceback" not in res.output and not (blocker.parent / "run").exists()
    if where == "results under /proc":
        res = runner.invoke(cli, ["evaluate", str(saved_set), *EVAL, *FAST], env=env)
        assert res.exit_code == 1 and res.output.startswith("Error: cannot create /proc")


def test_evaluate_several_sets_pools_sets_times_models(invoke, results: Path, saved_set: Path,
                                                        tmp_path: Path) -> None:
    copy = tmp_path / "copy" / "set.pt"
    copy.parent.mkdir()
    copy.write_bytes(saved_set.read_bytes())
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"oops")
    res = invoke("evaluate", str(saved_set), str(copy), str(bad), *EVAL, *FAST)
    assert res.exit_code == 1 and "cannot read synthetic set" in res.output
    assert not (results / "evaluate").exists()  # every set is checked before any training
    res = invoke("evaluate", str(saved_set), str(tmp_path / "c*" / "set.pt"), *EVAL, *FAST)
    assert res.exit_code == 0, res.output
    runs = sorted((results / "evaluate").iterdir())
    assert len(runs) == 2
    accs = [json.loads((r / "metrics.json").read_text())["models"][MODEL]["accuracies"]
            for r in runs]
    pooled = [a for run in accs for a in run]
    import statistics

    line = res.output.strip().splitlines()[-1]
    assert line.startswith(MODEL) and "(n=4 = 2 sets x models, sample std)" in line
    assert f"{statistics.fmean(pooled):6.2f} ± {statistics.stdev(pooled):.2f}" in line
