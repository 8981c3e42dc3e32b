"""Several evaluation models at once: two processes with one thread each, or one with two?

Issue 11 asks whether the N models of an evaluation (5 by default) train faster on this 2-core
machine as parallel single-thread processes than one after another on two threads. Both sides
run the shipped command with its default options, on the same set, the same number of models
and the same total cores:

* **threads**: ``dcbench evaluate SET --num-models 2k --threads 2``;
* **processes**: two ``dcbench evaluate SET --num-models k --threads 1`` started together
  (evaluation seeds 1 and 2, so they train different models, as one run's 2k models differ).

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

SETS = ("results/condense/fashion-mnist-dc-ipc1-quick-seed0/set.pt",
        "results/condense/fashion-mnist-dc-ipc10-quick-seed0/set.pt")


def start(set_path: str, models: int, threads: int, seed: int, results: Path) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "dcbench", "evaluate", set_path, "--num-models", str(models),
           "--seed", str(seed), "--threads", str(threads), "--quiet",
           "--out", str(results / f"seed{seed}-threads{threads}")]
    return subprocess.Popen(cmd, env={**os.environ, "DCBENCH_RESULTS": str(results)},
                            stdout=subprocess.DEVNULL)


def finish(procs: list[subprocess.Popen], t0: float) -> float:
    for p in procs:
        if p.wait() != 0:
            raise SystemExit(f"{' '.join(p.args)} failed")
    return time.perf_counter() - t0


def metrics(results: Path) -> dict:
    runs = [json.loads(p.read_text())["models"]["convnet"]
            for p in sorted(results.glob("*/metrics.json"))]
    accs = [a for r in runs for a in r["accuracies"]]
    return {"train_s": round(sum(s for r in runs for s in r["train_s"]), 2),
            "accuracy_mean": round(statistics.mean(accs), 3), "models": len(accs),
            "compiled": sorted({r["compiled"] for r in runs})}


def measure(set_path: str, per_process: int, work: Path) -> dict:
    threads_dir, procs_dir = work / "threads", work / "processes"
    t0 = time.perf_counter()
    wall_threads = finish([start(set_path, 2 * per_process, 2, 1, threads_dir)], t0)
    t0 = time.perf_counter()
    wall_procs = finish([start(set_path, per_process, 1, seed, procs_dir) for seed in (1, 2)],
                        t0)
    one, two = metrics(threads_dir), metrics(procs_dir)
    return {"set": set_path, "models": 2 * per_process,
            "threads": {"command": f"dcbench evaluate SET --num-models {2 * per_process} "
                                   "--threads 2", "wall_s": round(wall_threads, 2), **one,
                        "models_per_min": round(60 * one["models"] / wall_threads, 3)},
            "processes": {"command": f"2 x dcbench evaluate SET --num-models {per_process} "
                                     "--threads 1", "wall_s": round(wall_procs, 2), **two,
                          "models_per_min": round(60 * two["models"] / wall_procs, 3)},
            "speedup": round(wall_threads / wall_procs, 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sets", default=",".join(SETS))
    ap.add_argument("--per-process", type=int, default=2, help="models per process (k)")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/eval_parallel.json"))
    args = ap.parse_args()
    report = {"environment": environment_info(), "results": []}
    for set_path in args.sets.split(","):
        work = Path(tempfile.mkdtemp(prefix="dcbench-evalpar-"))
        r = measure(set_path, args.per_process, work)
        report["results"].append(r)
        print(f"{set_path}: threads {r['threads']['wall_s']:.1f} s, processes "
              f"{r['processes']['wall_s']:.1f} s ({r['speedup']:.2f}x)", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
