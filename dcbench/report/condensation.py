"""Condensation results: Table 1 (method × ipc), the cross-architecture table, and the data
behind the accuracy-vs-time figure, aggregated from evaluate runs.

Aggregation rule (stated in every table): the accuracies of all models trained on all sets of
one (dataset, method, ipc, preset) are pooled: mean ± sample std over n = sets × models.
Table 1 uses the ``convnet`` rows (the paper's ConvNet, spec exactly ``convnet``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from math import nan

import pandas as pd

from dcbench.report import published as pub
from dcbench.report.devices import devices_note
from dcbench.report.evaluations import (
    EARLIER_PROTOCOL_MARK,
    EARLIER_PROTOCOL_NOTE,
    earlier_protocol,
    parse_overrides,
)
from dcbench.report.render import DASH, NOT_RUN, Table, fmt_ref, fmt_stat
from dcbench.results.stats import mean_std

GROUP = ["dataset", "method", "ipc", "preset"]
PRESET_ORDER = ("paper", "quick")
AGG_COLUMNS = [*GROUP, "model", "n", "sets", "seeds", "mean", "std", "epochs",
               "condense_time_s", "commands", "earlier"]


def base_model(spec: str) -> str:
    return str(spec).split(":", 1)[0].strip().lower()


def _unique(values: Iterable) -> list:
    """The distinct values, in order, without None and NaN."""
    return list(dict.fromkeys(v for v in values
                              if v is not None and not (isinstance(v, float) and v != v)))


def known_first(values: Iterable, known: Sequence) -> list:
    """The distinct ``values``: those in ``known`` in its order, then the others sorted."""
    found = set(values)
    return [k for k in known if k in found] + sorted(found - set(known))


def curve_runs(evals: pd.DataFrame) -> set[str]:
    """The runs whose sets are points of an accuracy-vs-time curve (see curves.py): those
    that kept snapshots, and those the clock ended (``--budget-minutes``; without snapshots a
    one-point curve, as a settings sweep at a fixed budget makes them)."""
    if evals.empty or "snapshot_minutes" not in evals:
        return set()
    budgeted = evals["overrides"].fillna("").map(
        lambda text: "budget_minutes" in parse_overrides(text)) if "overrides" in evals else False
    return set(evals.loc[evals["snapshot_minutes"].notna() | budgeted, "set_run"])


def whole_sets(evals: pd.DataFrame) -> pd.DataFrame:
    """The evaluations of sets that are not points of an accuracy-vs-time curve
    (:func:`curve_runs`)."""
    if evals.empty or "snapshot_minutes" not in evals:
        return evals
    return evals[evals["snapshot_minutes"].isna() & ~evals["set_run"].isin(curve_runs(evals))]


def standard_sets(evals: pd.DataFrame) -> pd.DataFrame:
    """The evaluations that belong in a preset's rows: :func:`whole_sets` made with the preset
    as it is (no overridden setting that changes a set, e.g. ``--set dc.precision=bf16``, nor
    a set of an earlier release's preset)."""
    evals = whole_sets(evals)
    if evals.empty or "overrides" not in evals:
        return evals
    return evals[evals["overrides"].fillna("") == ""]


def aggregate(evals: pd.DataFrame, by: Sequence[str] = GROUP,
              model: str | None = "convnet", precision: str = "fp32",
              standard_only: bool = True) -> pd.DataFrame:
    """Pool accuracies per group: n, number of sets, seeds, mean, sample std, epochs used,
    mean condensation time per set, the commands that produced them and how many of the models
    trained under the earlier protocol (``earlier``: see ``EARLIER_PROTOCOL_NOTE``).

    ``model``: keep only this exact spec (default ``convnet``); ``None`` keeps all and adds
    ``model`` to the grouping. ``precision``: the evaluations' training precision kept (the
    protocol's fp32 by default, so bf16 runs never mix into the tables). ``standard_only``:
    only sets made with the preset as it is (:func:`standard_sets`), so that changed settings,
    an early snapshot or a curve's longer schedule never pool into a preset's row.
    """
    by = list(by)
    if evals.empty:
        return pd.DataFrame(columns=AGG_COLUMNS)
    frame = standard_sets(evals) if standard_only else evals
    if "precision" in frame:
        frame = frame[frame["precision"].fillna("fp32") == precision]
    if model is not None:
        frame = frame[frame["model"].str.strip().str.lower() == model]
    elif "model" not in by:
        by.append("model")
    rows = []
    for key, g in frame.groupby(by, sort=True, dropna=False):
        accs = [float(a) for a in g["accuracy"]]
        mean, std = mean_std(accs)
        per_set = g.drop_duplicates("set_path")["condense_time_s"].dropna()
        rows.append({
            **dict(zip(by, key if isinstance(key, tuple) else (key,), strict=True)),
            "model": model if model is not None else g["model"].iloc[0],
            "n": len(accs),
            "sets": g["set_path"].nunique(dropna=False),
            "seeds": sorted(int(s) for s in _unique(g["seed"])),
            "mean": mean,
            "std": std,
            "epochs": sorted(int(e) for e in _unique(g["epochs"])),
            "condense_time_s": float(per_set.mean()) if len(per_set) else None,
            "commands": _unique(list(g["condense_command"]) + list(g["command"])),
            "earlier": int(earlier_protocol(g).sum()),
        })
    out = pd.DataFrame(rows)
    return out.reindex(columns=[*AGG_COLUMNS, *[c for c in out.columns if c not in AGG_COLUMNS]])


def presets_in(frame: pd.DataFrame) -> list[str]:
    return known_first(_unique(frame["preset"]) if not frame.empty else [], PRESET_ORDER)


def matching_rows(agg: pd.DataFrame, **key) -> pd.DataFrame:
    """The rows of an aggregate whose columns equal every ``key`` value (empty if none)."""
    if agg.empty:
        return agg
    mask = pd.Series(True, index=agg.index)
    for k, v in key.items():
        mask &= agg[k] == v
    return agg[mask]


def _cell(r: pd.Series) -> str:
    """``mean ± std (n)``, marked when some of its models trained under the earlier protocol."""
    text = fmt_stat(r["mean"], r["std"], int(r["n"]))
    return f"{text} {EARLIER_PROTOCOL_MARK}" if (r.get("earlier") or 0) > 0 else text  # NaN: no


def _earlier_note(data: pd.DataFrame) -> list[str]:
    """The note explaining :func:`_cell`'s mark, for a table with marked cells."""
    n = int(data["earlier"].fillna(0).sum()) if "earlier" in data else 0
    return [EARLIER_PROTOCOL_NOTE.format(n=n)] if n else []


def table1_frame(evals: pd.DataFrame, preset: str) -> pd.DataFrame:
    """The numbers of Table 1 for one preset, long form: one row per (dataset, ipc, method)
    shown, ours (n, mean, std, or NaN when not run) beside the published mean and std."""
    agg = aggregate(evals)
    agg = agg[agg["preset"] == preset] if not agg.empty else agg
    ran = _unique(agg["dataset"]) if not agg.empty else []
    datasets = ([d for d in pub.TABLE1 if d in ran] + [d for d in ran if d not in pub.TABLE1]
                or list(pub.TABLE1))
    found = _unique(agg.get("method", []))
    methods = list(pub.METHODS) + [m for m in pub.EXTRA_METHODS if m in found] + sorted(
        m for m in found if m not in pub.METHODS and m not in pub.EXTRA_METHODS)
    rows = []
    for ds in datasets:
        ran_ipcs = {int(i) for i in agg.loc[agg["dataset"] == ds, "ipc"]} if ran else set()
        ipcs = sorted(set(pub.TABLE1.get(ds, {})) | ran_ipcs)
        for ipc in ipcs:
            for method in methods:
                hit = matching_rows(agg, dataset=ds, ipc=ipc, method=method)
                ours = {} if hit.empty else hit.iloc[0].to_dict()
                paper_mean, paper_std = pub.table1_ref(ds, method, ipc) or (nan, nan)
                rows.append({
                    "dataset": ds, "ipc": ipc, "method": method, "preset": preset,
                    "n": ours.get("n", 0), "sets": ours.get("sets", 0),
                    "mean": ours.get("mean", nan), "std": ours.get("std", nan),
                    "paper_mean": paper_mean, "paper_std": paper_std,
                    "epochs": ours.get("epochs", []), "commands": ours.get("commands", []),
                    "earlier": ours.get("earlier", 0),
                    "condense_min": (ours["condense_time_s"] / 60
                                     if ours.get("condense_time_s") is not None else nan),
                })
    frame = pd.DataFrame(rows)
    frame["diff"] = frame["mean"] - frame["paper_mean"]
    return frame


def table1(evals: pd.DataFrame, preset: str) -> Table:
    """Table 1 of the paper for one preset: rows (dataset, ipc), per method our
    ``mean ± std (n)`` beside the published number; whole-data accuracy (paper)."""
    data = table1_frame(evals, preset)
    methods = _unique(data["method"])
    columns = ["Dataset", "IPC", *[f"{pub.method_label(m)} ({who})" for m in methods
                                   for who in ("ours", "paper")], "Whole data (paper)"]
    rows = []
    for (ds, ipc), g in data.groupby(["dataset", "ipc"], sort=False):
        row = [pub.dataset_label(ds), str(ipc)]
        for m in methods:
            r = g[g["method"] == m].iloc[0]
            row.append(_cell(r) if r["n"] else NOT_RUN)
            row.append(fmt_ref(*(pub.table1_ref(ds, m, ipc) or (None, None))))
        whole = pub.WHOLE_DATA.get(ds)
        first = not rows or rows[-1][0] != row[0]
        row.append((fmt_ref(*whole) if whole else DASH) if first else "")
        rows.append(row)
    epochs = sorted({e for es in data["epochs"] for e in es})
    notes = [
        f"Preset `{preset}`. Ours: ConvNet (spec `convnet`) test accuracy %, final epoch, "
        "mean ± sample std over n = synthetic sets × models, pooled across seeds.",
        f"Published: {pub.PAPER}, Table 1 (5 sets × 20 models, 300 epochs)"
        + "".join(f"; {pub.method_label(m)}: {pub.FOLLOW_UP_PAPERS[m]}"
                  for m in pub.EXTRA_METHODS if m in methods) + ".",
    ]
    if epochs and epochs != [300]:
        notes.append(f"Training epochs in our evaluations: {', '.join(map(str, epochs))} "
                     "(the authors' protocol: 300, and 1000 with augmentation — DSA and DM "
                     "sets are trained with DSA).")
    notes += _earlier_note(data)
    if preset != "paper":
        notes.append(f"The `{preset}` preset condenses with far less compute than the paper; "
                     "compare with care.")
    shown = standard_sets(evals)
    if not shown.empty:
        shown = shown[(shown["preset"] == preset) & (shown["model"] == "convnet")
                      & (shown["precision"].fillna("fp32") == "fp32")]
    notes += [note for note in [devices_note(shown)] if note]
    return Table(f"table1-{preset}", f"Table 1 — condensation, preset {preset}", columns,
                 rows, notes, data)


def table1_tables(evals: pd.DataFrame) -> list[Table]:
    """One Table 1 per preset found (paper first); the paper preset alone when nothing ran."""
    presets = presets_in(evals) or ["paper"]
    return [table1(evals, p) for p in presets]


def cross_arch_frame(evals: pd.DataFrame) -> pd.DataFrame:
    """Per (dataset, method, ipc, preset, model) pooled stats, for the groups evaluated on
    more than the ConvNet alone."""
    agg = aggregate(evals, model=None)
    if agg.empty:
        return agg
    multi = agg.groupby(GROUP, dropna=False)["model"].transform(
        lambda s: s.map(base_model).ne("convnet").any())
    return agg[multi].reset_index(drop=True)


def cross_arch_table(evals: pd.DataFrame) -> Table:
    """Table 2: the set condensed with ConvNet, trained on other architectures."""
    data = cross_arch_frame(evals)
    models = list(pub.CROSS_ARCH) + sorted(m for m in _unique(data.get("model", []))
                                           if m not in pub.CROSS_ARCH)
    columns = ["Setting", "Preset", *[pub.arch_label(m) for m in models]]
    s = pub.CROSS_ARCH_SETTING
    setting = f"{pub.dataset_label(s['dataset'])}, {pub.method_label(s['method'])}, ipc {s['ipc']}"
    rows = [[f"paper: {setting}", "paper",
             *[fmt_ref(*pub.CROSS_ARCH[m]) if m in pub.CROSS_ARCH else DASH for m in models]]]
    if data.empty:
        rows.append([f"ours: {setting}", DASH, *[NOT_RUN for _ in models]])
    for (ds, method, ipc, preset), g in data.groupby(GROUP, sort=True, dropna=False):
        by_model = {r["model"]: _cell(r) for _, r in g.iterrows()}
        rows.append([f"ours: {pub.dataset_label(ds)}, {pub.method_label(method)}, ipc {ipc}",
                     str(preset), *[by_model.get(m, NOT_RUN) for m in models]])
    notes = ["Sets condensed with the ConvNet, then trained from scratch on each architecture; "
             "test accuracy %, mean ± sample std over n = sets × models.",
             f"Published: {pub.PAPER}, Table 2 (MNIST, 1 image/class).", *_earlier_note(data)]
    return Table("cross-architecture", "Cross-architecture generalisation", columns, rows,
                 notes, data)


def time_frame(evals: pd.DataFrame) -> pd.DataFrame:
    """Per (dataset, method, ipc, preset): ConvNet accuracy and mean condensation time."""
    agg = aggregate(evals)
    return agg[agg["condense_time_s"].notna()].reset_index(drop=True) if not agg.empty else agg
