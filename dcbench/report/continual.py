"""Continual-learning results: the reader of ``results/continual/<run>/`` and its tables.

A run directory (written by :mod:`dcbench.continual.outputs`) holds ``metrics.json`` with
``task`` (the resolved ContinualConfig: dataset or sequence, protocol, ipc, preset, ...) and
``buffers``: {buffer: {method, summary, seeds: {seed: {average_accuracy: [one per step],
final_average_accuracy, average_forgetting, ...}}}}; ``summary.csv`` the per-buffer means over
seeds (``acc_step<k>_mean`` ...), read when ``metrics.json`` lacks the per-seed numbers.

The run's own ``table.md`` (:func:`run_table`) and ``accuracy_vs_step.png`` are made by the
writer from these readers, so a run and the report can only show the same numbers.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from dcbench.report import published as pub
from dcbench.report.render import DASH, NOT_RUN, Table, fmt_ref, fmt_stat
from dcbench.report.runs import Run, Source, read_runs, short_name
from dcbench.results.stats import finite_or_none

STEPS_COLUMNS = ["run_id", "setting", "protocol", "preset", "buffer", "method", "label",
                 "seed", "step", "accuracy"]
SUMMARY_COLUMNS = ["run_id", "setting", "protocol", "preset", "ipc", "buffer", "method",
                   "label", "seeds", "final_mean", "final_std", "forgetting_mean",
                   "forgetting_std", "memory_size", "step_time_mean", "step_time_std"]


def buffer_label(buffer: str, method: str | None) -> str:
    """``condensed (dc)``, ``herding``, ``random``, ``reservoir``."""
    return buffer if not method or method == buffer else f"{buffer} ({method})"


def _task_info(metrics: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    task = metrics.get("task") or config.get("config") or config
    seq = task.get("sequence")
    return {"setting": " → ".join(seq) if seq else str(task.get("dataset", "?")),
            **{key: task.get(key) for key in ("protocol", "preset", "ipc")}}


def _step_rows(run: Run) -> list[dict[str, Any]]:
    metrics = run.metrics or {}
    info = _task_info(metrics, run.config)
    buffers = metrics.get("buffers") or {}
    base = {"run_id": run.run_id, **{k: info[k] for k in ("setting", "protocol", "preset")}}

    def row(buffer: str, method: str | None, seed: int, step: int, acc: Any) -> dict[str, Any]:
        return {**base, "buffer": buffer, "method": method, "label": buffer_label(buffer, method),
                "seed": seed, "step": step, "accuracy": float(acc)}

    if buffers:
        return [row(buffer, b.get("method"), int(seed), k + 1, acc)
                for buffer, b in buffers.items()
                for seed, unit in (b.get("seeds") or {}).items()
                for k, acc in enumerate(unit.get("average_accuracy") or [])]
    rows = []
    csv = run.path / "summary.csv"  # means only: one pseudo-seed
    if csv.is_file():
        df = pd.read_csv(csv)
        for _, r in df.iterrows():
            for col in df.columns:
                m = re.fullmatch(r"acc_step(\d+)_mean", col)
                if m and pd.notna(r[col]):
                    method = r.get("method") if pd.notna(r.get("method")) else None
                    rows.append(row(r["buffer"], method, -1, int(m.group(1)), r[col]))
    return rows


def run_steps(run: Run) -> pd.DataFrame:
    """:func:`continual_steps` of one run (as :func:`dcbench.report.runs.read_run` read it)."""
    return pd.DataFrame(_step_rows(run), columns=STEPS_COLUMNS)


def continual_steps(source: Source = None) -> pd.DataFrame:
    """Accuracy (%) on all classes seen after each step, per run, buffer and seed (long form):
    run_id, setting (dataset or sequence), protocol, preset, buffer, method, label, seed,
    step (1-based), accuracy."""
    rows = [row for run in read_runs(source, "continual") for row in _step_rows(run)]
    return pd.DataFrame(rows, columns=STEPS_COLUMNS)


def _summary_rows(run: Run) -> list[dict[str, Any]]:
    metrics = run.metrics or {}
    info = _task_info(metrics, run.config)
    rows = []
    for buffer, b in (metrics.get("buffers") or {}).items():
        s = b.get("summary") or {}
        if not s.get("complete"):
            continue
        stats = {"final": s.get("final_average_accuracy") or {},
                 "forgetting": s.get("average_forgetting") or {},
                 "step_time": s.get("step_wall_time_s") or {}}
        rows.append({
            "run_id": run.run_id, **info, "buffer": buffer,
            "method": b.get("method"), "label": buffer_label(buffer, b.get("method")),
            "seeds": len(s.get("seeds") or []), "memory_size": s.get("memory_size"),
            **{f"{name}_{key}": finite_or_none(stat.get(key))
               for name, stat in stats.items() for key in ("mean", "std")},
        })
    return rows


def run_summary(run: Run) -> pd.DataFrame:
    """:func:`continual_summary` of one run."""
    return pd.DataFrame(_summary_rows(run), columns=SUMMARY_COLUMNS)


def continual_summary(source: Source = None) -> pd.DataFrame:
    """Per run and buffer (complete ones): final average accuracy and forgetting (mean ± std
    over seeds), memory size and seconds per step."""
    rows = [row for run in read_runs(source, "continual") for row in _summary_rows(run)]
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def step_stats(steps: pd.DataFrame) -> pd.DataFrame:
    """Mean, sample std and n over seeds per (run, buffer, step)."""
    if steps.empty:
        return pd.DataFrame(columns=["run_id", "label", "step", "mean", "std", "n"])
    g = steps.groupby(["run_id", "label", "step"], sort=True)["accuracy"]
    out = g.agg(mean="mean", std="std", n="count").reset_index()
    out["std"] = out["std"].fillna(0.0)
    return out


def _memory_cells(steps: pd.DataFrame, stats: pd.DataFrame, summary: pd.DataFrame,
                  run_id: str, label: str, n_steps: int) -> list[str]:
    """Step 1..n, Final, Forgetting and Seeds of one memory of one run: the cells the report's
    table and the run's own table share."""
    st = stats[(stats["run_id"] == run_id) & (stats["label"] == label)]
    by_step = {k: fmt_stat(mean, std)
               for k, mean, std in zip(st["step"], st["mean"], st["std"], strict=True)}
    cells = [by_step.get(k, DASH) for k in range(1, n_steps + 1)]
    s = summary[(summary["run_id"] == run_id) & (summary["label"] == label)]
    final = fmt_stat(s.iloc[0]["final_mean"], s.iloc[0]["final_std"]) if len(s) else DASH
    forget = (fmt_stat(s.iloc[0]["forgetting_mean"], s.iloc[0]["forgetting_std"])
              if len(s) and s.iloc[0]["forgetting_mean"] is not None else DASH)
    seeds = steps[(steps["run_id"] == run_id) & (steps["label"] == label)]["seed"]
    n_seeds = str(seeds[seeds >= 0].nunique()) if (seeds >= 0).any() else DASH
    return [*cells, final, forget, n_seeds]


def continual_table(source: Source = None) -> Table:
    """The paper's continual-learning numbers (Fig. 4) and ours: accuracy after each step,
    final average accuracy and forgetting."""
    steps = continual_steps(source)
    summary = continual_summary(source)
    stats = step_stats(steps)
    n_steps = max([3, *[int(s) for s in steps["step"]]]) if not steps.empty else 3
    columns = ["Source", "Setting", "Memory", *[f"Step {k}" for k in range(1, n_steps + 1)],
               "Final", "Forgetting", "Seeds"]
    rows = []
    for ref in pub.CONTINUAL:
        cells = [DASH] * n_steps
        cells[1], cells[2] = fmt_ref(ref.stage2), fmt_ref(ref.stage3)
        rows.append(["paper", f"SVHN → MNIST → USPS, {'with' if ref.kd else 'without'} KD",
                     pub.method_label(ref.buffer), *cells, fmt_ref(ref.stage3), DASH, DASH])
    if steps.empty:
        rows.append(["ours", NOT_RUN, NOT_RUN, *[NOT_RUN] * n_steps, NOT_RUN, NOT_RUN, DASH])
    keys = steps[["run_id", "setting", "protocol", "preset", "label"]].drop_duplicates()
    for r in keys.itertuples(index=False):
        rows.append([f"ours {short_name(r.run_id)}",
                     f"{r.setting}, {r.protocol}, preset {r.preset}", r.label,
                     *_memory_cells(steps, stats, summary, r.run_id, r.label, n_steps)])
    notes = ["Accuracy (%) on the test images of every class (or dataset) seen so far, after "
             "each step; Final = after the last step; Forgetting: Chaudhry et al. (2018). Ours: "
             "mean ± sample std over seeds.",
             f"Published: {pub.PAPER}, Fig. 4 ({pub.CONTINUAL_SETTING}); its Final is the "
             "stage-3 number."]
    return Table("continual", "Continual learning with a condensed memory", columns, rows,
                 notes, stats)


def _count(value: Any) -> str:
    return DASH if finite_or_none(value) is None else str(int(value))


def run_table(run: Run, title: str, notes: list[str]) -> Table:
    """One run's own table (its ``table.md``): per memory, the accuracy after each step, Final,
    Forgetting and Seeds exactly as the report's continual table shows them, plus the memory
    size and the seconds per step."""
    steps, summary = run_steps(run), run_summary(run)
    stats = step_stats(steps)
    n_steps = int(steps["step"].max()) if not steps.empty else 0
    columns = ["Memory", "Images", *[f"Step {k}" for k in range(1, n_steps + 1)], "Final",
               "Forgetting", "Seeds", "s / step"]
    rows = []
    for label in dict.fromkeys(steps["label"]):
        s = summary[summary["label"] == label]
        images = _count(s.iloc[0]["memory_size"]) if len(s) else DASH
        per_step = fmt_stat(s.iloc[0]["step_time_mean"], s.iloc[0]["step_time_std"]) \
            if len(s) else DASH
        rows.append([label, images, *_memory_cells(steps, stats, summary, run.run_id, label,
                                                   n_steps), per_step])
    if not rows:
        rows.append([NOT_RUN, *[DASH] * (len(columns) - 1)])
    return Table("table", title, columns, rows, notes, stats)


def figure_title(steps: pd.DataFrame) -> str:
    """The title of one run's accuracy-vs-step figure, in the report and in the run."""
    r = steps.iloc[0]
    return f"{r['setting']}, {r['protocol']}, preset {r['preset']} ({short_name(r['run_id'])})"
