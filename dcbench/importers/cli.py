"""The ``dcbench import`` command: parse options, call :func:`dcbench.importers.job.import_sets`.

Kept free of torch at import time: ``dcbench --help`` imports every lazy command to list it.
"""

from __future__ import annotations

from pathlib import Path

import click

from dcbench.cli_common import data_options, user_errors


@click.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--dataset", required=True,
              help="The dataset the set was made for, as dcbench names it (`dcbench data "
                   "list`), e.g. --dataset cifar10 or --dataset fashion-mnist.")
@click.option("--format", "fmt", required=True,
              help="The file's layout: dc-authors (res_*.pt of the DC/DSA/DM code, one set per "
                   "experiment), mtt (images_best.pt + labels_best.pt), tensors (a torch file "
                   "with x/y or images/labels) or npz (arrays x and y). E.g. --format mtt.")
@click.option("--space", type=click.Choice(["normalised", "normalized", "pixel"]),
              default=None,
              help="What the image values are: normalised ((pixel - mean) / std) or pixel "
                   "([0, 1]). Required for tensors and npz; dc-authors and mtt files are "
                   "normalised. E.g. --space pixel.")
@click.option("--mean", default=None, metavar="M[,M,M]",
              help="Per-channel mean the file was normalised with, when not the one dcbench "
                   "assumes (the format authors' constants for dc-authors/mtt, else the "
                   "dataset's own). E.g. --mean 0.4914,0.4822,0.4465 (with --std).")
@click.option("--std", default=None, metavar="S[,S,S]",
              help="Per-channel std that goes with --mean, e.g. --std 0.2023,0.1994,0.2010.")
@click.option("--zca", is_flag=True,
              help="Declare the images ZCA-whitened (MTT's and KIP's CIFAR sets). Such sets "
                   "are refused: dcbench evaluates in the normalised space only.")
@click.option("--no-range-check", "no_range_check", is_flag=True,
              help="Skip the plausibility check of the value range against --space (only "
                   "for a set you know lies far outside [0, 1] pixels).")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Directory for the set files (set.pt, or set-exp<k>.pt per dc-authors "
                   "experiment, each with a PNG). Default: results/imported/"
                   "<dataset>-<format>-<file>. E.g. --out sets/dc-cifar10-ipc10.")
@click.option("--force", is_flag=True, help="Replace set files already in --out.")
@data_options
@user_errors
def import_command(file: Path, dataset: str, fmt: str, space: str | None, mean: str | None,
                   std: str | None, zca: bool, no_range_check: bool, out: Path | None,
                   force: bool, data_root: str | None, download: bool) -> None:
    """Turn a released synthetic set into dcbench set file(s) that `dcbench evaluate` reads.

    The images are checked (shape, labels, equal classes, finite, a plausible value range),
    converted into the dataset's normalised space, sorted by class, and saved with their
    provenance (source file, sha256, format, the normalisation assumed). Files are read
    without running any pickled code.

    \b
    Examples:
      dcbench import res_DC_CIFAR10_ConvNet_10ipc.pt --dataset cifar10 --format dc-authors
      dcbench import logged_files/CIFAR10/run/ --dataset cifar10 --format mtt
      dcbench import syn.npz --dataset fashion-mnist --format npz --space pixel
      dcbench evaluate results/imported/<dir>/set.pt --models convnet
    """
    from dcbench.importers.job import ImportOptions, import_sets, parse_floats

    opts = ImportOptions(
        path=file, dataset=dataset, format=fmt,
        space="normalised" if space == "normalized" else space,
        mean=parse_floats(mean, "--mean"), std=parse_floats(std, "--std"), zca=zca,
        range_check=not no_range_check, out=out, force=force, data_root=data_root,
        download=download)
    for path, sset in import_sets(opts):
        exp = sset.meta["provenance"]["experiment"]
        where = "" if exp is None else f", experiment {exp}"
        click.echo(f"saved: {path}  ({sset.meta['dataset']}, ipc {sset.ipc}, "
                   f"{len(sset.labels)} images{where})")
