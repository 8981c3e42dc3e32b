"""The files of a NAS run: per-candidate accuracies, ranking quality per proxy, a scatter plot.

* ``candidates.csv``: one row per candidate: its options, parameters, MACs, and for every proxy
  (ground truth ``whole`` included) the mean and std accuracy over seeds and the seconds spent;
* ``runs.csv``: one row per (candidate, proxy, seed) unit, as trained (or taken from the cache);
* ``ranking.json`` / ``ranking.md``: per proxy, Spearman and Kendall over all candidates and over
  the top-k by ground truth, precision@k, the selected architecture with its ground-truth
  accuracy, rank and regret, search time, speed-up against the ground truth, images stored;
* ``scatter.png``: proxy accuracy against ground-truth accuracy, one panel per proxy, each
  proxy's selection marked.

``ranking.md`` and ``scatter.png`` are made by the report's own functions
(:mod:`dcbench.report.nas`, :mod:`dcbench.report.figures`) from the files just written, so a run
shows exactly what ``dcbench report`` will show for it.
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
from dcbench.results.stats import mean_std

Records = dict[tuple[str, str, int], dict[str, Any]]


def accuracy_table(space: SearchSpace, proxies: list[str], seeds: list[int], records: Records
                   ) -> dict[str, dict[str, list[float]]]:
    """``{proxy: {"mean": [...], "std": [...], "seconds": [...]}}`` in candidate order."""
    out: dict[str, dict[str, list[float]]] = {}
    for p in proxies:
        means, stds, secs = [], [], []
        for c in space.candidates:
            recs = [records[(c.spec, p, s)] for s in seeds]
            m, sd = mean_std([r["accuracy"] for r in recs])
            means.append(m)
            stds.append(sd)
            secs.append(sum(r["train_s"] + r["test_s"] for r in recs))
        out[p] = {"mean": means, "std": stds, "seconds": secs}
    return out


def write_outputs(run_dir: Path, config: Any, settings: dict[str, Any], space: SearchSpace,
                  costs: dict[str, dict[str, int]], proxies: dict[str, ProxyData],
                  records: Records) -> dict[str, Any]:
    """Every file of the run but the manifest; returns the ranking (``ranking.json``).
    ``settings`` (recorded in config.json by the caller) is not needed here."""
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
    atomic_write_text(run_dir / "candidates.csv",
                      candidates_csv(space, names, table, costs, truth))
    atomic_write_text(run_dir / "runs.csv", runs_csv(space, names, seeds, records))
    write_table_and_figure(run_dir)
    return ranking


def write_table_and_figure(run_dir: Path) -> None:
    """``ranking.md`` and ``scatter.png``, read back from ``ranking.json`` and
    ``candidates.csv`` by the report's reader: the same numbers and the same figure as
    ``dcbench report`` (imported here: pandas and matplotlib are not needed before)."""
    from dcbench.report.figures import nas_scatter_figure, save_figure
    from dcbench.report.nas import figure_title, nas_ranking, ranking_table, run_candidates
    from dcbench.report.runs import read_run

    run = read_run(run_dir)
    ranking = nas_ranking(run_dir)
    atomic_write_text(run_dir / "ranking.md", ranking_table(ranking).markdown())
    fig = nas_scatter_figure(run_candidates(run), ranking, figure_title(ranking, run.run_id))
    save_figure(fig, run_dir, "scatter", formats=("png",))


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
