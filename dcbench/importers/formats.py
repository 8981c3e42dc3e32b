"""The released-set layouts ``dcbench import`` reads: one registered reader function each.

A reader only finds the images and labels in its files; it does not judge them (that is
:mod:`dcbench.importers.checks`, the same for every format). Files are read with
``torch.load(weights_only=True)`` or ``numpy.load(allow_pickle=False)``: a released file is
data from a stranger, and unpickling arbitrary objects would run their code.
"""

from __future__ import annotations

import pickle
import re
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dcbench.data.base import AUTHORS_STATS, Stats
from dcbench.errors import DcbenchError
from dcbench.registry import Registry

#: The constants of ``get_dataset`` in the DC authors' utils.py (VICO-UoE/DatasetCondensation),
#: keyed by dcbench dataset name: the ones dcbench normalises these datasets with. Their older
#: releases normalised CIFAR-100 with CIFAR-10's values (pass those with --mean/--std for such
#: a file).
DC_AUTHORS_STATS: dict[str, Stats] = dict(AUTHORS_STATS)

#: MTT (GeorgeCazenavette/mtt-distillation) started from the DC code but normalises CIFAR-100
#: with the CIFAR-10 constants.
MTT_STATS: dict[str, Stats] = {**DC_AUTHORS_STATS, "cifar100": DC_AUTHORS_STATS["cifar10"]}


@dataclass(frozen=True)
class RawSet:
    """Images and labels as found in a file (tensors or arrays, any shape), not yet checked."""

    images: Any
    labels: Any
    experiment: int | None = None  # index in a file that holds several runs


@dataclass(frozen=True)
class Loaded:
    """What a reader found: the sets, and every file it read (role -> path) for provenance."""

    sets: list[RawSet]
    files: dict[str, Path] = field(default_factory=dict)


@dataclass(frozen=True)
class ImportFormat:
    """A registered layout: its reader plus what its authors' files assume.

    ``space`` is the space its images are in (None: the file does not say, so the user must:
    ``--space``); ``stats`` the normalisation its authors used, by dcbench dataset name.
    """

    name: str
    read: Callable[[Path], Loaded]
    summary: str
    space: str | None = None
    stats: Mapping[str, Stats] = field(default_factory=dict)
    stats_owner: str = ""


FORMATS: Registry[ImportFormat] = Registry("import format")


def register_format(name: str, *, summary: str, space: str | None = None,
                    stats: Mapping[str, Stats] | None = None,
                    stats_owner: str = "") -> Callable[[Callable[[Path], Loaded]],
                                                       Callable[[Path], Loaded]]:
    """Decorator adding a reader to :data:`FORMATS` (as the dataset registry does)."""

    def deco(read: Callable[[Path], Loaded]) -> Callable[[Path], Loaded]:
        FORMATS.register(name)(ImportFormat(name, read, summary, space, stats or {},
                                            stats_owner))
        return read

    return deco


# --------------------------------------------------------------------------- safe loading
_NEEDS_CODE = re.compile(r"Unsupported global: GLOBAL (\S+)")


def load_torch(path: Path) -> Any:
    """``torch.load`` that never runs code from the file; every failure is one line."""
    import torch

    _check_file(path)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        needed = _NEEDS_CODE.search(str(exc))
        if needed:
            raise DcbenchError(
                f"{path} holds pickled Python objects that need code to load "
                f"({needed.group(1)}); dcbench reads only tensors, lists and dicts and never "
                "runs a file's pickle: save plain tensors (or use --format npz)") from None
        raise DcbenchError(f"cannot read {path}: not a torch file, or damaged") from None
    except Exception as exc:  # truncated zip, wrong magic number, ...
        raise DcbenchError(
            f"cannot read {path}: not a torch file, or damaged ({type(exc).__name__})") from None


def load_npz(path: Path) -> dict[str, Any]:
    """All arrays of an ``.npz`` (read eagerly, so the file is closed on return)."""
    import numpy as np

    _check_file(path)
    try:
        archive = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise DcbenchError(
            f"cannot read {path}: not an .npz file, or damaged ({type(exc).__name__})") from None
    if not hasattr(archive, "files"):
        raise DcbenchError(f"{path} is a single .npy array, not an .npz with x and y")
    with archive as npz:
        if any(k.endswith("data.pkl") for k in npz.files):
            raise DcbenchError(f"{path} is a torch file, not an .npz: use --format tensors")
        try:
            return {k: npz[k] for k in npz.files}
        except ValueError:
            raise DcbenchError(f"{path} holds pickled Python objects; dcbench never runs a "
                               "file's pickle: save numeric arrays") from None
        except (OSError, EOFError, zipfile.BadZipFile) as exc:
            raise DcbenchError(f"cannot read {path}: damaged ({type(exc).__name__})") from None


def _check_file(path: Path) -> None:
    if not path.exists():
        raise DcbenchError(f"no such file: {path}")
    if not path.is_file():
        raise DcbenchError(f"{path} is not a file")


def _pair(obj: Any, path: Path) -> RawSet:
    """(images, labels) from a mapping with x/y or images/labels keys, or a 2-sequence."""
    if isinstance(obj, Mapping):
        for xk, yk in (("x", "y"), ("images", "labels")):
            if xk in obj and yk in obj:
                return RawSet(obj[xk], obj[yk])
        keys = ", ".join(map(str, list(obj)[:8])) or "none"
        raise DcbenchError(f"{path} has no x/y or images/labels entries (found: {keys})")
    if isinstance(obj, list | tuple) and len(obj) == 2:
        return RawSet(obj[0], obj[1])
    raise DcbenchError(f"{path} holds a {type(obj).__name__}, not a dict with x/y (or "
                       "images/labels) nor an (images, labels) pair")


# --------------------------------------------------------------------------- the formats
@register_format("dc-authors", space="normalised", stats=DC_AUTHORS_STATS,
                 stats_owner="the DC authors' constants",
                 summary="res_<method>_<dataset>_<model>_<ipc>ipc.pt of the DC/DSA/DM code: "
                         "{'data': [[images, labels], ...]}, one pair per experiment")
def read_dc_authors(path: Path) -> Loaded:
    """Every experiment of the authors' results file, in file order.

    Their ``main.py`` appends one ``[images, labels]`` per experiment to ``data``; a few
    derived codes store a single pair as ``data`` itself, which is read as experiment 0.
    """
    obj = load_torch(path)
    data = obj.get("data") if isinstance(obj, Mapping) else None
    if not isinstance(data, list | tuple) or not data:
        raise DcbenchError(f"{path} is not a DC authors' results file: it needs a non-empty "
                           "'data' list of [images, labels] pairs")
    if len(data) == 2 and not isinstance(data[0], list | tuple):
        data = [data]  # one bare pair
    sets = []
    for k, item in enumerate(data):
        if not isinstance(item, list | tuple) or len(item) < 2:
            raise DcbenchError(f"{path}: data[{k}] is not an [images, labels] pair")
        sets.append(RawSet(item[0], item[1], experiment=k))
    return Loaded(sets, {"data": path})


def mtt_pair(path: Path) -> tuple[Path, Path]:
    """The (images, labels) files meant by FILE: a directory, or either file of the pair.

    MTT saves ``images_best.pt`` and ``labels_best.pt`` side by side; DC-BENCH's coreset
    releases use ``<name>_images.pt`` / ``<name>_labels.pt``: the partner of a file is its
    name with ``images`` and ``labels`` swapped.
    """
    if path.is_dir():
        return path / "images_best.pt", path / "labels_best.pt"
    name = path.name
    if "labels" in name:
        return path.with_name(name.replace("labels", "images")), path
    if "images" in name:
        return path, path.with_name(name.replace("images", "labels"))
    raise DcbenchError(f"{path}: give images_best.pt, labels_best.pt or their directory "
                       "(the partner file is found by swapping 'images' and 'labels')")


@register_format("mtt", space="normalised", stats=MTT_STATS, stats_owner="MTT's constants",
                 summary="images_best.pt + labels_best.pt of trajectory matching (MTT); FILE "
                         "is either file or their directory")
def read_mtt(path: Path) -> Loaded:
    """The two tensors of an MTT run (labels may be one-hot; the checks take the argmax)."""
    if not path.exists():
        raise DcbenchError(f"no such file or directory: {path}")
    images_path, labels_path = mtt_pair(path)
    for p in (images_path, labels_path):
        if not p.is_file():
            raise DcbenchError(f"{p} not found: the mtt format needs both images and labels")
    return Loaded([RawSet(load_torch(images_path), load_torch(labels_path))],
                  {"images": images_path, "labels": labels_path})


@register_format("tensors",
                 summary="a torch file with a dict of x/y (or images/labels) or an "
                         "(images, labels) pair; needs --space")
def read_tensors(path: Path) -> Loaded:
    """A plain torch file, the lowest common denominator of released sets."""
    return Loaded([_pair(load_torch(path), path)], {"data": path})


@register_format("npz", summary="a .npz with arrays x and y (or images and labels); needs "
                                "--space")
def read_npz(path: Path) -> Loaded:
    """NumPy's archive, what JAX- and TensorFlow-based codes release."""
    return Loaded([_pair(load_npz(path), path)], {"data": path})
