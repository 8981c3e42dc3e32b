"""NAS results: the reader of ``results/nas/<run>/`` and its tables.

A run directory (written by :mod:`dcbench.nas.outputs`) holds ``candidates.csv``, one row per
candidate (``spec``) with ``<proxy>_acc`` for every proxy, the ground truth (``whole``)
included, and ``ranking.json`` with ``dataset``, ``space`` {name, size, description}, ``k``,
``preset`` and ``proxies`` {proxy: {spearman_all, kendall_all, spearman_top_k, kendall_top_k,
precision_at_k, selected_spec, selected_accuracy (its ground-truth accuracy), search_s,
images_stored, ...}}.

The run's own ``ranking.md`` (:func:`ranking_table`) and ``scatter.png`` are made by the writer
from these readers, so a run and the report can only show the same numbers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from dcbench.report import published as pub
from dcbench.report.render import DASH, NOT_RUN, Table, fmt_num, fmt_ref
from dcbench.report.runs import Run, Source, read_runs, short_name
from dcbench.results.stats import finite_or_none

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


def _candidate_frames(run: Run) -> list[pd.DataFrame]:
    csv = run.path / "candidates.csv"
    if not csv.is_file():
        return []
    df = pd.read_csv(csv)
    truth = f"{GROUND_TRUTH}_acc"
    if truth not in df.columns:
        return []
    spec = df["spec"] if "spec" in df.columns else df.index.astype(str)
    return [pd.DataFrame({
        "run_id": run.run_id, "proxy": col[: -len("_acc")], "candidate": spec,
        "proxy_accuracy": df[col].astype(float),
        "whole_accuracy": df[truth].astype(float),
    }) for col in df.columns if col.endswith("_acc") and col != truth]


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=NAS_COLUMNS)


def run_candidates(run: Run) -> pd.DataFrame:
    """:func:`nas_candidates` of one run (as :func:`dcbench.report.runs.read_run` read it)."""
    return _concat(_candidate_frames(run))


def nas_candidates(source: Source = None) -> pd.DataFrame:
    """Every candidate of every NAS run under every proxy, long form: run_id, proxy,
    candidate (its spec), proxy_accuracy, whole_accuracy (the ground truth)."""
    return _concat([f for run in read_runs(source, "nas") for f in _candidate_frames(run)])


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
    for run in read_runs(source, "nas"):
        ranking = nas_ranking(run.path)
        space = ranking.get("space") or {}
        for proxy, m in (ranking.get("proxies") or {}).items():
            search = m.get("search_s")
            rows.append({
                "run_id": run.run_id, "dataset": ranking.get("dataset"),
                "space": space.get("name"), "candidates": space.get("size"),
                "k": ranking.get("k", m.get("k")), "preset": ranking.get("preset"),
                "proxy": proxy, "selected_spec": m.get("selected_spec"),
                **{key: finite_or_none(m.get(key)) for key in (
                    "selected_accuracy", "spearman_top_k", "kendall_top_k", "spearman_all",
                    "kendall_all", "precision_at_k")},
                "search_minutes": float(search) / 60 if search is not None else None,
                "images_stored": m.get("images_stored"),
            })
    return pd.DataFrame(rows, columns=NAS_ROW_COLUMNS)


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
        rows.append([source_text, proxy_label(r["proxy"]), fmt_num(r["selected_accuracy"], 1),
                     fmt_num(r["spearman_top_k"], 2), fmt_num(r["spearman_all"], 2),
                     fmt_num(r["kendall_all"], 2), fmt_num(r["search_minutes"], 1),
                     fmt_num(r["images_stored"], 0)])
    notes = ["Selected arch. accuracy: ground-truth (whole-data) test accuracy (%) of the "
             "candidate the proxy ranks first. Spearman (top-k): rank correlation over the k "
             "best candidates by ground truth; (all): over every candidate. Search time: "
             "training + testing every candidate on the proxy, one worker.",
             f"Published: {pub.PAPER}, Table 4 ({pub.NAS_SETTING})."]
    return Table("nas", "NAS with a proxy set", columns, rows, notes, data)


def ranking_table(ranking: dict[str, Any]) -> Table:
    """One run's own table (its ``ranking.md``) from its ``ranking.json``: per proxy, how well
    it ranks the candidates, what it selects and what the search costs."""
    k = ranking.get("k", "k")
    space = ranking.get("space") or {}
    proxies = ranking.get("proxies") or {}
    columns = ["Proxy", "Epochs", "Images stored", f"Spearman top-{k}", f"Kendall top-{k}",
               "Spearman all", "Kendall all", f"Precision@{k}", "Selected arch acc (%)",
               "Truth rank", "Regret", "Search (s)", "Prep (s)", "Speed-up"]
    rows = []
    for name, p in proxies.items():
        speedup = fmt_num(finite_or_none(p.get("speedup_vs_whole")), 1)
        rows.append([
            name, fmt_num(p.get("epochs"), 0), fmt_num(p.get("images_stored"), 0),
            *[fmt_num(p.get(key)) for key in ("spearman_top_k", "kendall_top_k", "spearman_all",
                                              "kendall_all", "precision_at_k",
                                              "selected_accuracy")],
            fmt_num(p.get("selected_truth_rank"), 0), fmt_num(p.get("regret")),
            fmt_num(p.get("search_s"), 1), fmt_num(p.get("prep_s"), 1),
            speedup if speedup == DASH else f"{speedup}x",
        ])
    notes = [
        f"Space: {space.get('description', space.get('name', '?'))}.",
        f"Ground truth: {ranking.get('ground_truth', GROUND_TRUTH)}.",
        f"Accuracy: {ranking.get('accuracy', '?')}; test images: "
        f"{ranking.get('test_images', '?')}; seeds: {ranking.get('seeds', '?')}; preset: "
        f"{ranking.get('preset', '?')}.",
        f"Top-k: k = {k}, the {k} best candidates by ground truth (ties by index); 'all' "
        "columns use every candidate.",
        f"Search time: {ranking.get('search_s', '?')}; threads per unit: "
        f"{ranking.get('threads_per_unit', '?')}. Speed-up = ground-truth search time / proxy "
        "search time (without the time to make the set, which is the Prep column).",
    ]
    for name, p in proxies.items():
        diverged = f" ({p['diverged']} unit(s) diverged)" if p.get("diverged") else ""
        notes.append(f"**{name}**: {p.get('description', name)}; selects "
                     f"`{p.get('selected_spec')}`; search {fmt_num(p.get('search_s'), 1)} s "
                     f"wall, {fmt_num(p.get('search_cpu_s'), 1)} s CPU{diverged}.")
    title = (f"NAS proxies on {ranking.get('dataset', '?')}: {space.get('name', '?')} "
             f"({space.get('size', '?')} candidates)")
    data = pd.DataFrame.from_dict(proxies, orient="index")
    return Table("ranking", title, columns, rows, notes, data)


def figure_title(ranking: dict[str, Any], run_id: str) -> str:
    """The title of one run's scatter figure, in the report and in the run."""
    space = ranking.get("space") or {}
    return (f"{ranking.get('dataset', '?')}, {space.get('name', '?')} "
            f"({space.get('size', '?')} ConvNets), preset {ranking.get('preset', '?')} "
            f"({short_name(run_id)})")
