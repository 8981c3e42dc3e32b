"""Accuracy against condensation time: the curves of a run saved at several budgets.

A condense task with ``snapshot_minutes`` keeps the set after each budget of condensation wall
time (``snapshots/set-<m>min.pt``, recording its iteration and wall time) and evaluates every
snapshot and the final set. Here each point is one budget of one run setting (dataset, method,
ipc, preset and overrides), pooled over the sets (seeds) that share it: accuracy mean ± sample
std over n = sets × models, against the mean condensation minutes of those sets. Coresets and
the paper's number are the horizontal references.

A run the clock ended (``--budget-minutes``) without snapshots is a one-point curve: a
settings sweep at a fixed budget (the same task with ``--set``) is a set of them.

What each method reaches within 5, 10, 20 and 60 minutes, and when it first reaches the paper's
number, is :func:`time_to_accuracy`'s table (``results/time-to-accuracy.md``).
"""

from __future__ import annotations

import math

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from dcbench.report import published as pub
from dcbench.report.condensation import aggregate, curve_runs, known_first
from dcbench.report.devices import devices_note
from dcbench.report.render import DASH, Table, fmt_stat
from dcbench.results.stats import mean_std

CURVE_COLUMNS = ["dataset", "method", "ipc", "preset", "overrides", "budget_min", "minutes",
                 "iterations", "n", "sets", "mean", "std", "final"]
BUDGETS_MIN = (5, 10, 20, 60)  # the issue's 5/20/60 and the quick presets' 10
REFERENCE_METHODS = ("random", "herding")
MARKERS = ("o", "s", "^", "D", "v", "P", "X")
MINUTE_TICKS = (0.5, 1, 2, 5, 10, 20, 40, 60, 120, 180, 360)


def curve_frame(evals: pd.DataFrame, precision: str = "fp32") -> pd.DataFrame:
    """One row per point of a curve (see the module docstring); ``budget_min`` is the snapshot's
    budget, NaN for the final set (``final`` True), ``minutes`` the measured wall time."""
    if evals.empty or "snapshot_minutes" not in evals:
        return pd.DataFrame(columns=CURVE_COLUMNS)
    frame = evals[(evals["precision"].fillna("fp32") == precision)
                  & (evals["model"].str.strip().str.lower() == "convnet")]
    frame = frame[frame["set_run"].isin(curve_runs(frame))].copy()
    if frame.empty:
        return pd.DataFrame(columns=CURVE_COLUMNS)
    frame["overrides"] = frame["overrides"].fillna("")
    frame["budget_key"] = frame["snapshot_minutes"].fillna(-1.0)
    rows = []
    keys = ["dataset", "method", "ipc", "preset", "overrides", "budget_key"]
    for key, g in frame.groupby(keys, sort=True, dropna=False):
        info = dict(zip(keys, key, strict=True))
        accs = [float(a) for a in g["accuracy"]]
        mean, std = mean_std(accs)
        per_set = g.drop_duplicates("set_path")
        rows.append({
            **{k: info[k] for k in keys[:-1]},
            "budget_min": math.nan if info["budget_key"] < 0 else float(info["budget_key"]),
            "minutes": float(per_set["condense_time_s"].astype(float).mean()) / 60,
            "iterations": float(per_set["iterations_done"].astype(float).mean()),
            "n": len(accs), "sets": len(per_set), "mean": mean, "std": std,
            "final": info["budget_key"] < 0,
        })
    out = pd.DataFrame(rows, columns=CURVE_COLUMNS)
    return out.sort_values(["dataset", "ipc", "method", "overrides", "minutes"]).reset_index(
        drop=True)


def curve_csv(curves: pd.DataFrame) -> str:
    return curves.to_csv(index=False, float_format="%.4g")


def _references(evals: pd.DataFrame, dataset: str, ipc: int) -> list[tuple[str, float]]:
    """(label, accuracy) of the coresets' preset rows and the paper's DC number."""
    refs = []
    agg = aggregate(evals)
    for method in REFERENCE_METHODS:
        hit = agg[(agg["dataset"] == dataset) & (agg["ipc"] == ipc) & (agg["method"] == method)]
        if not hit.empty:
            refs.append((f"{pub.method_label(method)} ({hit.iloc[0]['preset']})",
                         float(hit.iloc[0]["mean"])))
    paper = pub.table1_ref(dataset, "dc", ipc)
    if paper is not None:
        refs.append(("DC, paper", float(paper[0])))
    return refs


def curves_figure(evals: pd.DataFrame, dataset: str,
                  curves: pd.DataFrame | None = None) -> Figure:
    """Accuracy (mean ± std) against condensation minutes (log), one panel per ipc, one line
    per method and setting; dashed: coresets, dotted: the paper's DC number. ``curves``: the
    :func:`curve_frame` of ``evals`` when the caller has it already."""
    curves = curve_frame(evals) if curves is None else curves
    curves = curves[curves["dataset"] == dataset]
    ipcs = sorted({int(i) for i in curves["ipc"]})
    fig = Figure(figsize=(5.2 * max(1, len(ipcs)), 4.0), layout="constrained")
    axes = fig.subplots(1, max(1, len(ipcs)), squeeze=False)[0]
    methods = known_first(curves["method"], pub.EXTRA_METHODS + pub.METHODS)
    colors = {m: f"C{k % 10}" for k, m in enumerate(methods)}
    for ax, ipc in zip(axes, ipcs, strict=False):
        part = curves[curves["ipc"] == ipc]
        seen: dict[str, int] = {}
        for (method, overrides), g in part.groupby(["method", "overrides"], sort=True):
            label = pub.method_label(method) + (f" [{overrides}]" if overrides else "")
            k = seen[method] = seen.get(method, -1) + 1  # a method's settings differ by marker
            ax.errorbar(g["minutes"], g["mean"], yerr=g["std"], color=colors[method],
                        marker=MARKERS[k % len(MARKERS)], capsize=2,
                        label=f"{label} ({g.iloc[0]['preset']})")
        for label, acc in _references(evals, dataset, ipc):
            ax.axhline(acc, color="gray", linestyle=":" if "paper" in label else "--",
                       linewidth=1, alpha=0.8)
            ax.annotate(label, (0.01, acc), xycoords=("axes fraction", "data"), fontsize=7,
                        color="gray", va="bottom")
        ax.set_xscale("log")
        span = [t for t in MINUTE_TICKS if part["minutes"].min() / 1.5 <= t
                <= part["minutes"].max() * 1.5]
        ax.set_xticks(span, [f"{t:g}" for t in span])
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set(xlabel="condensation wall time (min, log scale)",
               ylabel="ConvNet test accuracy (%)", title=f"{pub.dataset_label(dataset)}, "
                                                         f"{ipc} image(s)/class")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6, loc="best")
    return fig


def _reached(g: pd.DataFrame, budget: float) -> dict | None:
    """The last point within ``budget`` minutes (what a user stopping there would have)."""
    within = g[g["minutes"] <= budget * 1.05]  # a snapshot is saved at the end of the
    return None if within.empty else within.iloc[-1].to_dict()  # iteration past its budget


def _point_stat(point: dict) -> str:
    """``82.6 ± 0.2 (n=12, 2 sets)``: the issue asks for several sets per point, so a pooled
    point says how many (one set: the plain ``(n=10)``)."""
    n, sets = int(point["n"]), int(point["sets"])
    if sets < 2:
        return fmt_stat(point["mean"], point["std"], n)
    return f"{fmt_stat(point['mean'], point['std'])} (n={n}, {sets} sets)"


def time_to_accuracy(evals: pd.DataFrame) -> Table:
    """Per curve: accuracy within 5/20/60 minutes and the first point at or above the paper's
    number for that method (DC's where the paper has none)."""
    curves = curve_frame(evals)
    columns = ["dataset", "ipc", "method (setting)",
               *[f"within {b} min" for b in BUDGETS_MIN], "paper", "reaches it"]
    rows = []
    for (ds, ipc, method, preset, overrides), g in curves.groupby(
            ["dataset", "ipc", "method", "preset", "overrides"], sort=True):
        g = g.sort_values("minutes")
        cells = [pub.dataset_label(ds), str(int(ipc)),
                 f"{pub.method_label(method)} ({preset}{', ' + overrides if overrides else ''})"]
        for budget in BUDGETS_MIN:
            hit = _reached(g, budget)
            cells.append(DASH if hit is None else
                         f"{_point_stat(hit)} @ {hit['minutes']:.1f} min")
        paper = pub.table1_ref(ds, method, int(ipc)) or pub.table1_ref(ds, "dc", int(ipc))
        cells.append(DASH if paper is None else f"{paper[0]:.1f}")
        above = g[g["mean"] >= paper[0]] if paper is not None else g.iloc[0:0]
        cells.append("not within the curve" if above.empty else
                     f"{above.iloc[0]['minutes']:.1f} min ({int(above.iloc[0]['iterations'])} "
                     "iterations)")
        rows.append(cells)
    notes = ["Each cell: the last evaluated point at or before the budget (+5 %: a snapshot is "
             "saved at the end of the iteration that passes its budget), ConvNet accuracy mean "
             "± sample std over n = sets × models (the sets counted where more than one), and "
             "the mean condensation minutes of those sets. "
             "Wall time excludes evaluation; see each set's manifest for threads and machine.",
             "paper: the method's published Fashion-MNIST number (DC's for a method the paper "
             "table lacks)."]
    shown = evals[evals["set_run"].isin(curve_runs(evals))] if not curves.empty else evals
    if not shown.empty:
        shown = shown[(shown["model"] == "convnet") & (shown["precision"].fillna("fp32")
                                                       == "fp32")]
    notes += [note for note in [devices_note(shown)] if note]
    return Table("time-to-accuracy", "Time to accuracy (condensation minutes)", columns, rows,
                 notes, curves)


def authors_hours(benchmarks_json: dict | None) -> list[str]:
    """How long the authors' DC loop needs for the paper preset's 1000 iterations, from
    ``benchmarks/results/cli_speed.json`` (their loop timed on this machine)."""
    if not benchmarks_json:
        return []
    lines = []
    for ipc, d in sorted((benchmarks_json.get("dc") or {}).items(), key=lambda kv: int(kv[0])):
        s = d["authors"]["seconds_per_iteration"]
        lines.append(f"ipc {ipc}: {s:.1f} s/iteration × 1000 = {s * 1000 / 3600:.1f} h")
    return lines


def time_to_accuracy_markdown(table: Table, benchmarks_json: dict | None) -> str:
    """``results/time-to-accuracy.md``: the table and what the authors' code would need."""
    authors = authors_hours(benchmarks_json)
    lines = ["# Time to accuracy", "",
             "Generated by `dcbench report` from the evaluated snapshots under `results/` "
             "(tasks `tasks/condense-fmnist-curves-*.yaml`); do not edit by hand.", "",
             table.markdown(heading=False)]  # the table's notes included
    lines += ["## The authors' code, for comparison", ""]
    if authors:
        lines += ["Their DC loop reaches the paper's number after the paper preset's 1000 "
                  "iterations; timed on this machine (`benchmarks/cli_speed.py`, "
                  f"{benchmarks_json.get('threads')} threads):", ""]
        lines += [f"- {line}" for line in authors]
    else:
        lines.append("Not measured yet: run `python benchmarks/cli_speed.py` on an idle machine.")
    return "\n".join(lines) + "\n"
