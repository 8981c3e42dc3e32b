"""Accuracy benchmark: condense Fashion-MNIST with dc / random / herding at ipc 1 and 10 with
the quick preset, evaluate each set with the protocol, and write a table with wall times.

Everything runs through the ``dcbench`` command line, so each number in the table has the
exact command that produced it (in the run's manifest.json). Finished sets are reused
(``condense`` resumes or reports "already done"), so the script can be re-run after an
interruption.

    python benchmarks/accuracy.py --jobs 2 --num-models 5
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

PUBLISHED = {  # DC paper, Table 1, Fashion-MNIST (ConvNet, mean ± std)
    ("random", 1): "51.4 ± 3.8", ("random", 10): "73.8 ± 0.7",
    ("herding", 1): "67.0 ± 1.9", ("herding", 10): "71.1 ± 0.7",
    ("kcenter", 1): "66.9 ± 1.8", ("kcenter", 10): "54.7 ± 1.5",
    ("forgetting", 1): "42.0 ± 5.5", ("forgetting", 10): "53.9 ± 2.0",
    ("dc", 1): "70.5 ± 0.6", ("dc", 10): "82.3 ± 0.4",
}


def dcbench(*args: str, threads: int) -> str:
    exe = Path(sys.executable).with_name("dcbench")
    cmd = [str(exe), *args, "--threads", str(threads), "--quiet"]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{out.stderr.strip().splitlines()[-1:]}")
    return out.stdout


def finished_evaluation(root: Path, set_path: Path, num_models: int, seed: int) -> Path | None:
    """An earlier evaluation of the same set with the same protocol size and seed, if any."""
    for metrics in sorted((root / "evaluate").glob("*/metrics.json")):
        m = json.loads(metrics.read_text())
        manifest = json.loads(metrics.with_name("manifest.json").read_text())
        if (Path(m["set"]["path"]) == set_path and m["protocol"]["num_models"] == num_models
                and manifest["seeds"] == [seed] and "convnet" in m["models"]):
            return metrics.parent
    return None


def one(method: str, ipc: int, args: argparse.Namespace, root: Path) -> dict:
    run = f"{args.dataset}-{method}-ipc{ipc}-quick-seed{args.seed}"
    dcbench("condense", "--dataset", args.dataset, "--method", method, "--ipc", str(ipc),
            "--preset", "quick", "--seed", str(args.seed), threads=args.threads)
    set_dir = root / "condense" / run
    eval_dir = finished_evaluation(root, set_dir / "set.pt", args.num_models, args.seed)
    if eval_dir is None:
        out = dcbench("evaluate", str(set_dir / "set.pt"), "--models", "convnet",
                      "--num-models", str(args.num_models), "--seed", str(args.seed),
                      threads=args.threads)
        eval_dir = Path(out.strip().splitlines()[-1].split("results: ", 1)[1])
    metrics = json.loads((eval_dir / "metrics.json").read_text())
    cond = json.loads((set_dir / "manifest.json").read_text())
    ev = json.loads((eval_dir / "manifest.json").read_text())
    r = metrics["models"]["convnet"]
    return {
        "method": method, "ipc": ipc, "mean": r["mean"], "std": r["std"],
        "accuracies": r["accuracies"], "published": PUBLISHED.get((method, ipc)),
        "condense_wall_s": cond["wall_time_s"], "evaluate_wall_s": ev["wall_time_s"],
        "condense_command": cond["command"], "evaluate_command": ev["command"],
        "set": str(set_dir / "set.pt"), "evaluation": str(eval_dir),
        "environment": ev["environment"],
    }


def table(rows: list[dict], num_models: int, command: str = "", env: dict | None = None) -> str:
    lines = [
        "| method | ipc | ours (quick) | paper | condense wall | evaluate wall |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['method']} | {r['ipc']} | {r['mean']:.1f} ± {r['std']:.1f} | "
            f"{r['published']} | {r['condense_wall_s'] / 60:.1f} min | "
            f"{r['evaluate_wall_s'] / 60:.1f} min |"
        )
    lines.append("")
    lines.append(f"ConvNet, final-epoch test accuracy (%), mean ± std over {num_models} models "
                 "trained on one set (seed 0); paper: 5 sets × 20 models.")
    if command:
        lines.append("")
        lines.append(f"Produced by `{command}`; each set's and evaluation's manifest.json holds "
                     "the exact dcbench command, seed, versions and wall time.")
    if env:
        lines.append(f"Versions: dcbench {env.get('dcbench')}, torch {env.get('torch')}; "
                     f"machine: {env.get('machine', {}).get('cpu_count')} CPU cores, "
                     f"CUDA: {env.get('machine', {}).get('cuda')}.")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", default="fashion-mnist")
    ap.add_argument("--methods", default="dc,random,herding")
    ap.add_argument("--ipc", default="1,10")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--num-models", type=int, default=5)
    ap.add_argument("--jobs", type=int, default=1, help="parallel commands")
    ap.add_argument("--threads", type=int, default=1, help="torch threads per command")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/accuracy.json"))
    ap.add_argument("--table", type=Path, default=Path("results/fmnist-quick-accuracy.md"))
    args = ap.parse_args()
    root = Path(os.environ.get("DCBENCH_RESULTS", "results"))
    jobs = [(m, int(i)) for i in args.ipc.split(",") for m in args.methods.split(",")]
    t0 = time.perf_counter()
    with ThreadPoolExecutor(args.jobs) as pool:
        rows = list(pool.map(lambda j: one(*j, args, root), jobs))
    result = {"benchmark": "accuracy", "dataset": args.dataset, "preset": "quick",
              "seed": args.seed, "num_models": args.num_models, "rows": rows,
              "wall_time_s": time.perf_counter() - t0}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    args.table.parent.mkdir(parents=True, exist_ok=True)
    command = "python " + " ".join(sys.argv)
    text = table(rows, args.num_models, command, rows[0]["environment"] if rows else None)
    args.table.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
