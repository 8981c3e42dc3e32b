"""What a finished (or partly finished) continual run writes: metrics, tables, plots, grids.

The run's ``table.md`` and ``accuracy_vs_step.png`` are made by the report's own functions
(:mod:`dcbench.report.continual`, :mod:`dcbench.report.figures`) from the ``metrics.json``
just written, so a run shows exactly what ``dcbench report`` will show for it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from dcbench.continual.config import ContinualConfig
from dcbench.continual.metrics import UnitResult, aggregate, matrix_csv, summary_csv
from dcbench.continual.state import step_path
from dcbench.evaluation.protocol import EvalProtocol
from dcbench.results import atomic_write_json, atomic_write_text
from dcbench.results.rundir import slug


def write_outputs(config: ContinualConfig, data: Any, run_dir: Path,
                  units: dict[str, list[UnitResult]], record: dict[str, Any]) -> dict[str, Any]:
    methods = {b: config.buffer_method(b) for b in config.buffers}
    summary = {b: aggregate(us) for b, us in units.items()}
    for b, us in units.items():
        for u in us:
            if u.steps:
                atomic_write_text(run_dir / "accuracy" / f"{slug(b)}-seed{u.seed}.csv",
                                  matrix_csv(u))
    title = (f"{config.dataset_label()}: {config.num_experiences} experiences, "
             f"{config.protocol}, ipc {config.ipc}, preset {config.preset}")
    protocol = record["training_protocol"]
    notes = [
        f"Mean ± sample std over seeds {', '.join(map(str, config.seeds))} (the steps run so "
        "far; Final and Forgetting over complete runs only); accuracy (%) on the test images of "
        "all classes seen; forgetting after the last step (Chaudhry et al. 2018).",
        f"Protocol {config.protocol}: model {config.model}; per step "
        f"{EvalProtocol(**protocol).schedule_text()}; SGD lr {protocol['lr']}, "
        f"momentum {protocol['momentum']}, weight decay {protocol['weight_decay']}, batch "
        f"{protocol['batch_size']}, augmentation {protocol['augment']}; "
        f"{protocol['reported']}.",
        f"Memory: {config.ipc} images per class seen; condensed = {config.method}; settings in "
        "config.json.",
    ]
    metrics = {
        "title": title,
        "definitions": {
            "accuracy_matrix": "A[k][j]: test accuracy (%) on experience j after step k (j <= k)",
            "average_accuracy": "accuracy (%) on the test images of all experiences seen",
            "average_forgetting": "mean over j < T-1 of max_{j<=l<T-1} A[l][j] - A[T-1][j]",
            "aggregate": "mean and sample std over seeds",
        },
        "task": config.to_dict(),
        "training_protocol": protocol,
        "buffers": {
            b: {"method": methods[b], "summary": summary[b],
                "seeds": {str(u.seed): u.to_dict() for u in units[b]}}
            for b in config.buffers
        },
    }
    atomic_write_json(run_dir / "metrics.json", metrics)
    atomic_write_text(run_dir / "summary.csv", summary_csv(summary, methods))
    write_table_and_figure(run_dir, title, notes,
                           plot=any(s.get("complete") for s in summary.values()))
    memory_grids(config, data, run_dir, units)
    return metrics


def write_table_and_figure(run_dir: Path, title: str, notes: list[str], plot: bool) -> None:
    """``table.md`` and (with ``plot``) ``accuracy_vs_step.png``, read back from the files
    just written by the report's reader: the same table rows and the same figure as
    ``dcbench report`` (imported here: pandas and matplotlib are not needed before)."""
    from dcbench.report.continual import figure_title, run_steps, run_table
    from dcbench.report.figures import continual_figure, save_figure
    from dcbench.report.runs import read_run

    run = read_run(run_dir)
    atomic_write_text(run_dir / "table.md", run_table(run, title, notes).markdown())
    steps = run_steps(run)
    if plot and not steps.empty:
        save_figure(continual_figure(steps, figure_title(steps)), run_dir, "accuracy_vs_step",
                    formats=("png",))


def memory_grids(config: ContinualConfig, data: Any, run_dir: Path,
                  units: dict[str, list[UnitResult]]) -> None:
    """``memory/<buffer>-seed<s>.png``: the final memory of each buffer's first complete seed."""
    from dcbench.continual.plot import save_memory_grid

    ds = data[0] if isinstance(data, list) else data
    for buffer, us in units.items():
        done = [u for u in us if u.complete]
        if not done or buffer == "none":
            continue
        path = run_dir / "memory" / f"{slug(buffer)}-seed{done[0].seed}.png"
        if path.exists():
            continue
        last = step_path(run_dir, buffer, done[0].seed, len(done[0].steps) - 1)
        memory = torch.load(last, map_location="cpu", weights_only=True)["memory"]
        if memory["images"] is not None and len(memory["labels"]):
            save_memory_grid(memory["images"], memory["labels"], ds.mean, ds.std, path)
