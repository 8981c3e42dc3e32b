"""``evaluate_job``: the set's method reaches the protocol's resolution, per model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dcbench.condense import CondenseRequest, condense
from dcbench.data import load_dataset
from dcbench.evaluation.config import EvaluateConfig
from dcbench.evaluation.job import evaluate_job
from dcbench.evaluation.protocol import EvalProtocol

pytestmark = pytest.mark.usefixtures("one_thread")
TOY = "toy:classes=3:per_class=10:test_per_class=5:size=16"
MODEL = "convnet:width=8:depth=1"


def made_by(method: str, tmp_path: Path) -> Path:
    """A random set of the toy data whose metadata names ``method`` as its maker."""
    sset = condense("random", CondenseRequest(load_dataset(TOY), ipc=1, progress=False))
    sset.meta["method"] = method
    return sset.save(tmp_path / method / "set.pt")


@pytest.mark.parametrize(("method", "augment"), [("dm", "dsa"), ("dsa", "dsa"),
                                                 ("random", "none")])
def test_the_sets_method_picks_the_augmentation(method: str, augment: str, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DCBENCH_RESULTS", str(tmp_path / "results"))
    bn = f"{MODEL}:norm=batch"
    config = EvaluateConfig(models=[MODEL, bn], protocol=EvalProtocol(epochs=1, num_models=1))
    run, metrics = evaluate_job(made_by(method, tmp_path), config, "cpu", None, False, False)
    assert metrics["set"]["method"] == method
    assert metrics["protocol"]["augment"] == augment
    assert metrics["models"][MODEL]["protocol"]["augment"] == augment
    assert metrics["models"][bn]["protocol"]["augment"] == ("dsa" if method != "random"
                                                            else "crop_noise")
    record = json.loads((run / "config.json").read_text())["config"]
    assert record["protocols"] == {m: r["protocol"] for m, r in metrics["models"].items()}
