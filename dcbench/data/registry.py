"""The dataset registry and :func:`load_dataset`, the one entry point for getting data.

A dataset *spec* is ``NAME`` or ``NAME:ARG``: ``fashion-mnist``, ``toy:classes=10:size=32``,
``npz:/data/mine.npz``, ``imagefolder:/data/pets``. A bare path to a ``.npz`` file or to an
existing directory is accepted too. Each source is one decorated loader function (see
:func:`register_dataset`), so adding a dataset touches no if/elif chain.

Root precedence for sources that read files: the ``root`` argument (the CLI's ``--data-root``),
else ``$DCBENCH_DATA_ROOT``, else the source's own default location.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch

from dcbench.data.base import ClassDataset
from dcbench.errors import DcbenchError
from dcbench.registry import Registry

ENV_DATA_ROOT = "DCBENCH_DATA_ROOT"

#: ``loader(arg, root, download)``; ``root`` is already resolved (None: use your default).
Loader = Callable[[str | None, Path | None, bool], ClassDataset]


@dataclass(frozen=True)
class DatasetEntry:
    """A registered source: its loader plus what is known without loading it.

    The static fields (``None`` for user data, whose shape is only known from the files) let
    the CLI list datasets and let callers size a model before paying for a load.
    """

    name: str
    loader: Loader
    summary: str
    arg: Literal["none", "optional", "required"] = "none"
    arg_help: str = ""
    channels: int | None = None
    image_size: tuple[int, int] | None = None
    num_classes: int | None = None

    def load(self, arg: str | None, root: Path | None, download: bool) -> ClassDataset:
        if self.arg == "none" and arg:
            raise DcbenchError(f"dataset {self.name!r} takes no ':' options (got {arg!r})")
        if self.arg == "required" and not arg:
            usage = f"{self.name}:{self.arg_help}"
            raise DcbenchError(f"dataset {self.name!r} needs an argument: {usage}")
        return self.loader(arg or None, root, download)


DATASETS: Registry[DatasetEntry] = Registry("dataset")


def register_dataset(
    name: str,
    *,
    summary: str,
    aliases: tuple[str, ...] = (),
    arg: Literal["none", "optional", "required"] = "none",
    arg_help: str = "",
    channels: int | None = None,
    image_size: tuple[int, int] | None = None,
    num_classes: int | None = None,
) -> Callable[[Loader], Loader]:
    """Decorator registering a loader under ``name`` and its ``aliases`` (same entry)."""

    def deco(loader: Loader) -> Loader:
        entry = DatasetEntry(
            name, loader, summary, arg, arg_help, channels, image_size, num_classes
        )
        for key in (name, *aliases):
            DATASETS.register(key)(entry)
        return loader

    return deco


def default_cache_root() -> Path:
    """Where downloadable datasets live by default: ``$XDG_CACHE_HOME/dcbench/data``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "dcbench" / "data"


def resolve_root(root: str | Path | None) -> Path | None:
    """The explicit ``root``, else ``$DCBENCH_DATA_ROOT``, else None (the source's default)."""
    if root is not None and str(root) != "":
        return Path(root).expanduser()
    env = os.environ.get(ENV_DATA_ROOT, "").strip()
    return Path(env).expanduser() if env else None


def split_spec(spec: str) -> tuple[DatasetEntry, str | None]:
    """Find the entry and argument a spec names (see the module docstring)."""
    spec = spec.strip()
    if not spec:
        raise DcbenchError("empty dataset name")
    if spec in DATASETS:
        return DATASETS.get(spec), None
    head, sep, tail = spec.partition(":")
    if sep and head in DATASETS:
        return DATASETS.get(head), tail
    path = Path(spec).expanduser()
    if spec.lower().endswith(".npz"):
        return DATASETS.get("npz"), spec
    if path.is_dir():
        return DATASETS.get("imagefolder"), spec
    return DATASETS.get(head), None  # raises UnknownNameError with the known names


def load_dataset(name: str, root: str | Path | None = None, download: bool = False) -> ClassDataset:
    """Load the dataset a spec names, as normalised in-memory tensors.

    ``download`` is passed to sources that can fetch their files (torchvision ones); nothing
    touches the network unless it is True. Missing files raise DataNotFoundError and bad files
    DcbenchError, both with a one-line message.
    """
    entry, arg = split_spec(name)
    return entry.load(arg, resolve_root(root), download)


def check_usable(ds: ClassDataset) -> ClassDataset:
    """Refuse data no benchmark can run on (every command checks before its work): fewer
    than two classes (nothing to tell apart, yet every method would run to the end) or a
    class without test images (its accuracy would silently be missing from every score)."""
    if ds.num_classes < 2:
        raise DcbenchError(f"{ds.name} has {ds.num_classes} class; condensation and evaluation "
                           "need at least two")
    counts = torch.bincount(ds.y_test, minlength=ds.num_classes).tolist()
    empty = [ds.class_names[c] for c, n in enumerate(counts) if n == 0]
    if empty:
        raise DcbenchError(f"{ds.name}: class{'es' if len(empty) > 1 else ''} "
                           f"{', '.join(map(str, empty[:5]))} ha{'ve' if len(empty) > 1 else 's'}"
                           " no test images; every class needs some to be scored")
    return ds


def dataset_names() -> list[str]:
    """Registered names, aliases included (what ``--dataset`` accepts besides paths)."""
    return DATASETS.names()
