"""ContinualConfig: defaults, presets, precedence, validation; task files. No Avalanche here."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

from dcbench.config import load
from dcbench.continual.config import PRESET_DEFAULTS, ContinualConfig
from dcbench.continual.memories import buffer_names
from dcbench.errors import DcbenchError
from dcbench.tasks.spec import load_task_file

ROOT = Path(__file__).resolve().parents[2]


def make(data: dict | None = None, preset: str = "quick") -> ContinualConfig:
    return load(ContinualConfig, {"preset": preset, **(data or {})})


def test_defaults_are_the_issue_default_task() -> None:
    c = make()
    assert (c.dataset, c.experiences, c.ipc, c.buffers) == ("fashion-mnist", 5, 10, ["condensed"])
    assert (c.protocol, c.method, c.preset, c.seeds) == ("gdumb", "dc", "quick", [0])
    quick = PRESET_DEFAULTS["quick"]
    assert c.model == quick["model"] and c.epochs == quick["epochs_by_protocol"]["gdumb"]
    assert c.method_config("dc").iterations == quick["method_settings"]["dc"]["iterations"]
    assert c.method_config("dc").model == c.model  # condensed with the learner's network


def test_paper_preset_keeps_paper_settings() -> None:
    c = make({"buffers": ["condensed", "herding"]}, preset="paper")
    assert c.model == "convnet" and c.epochs == 300
    dc = c.method_config("dc")
    assert (dc.iterations, dc.outer_loop, dc.inner_loop, dc.init) == (1000, 10, 50, "noise")
    assert c.eval_protocol().lr == 0.01 and c.eval_protocol().epochs == 300


def test_precedence_preset_block_then_overrides(tmp_path: Path) -> None:
    data = {
        "kind": "continual", "description": "x", "expected_time": {"quick": "1", "paper": "1"},
        "ipc": 5, "epochs": 7, "method_settings": {"dc": {"iterations": 3}},
        "presets": {"quick": {"epochs": 9, "method_settings": {"dc": {"outer_loop": 2}}},
                    "paper": {"epochs": 11}},
    }
    path = tmp_path / "continual-x.yaml"
    path.write_text(yaml.safe_dump(data))
    task = load_task_file(path)
    c = task.config("quick", {"ipc": 4, "dc.iterations": 6})
    assert (c.ipc, c.epochs) == (4, 9)
    dc = c.method_config("dc")
    assert (dc.iterations, dc.outer_loop, dc.compile) == (6, 2, False)  # compile: the preset's
    assert task.config("paper").epochs == 11


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"ipc": 0}, "ipc: must be at least 1"),
        ({"buffers": ["condensed", "foo"]}, "unknown buffer 'foo'"),
        ({"protocol": "ewc"}, "unknown protocol 'ewc'"),
        ({"bogus": 1, "colour": 2}, "unknown keys bogus, colour"),
        ({"preset": "fast"}, "unknown preset 'fast'"),
        ({"experiences": "five"}, "experiences: must be an integer"),
        ({"seeds": [0, 0]}, "seeds: a value is listed twice"),
        ({"method": "nope"}, "unknown condensation method 'nope'"),
        ({"method_settings": {"dc": {"nope": 1}}}, "unknown key dc.nope"),
        ({"method_settings": {"herding": {"nope": 1}}}, "unknown key herding.nope"),
        ({"training": {"momentun": 0.9}}, "unknown key training.momentun"),
        ({"training": {"lr": -1}}, "training.lr: must be positive"),
        ({"buffers": ["none"]}, "'none' leaves gdumb nothing"),
        ({"image_format": "rgb64"}, "image_format: unknown"),
    ],
)
def test_bad_values_are_one_line_errors(data, message) -> None:
    with pytest.raises(DcbenchError, match=message) as info:
        make(data)
    assert "\n" not in str(info.value)


def test_one_coercion_rule_strings_and_comma_lists() -> None:
    c = make({"buffers": "condensed, herding,random", "seeds": "0,1,2", "ipc": "5"})
    assert c.buffers == ["condensed", "herding", "random"] and c.seeds == [0, 1, 2]
    assert c.ipc == 5
    assert {"condensed", "herding", "random", "kcenter", "forgetting", "reservoir", "none"} <= set(
        buffer_names()
    )
    assert c.buffer_method("condensed") == "dc" and c.buffer_method("reservoir") is None
    assert c.buffer_method("herding") == "herding"


def test_identity_ignores_buffers_and_seeds() -> None:
    a = make({"buffers": ["random"], "seeds": [0]})
    b = make({"buffers": ["herding"], "seeds": [1, 2]})
    assert a.identity() == b.identity()
    assert a.identity() != make({"ipc": 5}).identity()


def test_loading_a_resolved_config_again_gives_the_same_config() -> None:
    c = make({"buffers": ["condensed", "herding"], "method_settings": {"dc": {"iterations": 3}}})
    assert load(ContinualConfig, c.to_dict()) == c


@pytest.mark.parametrize("path", sorted((ROOT / "tasks").glob("continual-*.yaml")),
                         ids=lambda p: p.name)
def test_shipped_task_files_validate_for_both_presets(path: Path) -> None:
    task = load_task_file(path)
    assert task.kind == "continual" and set(task.presets) == {"quick", "paper"}
    assert set(task.expected_time) == {"quick", "paper"}
    for preset in ("quick", "paper"):
        c = task.config(preset)
        assert isinstance(c, ContinualConfig) and c.preset == preset


def test_config_modules_do_not_import_avalanche() -> None:
    import subprocess

    code = ("import sys, dcbench.continual, dcbench.continual.config, dcbench.continual.cli, "
            "dcbench.continual.memories, dcbench.continual.protocols; "
            "from dcbench.config import load; from dcbench.continual.config import "
            "ContinualConfig; load(ContinualConfig, {}); print('avalanche' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
