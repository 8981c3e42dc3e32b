"""``dcbench tasks`` (list the task files) and ``dcbench run tasks/<file>.yaml``."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import click

from dcbench.cli_common import data_options, parse_assignments, runtime_options, user_errors
from dcbench.errors import DcbenchError

#: The end of a description's first sentence (not after "Sec.", "Fig.", "e.g." and the like).
FIRST_SENTENCE = re.compile(
    r"(?<!\bSec\.)(?<!\bFig\.)(?<!\be\.g\.)(?<!\bi\.e\.)(?<!\bvs\.)(?<!\bcf\.)"
    r"(?<=[.!?])\s+(?=\S)")


@click.command("tasks")
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Folder of task files (default: ./tasks, else the checkout's).")
@click.option("--check", is_flag=True,
              help="Exit non-zero if any task file does not validate (for CI).")
@click.option("-v", "--verbose", is_flag=True, help="Full descriptions and every preset.")
@user_errors
def tasks_command(directory: Path | None, check: bool, verbose: bool) -> None:
    """List the task files: name, kind, expected time per preset on 2 CPU cores, what each
    runs (the first sentence of its description; -v for all of it).

    Run one with `dcbench run tasks/<name>.yaml [--preset quick|paper] [--set key=value]`.
    """
    from dcbench.tasks.spec import KindUnavailable, list_task_files, load_task_file

    files = list_task_files(directory)
    if not files:
        raise DcbenchError(f"no task files (*.yaml) in {directory or './tasks'}")
    bad = 0
    for path in files:
        status = ""
        try:
            task = load_task_file(path)
        except KindUnavailable as exc:
            task = load_task_file(path, check=False)
            status = f"  [not checked: {str(exc).rsplit(': ', 1)[-1]}]"
        except DcbenchError as exc:
            bad += 1
            click.echo(f"{path.stem}  INVALID: {exc}")
            continue
        click.echo(f"{task.name}  ({task.kind}){status}")
        for name, time in task.expected_time.items():
            click.echo(f"    {name + ':':8s}{time}")
        text = " ".join(task.description.split())
        if not verbose:
            text = FIRST_SENTENCE.split(text, maxsplit=1)[0]
        for line in textwrap.wrap(text, 92, initial_indent="    ", subsequent_indent="    "):
            click.echo(line)
        if verbose:
            for name, settings in task.presets.items():
                click.echo(f"    preset {name}: {settings}")
    click.echo(f"\n{len(files)} task files; run one with "
               "`dcbench run tasks/<name>.yaml [--preset quick|paper] [--set key=value]`")
    if check and bad:
        raise DcbenchError(f"{bad} task file(s) do not validate")


def task_file_command(path: str) -> click.Command:
    """The command ``dcbench run <path>``: validates the file, then runs it by kind."""

    @click.command(name=path, context_settings={"help_option_names": ["-h", "--help"]})
    @click.option("--preset", default="quick", show_default=True,
                  help="Which preset of the task file: quick (minutes to hours on 2 CPU "
                       "cores) or paper (the authors' settings).")
    @click.option("--set", "settings", multiple=True, metavar="KEY=VALUE",
                  help="Override a setting of the task file, e.g. --set seeds=[0,1] "
                       "--set evaluation.num_models=2 (dotted keys reach into mappings).")
    @click.option("--dry-run", is_flag=True, help="Validate and show what would run.")
    @data_options
    @runtime_options
    @user_errors
    def command(preset, settings, dry_run, data_root, download, device, threads, quiet):
        """Run a task file (see `dcbench tasks`)."""
        from dcbench.tasks.runners import RunOptions
        from dcbench.tasks.spec import load_task_file, run_task

        task = load_task_file(path, check=False)
        overrides = parse_assignments(settings)
        if preset not in task.presets:
            raise click.BadParameter(
                f"{preset!r} is not a preset of {path} ({', '.join(task.presets)})",
                param_hint="--preset")
        task.config(preset, overrides)  # validate before anything runs
        click.echo(f"{task.name} ({task.kind}, preset {preset}; expected "
                   f"{task.expected_time.get(preset, '?')} on 2 CPU cores)")
        options = RunOptions(device=device, threads=threads, quiet=quiet, data_root=data_root,
                             download=download, dry_run=dry_run, echo=click.echo)
        run_task(task, preset, overrides, options)

    command.help = f"Run the task file {path} (validated first; see `dcbench tasks`)."
    return command
