"""The stream adapter and the dataset-sequence harmonisation."""

from __future__ import annotations

import pytest
import torch

from dcbench.continual import sequence as seqmod
from dcbench.continual.sequence import harmonise, load_sequence
from dcbench.continual.streams import (
    class_incremental_stream,
    dataset_sequence_stream,
    draw_class_order,
)
from dcbench.data import make_toy_dataset
from dcbench.errors import DataNotFoundError, DcbenchError


def _targets(dataset) -> list[int]:
    return [int(t) for t in dataset.targets]


def test_experiences_hold_the_right_classes_in_the_seed_order(toy6) -> None:
    rng_before = torch.random.get_rng_state()
    stream = class_incremental_stream(toy6, 3, seed=5)
    assert torch.equal(rng_before, torch.random.get_rng_state())  # no global reseeding
    order = draw_class_order(6, 5)
    assert stream.classes() == [order[0:2], order[2:4], order[4:6]]
    assert stream.n_experiences == 3 and stream.num_classes == 6
    for i, (train, test) in enumerate(zip(stream.train_stream, stream.test_stream, strict=True)):
        want = set(order[2 * i:2 * i + 2])
        assert train.current_experience == i
        assert set(train.classes_in_this_experience) == want
        assert set(_targets(train.dataset)) == want and set(_targets(test.dataset)) == want
        assert len(train.dataset) == 20 and len(test.dataset) == 10
        x, y, t = train.dataset[0]
        assert x.shape == (1, 16, 16) and int(y) in want and t == 0
        x_test, y_test = stream.sources[i].test_tensors()
        assert set(y_test.tolist()) == want and len(x_test) == 10
        # the Avalanche samples are the dataset's own tensors
        idx = toy6.class_indices(int(y))
        assert any(torch.equal(x, toy6.x_train[j]) for j in idx)


def test_order_depends_on_the_seed_only_and_explicit_order_wins(toy6) -> None:
    assert draw_class_order(6, 1) == draw_class_order(6, 1)
    assert any(draw_class_order(6, s) != draw_class_order(6, 1) for s in range(2, 6))
    stream = class_incremental_stream(toy6, 2, seed=9, class_order=[5, 4, 3, 2, 1, 0])
    assert stream.classes() == [[5, 4, 3], [2, 1, 0]]
    assert set(stream.train_stream[0].classes_in_this_experience) == {3, 4, 5}


@pytest.mark.parametrize(
    ("n", "order", "message"),
    [
        (7, None, "7 experiences need at least 7 classes"),
        (4, None, "do not split into 4 experiences"),
        (0, None, "at least 1"),
        (2, [0, 1, 2, 3, 4, 4], "permutation"),
    ],
)
def test_impossible_splits_are_one_line_errors(toy6, n, order, message) -> None:
    with pytest.raises(DcbenchError, match=message):
        class_incremental_stream(toy6, n, class_order=order)


def _digits_like():
    """Stand-ins for SVHN (3×32×32), MNIST (1×28×28) and USPS (1×16×16): 3 shared classes."""
    svhn = make_toy_dataset(3, 6, 3, channels=3, image_size=(32, 32), seed=1)
    mnist = make_toy_dataset(3, 5, 3, channels=1, image_size=(28, 28), seed=2)
    usps = make_toy_dataset(3, 4, 3, channels=1, image_size=(16, 16), seed=3)
    return [svhn, mnist, usps]


@pytest.mark.parametrize(("fmt", "shape"), [("rgb32", (3, 32, 32)), ("grey28", (1, 28, 28))])
def test_harmonise_to_one_format_and_one_normalised_space(fmt, shape) -> None:
    out = harmonise(_digits_like(), fmt)
    assert [tuple(d.x_train.shape[1:]) for d in out] == [shape] * 3
    assert all(d.mean == out[0].mean and d.std == out[0].std for d in out)
    pooled = torch.cat([d.x_train for d in out])  # equal image sizes: pooled stats = these
    assert pooled.mean(dim=(0, 2, 3)).abs().max() < 1e-4
    assert (pooled.std(dim=(0, 2, 3)) - 1).abs().max() < 1e-2
    assert [d.num_classes for d in out] == [3, 3, 3]
    assert out[1].name.endswith(f"@{fmt}")


def test_grey_to_rgb_replicates_and_rgb_to_grey_uses_luma() -> None:
    x = torch.rand(2, 1, 8, 8)
    assert torch.equal(seqmod._convert(x, 3, (8, 8)), x.expand(-1, 3, -1, -1))
    rgb = torch.rand(2, 3, 8, 8)
    grey = seqmod._convert(rgb, 1, (8, 8))
    want = 0.299 * rgb[:, 0] + 0.587 * rgb[:, 1] + 0.114 * rgb[:, 2]
    assert torch.allclose(grey[:, 0], want, atol=1e-6)


def test_sequence_stream_one_experience_per_dataset() -> None:
    stream = dataset_sequence_stream(harmonise(_digits_like(), "rgb32"))
    assert stream.n_experiences == 3 and stream.num_classes == 3
    assert stream.classes() == [[0, 1, 2]] * 3
    sizes = [len(e.dataset) for e in stream.train_stream]
    assert sizes == [18, 15, 12]
    assert set(stream.train_stream[2].classes_in_this_experience) == {0, 1, 2}
    assert stream.train_stream[1].dataset[0][0].shape == (3, 32, 32)


def test_sequence_needs_one_label_space_and_names_missing_data(monkeypatch) -> None:
    ten = make_toy_dataset(4, 2, 2)
    with pytest.raises(DcbenchError, match="share one label space"):
        harmonise([make_toy_dataset(3, 2, 2), ten])

    def fake_load(name, root=None, download=False):
        if name in ("svhn", "usps"):
            raise DataNotFoundError(f"{name} not found under somewhere; long explanation")
        return make_toy_dataset(3, 2, 2)

    monkeypatch.setattr(seqmod, "load_dataset", fake_load)
    with pytest.raises(DcbenchError) as info:
        load_sequence(["svhn", "mnist", "usps"], root="/data/here")
    msg = str(info.value)
    assert "needs svhn, usps" in msg and "/data/here" in msg and "\n" not in msg
