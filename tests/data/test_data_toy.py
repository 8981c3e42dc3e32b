"""The generated toy dataset: deterministic, shaped as asked, learnable but not trivial."""

from __future__ import annotations

import pytest
import torch

from dcbench.data import load_dataset, make_toy_dataset
from dcbench.data.toy import parse_toy_options
from dcbench.errors import DcbenchError


def test_deterministic_for_a_seed_and_different_across_seeds() -> None:
    a, b = make_toy_dataset(seed=3), make_toy_dataset(seed=3)
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.x_test, b.x_test)
    assert torch.equal(a.y_train, b.y_train) and a.mean == b.mean
    c = make_toy_dataset(seed=4)
    assert not torch.allclose(a.x_train, c.x_train)


def test_default_shape_and_balance() -> None:
    ds = load_dataset("toy")
    assert ds.name == "toy" and ds.x_train.shape == (160, 1, 28, 28)
    assert ds.x_test.shape == (80, 1, 28, 28) and ds.class_counts() == [40] * 4
    assert ds.x_train.dtype == torch.float32
    assert abs(ds.x_train.mean().item()) < 1e-5
    assert ds.y_test.tolist().count(3) == 20


def test_spec_options_and_canonical_name() -> None:
    ds = load_dataset("toy:classes=5:channels=3:size=16x12:per_class=3:test_per_class=2")
    assert ds.x_train.shape == (15, 3, 16, 12) and ds.x_test.shape == (10, 3, 16, 12)
    assert ds.num_classes == 5
    again = load_dataset(ds.name)  # the name is a spec that rebuilds the same data
    assert torch.equal(again.x_train, ds.x_train)
    assert parse_toy_options("size=32,noise=0.1") == {"image_size": (32, 32), "noise": 0.1}


@pytest.mark.parametrize("spec", ["toy:bogus=1", "toy:classes", "toy:classes=x", "toy:classes=1"])
def test_bad_options(spec: str) -> None:
    with pytest.raises(DcbenchError):
        load_dataset(spec)


def test_classes_differ_but_single_images_are_noisy() -> None:
    """Nearest class-mean beats chance by far, a single image per class much less so."""
    ds = make_toy_dataset(num_classes=4, per_class=40, test_per_class=40)
    flat_test = ds.x_test.flatten(1)

    def accuracy(prototypes: torch.Tensor) -> float:
        pred = torch.cdist(flat_test, prototypes.flatten(1)).argmin(dim=1)
        return (pred == ds.y_test).float().mean().item()

    means = torch.stack([ds.class_images(c).mean(0) for c in range(4)])
    singles = torch.stack([ds.class_images(c)[0] for c in range(4)])
    assert accuracy(means) > 0.6
    assert accuracy(singles) < accuracy(means)
