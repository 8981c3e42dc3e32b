"""A bad task file or override fails with one line naming the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from dcbench.cli import cli
from dcbench.tasks.spec import TaskError, load_task_file

GOOD = {
    "kind": "condense",
    "description": "A tiny task.",
    "expected_time": {"quick": "1 s", "paper": "2 s"},
    "dataset": "toy",
    "methods": ["random"],
    "ipc": [1],
    "evaluation": {"models": ["convnet:depth=1:width=8"], "num_models": 1, "epochs": 2},
    "presets": {"quick": {"seeds": [0]}, "paper": {"seeds": [0, 1]}},
}


def write(tmp_path: Path, data: dict, name: str = "condense-x.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return path


def with_(**changes) -> dict:
    data = yaml.safe_load(yaml.safe_dump(GOOD))
    for key, value in changes.items():
        node = data
        *parents, last = key.split("__")
        for p in parents:
            node = node[p]
        if value is ...:
            del node[last]
        else:
            node[last] = value
    return data


def test_good_file_loads(tmp_path: Path) -> None:
    task = load_task_file(write(tmp_path, GOOD))
    assert task.name == "condense-x" and task.kind == "condense"
    cfg = task.config("paper")
    assert cfg.seeds == [0, 1] and cfg.evaluation.protocol.epochs == 2
    assert cfg.units() == [("toy", "random", 1, 0), ("toy", "random", 1, 1)]


@pytest.mark.parametrize("data, message", [
    (with_(ipcs=[1]), "unknown key 'ipcs'"),
    (with_(ipcs=[1], colour=2, description=...),
     "unknown keys 'colour', 'ipcs'; missing key 'description'"),
    (with_(presets__quick={"seedz": [0]}), "(preset quick): unknown key seedz"),
    (with_(evaluation__epoch=3), "unknown key evaluation.epoch"),
    (with_(evaluation__num_models=0), "evaluation.num_models: must be at least 1"),
    (with_(evaluation__models=["convnet:depth=x"]), "evaluation.models:"),
    (with_(evaluation__augment="blur"), "unknown augmentation 'blur'"),
    (with_(ipc=[0]), "ipc: every value must be at least 1"),
    (with_(ipc="ten"), "ipc: must be an integer (got 'ten')"),
    (with_(methods=["dc", "magic"]), "methods: unknown condensation method 'magic'"),
    (with_(dataset="imagenet"), "dataset: unknown dataset 'imagenet'"),
    (with_(method_settings={"random": {"x": 1}}), "unknown key random.x"),
    (with_(method_settings={"dcc": {}}), "method_settings.dcc: not a method of this run"),
    (with_(condense_preset="slow"), "condense_preset: unknown preset 'slow'"),
    (with_(kind="train"), "kind: unknown kind 'train'"),
    (with_(description=...), "missing key 'description'"),
    (with_(expected_time={"quick": "1 s"}), "expected_time.paper: missing"),
    (with_(presets={"quick": {}}), "presets: the 'paper' preset is missing"),
    (with_(presets__paper={"kind": "nas"}), "presets.paper.kind: not allowed inside a preset"),
    (with_(methods=...), "missing key methods"),
])
def test_bad_files_name_the_key(tmp_path: Path, data: dict, message: str) -> None:
    path = write(tmp_path, data)
    with pytest.raises(TaskError) as info:
        load_task_file(path)
    text = str(info.value)
    assert message in text and str(path) in text
    assert "\n" not in text


def test_not_yaml_and_not_a_mapping(tmp_path: Path) -> None:
    bad = tmp_path / "condense-bad.yaml"
    bad.write_text("kind: [condense\n")
    with pytest.raises(TaskError, match="not valid YAML"):
        load_task_file(bad)
    bad.write_text("- 1\n- 2\n")
    with pytest.raises(TaskError, match="a task file is a YAML mapping"):
        load_task_file(bad)
    with pytest.raises(TaskError, match="no task file at"):
        load_task_file(tmp_path / "missing.yaml")


def test_overrides_merge_and_validate(tmp_path: Path) -> None:
    task = load_task_file(write(tmp_path, GOOD))
    cfg = task.config("quick", {"evaluation.num_models": 3, "ipc": [1, 2]})
    assert cfg.evaluation.protocol.num_models == 3 and cfg.evaluation.protocol.epochs == 2
    assert cfg.ipc == [1, 2]
    with pytest.raises(TaskError, match=r"with --set\): evaluation.lr: must be positive"):
        task.config("quick", {"evaluation.lr": 0})
    with pytest.raises(TaskError, match="'kind' cannot be overridden"):
        task.config("quick", {"kind": "nas"})
    with pytest.raises(TaskError, match="ipc: must be an integer"):
        task.config("quick", {"ipc.x": 1})


def test_narrowing_the_methods_keeps_the_others_settings_unused(tmp_path: Path) -> None:
    """``--set methods=herding`` on a file that also sets dc: dc's settings are checked and
    left unused; each unit gets only its own method's settings."""
    data = with_(methods=["herding", "dc"], method_settings={"dc": {"iterations": 7},
                                                            "herding": {"epochs": 2}})
    task = load_task_file(write(tmp_path, data))
    cfg = task.config("quick", {"methods": ["herding"]})
    assert [u[1] for u in cfg.units()] == ["herding"]
    assert cfg.condense_config("toy", "herding", 1, 0).method_settings == {"herding": {"epochs": 2}}
    with pytest.raises(TaskError, match="unknown key dc.iters"):
        task.config("quick", {"methods": ["herding"], "method_settings.dc.iters": 1})
    with pytest.raises(TaskError, match="snapshot_minutes: must be positive"):
        task.config("quick", {"snapshot_minutes": [0]})


def test_a_budget_reaches_the_iterative_methods_only(tmp_path: Path) -> None:
    task = load_task_file(write(tmp_path, with_(methods=["herding", "dc"])))
    cfg = task.config("quick", {"budget_minutes": 5})
    assert cfg.condense_config("toy", "dc", 1, 0).budget_minutes == 5.0
    assert cfg.condense_config("toy", "herding", 1, 0).budget_minutes is None


def test_run_command_reports_errors_on_one_line(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    runner = CliRunner()
    res = runner.invoke(cli, ["run", str(path), "--set", "evaluation.epochs=-1", "--dry-run"])
    assert res.exit_code == 1
    assert res.output.strip().splitlines()[-1] == (
        f"Error: {path} (preset quick, with --set): evaluation.epochs: must be at least 1 "
        "(got -1)")
    res = runner.invoke(cli, ["run", str(path), "--preset", "huge"])
    assert res.exit_code == 2 and "'huge' is not a preset" in res.output
    res = runner.invoke(cli, ["run", str(tmp_path / "nope.yaml")])
    assert res.exit_code == 1 and "no task file at" in res.output
    bad = write(tmp_path, with_(ipcs=1), "condense-bad.yaml")
    res = runner.invoke(cli, ["tasks", "--dir", str(tmp_path), "--check"])
    assert res.exit_code == 1
    assert "condense-bad  INVALID:" in res.output and "unknown key 'ipcs'" in res.output
    assert str(bad) in res.output
