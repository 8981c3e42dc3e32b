"""NASConfig validation, task files and the CLI's one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from dcbench.cli import cli
from dcbench.errors import DcbenchError
from dcbench.nas import DEFAULT_PROXIES, NASConfig, run_nas_task
from dcbench.nas.config import resolve_task_dict

REPO = Path(__file__).resolve().parents[2]
TOY = "toy:classes=3:per_class=12:test_per_class=10:size=16x16"  # as in conftest.py


def test_defaults_and_preset_values() -> None:
    c = NASConfig.from_dict({})
    assert c.space == "convnet-grid-small" and c.dataset == "fashion-mnist"
    assert c.proxies == list(DEFAULT_PROXIES) and c.top_k == 10 and c.ipc == 10
    assert c.all_proxies()[-1] == "whole"
    quick = c.resolved()
    assert (quick["epochs"], quick["whole_epochs"], quick["whole_per_class"],
            quick["test_per_class"]) == (100, 8, 500, 200)
    paper = NASConfig.from_dict({"preset": "paper", "space": "convnet-grid"}).resolved()
    assert (paper["epochs"], paper["whole_per_class"], paper["test_per_class"]) == (100, 0, 0)
    assert NASConfig.from_dict({"epochs": 7, "proxies": "random, herding"}).resolved()[
        "proxies"] == ["random", "herding", "whole"]


@pytest.mark.parametrize("settings, words", [
    ({"colour": 1}, "colour: unknown key; known: space, proxies"),
    ({"space": "convnet-grid-tiny"}, "unknown search space 'convnet-grid-tiny'"),
    ({"proxies": ["random", "magic"]}, "unknown proxy 'magic'; known: condensed"),
    ({"proxies": ["random", "random"]}, "listed twice"),
    ({"top_k": 16}, "top-k 16 is larger than the search space (15 candidates)"),
    ({"top_k": 1}, "top_k: must be at least 2"),
    ({"epochs": 0}, "epochs: must be at least 1"),
    ({"ipc": "ten"}, "ipc: must be an integer"),
    ({"seeds": [0, "a"]}, "seeds: must be an integer or a list"),
    ({"executor": "slurm"}, "unknown executor 'slurm'; known: local, ray"),
    ({"address": "ray://x:1"}, "only the ray executor"),
    ({"preset": "fast"}, "unknown preset 'fast'"),
    ({"kind": "continual"}, "this is a nas task"),
    ({"condensed_set": "/no/such/set.pt"}, "no file at /no/such/set.pt"),
    ({"space": {"grid": {"width": [8]}, "extra": 1}}, "space.extra: unknown key"),
])
def test_bad_settings_fail_in_one_line(settings, words) -> None:
    with pytest.raises(DcbenchError) as info:
        NASConfig.from_dict(settings)
    msg = str(info.value)
    assert words in msg and "\n" not in msg, msg


def test_task_dict_resolution_merges_preset_and_overrides() -> None:
    raw = {"kind": "nas", "description": "d", "expected_time": {"quick": "1", "paper": "2"},
           "space": {"grid": {"width": [8, 16]}}, "epochs": 3,
           "presets": {"quick": {"epochs": 4}, "paper": {"space": "convnet-grid"}}}
    quick = resolve_task_dict(raw, "quick", {"space.grid.depth": [1, 2], "top_k": 2})
    assert quick["epochs"] == 4 and quick["preset"] == "quick"
    assert quick["space"] == {"grid": {"width": [8, 16], "depth": [1, 2]}}
    assert NASConfig.from_dict(quick).top_k == 2
    paper = resolve_task_dict(raw, "paper", None)
    assert paper["space"] == "convnet-grid" and paper["preset"] == "paper"
    with pytest.raises(DcbenchError, match="no preset 'medium'"):
        resolve_task_dict(raw, "medium", None)


@pytest.mark.parametrize("path", sorted((REPO / "tasks").glob("nas-*.yaml")),
                         ids=lambda p: p.name)
def test_task_files_validate(path: Path) -> None:
    spec = pytest.importorskip("dcbench.tasks.spec", reason="the task loader is not installed")
    task = spec.load_task_file(path)  # validates every preset
    assert task.kind == "nas"


def test_run_nas_task_on_a_raw_task(results_root: Path) -> None:
    raw = {"kind": "nas", "description": "tiny", "expected_time": {"quick": "1 s"},
           "space": {"grid": {"width": [8, 16], "depth": [1], "pool": ["avg"]}},
           "dataset": TOY, "ipc": 1, "proxies": ["random"], "top_k": 2, "epochs": 2,
           "whole_epochs": 2, "whole_per_class": 0, "test_per_class": 0, "quiet": True,
           "presets": {"quick": {}}}
    out = run_nas_task(raw, "quick", {"seeds": [0, 1]})
    ranking = json.loads((out / "ranking.json").read_text())
    assert ranking["seeds"] == [0, 1] and ranking["preset"] == "quick"
    assert ranking["proxies"]["random"]["units"] == 4


def _invoke(*args: str):
    return CliRunner().invoke(cli, ["run", "nas", *args])


@pytest.mark.parametrize("args, words", [
    (["--space", "nope"], "unknown search space 'nope'"),
    (["--proxy", "random,magic"], "unknown proxy 'magic'"),
    (["--top-k", "99"], "top-k 99 is larger than the search space (15 candidates)"),
    (["--workers", "0"], "workers: must be at least 1"),
    (["--seeds", "a,b"], "is not a comma-separated list of integers"),
])
def test_cli_bad_input_is_a_one_line_error(args, words) -> None:
    result = _invoke(*args)
    assert result.exit_code != 0
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert words in result.output and lines[-1].startswith("Error:"), result.output
    assert "Traceback" not in result.output


def test_cli_runs_the_small_grid_on_toy_data(results_root: Path) -> None:
    result = _invoke("--space", "convnet-grid-small", "--dataset", TOY, "--proxy", "random",
                     "--ipc", "1", "--epochs", "1", "--whole-epochs", "1",
                     "--whole-per-class", "4", "--test-per-class", "5", "--top-k", "5",
                     "--threads", "1", "--device", "cpu", "--quiet")
    assert result.exit_code == 0, result.output
    assert "rho top-5" in result.output and "units: 30 run, 0 from the cache" in result.output
    run_dir = Path(result.output.strip().splitlines()[-1].split("results: ")[1])
    ranking = json.loads((run_dir / "ranking.json").read_text())
    assert ranking["space"]["size"] == 15 and ranking["test_images"] == 15
    assert ranking["proxies"]["whole"]["images_stored"] == 12
