"""Condense and evaluate runs read as frames (dcbench.report.evaluations)."""

from __future__ import annotations

import json
from pathlib import Path

from dcbench.report.evaluations import _device_text, load_evaluations
from dcbench.report.runs import Run


def test_evaluations_long_form_and_dedupe(fixture_results: Path, fixture_runs) -> None:
    evals = load_evaluations(fixture_results)
    # 2 + 2 random, 2 + 2 dc (the repeated evaluation counts once), 2 herding
    assert len(evals) == 10
    dc = evals[(evals["method"] == "dc") & (evals["model"] == "convnet")]
    assert list(dc["accuracy"]) == fixture_runs.accuracies("dc_again")
    again = fixture_runs.evals["dc_again"]
    assert set(dc["run_id"]) == {f"evaluate/{again.name}"}  # the newest kept
    assert len(load_evaluations(fixture_results, dedupe=False)) == 14
    assert evals["condense_command"].str.startswith("dcbench condense ").all()
    assert evals["command"].str.startswith("dcbench evaluate ").all()
    assert evals["condense_time_s"].notna().all() and set(evals["epochs"]) == {2}


def test_a_larger_evaluation_supersedes_the_models_it_trains_again(fixture_runs, tmp_path,
                                                                    monkeypatch) -> None:
    """Model i's seeds derive from (seed, spec, i) alone: 3 models after 2 are 3, not 5."""
    import shutil

    import torch
    from click.testing import CliRunner

    from dcbench.cli import cli

    root = tmp_path / "results"
    shutil.copytree(fixture_runs.root, root)
    out = root / "evaluate" / "99990101-000000-toy-dc-more"
    threads = torch.get_num_threads()
    monkeypatch.setenv("DCBENCH_RESULTS", str(root))
    result = CliRunner().invoke(cli, [
        "evaluate", str(fixture_runs.sets["dc"]), "--models", "convnet", "--num-models", "3",
        "--epochs", "2", "--seed", "0", "--out", str(out), "--quiet", "--threads", "1",
        "--device", "cpu"])
    torch.set_num_threads(threads)
    assert result.exit_code == 0, result.output
    evals = load_evaluations(root)
    dc = evals[(evals["method"] == "dc") & (evals["model"] == "convnet")]
    assert sorted(dc["index"]) == [0, 1, 2] and set(dc["run_id"]) == {f"evaluate/{out.name}"}
    assert set(dc["device"]) == {"cpu"}
    mine = json.loads((out / "metrics.json").read_text())["models"]["convnet"]["accuracies"]
    assert mine[:2] == fixture_runs.accuracies("dc_again")  # the same two models again
    assert len(load_evaluations(root, dedupe=False)) == 14 + 3


def test_the_device_names_the_gpu_that_trained_the_models() -> None:
    gpu = {"environment": {"machine": {"cuda": "NVIDIA H100 80GB HBM3"}}}
    assert _device_text(Run(Path("r"), "evaluate", gpu, config={"device": "cuda"})) == \
        "cuda (NVIDIA H100 80GB HBM3)"
    assert _device_text(Run(Path("r"), "evaluate", gpu, config={"device": "cpu"})) == "cpu"
    assert _device_text(Run(Path("r"), "evaluate", None)) == "cpu"  # older runs: no record
