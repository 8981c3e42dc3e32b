"""``dcbench evaluate``: a saved set, the evaluation protocol, a fresh run directory."""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path
from typing import Any

from dcbench.condense.synthetic_set import SyntheticSet
from dcbench.data import ClassDataset, load_dataset
from dcbench.errors import DcbenchError
from dcbench.evaluation.protocol import EvalProtocol, evaluate_set
from dcbench.models import model_from_spec
from dcbench.results import atomic_write_json, atomic_write_text, fresh_run_dir, make_manifest


def dataset_for_set(sset: SyntheticSet, root: str | None, download: bool) -> ClassDataset:
    """Load the dataset a set was made from and check that they agree."""
    ds = load_dataset(sset.meta["dataset"], root=root, download=download)
    if list(ds.class_names) != list(sset.meta["class_names"]):
        raise DcbenchError("the set's class names differ from the dataset's; wrong dataset?")
    if tuple(sset.images.shape[1:]) != (ds.channels, *ds.image_size):
        raise DcbenchError("the set's image shape differs from the dataset's")
    ours, theirs = list(ds.mean) + list(ds.std), sset.meta["mean"] + sset.meta["std"]
    drift = max(abs(a - b) for a, b in zip(ours, theirs, strict=True))
    if drift > 1e-3:
        raise DcbenchError("the set was normalised with another mean/std than the dataset's")
    return ds


def check_models(models: list[str], ds: ClassDataset) -> None:
    """Build each spec once so a typo fails before hours of training."""
    if not models:
        raise DcbenchError("no models given")
    for spec in models:
        model_from_spec(spec, ds.channels, ds.num_classes, ds.image_size)


def metrics_csv(result: dict[str, Any]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["model", "run", "accuracy"])
    for spec, r in result["models"].items():
        for i, acc in enumerate(r["accuracies"]):
            w.writerow([spec, i, f"{acc:.4f}"])
    return buf.getvalue()


def evaluate_job(
    set_path: Path, models: list[str], protocol: EvalProtocol, seed: int, device,
    root: str | None, download: bool, progress: bool,
) -> tuple[Path, dict[str, Any]]:
    sset = SyntheticSet.load(set_path)
    ds = dataset_for_set(sset, root, download)
    check_models(models, ds)
    protocol.validate()
    t0 = time.perf_counter()
    result = evaluate_set(sset.images, sset.labels, ds, models, protocol, seed, device, progress)
    wall = time.perf_counter() - t0
    name = f"{sset.meta['dataset']}-{sset.meta['method']}-ipc{sset.meta['ipc']}"
    out = fresh_run_dir("evaluate", name)
    set_info = {k: sset.meta.get(k) for k in ("dataset", "method", "ipc", "seed", "preset",
                                               "iterations_done", "wall_time_s")}
    set_info["path"] = str(set_path)
    metrics = {"set": set_info, **result}
    atomic_write_json(out / "metrics.json", metrics)
    atomic_write_text(out / "metrics.csv", metrics_csv(result))
    atomic_write_json(out / "manifest.json", make_manifest(
        "evaluate", {"set": str(set_path), "models": models, "protocol": result["protocol"],
                     "device": str(device)}, seeds=[seed], wall_time_s=wall))
    return out, metrics
