"""The cost estimate printed before a long condensation (and recorded in its manifest)."""

from __future__ import annotations

import json

import torch

from dcbench.condense.config import make_config
from dcbench.condense.estimate import describe, passes, seconds_per_pass


def test_dc_passes_follow_the_loops() -> None:
    cfg = make_config("dc", "paper", 10)  # 1000 iterations, 10 outer x 50 inner, batch 256
    per_outer = 10 * 256 + 2.0 * 10 * 10
    assert passes("dc", cfg, classes=10, ipc=10, class_size=6000) == 1000 * (
        10 * per_outer + 9 * 50 * 10 * 10)
    herding = make_config("herding", "quick", 10)  # 4 epochs on a 300-image pool per class
    assert passes("herding", herding, 10, 10, 6000) == 4 * 3000 + 1000
    assert passes("random", make_config("random", "quick", 10), 10, 10, 6000) == 0
    assert passes("dsa", make_config("dsa", "paper", 10), 10, 10, 6000) == passes(
        "dc", cfg, 10, 10, 6000)  # DC's loop; the augmentation is cheap


def test_dm_passes_are_real_forwards_and_synthetic_passes() -> None:
    cfg = make_config("dm", "paper", 50)  # 20000 iterations, 256 real per class
    assert passes("dm", cfg, classes=10, ipc=50, class_size=6000) == 20000 * 10 * (256 / 3 + 50)


def test_probe_leaves_the_random_state_alone(tiny_dataset) -> None:
    torch.manual_seed(3)
    expected = torch.rand(2)
    torch.manual_seed(3)
    assert seconds_per_pass("convnet:width=4:depth=1", tiny_dataset, torch.device("cpu"), 4) > 0
    assert torch.equal(torch.rand(2), expected)
    assert (describe(30), describe(600), describe(7200)) == ("~30 s", "~10 min", "~2.0 h")


def test_the_manifest_records_estimate_and_actual(tiny_dataset, tmp_path, monkeypatch) -> None:
    from dcbench.condense import CondenseConfig, CondenseRequest
    from dcbench.condense.job import condense_job
    from dcbench.config import load

    monkeypatch.setenv("DCBENCH_RESULTS", str(tmp_path))
    config = load(CondenseConfig, {"dataset": tiny_dataset.name, "method": "dc", "ipc": 1,
                                   "method_settings": {"dc": {
                                       "model": "convnet:width=4:depth=1", "iterations": 2,
                                       "compile": False}}})
    path, _ = condense_job(config, CondenseRequest(tiny_dataset, ipc=1, progress=False))
    manifest = json.loads((path.parent / "manifest.json").read_text())
    assert manifest["estimate_s"] > 0 and manifest["condensation_wall_time_s"] > 0


def test_the_hint_offers_the_quick_preset_only_to_other_presets(tiny_dataset, capsys,
                                                                 monkeypatch) -> None:
    from dcbench.condense import CondenseConfig, CondenseRequest, job
    from dcbench.config import load

    monkeypatch.setattr(job, "seconds_per_pass", lambda *a, **k: 1.0)  # every run "long"
    request = CondenseRequest(tiny_dataset, ipc=1, progress=True)
    for preset, offered in (("quick", False), ("paper", True)):
        config = load(CondenseConfig, {"dataset": tiny_dataset.name, "method": "dc", "ipc": 1,
                                       "preset": preset})
        job._estimate(config, make_config("dc", preset, 1), request)
        line = capsys.readouterr().err
        assert line.startswith("estimate: dc ipc 1") and "--set dc.iterations" in line
        assert ("--preset quick" in line) is offered
