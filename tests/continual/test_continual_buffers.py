"""The buffers: exactly ipc × classes seen, labels and sample format, state, plain Avalanche."""

from __future__ import annotations

import warnings
from types import SimpleNamespace

import pytest
import torch

from dcbench.continual.buffers import CondensedBuffer, EmptyBuffer, ReservoirBuffer
from dcbench.continual.streams import avalanche_dataset, class_incremental_stream
from dcbench.errors import DcbenchError
from dcbench.models import model_from_spec

DC = {"iterations": 1, "outer_loop": 1, "inner_loop": 1, "batch_real": 8, "compile": False,
      "model": "convnet:width=8:depth=2"}
HERDING = {"epochs": 1, "pool_per_class": 0, "model": "convnet:width=8:depth=2"}


def _update(buffer, exp) -> None:
    buffer.post_adapt(SimpleNamespace(experience=exp), exp)


@pytest.mark.parametrize(("method", "settings"), [("dc", DC), ("herding", HERDING),
                                                  ("random", {})])
def test_memory_is_ipc_per_class_seen_with_the_right_labels(toy6, method, settings) -> None:
    stream = class_incremental_stream(toy6, 3, seed=2)
    buf = CondensedBuffer(3, method, max_classes=6, settings=settings, seed=0,
                          source=stream.source)
    assert buf.max_size == 18 and len(buf.buffer) == 0
    seen: list[int] = []
    for exp in stream.train_stream:
        rng = torch.random.get_rng_state()
        _update(buf, exp)
        assert torch.equal(rng, torch.random.get_rng_state())  # the caller's RNG is untouched
        seen += stream.classes()[exp.current_experience]
        assert len(buf) == len(buf.buffer) == 3 * len(seen)
        assert buf.labels.tolist() == [c for c in seen for _ in range(3)]
        x, y, t = buf.buffer[0]  # the stream's sample format: (x, y, t)
        assert x.shape == (1, 16, 16) and x.dtype == torch.float32 and t == 0
        assert [int(v) for v in buf.buffer.targets] == buf.labels.tolist()
        assert set(buf.buffer.targets_task_labels) == {0}
    assert buf.groups == [(i // 2, c) for i, c in enumerate(seen)]
    if method != "dc":  # coresets store real training images
        assert all(any(torch.equal(img, r) for r in toy6.x_train) for img in buf.images)


def test_old_images_are_kept_and_state_round_trips(toy6) -> None:
    stream = class_incremental_stream(toy6, 2, seed=0)
    buf = CondensedBuffer(2, "dc", max_classes=6, settings=DC, source=stream.source)
    _update(buf, stream.train_stream[0])
    first = buf.images.clone()
    _update(buf, stream.train_stream[1])
    assert torch.equal(buf.images[: len(first)], first)
    again = CondensedBuffer(2, "dc", max_classes=6, settings=DC, source=stream.source)
    again.load_state_dict(buf.state_dict())
    assert torch.equal(again.images, buf.images) and again.groups == buf.groups
    assert len(again.buffer) == 12
    _update(again, stream.train_stream[1])  # a class already stored is not condensed again
    assert len(again) == 12
    with pytest.raises(DcbenchError, match="made with 'dc'"):
        CondensedBuffer(2, "random").load_state_dict(buf.state_dict())


def test_resize_keeps_the_first_images_of_each_class(toy6) -> None:
    stream = class_incremental_stream(toy6, 2, seed=0)
    buf = CondensedBuffer(3, "random", source=stream.source)
    _update(buf, stream.train_stream[0])
    assert buf.max_size == 9  # no max_classes: follows the memory
    images = buf.images.clone()
    buf.resize(None, 6)
    assert len(buf) == 6 and buf.ipc == 2
    assert torch.equal(buf.images, images[[0, 1, 3, 4, 6, 7]])


def test_group_by_experience_condenses_revisited_classes(toy6) -> None:
    stream = class_incremental_stream(toy6, 2, seed=0)
    buf = CondensedBuffer(1, "random", group_by="experience",
                          source=lambda exp: (toy6, [0, 1]))
    for exp in stream.train_stream:
        _update(buf, exp)
    assert buf.groups == [(0, 0), (0, 1), (1, 0), (1, 1)] and len(buf) == 4


def test_reservoir_and_empty_buffers(toy6) -> None:
    stream = class_incremental_stream(toy6, 3, seed=0)
    res = ReservoirBuffer(8, seed=1, source=stream.source)
    none = EmptyBuffer(source=stream.source)
    for exp in stream.train_stream:
        _update(res, exp)
        _update(none, exp)
        assert len(res) == len(res.buffer) == 8 and len(none.buffer) == 0
    assert set(res.labels.tolist()) <= set(range(6))
    copy = ReservoirBuffer(8, seed=1)
    copy.load_state_dict(res.state_dict())
    assert torch.equal(copy.images, res.images) and torch.equal(copy.weights, res.weights)


def test_bad_buffer_settings_fail_early() -> None:
    with pytest.raises(DcbenchError, match="ipc must be at least 1"):
        CondensedBuffer(0)
    with pytest.raises(DcbenchError, match="unknown condensation method"):
        CondensedBuffer(2, "nope")
    with pytest.raises(DcbenchError, match="unknown key dc.bogus"):
        CondensedBuffer(2, "dc", settings={"bogus": 1})


def test_plain_avalanche_replay_and_gdumb_with_the_condensed_buffer(toy6) -> None:
    """The README example: no dcbench stream, the buffer reads the experience's data."""
    from avalanche.benchmarks.scenarios import class_incremental_benchmark
    from avalanche.training.plugins import EvaluationPlugin, GDumbPlugin, ReplayPlugin
    from avalanche.training.supervised import Naive

    bench = class_incremental_benchmark(
        {"train": avalanche_dataset(toy6.x_train, toy6.y_train, task_in_getitem=False),
         "test": avalanche_dataset(toy6.x_test, toy6.y_test, task_in_getitem=False)},
        class_order=[0, 1, 2, 3, 4, 5], num_classes_per_exp=[3, 3],
    )
    for kind in ("replay", "gdumb"):
        buffer = CondensedBuffer(ipc=2, method="dc", max_classes=6, settings=DC)
        if kind == "replay":
            plugin = ReplayPlugin(mem_size=buffer.max_size, storage_policy=buffer)
        else:
            plugin = GDumbPlugin(mem_size=buffer.max_size)
            plugin.storage_policy = buffer
        model = model_from_spec("convnet:width=8:depth=2", 1, 6, (16, 16))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            strategy = Naive(model=model, optimizer=torch.optim.SGD(model.parameters(), lr=0.01),
                             train_mb_size=16, train_epochs=1, plugins=[plugin],
                             evaluator=EvaluationPlugin())
        for exp in bench.train_stream:
            strategy.train(exp)
        assert len(buffer) == 12 and buffer.labels.tolist() == [c for c in range(6)
                                                                for _ in range(2)]
        assert len(buffer.buffer[0]) == 2  # the stream's (x, y) samples, no task label


def test_interrupted_condensation_resumes_from_its_checkpoint(toy6, tmp_path, monkeypatch) -> None:
    from dcbench.condense import dc

    settings = {**DC, "iterations": 4, "checkpoint_every": 2}
    stream = class_incremental_stream(toy6, 3, seed=0)
    exp = stream.train_stream[1]
    clean = CondensedBuffer(2, "dc", settings=settings, source=stream.source)
    _update(clean, exp)

    real = dc.GradientMatcher.iteration

    def stop_at_3(self, it):
        if it == 3:
            raise KeyboardInterrupt
        return real(self, it)

    monkeypatch.setattr(dc.GradientMatcher, "iteration", stop_at_3)
    buf = CondensedBuffer(2, "dc", settings=settings, source=stream.source,
                          checkpoint_dir=tmp_path)
    with pytest.raises(KeyboardInterrupt):
        _update(buf, exp)
    ckpt = tmp_path / "condense-exp1-dc.pt"
    assert ckpt.exists() and len(buf) == 0
    calls = []
    monkeypatch.setattr(dc.GradientMatcher, "iteration",
                        lambda self, it: calls.append(it) or real(self, it))
    _update(buf, exp)
    assert calls == [2, 3] and not ckpt.exists()  # resumed after the 2 saved iterations
    assert torch.allclose(buf.images, clean.images, atol=1e-6)
