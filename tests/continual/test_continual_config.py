"""ContinualConfig: defaults, presets, precedence, validation; task files. No Avalanche here."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from dcbench.continual.config import (
    PRESET_DEFAULTS,
    ContinualConfig,
    buffer_names,
    load_task_file,
)
from dcbench.errors import DcbenchError

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_are_the_issue_default_task() -> None:
    c = ContinualConfig.from_dict({})
    assert (c.dataset, c.experiences, c.ipc, c.buffers) == ("fashion-mnist", 5, 10, ["condensed"])
    assert (c.protocol, c.method, c.preset, c.seeds) == ("gdumb", "dc", "quick", [0])
    quick = PRESET_DEFAULTS["quick"]
    assert c.model == quick["model"] and c.epochs == quick["epochs_by_protocol"]["gdumb"]
    assert c.method_config("dc").iterations == quick["method_settings"]["dc"]["iterations"]
    assert c.method_config("dc").model == c.model  # condensed with the learner's network


def test_paper_preset_keeps_paper_settings() -> None:
    c = ContinualConfig.from_dict({"buffers": ["condensed", "herding"]}, preset="paper")
    assert c.model == "convnet" and c.epochs == 300
    dc = c.method_config("dc")
    assert (dc.iterations, dc.outer_loop, dc.inner_loop, dc.init) == (1000, 10, 50, "noise")
    assert c.eval_protocol().lr == 0.01 and c.eval_protocol().epochs == 300


def test_precedence_preset_block_then_overrides() -> None:
    data = {
        "ipc": 5, "epochs": 7, "method_settings": {"dc": {"iterations": 3}},
        "presets": {"quick": {"epochs": 9, "method_settings": {"dc": {"outer_loop": 2}}},
                    "paper": {"epochs": 11}},
    }
    c = ContinualConfig.from_dict(data, "quick", {"ipc": 4, "method_settings.dc.iterations": 6})
    assert (c.ipc, c.epochs) == (4, 9)
    dc = c.method_config("dc")
    assert (dc.iterations, dc.outer_loop, dc.compile) == (6, 2, False)
    assert ContinualConfig.from_dict(data, "paper").epochs == 11


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"ipc": 0}, "ipc must be at least 1"),
        ({"buffers": ["condensed", "foo"]}, "unknown buffer 'foo'"),
        ({"protocol": "ewc"}, "unknown protocol 'ewc'"),
        ({"bogus": 1}, "unknown key 'bogus'"),
        ({"presets": {"quick": {"bogus": 1}}}, "unknown key 'bogus' in presets.quick"),
        ({"presets": {"fast": {}}}, "unknown preset 'fast'"),
        ({"experiences": "five"}, "experiences must be an integer"),
        ({"seeds": [0, 0]}, "a seed is listed twice"),
        ({"method": "nope"}, "unknown condensation method 'nope'"),
        ({"method_settings": {"dc": {"nope": 1}}}, "has no setting 'nope'"),
        ({"method_settings": {"herding": {"nope": 1}}}, "has no setting 'nope'"),
        ({"training": {"momentun": 0.9}}, "unknown training setting 'momentun'"),
        ({"buffers": ["none"]}, "buffer 'none' leaves gdumb nothing"),
        ({"kind": "nas"}, "task kind is 'nas'"),
        ({"image_format": "rgb64"}, "unknown image_format"),
    ],
)
def test_bad_values_are_one_line_errors(data, message) -> None:
    with pytest.raises(DcbenchError, match=message) as info:
        ContinualConfig.from_dict(data)
    assert "\n" not in str(info.value)


def test_lists_accept_comma_strings_and_buffers_include_coresets() -> None:
    c = ContinualConfig.from_dict({"buffers": "condensed, herding,random", "seeds": "0,1,2"})
    assert c.buffers == ["condensed", "herding", "random"] and c.seeds == [0, 1, 2]
    assert {"condensed", "herding", "random", "kcenter", "forgetting", "reservoir", "none"} <= set(
        buffer_names()
    )
    assert c.buffer_method("condensed") == "dc" and c.buffer_method("reservoir") is None


def test_identity_ignores_buffers_and_seeds() -> None:
    a = ContinualConfig.from_dict({"buffers": ["random"], "seeds": [0]})
    b = ContinualConfig.from_dict({"buffers": ["herding"], "seeds": [1, 2]})
    assert a.identity() == b.identity()
    assert a.identity() != ContinualConfig.from_dict({"ipc": 5}).identity()


def test_task_file_errors(tmp_path: Path) -> None:
    with pytest.raises(DcbenchError, match="no task file at"):
        load_task_file(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("ipc: [1, 2\n")
    with pytest.raises(DcbenchError, match="not valid YAML"):
        load_task_file(bad)
    listy = tmp_path / "list.yaml"
    listy.write_text("- 1\n- 2\n")
    with pytest.raises(DcbenchError, match="must hold a mapping"):
        load_task_file(listy)


@pytest.mark.parametrize("path", sorted((ROOT / "tasks").glob("continual-*.yaml")),
                         ids=lambda p: p.name)
def test_shipped_task_files_validate_for_both_presets(path: Path) -> None:
    data = load_task_file(path)
    assert data["kind"] == "continual" and set(data["presets"]) == {"quick", "paper"}
    assert set(data["expected_time"]) == {"quick", "paper"}
    for preset in ("quick", "paper"):
        c = ContinualConfig.from_dict(data, preset)
        assert c.preset == preset


def test_task_module_does_not_import_avalanche() -> None:
    import subprocess

    code = ("import sys, dcbench.continual, dcbench.continual.config, dcbench.continual.cli; "
            "from dcbench.continual.config import ContinualConfig; ContinualConfig.from_dict({}); "
            "print('avalanche' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
