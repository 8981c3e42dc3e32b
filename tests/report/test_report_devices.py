"""CPU-against-GPU twins: found in the evaluations before de-duplication, never typed."""

from __future__ import annotations

import pandas as pd
import pytest

from dcbench.report.devices import (
    device_frame,
    device_table,
    devices_note,
    retrained,
    twins,
)

GPU = "cuda (NVIDIA H100 80GB HBM3)"


def _rows(device: str, accs: list[float], **kw) -> list[dict]:
    base = {"dataset": "fashion-mnist", "method": "dm", "ipc": 10, "set_path": "a/set.pt",
            "eval_seed": 0, "model": "convnet", "epochs": 1000, "augment": "dsa",
            "precision": "fp32", "device": device}
    return [{**base, **kw, "index": i, "accuracy": a} for i, a in enumerate(accs)]


def test_twins_pair_the_same_model_index_across_devices() -> None:
    evals = pd.DataFrame(_rows("cpu", [80.0, 81.0]) + _rows(GPU, [80.1, 80.8, 82.0])
                         + _rows("cpu", [70.0], set_path="b/set.pt")  # no twin
                         + _rows(GPU, [70.5], set_path="b/set.pt", epochs=300))  # other protocol
    pairs = twins(evals)
    assert list(pairs["cpu_acc"]) == [80.0, 81.0] and list(pairs["gpu_acc"]) == [80.1, 80.8]
    frame = device_frame(evals)
    (row,) = frame.to_dict("records")
    assert row["pairs"] == 2 and row["gpu"] == GPU
    assert row["mean_diff"] == pytest.approx(-0.05) and row["max_abs_diff"] == pytest.approx(0.2)
    table = device_table(evals)
    assert table.rows[0][2] == "2" and table.rows[0][3] == "-0.050"


def test_no_gpu_no_table_and_no_note() -> None:
    evals = pd.DataFrame(_rows("cpu", [80.0, 81.0]))
    assert device_frame(evals).empty and devices_note(evals) is None
    note = devices_note(pd.DataFrame(_rows("cpu", [80.0]) + _rows(GPU, [1.0, 2.0])))
    assert f"cpu: 1; {GPU}: 2" in note


def test_a_model_trained_again_on_one_device_is_counted_with_its_spread() -> None:
    first = _rows("cpu", [80.0, 81.0])
    again = _rows("cpu", [80.0, 81.25, 79.0])  # a larger run: models 0 and 1 again, 2 new
    other = _rows("cpu", [80.0], eval_seed=1)  # another seed: another model
    evals = pd.DataFrame(first + again + other + _rows(GPU, [80.1]))
    rows = retrained(evals)
    assert list(rows["trainings"]) == [2, 2] and list(rows["spread"]) == [0.0, 0.25]
    note = device_table(evals).notes[-1]
    assert "2 models (cpu: 2); 1 land on the same accuracy" in note and "0.25 points" in note
    assert retrained(pd.DataFrame(first + other)).empty


def test_a_training_under_the_earlier_protocol_is_not_the_same_model_again() -> None:
    """A model trained before the protocol followed the authors' (no ``schedule``) and again
    under it is two protocols, never counted as one model trained twice."""
    now = _rows("cpu", [80.0, 81.0], schedule="authors")
    earlier = _rows("cpu", [80.5, 81.0], schedule=None)
    assert retrained(pd.DataFrame(now + earlier)).empty
    rows = retrained(pd.DataFrame(now + earlier + _rows("cpu", [80.25], schedule="authors")))
    assert list(rows["trainings"]) == [2] and list(rows["spread"]) == [0.25]
