"""User data: npz arrays and image folders, good and bad."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from dcbench.data import load_dataset
from dcbench.errors import DataNotFoundError, DcbenchError


def npz_arrays(layout: str = "NHWC", dtype: str = "uint8") -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    shapes = {"NHW": (6, 8, 7), "NHWC": (6, 8, 7, 3), "NCHW": (6, 3, 8, 7)}

    def images(n: int) -> np.ndarray:
        shape = (n,) + shapes[layout][1:]
        if dtype == "uint8":
            return rng.integers(0, 256, shape, dtype=np.uint8)
        return rng.random(shape).astype(dtype)

    return {
        "x_train": images(6),
        "y_train": np.array([0, 1, 2, 0, 1, 2]),
        "x_test": images(3),
        "y_test": np.array([2, 1, 0]),
    }


def save(path: Path, **arrays: np.ndarray) -> Path:
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize(
    ("layout", "dtype", "channels"),
    [("NHW", "uint8", 1), ("NHWC", "uint8", 3), ("NCHW", "float32", 3), ("NHWC", "float64", 3)],
)
def test_npz_layouts(tmp_path: Path, layout: str, dtype: str, channels: int) -> None:
    arrays = npz_arrays(layout, dtype)
    path = save(tmp_path / "d.npz", **arrays)
    ds = load_dataset(f"npz:{path}")
    assert ds.x_train.shape == (6, channels, 8, 7) and ds.x_test.shape == (3, channels, 8, 7)
    assert ds.class_names == ["0", "1", "2"] and ds.y_train.tolist() == [0, 1, 2, 0, 1, 2]
    x = arrays["x_train"].astype(np.float64)
    x = x / 255 if dtype == "uint8" else x
    if layout == "NHW":
        x = x[:, None]
    elif layout == "NHWC":
        x = x.transpose(0, 3, 1, 2)
    np.testing.assert_allclose(ds.denormalize(ds.x_train).numpy(), x, atol=1e-5)


def test_npz_bare_path_and_class_names(tmp_path: Path) -> None:
    path = save(tmp_path / "named.npz", **npz_arrays(), class_names=np.array(["cat", "dog", "x"]))
    ds = load_dataset(str(path))
    assert ds.class_names == ["cat", "dog", "x"] and ds.name == f"npz:{path.resolve()}"


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda a: a.pop("y_test"), "missing array.*y_test"),
        (lambda a: a.update(y_train=np.array([0, 1, 2, 0, 1])), "6 images but y_train 5 labels"),
        (lambda a: a.update(y_test=np.array([2, 1, -1])), "label out of range"),
        (lambda a: a.update(x_test=np.zeros((3, 8, 6, 3), np.uint8)), "x_test images are"),
        (lambda a: a.update(x_train=np.zeros((6, 8), np.uint8)), "must be N,H,W"),
        (lambda a: a.update(y_train=np.array([0.5, 1, 2, 0, 1, 2])), "whole class indices"),
        (lambda a: a.update(x_train=np.full((6, 8, 7, 3), 2.0)), r"must be in \[0, 1\]"),
        (lambda a: a.update(x_train=np.full((6, 8, 7, 3), 300)), "0..255"),
        (
            lambda a: a.update(x_train=np.zeros((0, 8, 7, 3), np.uint8), y_train=np.zeros(0, int)),
            "empty",
        ),
    ],
)
def test_npz_bad_contents(tmp_path: Path, change, match: str) -> None:
    arrays = npz_arrays()
    change(arrays)
    path = save(tmp_path / "bad.npz", **arrays)
    with pytest.raises(DcbenchError, match=match) as exc:
        load_dataset(str(path))
    assert str(path) in str(exc.value) and "\n" not in str(exc.value)


def test_npz_nan_values(tmp_path: Path) -> None:
    arrays = npz_arrays("NCHW", "float32")
    arrays["x_test"][1, 0, 2, 3] = np.nan
    with pytest.raises(DcbenchError, match="x_test contains NaN"):
        load_dataset(str(save(tmp_path / "nan.npz", **arrays)))


def test_npz_label_beyond_class_names(tmp_path: Path) -> None:
    arrays = npz_arrays()
    path = save(tmp_path / "k.npz", **arrays, class_names=np.array(["a", "b"]))
    with pytest.raises(DcbenchError, match="label out of range"):
        load_dataset(str(path))


def test_npz_unreadable_and_missing(tmp_path: Path) -> None:
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"definitely not a zip archive")
    with pytest.raises(DcbenchError, match="cannot read npz") as exc:
        load_dataset(f"npz:{junk}")
    assert "\n" not in str(exc.value)
    with pytest.raises(DataNotFoundError, match="does not exist"):
        load_dataset(f"npz:{tmp_path / 'absent.npz'}")
    single = tmp_path / "single.npz"
    with single.open("wb") as f:
        np.save(f, np.zeros(3))
    with pytest.raises(DcbenchError, match="single array"):
        load_dataset(str(single))


# --------------------------------------------------------------------------- image folders
def write_folder(root: Path, mode: str = "RGB", size: tuple[int, int] = (9, 7)) -> None:
    """train: ant x3, bee x2, cat x2; test: ant x1, cat x2 (no bee)."""
    rng = np.random.default_rng(0)
    layout = {"train": {"ant": 3, "bee": 2, "cat": 2}, "test": {"ant": 1, "cat": 2}}
    for split, classes in layout.items():
        for cname, n in classes.items():
            d = root / split / cname
            d.mkdir(parents=True)
            for i in range(n):
                shape = (size[1], size[0]) + ((3,) if mode == "RGB" else ())
                arr = rng.integers(0, 256, shape, dtype=np.uint8)
                ext = "png" if i % 2 == 0 else "jpg"
                Image.fromarray(arr, mode).save(d / f"{i}.{ext}")
    (root / "train" / "ant" / "notes.txt").write_text("not an image, ignored")


@pytest.mark.parametrize(("mode", "channels"), [("RGB", 3), ("L", 1)])
def test_imagefolder(tmp_path: Path, mode: str, channels: int) -> None:
    write_folder(tmp_path, mode)
    ds = load_dataset(f"imagefolder:{tmp_path}")
    assert ds.class_names == ["ant", "bee", "cat"]
    assert ds.x_train.shape == (7, channels, 7, 9) and ds.x_test.shape == (3, channels, 7, 9)
    assert ds.class_counts() == [3, 2, 2] and ds.y_test.tolist() == [0, 2, 2]
    png = np.asarray(Image.open(tmp_path / "train" / "ant" / "0.png"), dtype=np.float32) / 255
    first = ds.denormalize(ds.x_train[0]).numpy()
    expected = png.transpose(2, 0, 1) if mode == "RGB" else png[None]
    np.testing.assert_allclose(first, expected, atol=1e-5)
    assert torch.equal(load_dataset(str(tmp_path)).x_train, ds.x_train)  # bare directory


def test_imagefolder_missing_parts(tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError, match="does not exist"):
        load_dataset(f"imagefolder:{tmp_path / 'absent'}")
    (tmp_path / "train" / "a").mkdir(parents=True)
    with pytest.raises(DataNotFoundError, match="no test/ subfolder"):
        load_dataset(f"imagefolder:{tmp_path}")
    (tmp_path / "test").mkdir()
    with pytest.raises(DcbenchError, match="has no images"):
        load_dataset(f"imagefolder:{tmp_path}")


def test_imagefolder_bad_files(tmp_path: Path) -> None:
    write_folder(tmp_path)
    bad = tmp_path / "train" / "bee" / "broken.png"
    bad.write_bytes(b"\x89PNG but not really")
    with pytest.raises(DcbenchError, match="cannot read image") as exc:
        load_dataset(f"imagefolder:{tmp_path}")
    assert str(bad) in str(exc.value) and "\n" not in str(exc.value)
    bad.unlink()
    Image.new("RGB", (5, 5)).save(tmp_path / "test" / "cat" / "small.png")
    with pytest.raises(DcbenchError, match="resize them"):
        load_dataset(f"imagefolder:{tmp_path}")
    (tmp_path / "test" / "cat" / "small.png").unlink()
    (tmp_path / "test" / "dog").mkdir()
    with pytest.raises(DcbenchError, match="classes not in"):
        load_dataset(f"imagefolder:{tmp_path}")
