"""What README's first command costs a new user: ``make run`` in a fresh clone, timed.

Clones the repository (its committed HEAD) into a temporary folder, runs ``make setup`` (venv
and install; the Debian dataset is reused when installed) and then ``make run`` (the main job:
condense Fashion-MNIST with DC at 1 image/class, quick preset, and evaluate 5 ConvNets), and
records the wall time of each, the condensation and evaluation times from the run's own
manifests and the accuracy it ends with. README's measured block is generated from the JSON.
Run on an idle machine:

    python benchmarks/make_run.py --out benchmarks/results/make_run.json
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path

from dcbench.results.manifest import environment_info

ROOT = Path(__file__).resolve().parent.parent


def timed(cmd: list[str], cwd: Path) -> tuple[float, str]:
    t0 = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return time.perf_counter() - t0, done.stdout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/make_run.json"))
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="dcbench-make-run-")) / "dcbench"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(work)], check=True)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=work, capture_output=True,
                            text=True, check=True).stdout.strip()
    setup_s, _ = timed(["make", "setup"], work)
    run_s, output = timed(["make", "run"], work)
    (condense,) = (work / "runs" / "condense").glob("*/manifest.json")
    (evaluate,) = (work / "runs" / "evaluate").glob("*/manifest.json")
    (metrics,) = (work / "runs" / "evaluate").glob("*/metrics.json")
    result = json.loads(metrics.read_text())["models"]["convnet"]
    report = {
        "commit": commit, "environment": environment_info(),
        "commands": ["make setup", "make run"],
        "setup_s": round(setup_s, 1), "run_s": round(run_s, 1),
        "condense_s": round(json.loads(condense.read_text())["wall_time_s"], 1),
        "evaluate_s": round(json.loads(evaluate.read_text())["wall_time_s"], 1),
        "accuracy_mean": result["mean"], "accuracy_std": result["std"],
        "models": len(result["accuracies"]), "last_lines": output.strip().splitlines()[-3:],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(f"make setup {setup_s:.0f} s, make run {run_s:.0f} s: ConvNet "
          f"{result['mean']:.2f} ± {result['std']:.2f} (n={len(result['accuracies'])})")


if __name__ == "__main__":
    main()
