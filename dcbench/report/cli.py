"""``dcbench report``: rebuild every table and figure from the result files."""

from __future__ import annotations

from pathlib import Path

import click

from dcbench.cli_common import user_errors


@click.command("report")
@click.option("--results", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Results folder to read (default: $DCBENCH_RESULTS or ./results).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write tables/, figures/ and REPRODUCIBILITY.md here (default: tables/ and "
                   "figures/ in the results folder, REPRODUCIBILITY.md in its parent).")
@click.option("--strict", is_flag=True, help="Exit non-zero if a run breaks the result schema.")
@user_errors
def report_command(results: Path | None, out: Path | None, strict: bool) -> None:
    """Rebuild every table (Markdown + LaTeX), figure (PNG + PDF) and REPRODUCIBILITY.md from
    the runs that exist; what has not run shows as "not yet run"."""
    from dcbench.errors import DcbenchError
    from dcbench.report.build import build_report
    from dcbench.results.rundir import results_root

    root = results if results is not None else results_root()
    if not root.is_dir():
        raise DcbenchError(f"no results folder at {root}")
    result = build_report(root, out)
    for problem in result.problems:
        click.echo(f"warning: {problem}", err=True)
    click.echo(f"{result.runs} runs read from {root}")
    for path in result.written:
        click.echo(f"wrote {path}")
    for path in result.removed:
        click.echo(f"removed stale {path}")
    if strict and result.problems:
        raise DcbenchError(f"{len(result.problems)} schema problem(s) in {root}")
