"""Every task file in tasks/ loads and validates, every preset of it."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from dcbench.cli import cli
from dcbench.tasks.spec import KINDS, KindUnavailable, load_task_file

TASKS = Path(__file__).resolve().parents[2] / "tasks"
FILES = sorted(TASKS.glob("*.yaml"))


def test_there_are_task_files_of_each_kind_we_own() -> None:
    names = [p.name for p in FILES]
    assert "condense-fmnist-table1.yaml" in names and "condense-fmnist-crossarch.yaml" in names
    assert all(p.suffix == ".yaml" for p in TASKS.iterdir() if p.is_file())


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_task_file_loads_and_validates(path: Path) -> None:
    try:
        task = load_task_file(path)
    except KindUnavailable as exc:
        pytest.skip(str(exc))
    assert task.kind in KINDS and path.stem.startswith(task.kind)
    assert {"quick", "paper"} <= set(task.presets)
    assert set(task.expected_time) == set(task.presets)
    assert task.description.strip()
    for preset in task.presets:
        assert task.config(preset) is not None


def test_condense_table1_presets_resolve() -> None:
    task = load_task_file(TASKS / "condense-fmnist-table1.yaml")
    quick, paper = task.config("quick"), task.config("paper")
    assert quick.methods == paper.methods == ["random", "herding", "kcenter", "forgetting", "dc",
                                              "dsa", "dm"]
    assert quick.ipc == [1, 10] and paper.ipc == [1, 10, 50]
    assert (quick.condense_preset, paper.condense_preset) == ("quick", "paper")
    assert (quick.evaluation.protocol.num_models, paper.evaluation.protocol.num_models) == (5, 20)
    assert len(paper.units()) == 7 * 3 * 5
    # the authors' epochs follow from each set's method: 300 for DC, 1000 (DSA) for DSA and DM
    protocol = quick.evaluation.protocol
    assert protocol.epochs is None
    assert protocol.resolved("fashion-mnist", "dc", "convnet").epochs == 300
    dm = protocol.resolved("fashion-mnist", "dm", "convnet")
    assert (dm.epochs, dm.augment) == (1000, "dsa")


def test_tasks_command_lists_every_file() -> None:
    res = CliRunner().invoke(cli, ["tasks", "--dir", str(TASKS), "--check"])
    assert res.exit_code == 0, res.output
    for path in FILES:
        assert f"{path.stem}  (" in res.output
    assert "INVALID" not in res.output
    assert "quick:" in res.output and "paper:" in res.output
