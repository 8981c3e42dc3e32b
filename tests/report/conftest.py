"""Small fixture results trees, written with the package's own writers, with known numbers.

The accuracies are chosen so that the tables can be checked by hand:

* fashion-mnist random ipc 1 (quick): seeds 0 and 1, ConvNet [50, 52] and [54, 56]
  -> pooled mean 53.0, sample std 2.582 (n=4, 2 sets);
* fashion-mnist dc ipc 1 (quick): seed 0, ConvNet [70, 71, 72] -> 71.0 ± 1.0, MLP [60, 62]
  -> 61.0 ± 1.414; the same evaluation repeated (a duplicate that must count once);
* fashion-mnist herding ipc 10 (paper): seed 0, ConvNet [60, 60] -> 60.0 ± 0.0;
* a condensation still running (checkpoint only), which the report ignores;
* one continual run (2 memories × 2 seeds × 3 steps) and one NAS run (2 proxies and the
  ground truth × 4 candidates), in the layouts of dcbench.continual and dcbench.nas.
"""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path

import pytest
import torch

from dcbench.condense.synthetic_set import SyntheticSet
from dcbench.evaluation.job import metrics_csv
from dcbench.results import atomic_write_json, atomic_write_text, make_manifest

CLASSES = ["a", "b", "c"]


def make_condense_run(root: Path, dataset: str, method: str, ipc: int, preset: str,
                      seed: int, wall: float = 10.0) -> Path:
    out = root / "condense" / f"{dataset}-{method}-ipc{ipc}-{preset}-seed{seed}"
    g = torch.Generator().manual_seed(seed)
    images = torch.randn(len(CLASSES) * ipc, 1, 8, 8, generator=g)
    labels = torch.arange(len(CLASSES)).repeat_interleave(ipc)
    meta = {"dataset": dataset, "class_names": CLASSES, "mean": [0.5], "std": [0.25],
            "ipc": ipc, "method": method, "seed": seed, "preset": preset,
            "iterations_done": 5, "wall_time_s": wall, "hparams": {}}
    SyntheticSet(images, labels, meta).save(out / "set.pt")
    atomic_write_json(out / "manifest.json", make_manifest(
        "condense", {"method": method, "preset": preset, "ipc": ipc, "dataset": dataset,
                     "settings": {}, "overrides": {}, "device": "cpu"},
        seeds=[seed], wall_time_s=wall, condensation_wall_time_s=wall,
        outputs={"set": "set.pt", "grid": "set.png"}))
    return out / "set.pt"


def make_eval_run(root: Path, name: str, set_path: Path, models: dict[str, list[float]],
                  seed: int = 0, epochs: int = 300, finished: str = "2026-01-01T00:00:00",
                  ) -> Path:
    sset = SyntheticSet.load(set_path)
    out = root / "evaluate" / name
    protocol = {"epochs": epochs, "lr": 0.01, "batch_size": 256, "augment": "none",
                "num_models": max(len(v) for v in models.values())}
    result = {"protocol": protocol, "models": {
        spec: {"accuracies": accs, "mean": sum(accs) / len(accs), "std": 0.0}
        for spec, accs in models.items()}}
    info = {k: sset.meta.get(k) for k in ("dataset", "method", "ipc", "seed", "preset",
                                           "iterations_done", "wall_time_s")}
    info["path"] = str(set_path)
    atomic_write_json(out / "metrics.json", {"set": info, **result})
    atomic_write_text(out / "metrics.csv", metrics_csv(result))
    manifest = make_manifest("evaluate", {"set": str(set_path), "models": list(models),
                                          "protocol": protocol, "device": "cpu"},
                             seeds=[seed], wall_time_s=1.0)
    manifest["finished_at"] = finished
    atomic_write_json(out / "manifest.json", manifest)
    return out


def make_continual_run(root: Path, name: str = "20260101-000000-fmnist-cl") -> Path:
    """In the layout of dcbench.continual.runner: 2 buffers x 2 seeds x 3 steps, accuracy
    after step k (1-based) = base - 10 (k - 1) + 2 seed."""
    out = root / "continual" / name
    task = {"dataset": "fashion-mnist", "sequence": None, "experiences": 3, "ipc": 10,
            "buffers": ["condensed", "herding"], "method": "dc", "protocol": "gdumb",
            "preset": "quick", "seeds": [0, 1]}
    buffers = {}
    lines = ["buffer,method,seeds,memory_size,final_acc_mean,final_acc_std,forgetting_mean,"
             "forgetting_std,acc_step1_mean,acc_step2_mean,acc_step3_mean,acc_step1_std,"
             "acc_step2_std,acc_step3_std,step_wall_time_s_mean"]
    for buffer, method, base in (("condensed", "dc", 80.0), ("herding", "herding", 70.0)):
        seeds = {str(s): {"seed": s, "average_accuracy": [base - 10 * k + 2 * s
                                                          for k in range(3)],
                          "final_average_accuracy": base - 20 + 2 * s,
                          "average_forgetting": 5.0 + s}
                 for s in (0, 1)}
        final = statistics.mean(u["final_average_accuracy"] for u in seeds.values())
        summary = {"seeds": [0, 1], "complete": True,
                   "final_average_accuracy": {"mean": final, "std": math.sqrt(2), "n": 2},
                   "average_forgetting": {"mean": 5.5, "std": math.sqrt(0.5), "n": 2},
                   "memory_size": 60}
        buffers[buffer] = {"method": method, "summary": summary, "seeds": seeds}
        means = [base + 1 - 10 * k for k in range(3)]
        lines.append(f"{buffer},{method},2,60,{final},{math.sqrt(2)},5.5,{math.sqrt(0.5)},"
                     + ",".join(map(str, means)) + f",{math.sqrt(2)}" * 3 + ",1.0")
    atomic_write_text(out / "summary.csv", "\n".join(lines) + "\n")
    atomic_write_json(out / "config.json", {"kind": "continual", "config": task})
    atomic_write_json(out / "metrics.json", {"title": "fixture", "task": task,
                                             "buffers": buffers})
    atomic_write_json(out / "manifest.json", make_manifest("continual", task, [0, 1], 5.0))
    return out


def make_nas_run(root: Path, name: str = "20260101-000000-fmnist-nas") -> Path:
    """In the layout of dcbench.nas.outputs: 4 candidates; proxies condensed and random."""
    out = root / "nas" / name
    whole = [90.0, 85.0, 80.0, 75.0]
    proxies = {"condensed": [60.0, 55.0, 50.0, 45.0], "random": [40.0, 50.0, 45.0, 42.0],
               "whole": whole}
    head = ["index", "spec", "depth", "params", "macs", "truth_rank"]
    for p in proxies:
        head += [f"{p}_acc", f"{p}_std", f"{p}_seconds"]
    lines = [",".join(head)]
    for i in range(4):
        row = [str(i), f"convnet:depth={i + 1}", str(i + 1), "1000", "2000", str(i + 1)]
        for accs in proxies.values():
            row += [f"{accs[i]:.4f}", "0.0000", "1.000"]
        lines.append(",".join(row))
    atomic_write_text(out / "candidates.csv", "\n".join(lines) + "\n")
    metrics = {
        "condensed": {"spearman_all": 1.0, "kendall_all": 1.0, "spearman_top_k": 1.0,
                      "kendall_top_k": 1.0, "precision_at_k": 1.0, "selected_accuracy": 90.0,
                      "selected_spec": "convnet:depth=1", "search_s": 120.0,
                      "images_stored": 30},
        "random": {"spearman_all": 0.4, "kendall_all": 0.33, "spearman_top_k": 0.5,
                   "kendall_top_k": 0.33, "precision_at_k": 0.5, "selected_accuracy": 85.0,
                   "selected_spec": "convnet:depth=2", "search_s": 120.0, "images_stored": 30},
        "whole": {"spearman_all": 1.0, "kendall_all": 1.0, "spearman_top_k": 1.0,
                  "kendall_top_k": 1.0, "precision_at_k": 1.0, "selected_accuracy": 90.0,
                  "selected_spec": "convnet:depth=1", "search_s": 600.0,
                  "images_stored": 30000},
    }
    ranking = {"dataset": "fashion-mnist", "space": {"name": "tiny", "size": 4}, "k": 3,
               "preset": "quick", "proxies": metrics}
    atomic_write_json(out / "ranking.json", ranking)
    config = {"settings": {"dataset": "fashion-mnist", "space": "tiny", "preset": "quick"}}
    atomic_write_json(out / "config.json", config)
    atomic_write_json(out / "manifest.json", make_manifest("nas", config["settings"], [0], 6.0))
    return out


def build_fixture_results(root: Path) -> Path:
    r0 = make_condense_run(root, "fashion-mnist", "random", 1, "quick", 0, wall=0.5)
    r1 = make_condense_run(root, "fashion-mnist", "random", 1, "quick", 1, wall=0.7)
    dc = make_condense_run(root, "fashion-mnist", "dc", 1, "quick", 0, wall=600.0)
    hd = make_condense_run(root, "fashion-mnist", "herding", 10, "paper", 0, wall=100.0)
    make_eval_run(root, "20260101-000001-random-s0", r0, {"convnet": [50.0, 52.0]}, seed=0)
    make_eval_run(root, "20260101-000002-random-s1", r1, {"convnet": [54.0, 56.0]}, seed=1)
    make_eval_run(root, "20260101-000003-dc", dc,
                  {"convnet": [70.0, 71.0, 72.0], "mlp": [60.0, 62.0]})
    make_eval_run(root, "20260101-000004-dc-again", dc,  # the same evaluation, repeated
                  {"convnet": [70.0, 71.0, 72.0], "mlp": [60.0, 62.0]},
                  finished="2026-01-02T00:00:00")
    make_eval_run(root, "20260101-000005-herding", hd, {"convnet": [60.0, 60.0]})
    unfinished = root / "condense" / "fashion-mnist-dc-ipc10-quick-seed0"
    unfinished.mkdir(parents=True)
    (unfinished / "checkpoint.pt").write_bytes(b"x")
    make_continual_run(root)
    make_nas_run(root)
    return root


@pytest.fixture(scope="session")
def fixture_results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A read-only results tree (session-scoped: copy it before changing anything)."""
    return build_fixture_results(tmp_path_factory.mktemp("results") / "results")


def read_json(path: Path):
    return json.loads(Path(path).read_text())
