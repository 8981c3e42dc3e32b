"""User datasets from files: a ``.npz`` of arrays, or an image folder tree.

Both end up in the same :class:`ClassDataset` as the built-in datasets, so any condenser or
application runs on them unchanged. Every problem with the files (missing key, wrong shape,
NaN, bad label, unreadable image) is reported as one DcbenchError line that names the file.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import torch

from dcbench.data.base import ClassDataset
from dcbench.data.registry import register_dataset
from dcbench.errors import DataNotFoundError, DcbenchError

NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"})
_GREY_MODES = frozenset({"1", "L", "LA", "I", "I;16", "F"})


# --------------------------------------------------------------------------- array helpers
def images_to_unit_nchw(
    x: np.ndarray, what: str, channels_last: bool | None = None
) -> torch.Tensor:
    """Images as N,H,W / N,H,W,C / N,C,H,W, uint8 0..255 or float 0..1 -> float32 NCHW [0, 1].

    Unless ``channels_last`` says so, the channel axis of a 4-D array is guessed: the last one
    when it is small (<= 4) and either the second is not or the last is the smaller of the
    two; otherwise N,C,H,W (the torch order). This reads both common layouts of real data.
    """
    if x.dtype == np.bool_ or not (
        np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.floating)
    ):
        raise DcbenchError(f"{what} must hold numbers, got dtype {x.dtype}")
    if x.ndim == 3:
        x = x[:, None]
    elif x.ndim == 4:
        if channels_last is None:
            channels_last = x.shape[3] <= 4 and (x.shape[1] > 4 or x.shape[3] < x.shape[1])
        if channels_last:
            x = x.transpose(0, 3, 1, 2)
    else:
        raise DcbenchError(f"{what} must be N,H,W or N,H,W,C or N,C,H,W; got shape {x.shape}")
    if np.issubdtype(x.dtype, np.integer):
        if x.size and (x.min() < 0 or x.max() > 255):
            raise DcbenchError(
                f"{what}: integer images must be in 0..255, found {x.min()}..{x.max()}"
            )
        return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).div_(255.0)
    if not np.isfinite(x).all():
        raise DcbenchError(f"{what} contains NaN or infinite values")
    if x.size and (x.min() < 0 or x.max() > 1):
        raise DcbenchError(
            f"{what}: float images must be in [0, 1], found {x.min():.4g}..{x.max():.4g}; "
            "store uint8 0..255 or rescale"
        )
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))


def labels_to_int64(y: np.ndarray, what: str) -> torch.Tensor:
    """1-D integer labels (integral floats accepted, as often saved by accident) -> int64."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise DcbenchError(f"{what} must be 1-D class indices, got shape {y.shape}")
    if np.issubdtype(y.dtype, np.floating):
        if not np.isfinite(y).all() or not (y == np.round(y)).all():
            raise DcbenchError(f"{what} must hold whole class indices")
    elif not np.issubdtype(y.dtype, np.integer) or y.dtype == np.bool_:
        raise DcbenchError(f"{what} must hold integer class indices, got dtype {y.dtype}")
    if y.size and y.min() < 0:
        raise DcbenchError(f"{what}: label out of range ({int(y.min())} < 0)")
    return torch.from_numpy(y.astype(np.int64))


def _class_names(names: list[str] | None, y_train: torch.Tensor, y_test: torch.Tensor) -> list[str]:
    """Given names, or ``"0".."K-1"`` with K = largest label + 1."""
    if names is not None:
        return names
    k = int(max(int(y_train.max()), int(y_test.max()) if y_test.numel() else 0)) + 1
    return [str(i) for i in range(k)]


def _dataset_from_arrays(
    path: Path,
    name: str,
    arrays: dict[str, np.ndarray],
    class_names: list[str] | None,
    channels_last: bool | None = None,
) -> ClassDataset:
    """The dataset of the four ``NPZ_KEYS`` arrays; a problem is reported naming ``path``."""
    try:
        x_train = images_to_unit_nchw(arrays["x_train"], "x_train", channels_last)
        x_test = images_to_unit_nchw(arrays["x_test"], "x_test", channels_last)
        y_train = labels_to_int64(arrays["y_train"], "y_train")
        y_test = labels_to_int64(arrays["y_test"], "y_test")
        for split, x, y in (("train", x_train, y_train), ("test", x_test, y_test)):
            if x.shape[0] != y.shape[0]:
                raise DcbenchError(
                    f"x_{split} has {x.shape[0]} images but y_{split} {y.shape[0]} labels"
                )
            if x.shape[0] == 0:
                raise DcbenchError(f"the {split} split is empty")
        if x_train.shape[1:] != x_test.shape[1:]:
            raise DcbenchError(
                f"x_test images are {tuple(x_test.shape[1:])} "
                f"but x_train {tuple(x_train.shape[1:])}"
            )
        names = _class_names(class_names, y_train, y_test)
        return ClassDataset.from_unit_range(name, x_train, y_train, x_test, y_test, names)
    except DcbenchError as exc:
        raise _naming(exc, path) from None


def _naming(exc: DcbenchError, path: Path) -> DcbenchError:
    """The same error with the file in its message (once), so the user knows which input."""
    msg = str(exc)
    where = str(path.resolve())
    return type(exc)(msg if where in msg else f"{where}: {msg}")


# --------------------------------------------------------------------------- npz
def read_npz(path: str | Path) -> ClassDataset:
    """Load ``x_train, y_train, x_test, y_test`` (and optional ``class_names``) from a .npz."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise DataNotFoundError(f"npz file {path} does not exist")
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise DcbenchError("holds a single array, not an .npz archive of named arrays")
        with loaded as npz:
            missing = [k for k in NPZ_KEYS if k not in npz.files]
            if missing:
                raise DcbenchError(
                    f"missing array(s) {', '.join(missing)} (has: {', '.join(npz.files)})"
                )
            arrays = {k: npz[k] for k in NPZ_KEYS}
            names = None
            if "class_names" in npz.files:
                names = [str(n) for n in np.atleast_1d(npz["class_names"]).tolist()]
    except DcbenchError as exc:
        raise _naming(exc, path) from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:  # not npz, pickles
        raise DcbenchError(f"cannot read npz file {path}: {exc}") from None
    return _dataset_from_arrays(path, f"npz:{path.resolve()}", arrays, names)


@register_dataset(
    "npz",
    summary="your arrays: npz:PATH with x_train, y_train, x_test, y_test [, class_names]",
    arg="required",
    arg_help="PATH.npz",
)
def _load_npz(arg: str | None, root: Path | None, download: bool) -> ClassDataset:
    return read_npz(arg or "")


# --------------------------------------------------------------------------- image folders
def _image_files(class_dir: Path) -> list[Path]:
    return sorted(
        p
        for p in class_dir.iterdir()
        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
    )


def _class_dirs(split_dir: Path) -> list[Path]:
    return sorted(p for p in split_dir.iterdir() if p.is_dir() and not p.name.startswith("."))


def _read_image(path: Path, mode: str | None) -> np.ndarray:
    """One image as uint8 (H,W) or (H,W,3); ``mode`` None: decide from this image."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            if mode is None:
                mode = "L" if im.mode in _GREY_MODES else "RGB"
            if im.mode in ("I", "I;16", "F"):  # 16-bit/float grey: scale by the type's range
                arr = np.asarray(im, dtype=np.float64)
                top = 65535.0 if im.mode != "F" else max(float(arr.max()), 1.0)
                grey = np.clip(arr / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
                im2 = Image.fromarray(grey, "L")
                return np.asarray(im2.convert(mode))
            return np.asarray(im.convert(mode))
    except OSError as exc:  # includes UnidentifiedImageError and truncated files
        raise DcbenchError(f"cannot read image {path}: {exc}") from None


def _read_split(split_dir: Path, classes: list[str], mode: str | None) -> tuple:
    images: list[np.ndarray] = []
    labels: list[int] = []
    first: Path | None = None
    for label, cname in enumerate(classes):
        class_dir = split_dir / cname
        if not class_dir.is_dir():
            continue  # a test split may lack classes
        for f in _image_files(class_dir):
            arr = _read_image(f, mode)
            if first is None:
                first, mode = f, ("L" if arr.ndim == 2 else "RGB")
            elif arr.shape != images[0].shape:
                raise DcbenchError(
                    f"image {f} is {arr.shape[1]}x{arr.shape[0]} but {first} is "
                    f"{images[0].shape[1]}x{images[0].shape[0]}; resize them to one size first"
                )
            images.append(arr)
            labels.append(label)
    if not images:
        raise DcbenchError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) under {split_dir}")
    return np.stack(images), np.asarray(labels, dtype=np.int64), mode


def read_imagefolder(path: str | Path) -> ClassDataset:
    """Load ``PATH/train/<class>/*`` and ``PATH/test/<class>/*``; classes = sorted train folders.

    Images are read as grey when the first one is grey and as RGB otherwise (all converted to
    that mode), and must share one size: silently resizing would change what is benchmarked.
    """
    root = Path(path).expanduser()
    if not root.is_dir():
        raise DataNotFoundError(f"image folder {root} does not exist")
    train_dir, test_dir = root / "train", root / "test"
    for d in (train_dir, test_dir):
        if not d.is_dir():
            raise DataNotFoundError(
                f"image folder {root} has no {d.name}/ subfolder (expected "
                f"{root}/train/<class>/*.png and {root}/test/<class>/*.png)"
            )
    classes = [p.name for p in _class_dirs(train_dir)]
    if not classes:
        raise DcbenchError(f"{train_dir} has no class subfolders")
    for cname in classes:
        if not _image_files(train_dir / cname):
            raise DcbenchError(f"class folder {train_dir / cname} has no images")
    unknown = sorted({p.name for p in _class_dirs(test_dir)} - set(classes))
    if unknown:
        raise DcbenchError(f"{test_dir} has classes not in {train_dir}: {', '.join(unknown)}")
    x_train, y_train, mode = _read_split(train_dir, classes, None)
    x_test, y_test, _ = _read_split(test_dir, classes, mode)
    arrays = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
    name = f"imagefolder:{root.resolve()}"
    return _dataset_from_arrays(root, name, arrays, classes, channels_last=mode == "RGB")


@register_dataset(
    "imagefolder",
    summary="your images: imagefolder:DIR with DIR/train/<class>/*.png and DIR/test/<class>/*",
    arg="required",
    arg_help="DIR",
)
def _load_imagefolder(arg: str | None, root: Path | None, download: bool) -> ClassDataset:
    return read_imagefolder(arg or "")
