"""The IDX reader/writer and the Fashion-MNIST loader on small files written here."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from dcbench.data import load_dataset, read_idx, write_idx
from dcbench.data.fashion_mnist import CLASS_NAMES
from dcbench.data.idx import idx_magic
from dcbench.errors import DataNotFoundError, DcbenchError

FakeTree = Callable[..., dict[str, np.ndarray]]


def one_line(exc: pytest.ExceptionInfo) -> str:
    msg = str(exc.value)
    assert msg and "\n" not in msg
    return msg


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize(
    "array",
    [
        np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4),
        np.array([3, 1, 4, 1, 5], dtype=np.uint8),
        np.array([[-7, 1 << 20], [5, -(1 << 30)]], dtype=np.int32),
        np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4),
        np.array([-2, 0, 300], dtype=np.int16),
        np.array([1.5, -2.25], dtype=np.float64),
    ],
)
def test_round_trip(tmp_path: Path, array: np.ndarray, suffix: str) -> None:
    path = write_idx(tmp_path / f"a{suffix}", array)
    back = read_idx(path)
    assert back.dtype == array.dtype and back.shape == array.shape
    np.testing.assert_array_equal(back, array)


def test_magic_numbers_match_the_mnist_files(tmp_path: Path) -> None:
    images = write_idx(tmp_path / "i", np.zeros((2, 28, 28), np.uint8))
    labels = write_idx(tmp_path / "l", np.zeros(2, np.uint8))
    assert (
        images.read_bytes()[:4] == (2051).to_bytes(4, "big") == idx_magic(8, 3).to_bytes(4, "big")
    )
    assert labels.read_bytes()[:4] == (2049).to_bytes(4, "big")
    read_idx(images, expect_magic=2051)
    with pytest.raises(DcbenchError, match="magic number 2049, expected 2051") as exc:
        read_idx(labels, expect_magic=2051)
    one_line(exc)


def test_truncated_data_names_the_file(tmp_path: Path) -> None:
    good = write_idx(tmp_path / "x", np.zeros((10, 4, 4), np.uint8)).read_bytes()
    path = tmp_path / "cut-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(good[:-5]))
    with pytest.raises(DcbenchError, match="truncated") as exc:
        read_idx(path)
    assert str(path) in one_line(exc)
    path.write_bytes(gzip.compress(good + b"xx"))
    with pytest.raises(DcbenchError, match="longer than its header"):
        read_idx(path)
    path.write_bytes(gzip.compress(good[:10]))
    with pytest.raises(DcbenchError, match="truncated inside its header"):
        read_idx(path)


def test_corrupt_gzip_and_bad_magic(tmp_path: Path) -> None:
    data = gzip.compress(write_idx(tmp_path / "x", np.zeros((50, 8), np.uint8)).read_bytes())
    cut = tmp_path / "cut.gz"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(DcbenchError, match="cannot decompress") as exc:
        read_idx(cut)
    assert str(cut) in one_line(exc)
    junk = tmp_path / "junk.gz"
    junk.write_bytes(b"this is not gzip at all")
    with pytest.raises(DcbenchError, match="cannot decompress"):
        read_idx(junk)
    text = tmp_path / "text"
    text.write_bytes(b"hello world, not IDX")
    with pytest.raises(DcbenchError, match="not an IDX file") as exc:
        read_idx(text)
    assert str(text) in one_line(exc)


def test_fashion_mnist_loader_on_fake_files(tmp_path: Path, fake_idx_tree: FakeTree) -> None:
    arrays = fake_idx_tree(tmp_path / "FashionMNIST" / "raw", n_train=30, n_test=10)
    ds = load_dataset("fashion-mnist", root=tmp_path)
    assert ds.name == "fashion-mnist" and ds.class_names == CLASS_NAMES
    assert ds.x_train.shape == (30, 1, 28, 28) and ds.x_test.shape == (10, 1, 28, 28)
    np.testing.assert_array_equal(ds.y_train.numpy(), arrays["train-labels-idx1-ubyte"])
    raw = arrays["train-images-idx3-ubyte"].astype(np.float32) / 255
    assert (ds.mean, ds.std) == ((0.2861,), (0.3530,))  # the DC authors', not these files'
    assert abs(ds.mean[0] - raw.mean()) > 0.05
    np.testing.assert_allclose(ds.x_train[:, 0].numpy(), (raw - 0.2861) / 0.3530, atol=1e-5)
    np.testing.assert_allclose(ds.denormalize(ds.x_train)[:, 0].numpy(), raw, atol=1e-5)


@pytest.mark.parametrize("layout", ["", "fashion-mnist", "FashionMNIST/raw"])
def test_fashion_mnist_layouts_and_plain_files(
    tmp_path: Path, fake_idx_tree: FakeTree, layout: str
) -> None:
    fake_idx_tree(tmp_path / layout if layout else tmp_path, gz=layout != "")
    assert load_dataset("fmnist", root=tmp_path).x_train.shape[0] == 30


def test_fashion_mnist_root_precedence(
    tmp_path: Path, fake_idx_tree: FakeTree, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_idx_tree(tmp_path / "env", n_train=20)
    fake_idx_tree(tmp_path / "arg", n_train=40)
    monkeypatch.setenv("DCBENCH_DATA_ROOT", str(tmp_path / "env"))
    assert load_dataset("fashion-mnist").x_train.shape[0] == 20
    assert load_dataset("fashion-mnist", root=tmp_path / "arg").x_train.shape[0] == 40


def test_fashion_mnist_missing_directory(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(DataNotFoundError) as exc:
        load_dataset("fashion-mnist", root=missing)
    msg = one_line(exc)
    assert str(missing) in msg and "apt-get install dataset-fashion-mnist" in msg
    assert "--data-root" in msg and str(missing / "FashionMNIST" / "raw") in msg


def test_fashion_mnist_corrupt_file_is_named(tmp_path: Path, fake_idx_tree: FakeTree) -> None:
    fake_idx_tree(tmp_path)
    bad = tmp_path / "t10k-labels-idx1-ubyte.gz"
    bad.write_bytes(bad.read_bytes()[:-6])
    with pytest.raises(DcbenchError) as exc:
        load_dataset("fashion-mnist", root=tmp_path)
    assert str(bad) in one_line(exc)


def test_fashion_mnist_inconsistent_files(tmp_path: Path, fake_idx_tree: FakeTree) -> None:
    fake_idx_tree(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(29, np.uint8))
    with pytest.raises(DcbenchError, match="29 labels for 30 images"):
        load_dataset("fashion-mnist", root=tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.full(30, 10, np.uint8))
    with pytest.raises(DcbenchError, match="label 10 out of range"):
        load_dataset("fashion-mnist", root=tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(30, np.uint8))
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", np.zeros((30, 32, 32), np.uint8))
    with pytest.raises(DcbenchError, match="28x28"):
        load_dataset("fashion-mnist", root=tmp_path)
