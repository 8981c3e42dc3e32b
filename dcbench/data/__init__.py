"""Datasets as class-indexed, normalised in-memory tensors, behind one registry.

``load_dataset("fashion-mnist")`` (or ``toy``, ``cifar10``, ``npz:PATH``, ``imagefolder:DIR``,
...) returns a :class:`ClassDataset`. Importing this package registers every built-in source;
torchvision itself is only imported when a torchvision-backed dataset is loaded.
"""

from dcbench.data import fashion_mnist, files, torchvision_sources, toy  # noqa: F401 (register)
from dcbench.data.base import ClassDataset, channel_stats
from dcbench.data.files import read_imagefolder, read_npz
from dcbench.data.idx import read_idx, write_idx
from dcbench.data.registry import (
    DATASETS,
    ENV_DATA_ROOT,
    DatasetEntry,
    dataset_names,
    default_cache_root,
    load_dataset,
    register_dataset,
    resolve_root,
)
from dcbench.data.toy import make_toy_dataset

__all__ = [
    "DATASETS",
    "ENV_DATA_ROOT",
    "ClassDataset",
    "DatasetEntry",
    "channel_stats",
    "dataset_names",
    "default_cache_root",
    "load_dataset",
    "make_toy_dataset",
    "read_idx",
    "read_imagefolder",
    "read_npz",
    "register_dataset",
    "resolve_root",
    "write_idx",
]
