"""The core protocol inside an Avalanche strategy: Epoch + 1 passes, the lr drop after pass
Epoch // 2 + 1 with the momentum restarted, as ``train_model`` does."""

from __future__ import annotations

from typing import Any

import torch

from dcbench.continual.buffers import ReservoirBuffer
from dcbench.continual.protocols import build_strategy
from dcbench.continual.streams import class_incremental_stream
from dcbench.evaluation.protocol import EvalProtocol
from dcbench.models import model_from_spec


def test_a_step_makes_epochs_plus_one_passes_and_restarts_the_momentum_at_the_drop(toy6) -> None:
    from avalanche.core import SupervisedPlugin

    seen: list[tuple[float, bool]] = []

    class Spy(SupervisedPlugin):
        """Runs after the protocol's plugin: the pass's lr and whether momentum is carried."""

        def before_training_epoch(self, strategy: Any, **kwargs: Any) -> None:
            opt = strategy.optimizer
            carried = any("momentum_buffer" in opt.state[p] for p in opt.state)
            seen.append((opt.param_groups[0]["lr"], carried))

    stream = class_incremental_stream(toy6, 2, seed=0)
    model = model_from_spec("convnet:width=8:depth=1", 1, 6, (16, 16))
    settings = EvalProtocol(epochs=4, lr=0.05, batch_size=8, num_models=1, augment="none")
    buffer = ReservoirBuffer(4, source=stream.source)
    strategy = build_strategy("gdumb", model, buffer, settings, torch.device("cpu"),
                              torch.Generator().manual_seed(0))
    strategy.plugins.append(Spy())
    strategy.train(stream.train_stream[0])
    # 5 passes; passes 0..3 at the full lr, the momentum carried from pass 1 on; pass 4 at
    # lr x 0.1 starting with fresh momentum (the authors build a new SGD there)
    lrs = [lr for lr, _ in seen]
    assert len(seen) == 5 and lrs[:4] == [0.05] * 4 and abs(lrs[4] - 0.005) < 1e-12
    assert [carried for _, carried in seen] == [False, True, True, True, False]
