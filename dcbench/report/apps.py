"""Continual-learning and NAS results: readers for their run directories, and their tables.

Continual (``results/continual/<run>/``, written by :mod:`dcbench.continual.runner`):
``metrics.json`` holds ``task`` (the resolved ContinualConfig: dataset or sequence, protocol,
ipc, preset, ...) and ``buffers``: {buffer: {method, summary, seeds: {seed:
{average_accuracy: [one per step], final_average_accuracy, average_forgetting, ...}}}};
``summary.csv`` the per-buffer means over seeds (``acc_step<k>_mean`` ...), read when
``metrics.json`` lacks the per-seed numbers.

NAS (``results/nas/<run>/``, written by :mod:`dcbench.nas.outputs`): ``candidates.csv`` has one
row per candidate (``spec``) with ``<proxy>_acc`` for every proxy, the ground truth
(``whole``) included; ``ranking.json`` has ``dataset``, ``space`` {name, size}, ``k``,
``preset`` and ``proxies`` {proxy: {spearman_all, kendall_all, spearman_top_k, kendall_top_k,
precision_at_k, selected_spec, selected_accuracy (its ground-truth accuracy), search_s,
images_stored, ...}}.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from dcbench.report import published as pub
from dcbench.report.render import DASH, NOT_RUN, Table, fmt_ref, fmt_stat
from dcbench.report.runs import _as_paths, read_run, short_name

Source = str | Path | Iterable[str | Path] | None

# --- continual -----------------------------------------------------------------------------

STEPS_COLUMNS = ["run_id", "setting", "protocol", "preset", "buffer", "method", "label",
                 "seed", "step", "accuracy"]
SUMMARY_COLUMNS = ["run_id", "setting", "protocol", "preset", "ipc", "buffer", "method",
                   "label", "seeds", "final_mean", "final_std", "forgetting_mean",
                   "forgetting_std", "memory_size"]


def buffer_label(buffer: str, method: str | None) -> str:
    """``condensed (dc)``, ``herding``, ``random``, ``reservoir``."""
    return buffer if not method or method == buffer else f"{buffer} ({method})"


def _task_info(metrics: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    task = metrics.get("task") or config.get("config") or config
    seq = task.get("sequence")
    return {
        "setting": " → ".join(seq) if seq else str(task.get("dataset", "?")),
        "protocol": task.get("protocol"),
        "preset": task.get("preset"),
        "ipc": task.get("ipc"),
        "sequence": [str(s).lower() for s in seq] if seq else None,
    }


def _nan_none(v: Any) -> float | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)


def continual_steps(source: Source = None) -> pd.DataFrame:
    """Accuracy (%) on all classes seen after each step, per run, buffer and seed (long form):
    run_id, setting (dataset or sequence), protocol, preset, buffer, method, label, seed,
    step (1-based), accuracy."""
    rows = []
    for path in _as_paths(source, ["continual"], False):
        run = read_run(path)
        metrics = run.metrics or {}
        info = _task_info(metrics, run.config)
        buffers = metrics.get("buffers") or {}
        base = {"run_id": run.run_id, **{k: info[k] for k in ("setting", "protocol", "preset")}}
        if buffers:
            for buffer, b in buffers.items():
                method = b.get("method")
                for seed, unit in (b.get("seeds") or {}).items():
                    for k, acc in enumerate(unit.get("average_accuracy") or []):
                        rows.append({**base, "buffer": buffer, "method": method,
                                     "label": buffer_label(buffer, method), "seed": int(seed),
                                     "step": k + 1, "accuracy": float(acc)})
            continue
        csv = run.path / "summary.csv"  # means only: one pseudo-seed
        if csv.is_file():
            df = pd.read_csv(csv)
            for _, r in df.iterrows():
                for col in df.columns:
                    m = re.fullmatch(r"acc_step(\d+)_mean", col)
                    if m and pd.notna(r[col]):
                        method = r.get("method") if pd.notna(r.get("method")) else None
                        rows.append({**base, "buffer": r["buffer"], "method": method,
                                     "label": buffer_label(r["buffer"], method), "seed": -1,
                                     "step": int(m.group(1)), "accuracy": float(r[col])})
    return pd.DataFrame(rows, columns=STEPS_COLUMNS)


def continual_summary(source: Source = None) -> pd.DataFrame:
    """Per run and buffer: final average accuracy and forgetting (mean ± std over seeds)."""
    rows = []
    for path in _as_paths(source, ["continual"], False):
        run = read_run(path)
        metrics = run.metrics or {}
        info = _task_info(metrics, run.config)
        for buffer, b in (metrics.get("buffers") or {}).items():
            s = b.get("summary") or {}
            if not s.get("complete"):
                continue
            final, forget = s.get("final_average_accuracy") or {}, s.get("average_forgetting") or {}
            rows.append({
                "run_id": run.run_id, "setting": info["setting"], "protocol": info["protocol"],
                "preset": info["preset"], "ipc": info["ipc"], "buffer": buffer,
                "method": b.get("method"), "label": buffer_label(buffer, b.get("method")),
                "seeds": len(s.get("seeds") or []),
                "final_mean": _nan_none(final.get("mean")),
                "final_std": _nan_none(final.get("std")),
                "forgetting_mean": _nan_none(forget.get("mean")),
                "forgetting_std": _nan_none(forget.get("std")),
                "memory_size": s.get("memory_size"),
            })
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def step_stats(steps: pd.DataFrame) -> pd.DataFrame:
    """Mean, sample std and n over seeds per (run, buffer, step)."""
    if steps.empty:
        return pd.DataFrame(columns=["run_id", "label", "step", "mean", "std", "n"])
    g = steps.groupby(["run_id", "label", "step"], sort=True)["accuracy"]
    out = g.agg(mean="mean", std="std", n="count").reset_index()
    out["std"] = out["std"].fillna(0.0)
    return out


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
        st = stats[(stats["run_id"] == r.run_id) & (stats["label"] == r.label)]
        cells = []
        for k in range(1, n_steps + 1):
            hit = st[st["step"] == k]
            cells.append(DASH if hit.empty else fmt_stat(hit.iloc[0]["mean"], hit.iloc[0]["std"]))
        s = summary[(summary["run_id"] == r.run_id) & (summary["label"] == r.label)]
        final = fmt_stat(s.iloc[0]["final_mean"], s.iloc[0]["final_std"]) if len(s) else DASH
        forget = (fmt_stat(s.iloc[0]["forgetting_mean"], s.iloc[0]["forgetting_std"])
                  if len(s) and s.iloc[0]["forgetting_mean"] is not None else DASH)
        seeds = steps[(steps["run_id"] == r.run_id) & (steps["label"] == r.label)]["seed"]
        n_seeds = str(seeds[seeds >= 0].nunique()) if (seeds >= 0).any() else DASH
        rows.append([f"ours {short_name(r.run_id)}",
                     f"{r.setting}, {r.protocol}, preset {r.preset}", r.label, *cells, final,
                     forget, n_seeds])
    notes = ["Accuracy (%) on the test images of every class (or dataset) seen so far, after "
             "each step; Final = after the last step; Forgetting: Chaudhry et al. (2018). Ours: "
             "mean ± sample std over seeds.",
             f"Published: {pub.PAPER}, Fig. 4 ({pub.CONTINUAL_SETTING}); its Final is the "
             "stage-3 number."]
    return Table("continual", "Continual learning with a condensed memory", columns, rows,
                 notes, stats)


# --- NAS -----------------------------------------------------------------------------------

GROUND_TRUTH = "whole"
NAS_COLUMNS = ["run_id", "proxy", "candidate", "proxy_accuracy", "whole_accuracy"]
#: The paper's proxy names -> ours.
NAS_PROXY_NAMES = {"dc": "condensed", "whole-data": GROUND_TRUTH}
PROXY_LABELS = {"condensed": "DC (condensed)", "random": "Random", "herding": "Herding",
                "kcenter": "K-Center", "forgetting": "Forgetting",
                "early-stopping": "Early-stopping", GROUND_TRUTH: "Whole data",
                "dc": "DC", "whole-data": "Whole data"}


def proxy_label(name: str) -> str:
    return PROXY_LABELS.get(name, name)


def nas_candidates(source: Source = None) -> pd.DataFrame:
    """Every candidate of every NAS run under every proxy, long form: run_id, proxy,
    candidate (its spec), proxy_accuracy, whole_accuracy (the ground truth)."""
    frames = []
    for path in _as_paths(source, ["nas"], False):
        run = read_run(path)
        csv = run.path / "candidates.csv"
        if not csv.is_file():
            continue
        df = pd.read_csv(csv)
        truth = f"{GROUND_TRUTH}_acc"
        if truth not in df.columns:
            continue
        spec = df["spec"] if "spec" in df.columns else df.index.astype(str)
        for col in df.columns:
            if not col.endswith("_acc") or col == truth:
                continue
            frames.append(pd.DataFrame({
                "run_id": run.run_id, "proxy": col[: -len("_acc")], "candidate": spec,
                "proxy_accuracy": df[col].astype(float),
                "whole_accuracy": df[truth].astype(float),
            }))
    if not frames:
        return pd.DataFrame(columns=NAS_COLUMNS)
    return pd.concat(frames, ignore_index=True)


def nas_ranking(path: str | Path) -> dict[str, Any]:
    """``ranking.json`` of one NAS run (empty when missing)."""
    f = Path(path) / "ranking.json"
    return json.loads(f.read_text()) if f.is_file() else {}


NAS_ROW_COLUMNS = ["run_id", "dataset", "space", "candidates", "k", "preset", "proxy",
                   "selected_spec", "selected_accuracy", "spearman_top_k", "kendall_top_k",
                   "spearman_all", "kendall_all", "precision_at_k", "search_minutes",
                   "images_stored"]


def nas_rows(source: Source = None) -> pd.DataFrame:
    """Per (run, proxy) the numbers of the NAS table, from ranking.json."""
    rows = []
    for path in _as_paths(source, ["nas"], False):
        run = read_run(path)
        ranking = nas_ranking(path)
        space = ranking.get("space") or {}
        for proxy, m in (ranking.get("proxies") or {}).items():
            search = m.get("search_s")
            rows.append({
                "run_id": run.run_id, "dataset": ranking.get("dataset"),
                "space": space.get("name"), "candidates": space.get("size"),
                "k": ranking.get("k", m.get("k")), "preset": ranking.get("preset"),
                "proxy": proxy, "selected_spec": m.get("selected_spec"),
                **{key: _nan_none(m.get(key)) for key in (
                    "selected_accuracy", "spearman_top_k", "kendall_top_k", "spearman_all",
                    "kendall_all", "precision_at_k")},
                "search_minutes": float(search) / 60 if search is not None else None,
                "images_stored": m.get("images_stored"),
            })
    return pd.DataFrame(rows, columns=NAS_ROW_COLUMNS)


def _num(value: Any, digits: int) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return DASH
    if isinstance(value, int | float):
        return f"{float(value):.{digits}f}"
    return str(value)


def nas_table(source: Source = None) -> Table:
    """Table 4 of the paper beside ours: the whole-data accuracy of the architecture each
    proxy selects and how well the proxy ranks the candidates."""
    data = nas_rows(source)
    columns = ["Source", "Proxy", "Selected arch. accuracy", "Spearman (top-k)",
               "Spearman (all)", "Kendall (all)", "Search time (min)", "Images stored"]
    rows = [["paper: CIFAR10, 720 ConvNets, k=10", proxy_label(r.proxy), fmt_ref(r.accuracy),
             f"{r.spearman_top10:.2f}", DASH, DASH, f"{r.search_minutes:.1f}", r.images]
            for r in pub.NAS]
    if data.empty:
        rows.append(["ours", NOT_RUN, *[NOT_RUN] * 6])
    for _, r in data.iterrows():
        source_text = (f"ours {short_name(r['run_id'])}: {r['dataset']}, "
                       f"{r['candidates']} ConvNets, k={r['k']}, preset {r['preset']}")
        rows.append([source_text, proxy_label(r["proxy"]), _num(r["selected_accuracy"], 1),
                     _num(r["spearman_top_k"], 2), _num(r["spearman_all"], 2),
                     _num(r["kendall_all"], 2), _num(r["search_minutes"], 1),
                     _num(r["images_stored"], 0)])
    notes = ["Selected arch. accuracy: ground-truth (whole-data) test accuracy (%) of the "
             "candidate the proxy ranks first. Spearman (top-k): rank correlation over the k "
             "best candidates by ground truth; (all): over every candidate. Search time: "
             "training + testing every candidate on the proxy, one worker.",
             f"Published: {pub.PAPER}, Table 4 ({pub.NAS_SETTING})."]
    return Table("nas", "NAS with a proxy set", columns, rows, notes, data)
