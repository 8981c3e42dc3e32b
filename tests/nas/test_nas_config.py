"""NASConfig validation, task files and the CLI's one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from dcbench.cli import cli
from dcbench.config import load
from dcbench.errors import DcbenchError
from dcbench.nas import DEFAULT_PROXIES, NASConfig
from dcbench.tasks.runners import RunOptions
from dcbench.tasks.spec import load_task_file, run_task

REPO = Path(__file__).resolve().parents[2]
TOY = "toy:classes=3:per_class=12:test_per_class=10:size=16x16"  # as in conftest.py


def test_defaults_and_preset_values() -> None:
    c = load(NASConfig, {})
    assert c.space == "convnet-grid-small" and c.dataset == "fashion-mnist"
    assert c.proxies == list(DEFAULT_PROXIES) and c.top_k == 10 and c.ipc == 10
    assert c.all_proxies()[-1] == "whole"
    quick = c.resolved()
    assert (quick["epochs"], quick["whole_epochs"], quick["whole_per_class"],
            quick["test_per_class"]) == (100, 8, 500, 200)
    paper = load(NASConfig, {"preset": "paper", "space": "convnet-grid"}).resolved()
    assert (paper["epochs"], paper["whole_per_class"], paper["test_per_class"]) == (100, 0, 0)
    assert load(NASConfig, {"epochs": 7, "proxies": "random, herding"}).resolved()[
        "proxies"] == ["random", "herding", "whole"]


@pytest.mark.parametrize("settings, words", [
    ({"colour": 1, "size": 2}, "unknown keys colour, size (known: address, cache"),
    ({"space": "convnet-grid-tiny"}, "unknown search space 'convnet-grid-tiny'"),
    ({"proxies": ["random", "magic"]}, "unknown proxy 'magic'; known: condensed"),
    ({"proxies": ["random", "random"]}, "listed twice"),
    ({"top_k": 16}, "top-k 16 is larger than the search space (15 candidates)"),
    ({"top_k": 1}, "top_k: must be at least 2"),
    ({"epochs": 0}, "epochs: must be at least 1"),
    ({"ipc": "ten"}, "ipc: must be an integer"),
    ({"seeds": [0, "a"]}, "seeds: must be an integer (got 'a')"),
    ({"method_settings": {"dc": {"iters": 5}}}, "unknown key dc.iters"),
    ({"executor": "slurm"}, "unknown executor 'slurm'; known: local, ray"),
    ({"address": "ray://x:1"}, "only the ray executor"),
    ({"preset": "fast"}, "unknown preset 'fast'"),
    ({"condensed_set": "/no/such/set.pt"}, "no file at /no/such/set.pt"),
    ({"space": {"grid": {"width": [8]}, "extra": 1}}, "space.extra: unknown key"),
])
def test_bad_settings_fail_in_one_line(settings, words) -> None:
    with pytest.raises(DcbenchError) as info:
        load(NASConfig, settings)
    msg = str(info.value)
    assert words in msg and "\n" not in msg, msg


def _task(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "nas-x.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_task_file_presets_and_overrides_merge(tmp_path: Path) -> None:
    raw = {"kind": "nas", "description": "d", "expected_time": {"quick": "1", "paper": "2"},
           "space": {"grid": {"width": [8, 16]}}, "epochs": 3, "top_k": 2,
           "presets": {"quick": {"epochs": 4}, "paper": {"space": "convnet-grid"}}}
    task = load_task_file(_task(tmp_path, raw))
    quick = task.config("quick", {"space.grid.depth": [1, 2], "top_k": 3,
                                  "dc.iterations": 7})
    assert quick.epochs == 4 and quick.preset == "quick" and quick.top_k == 3
    assert quick.space == {"grid": {"width": [8, 16], "depth": [1, 2]}}
    assert quick.method_settings == {"dc": {"iterations": 7}}
    paper = task.config("paper")
    assert paper.space == "convnet-grid" and paper.preset == "paper"
    with pytest.raises(DcbenchError, match="no preset 'medium'"):
        task.config("medium")


@pytest.mark.parametrize("path", sorted((REPO / "tasks").glob("nas-*.yaml")),
                         ids=lambda p: p.name)
def test_task_files_validate(path: Path) -> None:
    task = load_task_file(path)  # validates every preset
    assert task.kind == "nas" and isinstance(task.config("quick"), NASConfig)


def test_a_nas_task_file_runs(results_root: Path, tmp_path: Path) -> None:
    raw = {"kind": "nas", "description": "tiny", "expected_time": {"quick": "1 s", "paper": "1"},
           "space": {"grid": {"width": [8, 16], "depth": [1], "pool": ["avg"]}},
           "dataset": TOY, "ipc": 1, "proxies": ["random"], "top_k": 2, "epochs": 2,
           "whole_epochs": 2, "whole_per_class": 0, "test_per_class": 0, "quiet": True,
           "presets": {"quick": {}, "paper": {}}}
    task = load_task_file(_task(tmp_path, raw))
    result = run_task(task, "quick", {"seeds": [0, 1]},
                      RunOptions(threads=1, quiet=True, echo=lambda _: None))
    ranking = json.loads((result.run_dir / "ranking.json").read_text())
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
