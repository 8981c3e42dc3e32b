"""bf16 against fp32: pairs are found in the results by what differs, never typed."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from dcbench.report.evaluations import load_evaluations
from dcbench.report.precision import precision_frame, precision_table
from dcbench.report.readme import measured_block


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


def test_sets_of_an_earlier_preset_pair_like_with_like(fixture_results: Path) -> None:
    """Sets whose other overrides agree (e.g. an earlier preset's iterations) still pair: the
    bf16 set against the fp32 set with the same other settings, never against another's."""
    evals = load_evaluations(fixture_results)
    rnd = evals[(evals["method"] == "random") & (evals["seed"] == 0)]
    older = rnd.assign(overrides="iterations=7", set_path="old/set.pt")
    older_bf16 = rnd.assign(overrides="iterations=7,precision=bf16", set_path="old16/set.pt",
                            accuracy=rnd["accuracy"] - 3.0)
    older_trained_bf16 = older.assign(precision="bf16")
    frame = precision_frame(pd.concat([older, older_bf16, older_trained_bf16],
                                      ignore_index=True))
    assert sorted(frame["kind"]) == ["condensation", "training"]
    condensed = frame[frame["kind"] == "condensation"].iloc[0]
    assert abs(condensed["diff"] + 3.0) < 1e-9
    assert precision_frame(pd.concat([rnd, older_bf16], ignore_index=True)).empty  # unlike
