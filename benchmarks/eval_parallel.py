"""Several evaluation models at once: two processes with one thread each, or one with two?

Issue 11 asks whether the N models of an evaluation (5 by default) train faster on this 2-core
machine as parallel single-thread processes than one after another on two threads. Both sides
run the shipped command with its default options, on the same set, the same models (same
seeds) and the same total cores:

* **threads**: ``dcbench evaluate SET --num-models N --threads 2``;
* **processes**: ``dcbench evaluate SET --num-models N --jobs 2 --threads 1``.

Reported per set: the wall time of each side (process start, data loading and testing
included, as a user waits for them), the summed per-model ``train_s``, models per minute, the
ratio, and the mean accuracy of each side (the same protocol, so equal within noise). Run on an
idle machine:

    python benchmarks/eval_parallel.py --out benchmarks/results/eval_parallel.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dcbench.results.manifest import environment_info

#: DC ipc 1 (10 images, 301 passes, eager), DM ipc 1 (1001 passes with DSA, compiled in each
#: process), DC ipc 10 (100 images, 301 passes, compiled).
SETS = ("results/condense/fashion-mnist-dc-ipc1-quick-seed0/set.pt",
        "results/condense/fashion-mnist-dm-ipc1-quick-seed0/set.pt",
        "results/condense/fashion-mnist-dc-ipc10-quick-seed0/set.pt")


def timed_evaluate(set_path: str, models: int, options: list[str], out: Path) -> dict:
    """One shipped ``dcbench evaluate`` run: its wall time (start-up, data loading and testing
    included, as a user waits for them) and what its metrics.json says."""
    cmd = [sys.executable, "-m", "dcbench", "evaluate", set_path, "--num-models", str(models),
           "--seed", "1", "--quiet", *options, "--out", str(out)]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL,
                   env={**os.environ, "DCBENCH_RESULTS": str(out.parent)})
    wall = time.perf_counter() - t0
    m = json.loads((out / "metrics.json").read_text())["models"]["convnet"]
    return {"command": f"dcbench evaluate SET --num-models {models} {' '.join(options)}",
            "wall_s": round(wall, 2), "train_s": m["train_s"], "accuracies": m["accuracies"],
            "accuracy_mean": round(statistics.mean(m["accuracies"]), 3),
            "compiled": m["compiled"], "models_per_min": round(60 * models / wall, 3)}


def measure(set_path: str, models: int, work: Path) -> dict:
    threads = timed_evaluate(set_path, models, ["--threads", "2"], work / "threads")
    jobs = timed_evaluate(set_path, models, ["--jobs", "2", "--threads", "1"], work / "jobs")
    return {"set": set_path, "models": models, "threads": threads, "processes": jobs,
            "speedup": round(threads["wall_s"] / jobs["wall_s"], 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sets", default=",".join(SETS))
    ap.add_argument("--models", type=int, default=4, help="models per evaluation (N)")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/eval_parallel.json"))
    args = ap.parse_args()
    report = {"environment": environment_info(), "results": []}
    for set_path in args.sets.split(","):
        work = Path(tempfile.mkdtemp(prefix="dcbench-evalpar-"))
        r = measure(set_path, args.models, work)
        report["results"].append(r)
        print(f"{set_path}: threads {r['threads']['wall_s']:.1f} s, processes "
              f"{r['processes']['wall_s']:.1f} s ({r['speedup']:.2f}x)", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
