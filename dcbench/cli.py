"""The ``dcbench`` command line. Commands are thin: each parses options and calls one job."""

from __future__ import annotations

import glob
import importlib
import sys
from pathlib import Path

import click

from dcbench import __version__
from dcbench.cli_common import data_options, runtime_options, user_errors
from dcbench.config import PRESETS
from dcbench.runtime import keep_freed_memory, quiet_known_noise

PAPER_MODELS = "convnet,mlp,lenet,alexnet,vgg11,resnet18"


class LazyGroup(click.Group):
    """A group whose subcommands are imported only when used (avalanche costs ~3 s, ~1 GB)."""

    def __init__(self, *args, lazy: dict[str, tuple[str, str]] | None = None,
                 file_command: tuple[str, str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy = lazy or {}
        # ``dcbench run tasks/x.yaml``: a factory taking the path and returning a command.
        self.file_command = file_command

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self.lazy))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy:
            module, attr = self.lazy[name]
            return getattr(importlib.import_module(module), attr)
        if self.file_command and name.endswith((".yaml", ".yml")):
            module, attr = self.file_command
            return getattr(importlib.import_module(module), attr)(name)
        return super().get_command(ctx, name)


@click.group(cls=LazyGroup, lazy={
    "tasks": ("dcbench.tasks.cli", "tasks_command"),
    "report": ("dcbench.report.cli", "report_command"),
    "import": ("dcbench.importers", "import_command"),
}, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dcbench")
def cli() -> None:
    """dcbench: dataset condensation benchmarks you can re-run from one command.

    \b
    Typical use:
      dcbench condense --dataset fashion-mnist --method dc --ipc 10 --preset quick --seed 0
      dcbench evaluate results/condense/<run>/set.pt --models convnet,mlp --num-models 5
      dcbench run continual --buffer condensed
      dcbench run nas --space convnet-grid-small
    """


@cli.command()
@click.option("--dataset", default="fashion-mnist", show_default=True,
              help="Dataset name (see `dcbench data list`), npz:FILE or imagefolder:DIR.")
@click.option("--method", default="dc", show_default=True,
              help="Condensation method: dc, dsa, dm, or a coreset (random, herding, kcenter, "
                   "forgetting); `dcbench methods` lists each with its presets.")
@click.option("--ipc", type=int, default=10, show_default=True, help="Images per class.")
@click.option("--preset", type=click.Choice(PRESETS), default="quick", show_default=True,
              help="quick: minutes on a 2-core CPU; paper: the authors' settings.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE",
              help="Override a setting of the run; a method's settings as METHOD.KEY, e.g. "
                   "--set dc.iterations=50 --set dc.init=noise (see the method's Config).")
@click.option("--budget-minutes", type=float, default=None,
              help="Condense for this many minutes and keep the set as it is then (dc, dsa, "
                   "dm): the clock, not the preset's iteration count, ends the run (the count "
                   "is raised to the paper's unless --set). The set records the iterations it "
                   "got; --set METHOD.iterations=N remakes it without a clock.")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Run directory (default results/condense/<dataset>-<method>-ipc..-seed..; "
                   "with a digest of the settings appended when that folder holds a set made "
                   "with another release's preset).")
@data_options
@runtime_options
@user_errors
def condense(dataset, method, ipc, preset, seed, settings, budget_minutes, out, data_root,
             download, device, threads, quiet):
    """Build a synthetic set and save it (set.pt + set.png + config.json + manifest.json).

    Re-running the same command resumes from the last checkpoint; a finished set is reused.
    """
    from dcbench import config as cfg
    from dcbench.condense import CONDENSERS, CondenseConfig, CondenseRequest
    from dcbench.condense.config import method_fields
    from dcbench.condense.job import condense_job
    from dcbench.data import load_dataset
    from dcbench.device import resolve_device, set_threads

    CONDENSERS.get(method)  # fail on a typo before loading data
    overrides = cfg.apply_set(
        cfg.parse_assignments(settings), cfg.field_names(CondenseConfig), CONDENSERS.names(),
        default_method=method.lower(), method_fields=method_fields(method),
        warn=lambda msg: click.echo(msg, err=True))
    config = cfg.load(CondenseConfig, cfg.merge(
        {"dataset": dataset, "method": method, "ipc": ipc, "preset": preset, "seed": seed,
         "budget_minutes": budget_minutes}, overrides))
    set_threads(threads)
    dev = resolve_device(device)
    ds = load_dataset(config.dataset, root=data_root, download=download)
    request = CondenseRequest(ds, ipc=config.ipc, seed=config.seed, device=dev,
                              progress=not quiet)
    path, existed = condense_job(config, request, out)
    word = "already done" if existed else "saved"
    click.echo(f"{word}: {path}")


@cli.command()
@click.argument("set_paths", nargs=-1, required=True, metavar="SET...")
@click.option("--models", default="convnet", show_default=True,
              help=f"Comma-separated model specs, e.g. {PAPER_MODELS} or convnet:depth=2.")
@click.option("--num-models", type=int, default=5, show_default=True,
              help="Fresh models trained per architecture (the paper: 20).")
@click.option("--epochs", type=int, default=None,
              help="The authors' Epoch: training makes Epoch+1 passes over the set "
                   "[default: 300, or 1000 with augmentation].")
@click.option("--lr", type=float, default=0.01, show_default=True)
@click.option("--batch-size", type=int, default=256, show_default=True)
@click.option("--augment", default="auto", show_default=True,
              help="auto (the authors' rule: dsa, or dsa-noflip on digits, for DSA/DM sets; "
                   "crop_noise for a batch-norm ConvNet; crop_scale_rotate for MNIST; none "
                   "otherwise), or one of those names.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seeds the models: model i of the k-th --models spec from (seed, k, i), "
                   "whatever seed made the set. A condense task evaluates each set with "
                   "the set's own seed, so --seed N re-trains a task's models on a seed-N "
                   "set and another value adds different models.")
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE",
              help="Any other protocol setting, e.g. --set momentum=0.5 --set lr_decay_at=0.8; "
                   "--set compile=auto|true|false: training through torch.compile (auto: when "
                   "a model trains long enough to repay it; a speed setting, not the protocol).")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Run directory (one set only; default: a new results/evaluate/<time>-<set>). "
                   "Each trained model is saved there at once: re-running the same command "
                   "continues an interrupted evaluation (the newest with the same set, models, "
                   "protocol and seed, or the given --out).")
@click.option("--jobs", type=int, default=1, show_default=True,
              help="Train the models in this many processes at once (each with --threads "
                   "threads, default: the cores shared out). Same seeds, same models. On a "
                   "2-core machine it did not pay (benchmarks/results/eval_parallel.json: two "
                   "threads on one model scale ~2x); try it where cores outnumber what one "
                   "small model can use.")
@data_options
@runtime_options
@user_errors
def evaluate(set_paths, models, num_models, epochs, lr, batch_size, augment, seed, settings,
             out, jobs, data_root, download, device, threads, quiet):
    """Train fresh models on saved set(s) and report final-epoch test accuracy (mean ± std).

    SET is a set.pt file or a quoted glob ('results/condense/*-dc-ipc10-*/set.pt'). Every set
    gets its own run directory; with several sets the accuracies are also pooled per model
    (n = sets x models, sample std).
    """
    from dcbench import config as cfg
    from dcbench.device import resolve_device, set_threads
    from dcbench.evaluation.config import EvaluateConfig
    from dcbench.evaluation.job import evaluate_sets, pooled
    from dcbench.tasks.runners import expand_sets

    config = cfg.load(EvaluateConfig, cfg.merge(
        {"models": models, "num_models": num_models, "epochs": epochs, "lr": lr,
         "batch_size": batch_size, "augment": augment, "seed": seed},
        cfg.parse_assignments(settings)))
    set_threads(threads)
    paths = [q for p in set_paths for q in (expand_sets([p]) if glob.has_magic(p) else [Path(p)])]
    runs = evaluate_sets(paths, config, resolve_device(device),
                         data_root, download, not quiet, out, jobs, threads)
    for out, metrics in runs:
        if len(runs) > 1:
            click.echo(metrics["set"]["path"])
        for spec, r in metrics["models"].items():
            click.echo(f"{spec:30s} {r['mean']:6.2f} ± {r['std']:.2f}  "
                       f"(n={len(r['accuracies'])})")
        click.echo(f"results: {out}")
    if len(runs) > 1:
        click.echo(f"pooled over {len(runs)} sets:")
        for spec, r in pooled([m for _, m in runs]).items():
            click.echo(f"{spec:30s} {r['mean']:6.2f} ± {r['std']:.2f}  "
                       f"(n={len(r['accuracies'])} = {r['sets']} sets x models, sample std)")


@cli.group()
def data() -> None:
    """Datasets: list what is registered, inspect one."""


@data.command("list")
def data_list() -> None:
    """Registered datasets with their shapes."""
    from dcbench.data import DATASETS

    for name in DATASETS.names():
        entry = DATASETS.get(name)
        click.echo(f"{name:16s} {getattr(entry, 'summary', '')}")


@data.command("info")
@click.argument("name")
@data_options
@user_errors
def data_info(name, data_root, download) -> None:
    """Load a dataset and print its sizes, mean/std and class names."""
    import json

    from dcbench.data import load_dataset

    click.echo(json.dumps(load_dataset(name, root=data_root, download=download).describe(),
                          indent=2))


@cli.command("models")
def models_cmd() -> None:
    """Registered models and their options."""
    from dcbench.models import MODELS, model_options

    for name in MODELS.names():
        opts = ", ".join(f"{k}={'auto' if v is None else v}"
                         for k, v in model_options(name).items())
        click.echo(f"{name:10s} {opts}")


@cli.command("methods")
@click.option("--results", "results_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Where to read measured accuracies and times (default: "
                                 "$DCBENCH_RESULTS or ./results).")
@click.option("--benchmarks", "benchmarks_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("benchmarks/results"), show_default=True,
              help="Where the measured seconds per iteration of the presets are "
                   "(cli_speed.json: paper; preset_speed.json: quick), for how long a set "
                   "takes here.")
@user_errors
def methods_cmd(results_dir: Path | None, benchmarks_dir: Path) -> None:
    """Registered condensation methods, their presets' main settings, and what each preset
    measured (ConvNet accuracy, condensation minutes) in the results folder."""
    from dcbench.condense import CONDENSERS
    from dcbench.config import PRESETS
    from dcbench.report.methods import (
        MEASURED_NOTE,
        measured,
        paper_hours,
        preset_minutes,
        preset_summary,
    )
    from dcbench.results.rundir import results_root

    root = results_dir or results_root()
    found = measured(root) if root.is_dir() else {}
    hours = paper_hours(benchmarks_dir)
    for key, lines in preset_minutes(benchmarks_dir).items():
        hours.setdefault(key, []).extend(lines)
    for name in CONDENSERS.names():
        cls = CONDENSERS.get(name)
        doc = (cls.__doc__ or "").strip().splitlines()
        click.echo(f"{name:12s} {doc[0] if doc else ''}")
        for preset in PRESETS:
            click.echo(f"  {preset:6s} {preset_summary(cls.Config, preset)}")
            for line in hours.get((name, preset), []):
                click.echo(f"           expected: {line}")
            for line in found.get((name, preset), []):
                click.echo(f"           measured: {line}")
    if found:
        click.echo(f"\n{MEASURED_NOTE}")


@cli.command("best")
@click.option("--ipc", type=int, required=True, help="Images per class.")
@click.option("--minutes", type=float, required=True,
              help="Condensation minutes you can spend per set.")
@click.option("--dataset", default="fashion-mnist", show_default=True)
@click.option("--top", type=int, default=3, show_default=True, help="How many to list.")
@click.option("--results", "results_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Where to read the measurements (default: $DCBENCH_RESULTS "
                                 "or ./results).")
@user_errors
def best_cmd(ipc: int, minutes: float, dataset: str, top: int, results_dir: Path | None) -> None:
    """The best set measured within MINUTES of condensation: method, settings, accuracy and
    the command that makes it again (from accuracy-vs-time curves and preset runs in the
    results folder; nothing is run)."""
    from dcbench.data import DATASETS
    from dcbench.report.best import answer
    from dcbench.report.evaluations import load_evaluations
    from dcbench.results.rundir import results_root

    root = results_dir or results_root()
    if ":" not in dataset:  # a registered name or alias (fmnist): the name results record
        dataset = DATASETS.get(dataset).name
    for line in answer(load_evaluations(root), dataset, ipc, minutes, top):
        click.echo(line)


@cli.group(cls=LazyGroup, lazy={
    "continual": ("dcbench.continual.cli", "command"),
    "nas": ("dcbench.nas.cli", "command"),
}, file_command=("dcbench.tasks.cli", "task_file_command"))
def run() -> None:
    """Applications (continual learning, NAS proxies) or a task file: run tasks/<file>.yaml."""


def main() -> None:
    keep_freed_memory()  # see dcbench/runtime.py: ~1.5x faster CPU training steps
    quiet_known_noise()
    try:
        cli.main(prog_name="dcbench", standalone_mode=True)
    except KeyboardInterrupt:
        click.echo("interrupted; re-run the same command to resume", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
