"""``dcbench import`` as a function: options in, checked SyntheticSet files out.

Everything that can be refused is refused before anything is written: the options and the
output location first, then every set of the file is read, checked and converted, and only
then are the files written (each atomically), so a bad experiment in a multi-run file leaves
no partial import behind.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import Tensor

from dcbench.condense.synthetic_set import SyntheticSet
from dcbench.data import ClassDataset, load_dataset
from dcbench.errors import DcbenchError
from dcbench.importers import checks
from dcbench.importers.formats import FORMATS, ImportFormat, RawSet
from dcbench.results.rundir import results_root, slug

SPACES = ("normalised", "pixel")

ZCA_REFUSAL = (
    "ZCA-whitened sets cannot be evaluated in dcbench for now: its models train and test in "
    "the dataset's per-channel normalised space, and a whitened set only makes sense against "
    "test images whitened the same way, which dcbench does not implement; import an "
    "unwhitened release of the set instead")


@dataclass(frozen=True)
class ImportOptions:
    """What the user asked for, as parsed from the command line."""

    path: Path
    dataset: str
    format: str
    space: str | None = None
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    zca: bool = False
    range_check: bool = True
    out: Path | None = None
    force: bool = False
    data_root: str | None = None
    download: bool = False


@dataclass(frozen=True)
class SourceStats:
    """The normalisation assumed for the file, and where that assumption came from."""

    mean: tuple[float, ...] | None
    std: tuple[float, ...] | None
    origin: str


def parse_floats(text: str | None, option: str) -> tuple[float, ...] | None:
    """``"0.49,0.48,0.45"`` -> floats (commas or spaces); None stays None."""
    if text is None:
        return None
    try:
        values = tuple(float(t) for t in text.replace(",", " ").split())
    except ValueError:
        raise DcbenchError(f"{option} {text!r} is not a list of numbers, e.g. "
                           f"{option} 0.4914,0.4822,0.4465") from None
    if not values:
        raise DcbenchError(f"{option} is empty")
    return values


# --------------------------------------------------------------------------- before any work
def check_options(opts: ImportOptions) -> tuple[ImportFormat, str]:
    """The format and the space, or a one-line error; needs no file and no dataset."""
    fmt = FORMATS.get(opts.format)
    if opts.zca:
        raise DcbenchError(ZCA_REFUSAL)
    space = opts.space or fmt.space
    if space is None:
        raise DcbenchError(f"--format {fmt.name} needs --space normalised or --space pixel: "
                           "its files do not say which")
    if space not in SPACES:
        raise DcbenchError(f"--space must be normalised or pixel, not {space!r}")
    if (opts.mean is None) != (opts.std is None):
        raise DcbenchError("give --mean and --std together")
    if opts.mean is not None and space == "pixel":
        raise DcbenchError("--mean/--std describe a normalised file; drop them with "
                           "--space pixel")
    if opts.std is not None and min(opts.std) <= 0:
        raise DcbenchError("--std values must be positive")
    if not opts.path.exists():
        raise DcbenchError(f"no such file: {opts.path}")
    return fmt, space


def default_out(opts: ImportOptions, fmt: ImportFormat) -> Path:
    """``<results>/imported/<dataset>-<format>-<file name>``; an MTT run by its directory."""
    named = opts.path.parent if fmt.name == "mtt" and opts.path.is_file() else opts.path
    stem = named.stem if named.is_file() else named.name
    return results_root() / "imported" / slug(f"{opts.dataset}-{fmt.name}-{stem}")


def check_out_dir(out: Path) -> None:
    """Refuse an output directory that cannot be created or written, without creating it."""
    if out.suffix == ".pt":
        raise DcbenchError(f"--out is a directory (sets are written as set.pt or "
                           f"set-exp<k>.pt inside it), not a file name: {out}")
    probe = out
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        what = "it is a file" if probe == out else f"{probe} is a file"
        raise DcbenchError(f"cannot use {out} as the output directory: {what}")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise DcbenchError(f"cannot write into {probe}: permission denied")


# --------------------------------------------------------------------------- the work
def source_stats(opts: ImportOptions, fmt: ImportFormat, space: str,
                 ds: ClassDataset) -> SourceStats:
    """The user's --mean/--std, else the format's constants for the dataset, else its own."""
    if space == "pixel":
        return SourceStats(None, None, "none (pixel space)")
    if opts.mean is not None and opts.std is not None:
        mean, std, origin = opts.mean, opts.std, "--mean/--std"
    elif ds.name in fmt.stats:
        (mean, std), origin = fmt.stats[ds.name], f"{fmt.stats_owner} for {ds.name}"
    else:
        mean, std, origin = ds.mean, ds.std, "the dataset's own"
    c = ds.channels
    if len(mean) == 1 and c > 1:
        mean, std = mean * c, std * c
    if len(mean) != c or len(std) != c:
        counts = "1 value" if c == 1 else f"1 or {c} values"
        raise DcbenchError(f"--mean/--std have {len(mean)}/{len(std)} values but {ds.name} "
                           f"has {c} channel(s): give {counts}")
    return SourceStats(tuple(mean), tuple(std), origin)


@dataclass(frozen=True)
class Converted:
    """One checked set in the dataset's normalised space, with notes for its provenance."""

    images: Tensor
    labels: Tensor
    ipc: int
    experiment: int | None
    notes: dict[str, Any]


def convert(raw: RawSet, space: str, stats: SourceStats, ds: ClassDataset,
            range_check: bool) -> Converted:
    """Run every check on one set and bring it into ``ds``'s normalised space, by class."""
    where = "" if raw.experiment is None else f"experiment {raw.experiment}: "
    try:
        x, layout = checks.to_nchw(checks.as_tensor(raw.images, "images"), ds)
        y, label_kind = checks.hard_labels(checks.as_tensor(raw.labels, "labels"),
                                           ds.num_classes)
        ipc = checks.check_labels(y, len(x), ds)
        checks.check_finite(x)
        if range_check:
            if space == "normalised":
                checks.check_not_whitened(x)
            checks.check_range(x, space, stats.mean, stats.std)
    except DcbenchError as exc:
        raise DcbenchError(f"{where}{exc}") from None
    x = checks.to_dataset_space(x, space, stats.mean, stats.std, ds)
    reordered = bool((y[1:] < y[:-1]).any())
    x, y = checks.sort_by_class(x, y)
    notes = {"layout": layout, "labels": label_kind, "reordered_by_class": reordered}
    return Converted(x, y, ipc, raw.experiment, notes)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_records(files: dict[str, Path]) -> dict[str, dict[str, str]]:
    """role -> absolute path and sha256 of every file read, hashed once per import."""
    return {role: {"path": str(p.resolve()), "sha256": sha256(p)} for role, p in files.items()}


def provenance(fmt: ImportFormat, files: dict[str, dict[str, str]], space: str,
               stats: SourceStats, item: Converted, n_sets: int,
               range_check: bool) -> dict[str, Any]:
    """Where the set came from and every assumption the import made about it."""
    main = files.get("data") or files["images"]
    return {
        "format": fmt.name,
        "source": main["path"],
        "sha256": main["sha256"],
        "files": files,
        "experiment": item.experiment,
        "experiments_in_file": n_sets,
        "space": space,
        "source_mean": list(stats.mean) if stats.mean else None,
        "source_std": list(stats.std) if stats.std else None,
        "source_stats_from": stats.origin,
        "range_check": range_check,
        **item.notes,
        "imported": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def source_method(prov: dict[str, Any]) -> str | None:
    """The method that made an authors' results file, from its name (``res_DSA_...``): the
    evaluation protocol depends on it (DSA and DM sets are trained with DSA, 1000 epochs)."""
    if prov.get("format") != "dc-authors":
        return None
    match = re.match(r"res_(DC|DSA|DM)_", Path(prov["source"]).name, flags=re.IGNORECASE)
    return match.group(1).lower() if match else None


def set_meta(ds: ClassDataset, fmt: ImportFormat, ipc: int,
             prov: dict[str, Any]) -> dict[str, Any]:
    """The metadata a condensed set carries (as ``base_meta``), for a set made elsewhere.

    No ``seed``: the set's own seed is unknown, and evaluation then uses its default.
    """
    from dcbench.results.manifest import environment_info

    env = environment_info()
    return {
        "dataset": ds.name,
        "class_names": list(ds.class_names),
        "classes": list(range(ds.num_classes)),
        "mean": list(ds.mean),
        "std": list(ds.std),
        "image_size": list(ds.image_size),
        "channels": ds.channels,
        "ipc": ipc,
        "method": f"imported:{fmt.name}",
        **({"source_method": m} if (m := source_method(prov)) else {}),
        "hparams": {},
        "versions": {k: env[k] for k in ("dcbench", "torch", "torchvision")},
        "git_commit": env["git_commit"],
        "created": prov["imported"],
        "provenance": prov,
    }


def target_path(out: Path, fmt: ImportFormat, item: Converted) -> Path:
    """``set.pt``, or ``set-exp<k>.pt`` for the runs of a multi-experiment results file."""
    if fmt.name == "dc-authors" and item.experiment is not None:
        return out / f"set-exp{item.experiment}.pt"
    return out / "set.pt"


def import_sets(opts: ImportOptions) -> list[tuple[Path, SyntheticSet]]:
    """Check, read, convert and write; returns each written path with its set."""
    fmt, space = check_options(opts)
    out = opts.out if opts.out is not None else default_out(opts, fmt)
    check_out_dir(out)
    ds = load_dataset(opts.dataset, root=opts.data_root, download=opts.download)
    stats = source_stats(opts, fmt, space, ds)
    loaded = fmt.read(opts.path)
    items = [convert(raw, space, stats, ds, opts.range_check) for raw in loaded.sets]
    targets = [target_path(out, fmt, item) for item in items]
    clash = next((p for p in targets if p.exists()), None)
    if clash is not None and not opts.force:
        raise DcbenchError(f"{clash} exists; pass --force to replace it, or another --out")
    files = file_records(loaded.files)
    sets = []
    for item in items:
        prov = provenance(fmt, files, space, stats, item, len(items), opts.range_check)
        sset = SyntheticSet(item.images, item.labels, set_meta(ds, fmt, item.ipc, prov))
        sets.append(sset)
    return [(sset.save(path), sset) for path, sset in zip(targets, sets, strict=True)]
