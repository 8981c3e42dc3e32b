"""Condense and evaluate on the generated toy data: gradient matching must beat random images.

Settings: 4 classes, 1 image per class, the ``convnet:width=16:depth=2`` both condenses and is
evaluated (2 fresh models x 100 epochs per set), averaged over 3 seeds; 100 test images per
class. DC runs 20 iterations from real-image initialisation with ``lr_img=1.0``: the paper's
0.1 needs ~100 iterations to get there (measured: +7 to +16 points over random after 100
iterations, none after 20), which would cost this suite half a minute more. With these
settings DC led random by 12.7 to 22.9 points on five disjoint seed triples (0-2 ... 12-14).
"""

from __future__ import annotations

import statistics

import pytest

from dcbench.condense import CondenseRequest, condense
from dcbench.data import make_toy_dataset
from dcbench.evaluation.protocol import EvalProtocol, evaluate_set

MODEL = "convnet:width=16:depth=2"
DC_SETTINGS = {"model": MODEL, "iterations": 20, "lr_img": 1.0, "init": "real",
               "outer_loop": 1, "inner_loop": 1, "compile": False}


@pytest.mark.slow
def test_dc_beats_random_on_the_toy_dataset() -> None:
    ds = make_toy_dataset(num_classes=4, per_class=40, test_per_class=100)
    protocol = EvalProtocol(epochs=100, num_models=2, augment="none")
    scores: dict[str, list[float]] = {"random": [], "dc": []}
    for method, overrides in (("random", {}), ("dc", DC_SETTINGS)):
        for seed in (0, 1, 2):
            request = CondenseRequest(ds, ipc=1, seed=seed, progress=False)
            sset = condense(method, request, overrides=overrides)
            result = evaluate_set(sset.images, sset.labels, ds, [MODEL], protocol, seed=seed,
                                  progress=False)
            scores[method].append(result["models"][MODEL]["mean"])
    random_acc, dc_acc = statistics.fmean(scores["random"]), statistics.fmean(scores["dc"])
    assert random_acc > 30  # above chance (25 %): the protocol itself works
    assert dc_acc > random_acc + 5, scores
