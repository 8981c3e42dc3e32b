"""The same models trained on the CPU and on a GPU, side by side.

Tables pool models trained on either device: model ``i`` of an evaluation is seeded from
``(seed, spec, i)`` alone, so it is the same model wherever it trains, and a GPU trains it in
strict fp32 (TF32 off, :func:`dcbench.precision.exact_fp32`). Whether that pooling is sound is
measured, not assumed: every pair of twins in the results (same set, evaluation seed, model
spec, protocol and index, trained on both devices) is listed here with its difference. Twins
exist only in the evaluations before de-duplication (the newest of a pair is the one counted),
so this module reads ``load_evaluations(..., dedupe=False)``.
"""

from __future__ import annotations

import pandas as pd

from dcbench.report import published as pub
from dcbench.report.evaluations import MODEL_KEY, earlier_protocol
from dcbench.report.render import Table

COLUMNS = ["dataset", "method", "ipc", "model", "gpu", "pairs", "mean_diff", "mean_abs_diff",
           "max_abs_diff"]


def _trainings(all_evals: pd.DataFrame) -> pd.DataFrame | None:
    """Every training with the defaults of older records filled in (no device: the CPU; no
    precision: fp32), so a model's key compares across releases; None without device data."""
    if all_evals.empty or "device" not in all_evals:
        return None
    return all_evals.assign(device=all_evals["device"].fillna("cpu"),
                            precision=all_evals["precision"].fillna("fp32"))


def twins(all_evals: pd.DataFrame) -> pd.DataFrame:
    """One row per model trained on the CPU and on a GPU: ``cpu`` and ``gpu`` accuracies, the
    GPU's device text and ``diff`` (GPU − CPU, points)."""
    cols = ["dataset", "method", "ipc", "model", "gpu", "cpu_acc", "gpu_acc", "diff"]
    frame = _trainings(all_evals)
    if frame is None:
        return pd.DataFrame(columns=cols)
    cpu = frame[frame["device"] == "cpu"].drop_duplicates(MODEL_KEY, keep="last")
    gpu = frame[frame["device"].str.startswith("cuda")].drop_duplicates(MODEL_KEY, keep="last")
    pairs = cpu.merge(gpu[[*MODEL_KEY, "device", "accuracy"]], on=MODEL_KEY,
                      suffixes=("", "_gpu"))
    out = pd.DataFrame({"dataset": pairs["dataset"], "method": pairs["method"],
                        "ipc": pairs["ipc"], "model": pairs["model"],
                        "gpu": pairs["device_gpu"], "cpu_acc": pairs["accuracy"],
                        "gpu_acc": pairs["accuracy_gpu"]})
    return out.assign(diff=out["gpu_acc"] - out["cpu_acc"]).reindex(columns=cols)


def retrained(all_evals: pd.DataFrame) -> pd.DataFrame:
    """Models trained more than once on the same device (another run, the same seeds): one row
    per model with its ``device``, ``trainings`` and ``spread`` (max − min accuracy, points).
    Zero spread is what seeding promises; the table's note reports what the results show.
    Trainings under the earlier protocol (no ``schedule``) are compared among themselves only:
    a re-training under the current one is another protocol, not the same model again."""
    cols = ["device", "trainings", "spread"]
    frame = _trainings(all_evals)
    if frame is None:
        return pd.DataFrame(columns=cols)
    groups = frame.assign(current=~earlier_protocol(frame)).groupby(
        [*MODEL_KEY, "device", "current"], dropna=False)["accuracy"]
    out = pd.DataFrame({"trainings": groups.size(),
                        "spread": groups.max() - groups.min()}).reset_index()
    return out[out["trainings"] > 1].reindex(columns=cols).reset_index(drop=True)


def _retrained_note(all_evals: pd.DataFrame) -> str | None:
    again = retrained(all_evals)
    if again.empty:
        return None
    where = "; ".join(f"{device}: {len(g)}" for device, g in again.groupby("device"))
    return (f"Trained again on the same device with the same seeds (another run): "
            f"{len(again)} models ({where}); {int((again['spread'] == 0).sum())} land on the "
            f"same accuracy every time, the largest difference between two trainings of one "
            f"model is {again['spread'].max():.2f} points (threads, compiled or eager steps "
            "and the release are not part of a model's identity and may round differently).")


def device_frame(all_evals: pd.DataFrame) -> pd.DataFrame:
    """Per (dataset, method, ipc, model, GPU): how many twins and how far apart."""
    pairs = twins(all_evals)
    if pairs.empty:
        return pd.DataFrame(columns=COLUMNS)
    rows = [{**dict(zip(COLUMNS[:5], key, strict=True)), "pairs": len(g),
             "mean_diff": g["diff"].mean(), "mean_abs_diff": g["diff"].abs().mean(),
             "max_abs_diff": g["diff"].abs().max()}
            for key, g in pairs.groupby(COLUMNS[:5], sort=True)]
    return pd.DataFrame(rows, columns=COLUMNS)


def device_table(all_evals: pd.DataFrame) -> Table:
    data = device_frame(all_evals)
    columns = ["set", "GPU", "twins", "GPU − CPU, mean", "mean |GPU − CPU|", "max |GPU − CPU|"]
    rows = [[f"{pub.dataset_label(r['dataset'])} {pub.method_label(r['method'])} ipc "
             f"{int(r['ipc'])}, {r['model']}", r["gpu"], str(int(r["pairs"])),
             f"{r['mean_diff']:+.3f}", f"{r['mean_abs_diff']:.3f}", f"{r['max_abs_diff']:.2f}"]
            for _, r in data.iterrows()]
    notes = ["A twin: the same set, evaluation seed, model spec, protocol and model index "
             "trained on the CPU and on a GPU (strict fp32, TF32 off); accuracy points, final "
             "epoch. Tables count each such model once, the newest training of it."]
    notes += [note for note in [_retrained_note(all_evals)] if note]
    return Table("devices", "The same models trained on the CPU and on a GPU (ConvNet "
                 "accuracy, %)", columns, rows, notes, data)


def devices_note(evals: pd.DataFrame) -> str | None:
    """The note a table adds when some of its models trained on a GPU: how many on each."""
    if evals.empty or "device" not in evals:
        return None
    counts = evals["device"].fillna("cpu").value_counts().sort_index()
    if set(counts.index) <= {"cpu"}:
        return None
    where = "; ".join(f"{device}: {n}" for device, n in counts.items())
    return (f"Models trained on — {where}. A model has the same seeds on either device; "
            "twins trained on both differ by floating-point rounding alone (how much: "
            "results/tables/devices.md).")
