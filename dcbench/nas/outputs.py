"""The files of a NAS run: per-candidate accuracies, ranking quality per proxy, a scatter plot.

* ``candidates.csv``: one row per candidate: its options, parameters, MACs, and for every proxy
  (ground truth ``whole`` included) the mean and std accuracy over seeds and the seconds spent;
* ``runs.csv``: one row per (candidate, proxy, seed) unit, as trained (or taken from the cache);
* ``ranking.json`` / ``ranking.md``: per proxy, Spearman and Kendall over all candidates and over
  the top-k by ground truth, precision@k, the selected architecture with its ground-truth
  accuracy, rank and regret, search time, speed-up against the ground truth, images stored;
* ``scatter.png``: proxy accuracy against ground-truth accuracy, one panel per proxy, the
  ground-truth top-k highlighted and each proxy's selection marked.
"""

from __future__ import annotations

import csv
import io
import math
import statistics
from pathlib import Path
from typing import Any

from dcbench.nas.metrics import ranking_metrics
from dcbench.nas.proxies import GROUND_TRUTH, ProxyData
from dcbench.nas.spaces import SearchSpace
from dcbench.results import atomic_write_json, atomic_write_text
from dcbench.results.io import atomic_write_with

Records = dict[tuple[str, str, int], dict[str, Any]]


def _mean_std(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def accuracy_table(space: SearchSpace, proxies: list[str], seeds: list[int], records: Records
                   ) -> dict[str, dict[str, list[float]]]:
    """``{proxy: {"mean": [...], "std": [...], "seconds": [...]}}`` in candidate order."""
    out: dict[str, dict[str, list[float]]] = {}
    for p in proxies:
        means, stds, secs = [], [], []
        for c in space.candidates:
            recs = [records[(c.spec, p, s)] for s in seeds]
            m, sd = _mean_std([r["accuracy"] for r in recs])
            means.append(m)
            stds.append(sd)
            secs.append(sum(r["train_s"] + r["test_s"] for r in recs))
        out[p] = {"mean": means, "std": stds, "seconds": secs}
    return out


def _fmt(v: Any, digits: int = 2) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def write_outputs(run_dir: Path, config: Any, settings: dict[str, Any], space: SearchSpace,
                  costs: dict[str, dict[str, int]], proxies: dict[str, ProxyData],
                  records: Records) -> dict[str, Any]:
    names = list(proxies)
    seeds = list(config.seeds)
    k = config.top_k
    table = accuracy_table(space, names, seeds, records)
    truth = table[GROUND_TRUTH]["mean"]
    whole_s = sum(table[GROUND_TRUTH]["seconds"])
    per_proxy: dict[str, Any] = {}
    for name in names:
        p = proxies[name]
        m = ranking_metrics(truth, table[name]["mean"], k)
        search_s = sum(table[name]["seconds"])
        sel = space.candidates[m["selected_index"]]
        units = [records[(c.spec, name, s)] for c in space.candidates for s in seeds]
        per_proxy[name] = {
            **m,
            "selected_spec": sel.spec,
            "top_k_by_truth": [space.candidates[i].spec for i in m["top_k_by_truth"]],
            "top_k_by_proxy": [space.candidates[i].spec for i in m["top_k_by_proxy"]],
            "description": p.description,
            "epochs": p.epochs,
            "train_images": len(p.x),
            "images_stored": p.images_stored,
            "mean_accuracy": statistics.fmean(table[name]["mean"]),
            "search_s": round(search_s, 3),
            "search_cpu_s": round(sum(r.get("cpu_s", math.nan) for r in units), 3),
            "prep_s": round(p.prep_s, 3),
            "speedup_vs_whole": whole_s / search_s if search_s > 0 else math.nan,
            "speedup_vs_whole_incl_prep": whole_s / (search_s + p.prep_s)
            if search_s + p.prep_s > 0 else math.nan,
            "units": len(units),
            "units_cached": sum(1 for r in units if r.get("cached")),
            "diverged": sum(1 for r in units if r.get("diverged")),
            **{key: v for key, v in p.info.items() if key not in ("subset",)},
        }
    ranking = {
        "dataset": config.dataset,
        "space": {"name": space.name, "size": len(space), "description": space.description},
        "k": k,
        "top_k_by": f"ground truth ({GROUND_TRUTH}): the {k} candidates with the highest "
                    "ground-truth accuracy, ties broken by candidate index",
        "seeds": seeds,
        "preset": config.preset,
        "ground_truth": proxies[GROUND_TRUTH].description,
        "test_images": next(iter(records.values())).get("test_images"),
        "accuracy": "mean over seeds of the final-epoch test accuracy (%) of one model per seed",
        "search_s": "sum over candidates and seeds of the seconds training + testing took, each "
                    "unit on one worker (as measured when it ran; cached units keep that time); "
                    "search_cpu_s: the same in process CPU seconds (less sensitive to a busy "
                    "machine)",
        "proxies": per_proxy,
    }
    ranking["threads_per_unit"] = sorted({r.get("threads") for r in records.values()})
    atomic_write_json(run_dir / "ranking.json", ranking)
    atomic_write_text(run_dir / "ranking.md", ranking_markdown(ranking, settings))
    atomic_write_text(run_dir / "candidates.csv",
                      candidates_csv(space, names, table, costs, truth))
    atomic_write_text(run_dir / "runs.csv", runs_csv(space, names, seeds, records))
    scatter_plot(run_dir / "scatter.png", space, names, table, per_proxy, k)
    return ranking


def candidates_csv(space: SearchSpace, names: list[str], table: dict[str, Any],
                   costs: dict[str, dict[str, int]], truth: list[float]) -> str:
    from dcbench.nas.metrics import ranking_order

    axes = list(space.axes())
    rank = {int(i): r + 1 for r, i in enumerate(ranking_order(truth))}
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["index", "spec", *axes, "params", "macs", "truth_rank",
                *[f"{n}_{col}" for n in names for col in ("acc", "std", "seconds")]])
    for i, c in enumerate(space.candidates):
        row = [c.index, c.spec, *[c.options.get(a, "") for a in axes],
               costs[c.spec]["params"], costs[c.spec]["macs"], rank[i]]
        for n in names:
            row += [f"{table[n]['mean'][i]:.4f}", f"{table[n]['std'][i]:.4f}",
                    f"{table[n]['seconds'][i]:.3f}"]
        w.writerow(row)
    return buf.getvalue()


def runs_csv(space: SearchSpace, names: list[str], seeds: list[int], records: Records) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["index", "spec", "proxy", "seed", "accuracy", "train_s", "test_s", "epochs",
                "train_images", "test_images", "threads", "cpu_s", "diverged", "cached"])
    for c in space.candidates:
        for n in names:
            for s in seeds:
                r = records[(c.spec, n, s)]
                w.writerow([c.index, c.spec, n, s, f"{r['accuracy']:.4f}", r["train_s"],
                            r["test_s"], r["epochs"], r["train_images"], r["test_images"],
                            r.get("threads"), r.get("cpu_s"), int(bool(r.get("diverged"))),
                            int(bool(r.get("cached")))])
    return buf.getvalue()


def ranking_markdown(ranking: dict[str, Any], settings: dict[str, Any]) -> str:
    k = ranking["k"]
    sp = ranking["space"]
    lines = [
        f"# NAS proxies on {ranking['dataset']}: {sp['name']} ({sp['size']} candidates)",
        "",
        f"- Space: {sp['description']}.",
        f"- Ground truth: {ranking['ground_truth']}.",
        f"- Accuracy: {ranking['accuracy']}; test images: {ranking['test_images']}; "
        f"seeds: {ranking['seeds']}; preset: {ranking['preset']}.",
        f"- Top-k: k = {k}, the {k} best candidates by ground truth (ties by index); "
        "'all' columns use every candidate.",
        f"- Search time: {ranking['search_s']}; threads per unit: "
        f"{ranking['threads_per_unit']}. Speed-up = ground-truth search time / proxy search "
        "time (without the time to make the set, which is the Prep column).",
        "",
        f"| Proxy | Epochs | Images stored | Spearman top-{k} | Kendall top-{k} | Spearman all "
        f"| Kendall all | Precision@{k} | Selected arch acc (%) | Truth rank | Regret | "
        "Search (s) | Prep (s) | Speed-up |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, p in ranking["proxies"].items():
        lines.append(
            f"| {name} | {p['epochs']} | {p['images_stored']} | {_fmt(p['spearman_top_k'])} | "
            f"{_fmt(p['kendall_top_k'])} | {_fmt(p['spearman_all'])} | "
            f"{_fmt(p['kendall_all'])} | {_fmt(p['precision_at_k'])} | "
            f"{_fmt(p['selected_accuracy'])} | {p['selected_truth_rank']} | "
            f"{_fmt(p['regret'])} | {_fmt(p['search_s'], 1)} | {_fmt(p['prep_s'], 1)} | "
            f"{_fmt(p['speedup_vs_whole'], 1)}x |")
    lines += ["", "## Proxies", ""]
    for name, p in ranking["proxies"].items():
        extra = f" ({p['diverged']} unit(s) diverged)" if p["diverged"] else ""
        lines.append(f"- **{name}**: {p['description']}; selects `{p['selected_spec']}`; "
                     f"search {_fmt(p['search_s'], 1)} s wall, {_fmt(p['search_cpu_s'], 1)} s "
                     f"CPU{extra}.")
    lines.append("")
    return "\n".join(lines)


def scatter_plot(path: Path, space: SearchSpace, names: list[str], table: dict[str, Any],
                 per_proxy: dict[str, Any], k: int) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [n for n in names if n != GROUND_TRUTH] or [GROUND_TRUTH]
    cols = min(3, len(panels))
    rows = math.ceil(len(panels) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.8 * rows), squeeze=False)
    truth = table[GROUND_TRUTH]["mean"]
    for ax, name in zip(axes.flat, panels, strict=False):
        m = per_proxy[name]
        x = table[name]["mean"]
        top = set(int(i) for i in _indices(space, m["top_k_by_truth"]))
        others = [i for i in range(len(space)) if i not in top]
        ax.scatter([x[i] for i in others], [truth[i] for i in others], s=14, c="0.6",
                   label="other candidates")
        ax.scatter([x[i] for i in sorted(top)], [truth[i] for i in sorted(top)], s=22,
                   c="tab:red", label=f"top-{k} by ground truth")
        s = m["selected_index"]
        ax.scatter([x[s]], [truth[s]], s=160, marker="*", facecolors="none",
                   edgecolors="black", linewidths=1.2, label="selected by proxy")
        ax.set_title(f"{name}: Spearman top-{k} {_fmt(m['spearman_top_k'])}, "
                     f"all {_fmt(m['spearman_all'])}", fontsize=9)
        ax.set_xlabel(f"{name} accuracy (%)")
        ax.set_ylabel("ground-truth accuracy (%)")
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.06 if rows == 1 else 0.035, 1, 1))
    out = atomic_write_with(path, lambda p: fig.savefig(p, dpi=110, format="png"))
    plt.close(fig)
    return out


def _indices(space: SearchSpace, specs: list[str]) -> list[int]:
    where = {c.spec: i for i, c in enumerate(space.candidates)}
    return [where[s] for s in specs]
