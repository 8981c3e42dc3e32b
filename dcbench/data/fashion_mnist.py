"""Fashion-MNIST straight from its four IDX files (the paper's main small benchmark).

The default location is Debian's ``dataset-fashion-mnist`` package, so the data works offline
with no download step. The files are read with our own IDX reader: torchvision insists on
decompressed files and rejects Debian's ``.gz`` by md5 (see :mod:`dcbench.data.idx`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from dcbench.data.base import AUTHORS_STATS, ClassDataset
from dcbench.data.idx import idx_magic, read_idx
from dcbench.data.registry import default_cache_root, register_dataset
from dcbench.errors import DataNotFoundError, DcbenchError

SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")

CLASS_NAMES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]

FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

_IMAGES_MAGIC = idx_magic(0x08, 3)  # 2051
_LABELS_MAGIC = idx_magic(0x08, 1)  # 2049


def candidate_dirs(root: Path | None) -> list[Path]:
    """Directories searched, in order: with a root, the layouts people commonly have."""
    if root is None:  # Debian's package, then where --download puts the files
        return [SYSTEM_DIR, default_cache_root() / "FashionMNIST" / "raw"]
    return [root, root / "fashion-mnist", root / "FashionMNIST" / "raw"]


def _find_in(directory: Path) -> dict[str, Path] | None:
    found = {}
    for key, base in FILES.items():
        for name in (base + ".gz", base):
            if (directory / name).is_file():
                found[key] = directory / name
                break
        else:
            return None
    return found


def find_files(root: Path | None) -> dict[str, Path]:
    """The four IDX files (``.gz`` or plain) of the first directory holding all of them."""
    dirs = candidate_dirs(root)
    for directory in dirs:
        found = _find_in(directory)
        if found is not None:
            return found
    hint = ""
    if root is not None and _find_in(SYSTEM_DIR) is not None:
        hint = f" (they are in {SYSTEM_DIR}: leave out --data-root and $DCBENCH_DATA_ROOT)"
    looked = ", ".join(str(d) for d in dirs)
    raise DataNotFoundError(
        f"Fashion-MNIST not found: looked for {FILES['train_images']}[.gz] and the other "
        f"three IDX files in {looked}{hint}; install them with "
        f"'apt-get install dataset-fashion-mnist', pass --data-root DIR, or --download"
    )


def _images(path: Path) -> torch.Tensor:
    """uint8 (N,28,28) -> float32 (N,1,28,28) in [0, 1] (divide, as torchvision's ToTensor)."""
    arr = read_idx(path, expect_magic=_IMAGES_MAGIC)
    if arr.shape[1:] != (28, 28):
        raise DcbenchError(f"{path}: Fashion-MNIST images must be 28x28, got {arr.shape[1:]}")
    x = torch.empty((arr.shape[0], 1, 28, 28), dtype=torch.float32)
    # numpy converts straight into the tensor's buffer: no intermediate copy, and no warning
    # about the read-only array that views the decompressed bytes.
    np.copyto(x.numpy().reshape(arr.shape), arr, casting="unsafe")
    return x.div_(255.0)


def _labels(path: Path, n_images: int) -> torch.Tensor:
    arr = read_idx(path, expect_magic=_LABELS_MAGIC)
    if arr.shape[0] != n_images:
        raise DcbenchError(f"{path}: {arr.shape[0]} labels for {n_images} images")
    if arr.size and int(arr.max()) >= len(CLASS_NAMES):
        raise DcbenchError(f"{path}: label {int(arr.max())} out of range 0..9")
    return torch.from_numpy(arr.astype(np.int64))


def _download(root: Path | None) -> Path:
    """Fetch through torchvision into ``root/FashionMNIST/raw`` (one of our search paths)."""
    from torchvision.datasets import FashionMNIST

    target = root if root is not None else default_cache_root()
    try:
        FashionMNIST(str(target), train=True, download=True)
    except (RuntimeError, OSError) as exc:
        raise DataNotFoundError(f"Fashion-MNIST download into {target} failed: {exc}") from None
    return target


def read_fashion_mnist(root: Path | None = None, download: bool = False) -> ClassDataset:
    """Load Fashion-MNIST from ``root`` (None: the Debian location), normalised with the DC
    authors' constants (the split's own differ by 6e-5)."""
    try:
        files = find_files(root)
    except DataNotFoundError:
        if not download:
            raise
        files = find_files(_download(root))
    x_train = _images(files["train_images"])
    y_train = _labels(files["train_labels"], x_train.shape[0])
    x_test = _images(files["test_images"])
    y_test = _labels(files["test_labels"], x_test.shape[0])
    return ClassDataset.from_unit_range(
        "fashion-mnist", x_train, y_train, x_test, y_test, CLASS_NAMES,
        stats=AUTHORS_STATS["fashion-mnist"],
    )


@register_dataset(
    "fashion-mnist",
    aliases=("fmnist",),
    summary="Fashion-MNIST, 10 classes of 28x28 grey clothing (IDX files; Debian package)",
    channels=1,
    image_size=(28, 28),
    num_classes=10,
)
def _load(arg: str | None, root: Path | None, download: bool) -> ClassDataset:
    return read_fashion_mnist(root, download)
