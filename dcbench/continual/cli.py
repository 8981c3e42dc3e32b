"""``dcbench run continual``: options → ContinualConfig → the runner.

Imported whenever ``dcbench run`` lists its commands, so it must stay light: Avalanche and the
training code are imported inside the command only.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from dcbench.cli_common import data_options, parse_seeds, runtime_options, user_errors
from dcbench.config import PRESETS


def _task_settings(path: Path, preset: str) -> dict[str, Any]:
    """A task file's settings at ``preset`` (merged by the task loader), or a plain YAML
    mapping of ContinualConfig keys."""
    from dcbench import config as cfg
    from dcbench.tasks.spec import COMMON_KEYS, load_task_file

    raw = cfg.read_yaml(path)
    if not isinstance(raw, dict):
        raise click.BadParameter(f"{path} is not a YAML mapping of settings",
                                 param_hint="--task")
    if "presets" not in raw:  # plain settings
        if raw.get("kind", "continual") != "continual":
            raise click.BadParameter(f"{path} is a {raw['kind']} task", param_hint="--task")
        return {k: v for k, v in raw.items() if k not in COMMON_KEYS}
    task = load_task_file(path, check=False)
    if task.kind != "continual":
        raise click.BadParameter(f"{path} is a {task.kind} task file", param_hint="--task")
    return task.resolved(preset)


@click.command("continual")
@click.option("--task", "task_file", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Task file (YAML, tasks/continual-*.yaml); options override it.")
@click.option("--dataset", default=None,
              help="Dataset split class-incrementally (default: fashion-mnist).")
@click.option("--experiences", type=int, default=None,
              help="Number of experiences, equal class counts (default: 5).")
@click.option("--ipc", type=int, default=None,
              help="Memory images per class seen (default: 10).")
@click.option("--buffer", "buffers", default=None,
              help="Comma list of memories: condensed (the --method), herding, random, kcenter, "
                   "forgetting, reservoir, none (default: condensed).")
@click.option("--method", default=None,
              help="Condensation method of the 'condensed' buffer (default: dc).")
@click.option("--protocol", default=None,
              help="gdumb (fresh model on the memory each step; default), replay (fine-tune "
                   "+ replay) or replay+kd (replay + LwF distillation).")
@click.option("--seeds", default=None, help="Comma list of seeds (default: 0).")
@click.option("--preset", type=click.Choice(PRESETS), default="quick", show_default=True,
              help="quick: sized for a 2-core CPU; paper: the papers' settings.")
@click.option("--set", "--method-settings", "settings", multiple=True, metavar="KEY=VALUE",
              help="Any setting of the run (see `dcbench run continual` task files), dotted for "
                   "nested ones; a method's settings as METHOD.KEY: --set dc.iterations=50 "
                   "--set herding.epochs=2 --set training.lr=0.05.")
@click.option("--epochs", type=int, default=None,
              help="Training epochs per step (default: the preset's for the protocol).")
@click.option("--model", default=None,
              help="Learner (and condensation) network, e.g. convnet or convnet:width=32.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Run directory to create or resume (default: a fresh "
                   "results/continual/<time>-<name>); a re-run skips finished steps.")
@click.option("--jobs", type=int, default=None,
              help="(buffer, seed) units run in this many processes (default: the task's, "
                   "else 1); combine with --threads 1.")
@data_options
@runtime_options
@user_errors
def command(task_file, dataset, experiences, ipc, buffers, method, protocol, seeds, preset,
            settings, epochs, model, out, jobs, data_root, download, device, threads, quiet):
    """Continual learning with condensed memories (Split Fashion-MNIST by default).

    \b
    Examples:
      dcbench run continual --buffer condensed
      dcbench run continual --buffer condensed,herding,random --seeds 0,1,2 --threads 1
      dcbench run continual --task tasks/continual-fmnist-gdumb.yaml --preset quick

    Writes config.json, manifest.json, accuracy/<buffer>-seed<s>.csv (accuracy matrices),
    metrics.json, summary.csv, table.md and accuracy_vs_step.png into the run directory.
    """
    from dcbench import config as cfg
    from dcbench.condense import CONDENSERS
    from dcbench.condense.config import method_fields
    from dcbench.continual.config import ContinualConfig

    base: dict[str, Any] = _task_settings(task_file, preset) if task_file is not None else {}
    options: dict[str, Any] = {
        "dataset": dataset, "experiences": experiences, "ipc": ipc, "method": method,
        "protocol": protocol, "epochs": epochs, "model": model, "buffers": buffers,
        "seeds": parse_seeds(seeds) if seeds is not None else None,
        "jobs": jobs, "threads": threads,
    }
    options = {k: v for k, v in options.items() if v is not None}
    if dataset is not None:
        base.pop("sequence", None)  # --dataset replaces a task file's sequence
    run_method = str(options.get("method", base.get("method", "dc"))).lower()
    overrides = cfg.apply_set(
        cfg.parse_assignments(settings), cfg.field_names(ContinualConfig), CONDENSERS.names(),
        default_method=run_method if run_method in CONDENSERS else None,
        method_fields=method_fields(run_method) if run_method in CONDENSERS else (),
        warn=lambda msg: click.echo(msg, err=True))
    config = cfg.load(ContinualConfig, cfg.merge({"preset": preset}, base, options, overrides))

    from dcbench.continual.runner import run_experiment

    where: list[Path] = []

    def announce(line: str) -> None:
        where.append(Path(line.split(": ", 1)[1]))
        click.echo(line, err=True)

    try:
        result = run_experiment(config, out=out, threads=config.threads, device=device,
                                quiet=quiet, data_root=data_root, download=download,
                                jobs=config.jobs, echo=announce)
    except KeyboardInterrupt:
        hint = f" --out {where[0]}" if where and out is None else ""
        click.echo(f"interrupted; re-run the same command{hint} to resume at the next step",
                   err=True)
        sys.exit(130)
    click.echo((result.run_dir / "table.md").read_text())
    click.echo(f"results: {result.run_dir} ({result.steps_run} steps run, "
               f"{result.steps_skipped} resumed)")
