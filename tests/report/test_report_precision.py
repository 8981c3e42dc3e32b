"""bf16 against fp32: pairs are found in the results by what differs, never typed."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from dcbench.report.precision import precision_frame, precision_table
from dcbench.report.readme import measured_block
from dcbench.report.runs import load_evaluations


def test_training_and_condensation_pairs(fixture_results: Path, tmp_path: Path) -> None:
    evals = load_evaluations(fixture_results)
    rnd = evals[(evals["method"] == "random") & (evals["seed"] == 0)]
    bf16_training = rnd.assign(precision="bf16", accuracy=rnd["accuracy"] + 1.0)
    bf16_set = rnd.assign(overrides="precision=bf16", set_path="bf16/set.pt",
                          accuracy=rnd["accuracy"] - 50.0)
    assert precision_frame(evals).empty  # nothing to pair in the fixture itself
    frame = precision_frame(pd.concat([evals, bf16_training, bf16_set], ignore_index=True))
    assert sorted(frame["kind"]) == ["condensation", "training"]
    training = frame[frame["kind"] == "training"].iloc[0]
    assert abs(training["diff"] - 1.0) < 1e-9 and training["n_bf16"] == len(rnd)
    condensed = frame[frame["kind"] == "condensation"].iloc[0]
    assert abs(condensed["diff"] + 50.0) < 1e-9 and not condensed["within_1_std"]
    table = precision_table(pd.concat([evals, bf16_set], ignore_index=True))
    assert table.rows[0][-1] == "no" and table.rows[0][0] == "condensation"
    block = measured_block([table], tmp_path)
    assert "bf16 condensation, Random ipc 1" in block and "NOT within 1 std" in block
