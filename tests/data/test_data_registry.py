"""Dataset specs, the registry, root precedence and torchvision sources without files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from dcbench.data import (
    DATASETS,
    channel_stats,
    default_cache_root,
    load_dataset,
    read_idx,
    resolve_root,
    write_idx,
)
from dcbench.data.base import AUTHORS_STATS
from dcbench.data.registry import split_spec
from dcbench.errors import DataNotFoundError, DcbenchError, UnknownNameError

TORCHVISION = ["mnist", "cifar10", "cifar100", "svhn", "usps"]


def test_registered_names() -> None:
    names = DATASETS.names()
    for n in ["fashion-mnist", "fmnist", "toy", "npz", "imagefolder", *TORCHVISION]:
        assert n in names
    assert DATASETS.get("fmnist") is DATASETS.get("fashion-mnist")
    assert DATASETS.get("cifar100").num_classes == 100
    assert DATASETS.get("usps").image_size == (28, 28)


def test_unknown_name_lists_known_ones() -> None:
    with pytest.raises(UnknownNameError, match="known: .*fashion-mnist.*toy"):
        load_dataset("imagenet-1k")


def test_split_spec(tmp_path: Path) -> None:
    assert split_spec(" TOY ")[0].name == "toy" and split_spec("toy")[1] is None
    assert split_spec("toy:classes=3") == (DATASETS.get("toy"), "classes=3")
    assert split_spec("npz:/a/b.npz") == (DATASETS.get("npz"), "/a/b.npz")
    assert split_spec("some/file.NPZ") == (DATASETS.get("npz"), "some/file.NPZ")
    assert split_spec(str(tmp_path)) == (DATASETS.get("imagefolder"), str(tmp_path))
    with pytest.raises(DcbenchError, match="empty"):
        split_spec("  ")


def test_options_checked() -> None:
    with pytest.raises(DcbenchError, match="takes no ':' options"):
        load_dataset("fashion-mnist:5")
    with pytest.raises(DcbenchError, match="needs an argument"):
        load_dataset("imagefolder")


def test_root_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DCBENCH_DATA_ROOT", raising=False)
    assert resolve_root(None) is None
    monkeypatch.setenv("DCBENCH_DATA_ROOT", str(tmp_path / "env"))
    assert resolve_root(None) == tmp_path / "env"
    assert resolve_root(tmp_path / "arg") == tmp_path / "arg"
    assert resolve_root("~/x") == Path.home() / "x"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert default_cache_root() == tmp_path / "cache" / "dcbench" / "data"


@pytest.mark.parametrize("name", TORCHVISION)
def test_torchvision_without_files(tmp_path: Path, name: str, no_network: None) -> None:
    root = tmp_path / "empty"
    with pytest.raises(DataNotFoundError) as exc:
        load_dataset(name, root=root, download=False)
    msg = str(exc.value)
    assert "\n" not in msg and "--download" in msg and str(root) in msg
    assert not root.exists()  # nothing created, nothing fetched


def test_torchvision_default_root_without_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_network: None
) -> None:
    monkeypatch.delenv("DCBENCH_DATA_ROOT", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    with pytest.raises(DataNotFoundError, match=str(tmp_path / "dcbench" / "data")):
        load_dataset("cifar10")


def test_mnist_through_torchvision(tmp_path: Path, no_network: None) -> None:
    """torchvision's MNIST reads decompressed IDX files under ROOT/MNIST/raw: fake a tiny one."""
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for split, n in (("train", 20), ("t10k", 10)):
        write_idx(raw / f"{split}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28), np.uint8))
        write_idx(raw / f"{split}-labels-idx1-ubyte", (np.arange(n) % 10).astype(np.uint8))
    ds = load_dataset("mnist", root=tmp_path)
    assert ds.x_train.shape == (20, 1, 28, 28) and ds.class_names[3] == "3"
    assert ds.class_counts() == [2] * 10
    # the DC authors' constants, not this split's statistics
    assert (ds.mean, ds.std) == ((0.1307,), (0.3081,))
    images = read_idx(raw / "train-images-idx3-ubyte").astype(np.float32) / 255
    np.testing.assert_allclose(ds.x_train[:, 0].numpy(), (images - 0.1307) / 0.3081, atol=1e-5)


@pytest.mark.parametrize(("name", "layout", "classes"),
                         [("cifar10", "NHWC", 10), ("cifar100", "NHWC", 100), ("svhn", "NCHW", 10)])
def test_colour_sources_use_the_authors_constants(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, layout: str, classes: int
) -> None:
    import torchvision.datasets as tvd

    rng = np.random.default_rng(1)

    class Fake:
        """The attributes dcbench reads from torchvision's class, for 12/6 random images."""

        def __init__(self, root: str, train: bool = True, split: str = "train",
                     download: bool = False) -> None:
            n = 12 if train and split == "train" else 6
            shape = (n, 32, 32, 3) if layout == "NHWC" else (n, 3, 32, 32)
            self.data = rng.integers(0, 256, shape, np.uint8)
            self.targets = self.labels = np.arange(n) % classes
            self.classes = [f"c{i}" for i in range(classes)]

    tv_class = {"cifar10": "CIFAR10", "cifar100": "CIFAR100", "svhn": "SVHN"}[name]
    monkeypatch.setattr(tvd, tv_class, Fake)
    ds = load_dataset(name, root=tmp_path)
    mean, std = AUTHORS_STATS[name]
    assert (ds.mean, ds.std) == (mean, std) and len(mean) == 3
    assert ds.std != channel_stats(ds.denormalize(ds.x_train))[1]
    unit = ds.x_train * torch.tensor(std).view(3, 1, 1) + torch.tensor(mean).view(3, 1, 1)
    assert float((unit * 255 - (unit * 255).round()).abs().max()) < 1e-3  # exactly undone


def test_usps_upsampled_to_28(tmp_path: Path, no_network: None) -> None:
    """torchvision's USPS parses bz2 libsvm text (values in [-1, 1]); fake one of each split."""
    import bz2

    rng = np.random.default_rng(0)
    for fname, n in (("usps.bz2", 12), ("usps.t.bz2", 5)):
        lines = []
        for i in range(n):
            vals = rng.uniform(-1, 1, 256)
            feats = " ".join(f"{j + 1}:{v:.4f}" for j, v in enumerate(vals))
            lines.append(f"{i % 10 + 1} {feats}\n")
        (tmp_path / fname).write_bytes(bz2.compress("".join(lines).encode()))
    ds = load_dataset("usps", root=tmp_path)
    assert ds.x_train.shape == (12, 1, 28, 28) and ds.x_test.shape == (5, 1, 28, 28)
    assert ds.y_train.tolist() == [i % 10 for i in range(12)]
    unit = ds.denormalize(ds.x_train)
    assert 0.0 <= unit.min().item() and unit.max().item() <= 1.0
    assert "usps" not in AUTHORS_STATS  # not one of theirs: its own train statistics
    assert ds.mean == pytest.approx(channel_stats(unit)[0], abs=1e-5)


@pytest.mark.parametrize("case, words", [
    ("one class", "has 1 class; condensation and evaluation need at least two"),
    ("no test images", "class 1 has no test images"),
])
def test_unusable_datasets_are_refused_in_one_line(tmp_path, case: str, words: str) -> None:
    import numpy as np
    from click.testing import CliRunner

    from dcbench.cli import cli

    rng = np.random.default_rng(0)
    x_train = rng.random((20, 8, 8)).astype("float32")
    x_test = rng.random((6, 8, 8)).astype("float32")
    if case == "one class":
        y_train, y_test = np.zeros(20, dtype="int64"), np.zeros(6, dtype="int64")
    else:
        y_train = np.repeat([0, 1], 10).astype("int64")
        y_test = np.zeros(6, dtype="int64")
    path = tmp_path / "mine.npz"
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["condense", "--dataset", f"npz:{path}", "--method", "random",
                                   "--ipc", "1", "--quiet", "--out", str(out)])
    assert res.exit_code == 1 and words in res.output, res.output
    assert res.output.strip().count("\n") == 0 and not out.exists()
