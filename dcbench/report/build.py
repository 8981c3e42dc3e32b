"""``dcbench report``: every table and figure, rebuilt from whatever runs exist."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from dcbench.report import condensation, continual, curves, devices, figures, nas, precision
from dcbench.report.evaluations import dedupe_models, load_condense, load_evaluations
from dcbench.report.readme import measured_block, update_readme
from dcbench.report.render import Table
from dcbench.report.reproducibility import reproducibility_markdown
from dcbench.report.runs import check_run, discover_runs
from dcbench.results.io import atomic_write_json, atomic_write_text
from dcbench.results.rundir import results_root

INDEX = "report-files.json"  # what the last report wrote, so stale outputs can be removed


@dataclass
class ReportResult:
    written: list[Path] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    runs: int = 0


def all_tables(root: Path, evals: pd.DataFrame,
               all_evals: pd.DataFrame | None = None) -> list[Table]:
    """Every table; ``all_evals`` are the evaluations before de-duplication (for the
    CPU-against-GPU twins; ``evals`` when not given)."""
    tables = [*condensation.table1_tables(evals), condensation.cross_arch_table(evals),
              continual.continual_table(root), nas.nas_table(root)]
    # tables that exist only when such runs do (their data is empty otherwise)
    optional = (curves.time_to_accuracy(evals), precision.precision_table(evals),
                devices.device_table(evals if all_evals is None else all_evals))
    return tables + [t for t in optional if not t.data.empty]


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", str(text)).strip("-")


def build_figures(root: Path, out: Path, evals: pd.DataFrame,
                  curve: pd.DataFrame) -> list[Path]:
    """Every figure the results allow (none for what has not run)."""
    written: list[Path] = []
    condense = load_condense(root)
    for (dataset, preset), _ in condense.groupby(["dataset", "preset"], sort=True):
        fig = figures.synthetic_grid_figure(condense, dataset, preset)
        written += figures.save_figure(fig, out, f"synthetic-sets-{_slug(dataset)}-{preset}")
    timed = condensation.time_frame(evals)
    for dataset in sorted(set(timed["dataset"])) if not timed.empty else []:
        fig = figures.accuracy_vs_time_figure(evals, dataset)
        written += figures.save_figure(fig, out, f"accuracy-vs-time-{_slug(dataset)}")
    for dataset in sorted(set(curve["dataset"])):
        fig = curves.curves_figure(evals, dataset, curve)
        written += figures.save_figure(fig, out, f"curves-{_slug(dataset)}")
    steps = continual.continual_steps(root)
    for run_id, g in steps.groupby("run_id", sort=True):
        fig = figures.continual_figure(g, continual.figure_title(g))
        written += figures.save_figure(fig, out, f"continual-{_slug(run_id.split('/', 1)[-1])}")
    cands = nas.nas_candidates(root)
    for run_id, g in cands.groupby("run_id", sort=True):
        ranking = nas.nas_ranking(root / run_id)
        fig = figures.nas_scatter_figure(g, ranking, nas.figure_title(ranking, run_id))
        written += figures.save_figure(fig, out, f"nas-scatter-{_slug(run_id.split('/', 1)[-1])}")
    return written


def build_report(results: str | Path | None = None, out: str | Path | None = None
                 ) -> ReportResult:
    """Write ``tables/*.md|tex`` and ``figures/*.png|pdf`` under ``out`` (default: the results
    folder) and ``REPRODUCIBILITY.md`` (under ``out``, default: the results folder's parent,
    i.e. the repository root). Outputs a previous report wrote that are no longer produced are
    removed; nothing else is touched."""
    root = Path(results) if results is not None else results_root()
    base = Path(out) if out is not None else root
    repro = (Path(out) if out is not None else root.resolve().parent) / "REPRODUCIBILITY.md"
    runs = discover_runs(root)
    result = ReportResult(runs=len(runs), problems=[p for run in runs for p in check_run(run)])
    every = load_evaluations(root, dedupe=False)  # read once: the twins need every training
    evals = dedupe_models(every)
    tables = all_tables(root, evals, every)
    for table in tables:
        for ext, text in (("md", table.markdown()), ("tex", table.latex())):
            result.written.append(atomic_write_text(base / "tables" / f"{table.name}.{ext}", text))
    by_name = {t.name: t for t in tables}
    timing = by_name.get("time-to-accuracy")
    curve = timing.data if timing is not None else curves.curve_frame(pd.DataFrame())
    result.written += build_figures(root, base / "figures", evals, curve)
    if timing is not None:
        result.written.append(atomic_write_text(base / "tables" / "curves.csv",
                                                curves.curve_csv(curve)))
        speed = repro.parent / "benchmarks" / "results" / "cli_speed.json"
        result.written.append(atomic_write_text(
            base / "time-to-accuracy.md", curves.time_to_accuracy_markdown(
                timing, json.loads(speed.read_text()) if speed.is_file() else None)))
    result.written.append(atomic_write_text(repro, reproducibility_markdown(
        evals, root, len(runs))))
    readme = repro.parent / "README.md"
    if update_readme(readme, measured_block(tables, repro.parent / "benchmarks" / "results")):
        result.written.append(readme)
    index = base / INDEX
    try:
        previous = json.loads(index.read_text()).get("files", []) if index.is_file() else []
    except ValueError:
        previous = []
    base_abs = base.resolve()
    now = sorted(str(p.resolve().relative_to(base_abs)) for p in result.written
                 if p.resolve().is_relative_to(base_abs))
    for old in set(previous) - set(now):
        p = base / old
        if p.is_file() and p.parent.name in ("tables", "figures") and p.parent.parent.resolve() \
                == base_abs:
            p.unlink()
            result.removed.append(p)
    atomic_write_json(index, {"generated_by": "dcbench report", "runs": result.runs,
                              "files": now})
    return result
