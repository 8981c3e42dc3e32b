"""The CUDA path end to end, in minutes: every command a user runs, timed, plus loss checks.

Runs on a machine with a GPU (``--device cuda``), each step a real ``dcbench`` command in its
own process under a time limit: condense (dc at ipc 1 and 10, dsa, dm for a few iterations),
evaluate, a short continual run and the toy NAS task. Then it checks that one matching loss of
each method computed on the GPU equals the CPU's on the same weights, images and real batches
(TF32 off, relative 1e-4). Writes one JSON (``--out``); exits non-zero if a step failed.

    bash benchmarks/gpu_check.sh            # writes benchmarks/results/gpu_check.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import torch


def steps(work: Path, dataset: str) -> list[tuple[str, list[str]]]:
    d = ["--dataset", dataset, "--device", "cuda", "--quiet"]
    c = work / "results" / "condense"
    return [
        ("condense dc ipc 1", ["condense", "--method", "dc", "--ipc", "1", *d,
                               "--set", "dc.iterations=5", "--out", str(c / "dc1")]),
        ("condense dc ipc 10", ["condense", "--method", "dc", "--ipc", "10", *d,
                                "--set", "dc.iterations=2", "--out", str(c / "dc10")]),
        ("condense dsa ipc 10", ["condense", "--method", "dsa", "--ipc", "10", *d,
                                 "--set", "dsa.iterations=2", "--out", str(c / "dsa10")]),
        ("condense dm ipc 10", ["condense", "--method", "dm", "--ipc", "10", *d,
                                "--set", "dm.iterations=100", "--out", str(c / "dm10")]),
        ("evaluate dc ipc 1 (2 models, 301 passes)",
         ["evaluate", str(c / "dc1" / "set.pt"), "--num-models", "2", "--device", "cuda",
          "--quiet"]),
        ("evaluate dm ipc 10 (1 model, 1001 passes with DSA)",
         ["evaluate", str(c / "dm10" / "set.pt"), "--num-models", "1", "--device", "cuda",
          "--quiet"]),
        ("continual gdumb, 2 experiences", ["run", "continual", "--buffer", "condensed",
                                            "--experiences", "2", "--epochs", "20", *d,
                                            "--set", "dc.iterations=5",
                                            "--out", str(work / "continual")]),
        ("nas toy task (4 candidates)", ["run", "tasks/nas-toy-smoke.yaml", "--device", "cuda",
                                         "--quiet"]),
    ]


def run_step(name: str, args: list[str], work: Path, limit: int) -> dict:
    env = {**os.environ, "DCBENCH_RESULTS": str(work / "results")}
    t0 = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, "-m", "dcbench", *args], env=env, text=True,
                              capture_output=True, timeout=limit)
        rc, tail = proc.returncode, (proc.stdout + proc.stderr)[-1500:]
    except subprocess.TimeoutExpired:
        rc, tail = 124, f"timed out after {limit} s"
    wall = time.perf_counter() - t0
    print(f"{'ok ' if rc == 0 else 'FAIL'} {wall:7.1f} s  {name}", flush=True)
    return {"step": name, "command": "dcbench " + " ".join(args), "rc": rc,
            "wall_s": round(wall, 2), "output_tail": tail if rc else ""}


def loss_checks(dataset: str, devices: tuple[str, str] = ("cpu", "cuda")) -> list[dict]:
    """One loss per method on CPU and GPU from the same state: they must agree."""
    from dcbench.condense.base import CondenseRequest
    from dcbench.condense.config import make_config
    from dcbench.condense.dc import GradientMatcher
    from dcbench.condense.dm import DistributionMatcher
    from dcbench.data import load_dataset
    from dcbench.dsa import strategy_for
    from dcbench.seeding import generator

    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    ds = load_dataset(dataset)
    out = []
    for method, ipc in (("dc", 10), ("dsa", 10), ("dm", 10)):
        config = make_config(method, "quick", ipc, {"compile": False})
        losses = {}
        for device in devices:
            request = CondenseRequest(ds, ipc=ipc, seed=0, device=torch.device(device),
                                      progress=False)
            if method == "dm":
                engine = DistributionMatcher(request, config, strategy_for(ds.name))
                losses[device] = float(engine.loss(generator(0, 1)))
            else:
                strategy = strategy_for(ds.name) if method == "dsa" else None
                engine = GradientMatcher(request, config, strategy=strategy)
                losses[device] = float(engine.matching_loss(generator(0, 1)))
        a, b = (losses[d] for d in devices)
        rel = abs(b - a) / max(abs(a), 1e-12)
        out.append({"method": method, "ipc": ipc, "losses": losses, "relative_difference": rel,
                    "ok": rel < 1e-4})
        print(f"{'ok ' if rel < 1e-4 else 'FAIL'} loss {method}: {devices[0]} {a:.6f} "
              f"{devices[1]} {b:.6f} (rel {rel:.1e})", flush=True)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/gpu_check.json"))
    ap.add_argument("--work", type=Path, default=Path("/tmp/dcbench-gpu-check"))
    ap.add_argument("--dataset", default="fashion-mnist")
    ap.add_argument("--step-limit", type=int, default=150, help="seconds per step")
    args = ap.parse_args()
    if not torch.cuda.is_available():
        print("gpu_check: no CUDA device here; run it on a machine with a GPU", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    results = [run_step(n, a, args.work, args.step_limit) for n, a in steps(args.work,
                                                                               args.dataset)]
    checks = loss_checks(args.dataset)
    from dcbench.results.manifest import environment_info

    report = {"device": torch.cuda.get_device_name(0), "dataset": args.dataset,
              "environment": environment_info(), "steps": results, "loss_checks": checks,
              "total_s": round(time.perf_counter() - t0, 1)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out} ({report['total_s']} s)")
    return 0 if all(r["rc"] == 0 for r in results) and all(c["ok"] for c in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
