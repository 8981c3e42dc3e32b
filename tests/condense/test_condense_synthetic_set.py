"""The SyntheticSet file: round trip, plain-torch readability, PNG grid, damaged files."""

from __future__ import annotations

import io
import math
import pickle
from pathlib import Path

import pytest
import torch
from PIL import Image

from dcbench.condense import SyntheticSet
from dcbench.condense.synthetic_set import FORMAT, FORMAT_VERSION
from dcbench.errors import DcbenchError


def make_set(ipc: int = 2, classes: int = 3, channels: int = 1) -> SyntheticSet:
    gen = torch.Generator().manual_seed(0)
    images = torch.randn(ipc * classes, channels, 8, 8, generator=gen)
    labels = torch.arange(classes).repeat_interleave(ipc)
    meta = {
        "dataset": "toy", "class_names": [f"c{i}" for i in range(classes)],
        "mean": [0.5] * channels, "std": [0.25] * channels, "ipc": ipc, "method": "dc",
        "hparams": {"lr_img": 0.1, "init": "real"}, "seed": 3, "loss_history": [1.5, 0.75],
        "wall_time_s": 1.25, "nan_value": math.nan,
    }
    return SyntheticSet(images, labels, meta)


def test_round_trip_keeps_images_labels_and_meta(tmp_path: Path) -> None:
    sset = make_set()
    path = sset.save(tmp_path / "set.pt")
    back = SyntheticSet.load(path)
    assert torch.equal(back.images, sset.images) and back.images.dtype == torch.float32
    assert torch.equal(back.labels, sset.labels) and back.labels.dtype == torch.int64
    for key in ("dataset", "class_names", "mean", "std", "ipc", "method", "hparams", "seed",
                "loss_history", "wall_time_s"):
        assert back.meta[key] == sset.meta[key], key
    assert back.meta["nan_value"] is None  # strict JSON-able metadata
    assert "normalis" in back.meta["normalisation"]  # the sentence saying how to denormalise
    assert back.ipc == 2 and back.num_classes == 3


def test_loadable_by_plain_torch_load_without_dcbench_classes(tmp_path: Path) -> None:
    path = make_set().save(tmp_path / "set.pt")
    obj = torch.load(path, weights_only=True)
    assert obj["format"] == FORMAT and obj["format_version"] == FORMAT_VERSION
    assert obj["images"].shape == (6, 1, 8, 8) and obj["labels"].tolist() == [0, 0, 1, 1, 2, 2]
    assert isinstance(obj["meta"], dict) and obj["meta"]["class_names"] == ["c0", "c1", "c2"]
    # and nothing in it refers to a dcbench class
    assert b"dcbench.condense" not in path.read_bytes()


def test_png_grid_is_written_denormalised(tmp_path: Path) -> None:
    sset = make_set(ipc=2, classes=3, channels=3)
    sset.save(tmp_path / "set.pt")
    png = tmp_path / "set.png"
    assert png.is_file()
    with Image.open(png) as img:
        assert img.format == "PNG" and img.mode == "RGB"
        assert max(img.size) >= 256  # small sets are scaled up to be visible
        # one row per class, ipc images per row: 2 x 3 cells of 8 px + 2 px padding, scaled
        w, h = img.size
        assert h > w and w * 32 == h * 22
    pixels = sset.denormalised()
    assert pixels.min() >= 0 and pixels.max() <= 1
    expected = (sset.images * 0.25 + 0.5).clamp(0, 1)
    assert torch.allclose(pixels, expected)
    no_png = make_set()
    no_png.save(tmp_path / "other.pt", png=False)
    assert not (tmp_path / "other.png").exists()


def test_grey_sets_give_a_grey_png_and_no_temp_files(tmp_path: Path) -> None:
    make_set(ipc=1, classes=3).save(tmp_path / "s.pt")
    with Image.open(tmp_path / "s.png") as img:
        bands = [torch.tensor(list(b.getdata())) for b in img.convert("RGB").split()]
    assert torch.equal(bands[0], bands[1]) and torch.equal(bands[1], bands[2])  # grey
    assert len(bands[0].unique()) > 10  # and not blank
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.png", "s.pt"]


def _write_torch(path: Path, obj) -> Path:
    buf = io.BytesIO()
    torch.save(obj, buf)
    path.write_bytes(buf.getvalue())
    return path


def _cases(tmp_path: Path) -> dict[str, Path]:
    good = make_set().save(tmp_path / "good.pt", png=False).read_bytes()
    d = {}
    d["missing"] = tmp_path / "nope.pt"
    d["empty"] = tmp_path / "empty.pt"
    d["empty"].write_bytes(b"")
    d["garbage"] = tmp_path / "garbage.pt"
    d["garbage"].write_bytes(b"this is not a torch file\n" * 10)
    d["truncated"] = tmp_path / "truncated.pt"
    d["truncated"].write_bytes(good[: len(good) // 2])
    d["pickle"] = tmp_path / "pickle.pt"
    d["pickle"].write_bytes(pickle.dumps({"format": FORMAT}))
    d["foreign_dict"] = _write_torch(tmp_path / "foreign.pt", {"state_dict": torch.zeros(2)})
    d["tensor"] = _write_torch(tmp_path / "tensor.pt", torch.zeros(3))
    d["no_images"] = _write_torch(tmp_path / "noimg.pt", {"format": FORMAT, "meta": {}})
    d["bad_meta"] = _write_torch(
        tmp_path / "badmeta.pt",
        {"format": FORMAT, "images": torch.zeros(2, 1, 4, 4), "labels": torch.zeros(2).long(),
         "meta": {"dataset": "toy"}},
    )
    d["newer"] = _write_torch(
        tmp_path / "newer.pt", {**torch.load(tmp_path / "good.pt"), "format_version": 99}
    )
    d["nan"] = _write_torch(
        tmp_path / "nan.pt",
        {**torch.load(tmp_path / "good.pt"), "images": torch.full((6, 1, 8, 8), math.nan)},
    )
    return d


CASES = ["missing", "empty", "garbage", "truncated", "pickle", "foreign_dict", "tensor",
         "no_images", "bad_meta", "newer", "nan"]


@pytest.mark.parametrize("case", CASES)
def test_damaged_or_foreign_files_give_a_one_line_dcbench_error(case: str, tmp_path: Path) -> None:
    path = _cases(tmp_path)[case]
    with pytest.raises(DcbenchError) as info:
        SyntheticSet.load(path)
    message = str(info.value)
    assert message and "\n" not in message


@pytest.mark.parametrize(
    "change",
    [
        {"images": torch.zeros(6, 8, 8)},  # not 4-D
        {"labels": torch.zeros(5).long()},  # count mismatch
        {"labels": torch.full((6,), 3)},  # outside 0..2
    ],
)
def test_malformed_sets_are_rejected_at_construction(change) -> None:
    good = make_set()
    fields = {"images": good.images, "labels": good.labels, "meta": good.meta, **change}
    with pytest.raises(DcbenchError):
        SyntheticSet(**fields)
    with pytest.raises(DcbenchError):
        SyntheticSet(good.images, good.labels, {**good.meta, "mean": [0.1, 0.2]})
