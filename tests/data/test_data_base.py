"""ClassDataset: validation, per-class access, sampling, normalisation, subsets."""

from __future__ import annotations

import json

import pytest
import torch

from dcbench.data import ClassDataset, channel_stats
from dcbench.data.base import AUTHORS_STATS
from dcbench.errors import DcbenchError


def make(**overrides: object) -> ClassDataset:
    fields = {
        "name": "t",
        "x_train": torch.zeros(4, 1, 3, 3),
        "y_train": torch.tensor([0, 1, 1, 0]),
        "x_test": torch.zeros(2, 1, 3, 3),
        "y_test": torch.tensor([1, 0]),
        "class_names": ["a", "b"],
        "mean": (0.5,),
        "std": (0.25,),
    }
    fields.update(overrides)
    return ClassDataset(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"y_train": torch.tensor([0, 1, 2, 0])}, "label out of range"),
        ({"y_test": torch.tensor([-1, 0])}, "label out of range"),
        ({"y_train": torch.tensor([0, 1, 1])}, "4 train images but 3 train labels"),
        ({"x_test": torch.zeros(2, 1, 4, 3)}, "test images are"),
        ({"x_train": torch.zeros(4, 3, 3)}, "must be N,C,H,W"),
        ({"x_train": torch.zeros(4, 1, 3, 3, dtype=torch.float64)}, "float32"),
        ({"y_train": torch.tensor([0.0, 1.0, 1.0, 0.0])}, "int64"),
        ({"x_train": torch.full((4, 1, 3, 3), float("nan"))}, "NaN"),
        ({"x_test": torch.tensor([float("inf")]).expand(2, 1, 3, 3).clone()}, "NaN or inf"),
        ({"mean": (0.5, 0.5)}, "mean/std"),
        ({"std": (0.0,)}, "invalid mean/std"),
        ({"class_names": ["a", "a"]}, "duplicate class names"),
        ({"class_names": []}, "no classes"),
        ({"x_test": torch.zeros(0, 1, 3, 3), "y_test": torch.zeros(0, dtype=torch.int64)}, "empty"),
    ],
)
def test_validation_errors_are_one_line(overrides: dict, match: str) -> None:
    with pytest.raises(DcbenchError, match=match) as exc:
        make(**overrides)
    assert "\n" not in str(exc.value)


def test_properties_and_counts(small: ClassDataset) -> None:
    assert small.channels == 2 and small.image_size == (5, 6) and small.num_classes == 3
    assert small.class_counts() == [4, 2, 6]
    assert len(small) == 12
    assert "small" in repr(small) and "3 classes" in repr(small)


def test_class_indices_cached_and_correct(small: ClassDataset) -> None:
    idx = small.class_indices(2)
    assert idx is small.class_indices(2)
    assert idx.dtype == torch.int64 and (small.y_train[idx] == 2).all() and len(idx) == 6
    assert torch.equal(small.class_images(1), small.x_train[small.y_train == 1])
    with pytest.raises(DcbenchError, match="out of range"):
        small.class_indices(3)


def test_sample_class_distinct_and_of_the_class(small: ClassDataset) -> None:
    g = torch.Generator().manual_seed(0)
    for c, count in enumerate(small.class_counts()):
        for n in range(count + 1):
            idx = small.sample_class_indices(c, n, g)
            assert len(idx) == n and len(set(idx.tolist())) == n
            assert (small.y_train[idx] == c).all()
    a = small.sample_class_indices(2, 4, torch.Generator().manual_seed(5))
    b = small.sample_class_indices(2, 4, torch.Generator().manual_seed(5))
    assert torch.equal(a, b)
    imgs = small.sample_class(0, 3, torch.Generator().manual_seed(5))
    idx = small.sample_class_indices(0, 3, torch.Generator().manual_seed(5))
    assert torch.equal(imgs, small.x_train[idx])


def test_sample_more_than_available_uses_every_image(small: ClassDataset) -> None:
    idx = small.sample_class_indices(1, 7, torch.Generator().manual_seed(0))
    assert len(idx) == 7 and (small.y_train[idx] == 1).all()
    assert set(idx.tolist()) == set(small.class_indices(1).tolist())


def test_sample_from_empty_class() -> None:
    ds = make(class_names=["a", "b", "c"])
    with pytest.raises(DcbenchError, match="no train images"):
        ds.sample_class(2, 1)


def test_from_unit_range_normalises_with_train_stats() -> None:
    g = torch.Generator().manual_seed(0)
    raw_train = torch.rand(50, 3, 4, 4, generator=g)
    raw_test = torch.rand(10, 3, 4, 4, generator=g)
    ds = ClassDataset.from_unit_range(
        "u",
        raw_train.clone(),
        torch.arange(50) % 5,
        raw_test.clone(),
        torch.arange(10) % 5,
        list("abcde"),
    )
    ref = raw_train.double()
    assert ds.mean == pytest.approx(ref.mean(dim=(0, 2, 3)).tolist(), abs=1e-6)
    assert ds.std == pytest.approx(ref.std(dim=(0, 2, 3), correction=0).tolist(), abs=1e-6)
    per_channel = ds.x_train.double()
    assert per_channel.mean(dim=(0, 2, 3)).abs().max() < 1e-5
    assert torch.allclose(ds.denormalize(ds.x_test), raw_test, atol=1e-6)
    assert torch.allclose(ds.normalize(raw_test), ds.x_test, atol=1e-6)
    assert ds.denormalize(ds.x_train * 100).max() <= 1.0  # clamped for display


def test_from_unit_range_rejects_nan() -> None:
    x = torch.rand(4, 1, 2, 2)
    x[1, 0, 0, 0] = float("nan")
    with pytest.raises(DcbenchError, match="x_train contains NaN"):
        ClassDataset.from_unit_range(
            "n",
            x,
            torch.zeros(4, dtype=torch.int64),
            x[:1].clone(),
            torch.zeros(1, dtype=torch.int64),
            ["a"],
        )


def test_channel_stats_matches_float64_reference() -> None:
    x = torch.rand(300, 3, 7, 5, generator=torch.Generator().manual_seed(3)) * 2 + 1
    mean, std = channel_stats(x)
    ref = x.double()
    assert mean == pytest.approx(ref.mean(dim=(0, 2, 3)).tolist(), rel=1e-6)
    assert std == pytest.approx(ref.std(dim=(0, 2, 3), correction=0).tolist(), rel=1e-5)


def test_subset_classes_relabel(small: ClassDataset) -> None:
    sub = small.subset_classes([2, 0], relabel=True)
    assert sub.class_names == ["c", "a"] and sub.num_classes == 2
    assert sub.class_counts() == [6, 4]
    assert torch.equal(sub.class_images(0), small.class_images(2))
    assert torch.equal(sub.class_images(1), small.class_images(0))
    assert sorted(sub.y_test.tolist()) == [0, 0, 1]
    assert sub.mean == small.mean and sub.std == small.std


def test_subset_classes_keep_labels(small: ClassDataset) -> None:
    sub = small.subset_classes([1, 2], relabel=False)
    assert sub.class_names == small.class_names
    assert sub.class_counts() == [0, 2, 6]
    assert set(sub.y_test.tolist()) == {1, 2}
    with pytest.raises(DcbenchError, match="duplicate"):
        small.subset_classes([1, 1])
    with pytest.raises(DcbenchError, match="out of range"):
        small.subset_classes([5])


def test_describe_is_plain_json(small: ClassDataset) -> None:
    info = small.describe()
    assert json.loads(json.dumps(info)) == info
    assert info["train_size"] == 12 and info["test_size"] == 5
    assert info["class_names"] == ["a", "b", "c"] and info["image_size"] == [5, 6]
    assert len(info["mean"]) == len(info["std"]) == 2


def test_the_authors_constants() -> None:
    """get_dataset's hard-coded values in the DC authors' utils.py."""
    assert AUTHORS_STATS == {
        "mnist": ((0.1307,), (0.3081,)),
        "fashion-mnist": ((0.2861,), (0.3530,)),
        "svhn": ((0.4377, 0.4438, 0.4728), (0.1980, 0.2010, 0.1970)),
        "cifar10": ((0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)),
        "cifar100": ((0.5071, 0.4866, 0.4409), (0.2673, 0.2564, 0.2762)),
    }


def test_from_unit_range_uses_given_stats() -> None:
    g = torch.Generator().manual_seed(0)
    x, xt = torch.rand(10, 2, 4, 4, generator=g), torch.rand(4, 2, 4, 4, generator=g)
    y, yt = torch.arange(10) % 2, torch.arange(4) % 2
    stats = ((0.25, 0.5), (0.5, 0.25))
    ds = ClassDataset.from_unit_range("given", x.clone(), y, xt.clone(), yt, ["a", "b"],
                                      stats=stats)
    assert (ds.mean, ds.std) == stats
    ref = (x - torch.tensor([0.25, 0.5]).view(2, 1, 1)) / torch.tensor([0.5, 0.25]).view(2, 1, 1)
    torch.testing.assert_close(ds.x_train, ref)
    own = ClassDataset.from_unit_range("own", x.clone(), y, xt.clone(), yt, ["a", "b"])
    assert own.mean == pytest.approx(x.mean(dim=(0, 2, 3)).tolist(), abs=1e-6)
