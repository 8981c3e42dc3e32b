"""How long one quick-preset set takes on this machine, run as a user runs it: alone, default
threads.

Issue 13 asks for a ``quick`` preset that makes a set within 10 minutes at ipc 10 here. The
curves (tasks/condense-fmnist-curves-*.yaml) measure condensation wall time at one thread
beside another job, the slow case; this benchmark times the shipped command itself,
``dcbench condense --method M --ipc I --preset quick``, stopped after a few iterations
(``--set M.iterations=K``, the only change), and extrapolates the preset's full length from
the process's own wall time::

    expected = process wall time for K iterations (start-up, data, compile included)
               + (preset iterations - K) x median seconds of the iterations after the first

Seconds per iteration are read from the set it writes (``meta.iteration_s``). ``dcbench
methods`` and README's measured block show the result. Run on an idle machine:

    python benchmarks/preset_speed.py --out benchmarks/results/preset_speed.json
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import torch
from cli_speed import cli_dc  # the shipped command, timed from the set it writes

from dcbench.condense.config import make_config
from dcbench.report.methods import extrapolated_s  # the formula dcbench methods reads it with
from dcbench.results.manifest import environment_info

#: (method, ipc, iterations timed): enough for a steady median after the compiling first one
#: (fewer where one iteration is long: DC/DSA at ipc 50 take about a minute each).
RUNS = (("dc", 1, 5), ("dsa", 1, 5), ("dm", 1, 40),
        ("dc", 10, 3), ("dsa", 10, 3), ("dm", 10, 40),
        ("dc", 50, 2), ("dsa", 50, 2), ("dm", 50, 20))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=torch.get_num_threads(),
                    help="threads per command (default: what dcbench uses, all cores)")
    ap.add_argument("--preset", default="quick")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/preset_speed.json"))
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="dcbench-preset-speed-"))
    report: dict = {"preset": args.preset, "threads": args.threads,
                    "environment": environment_info(), "sets": {}}
    for method, ipc, timed in RUNS:
        iterations = make_config(method, args.preset, ipc).iterations
        run = cli_dc(ipc, timed, args.threads, work, method, preset=args.preset)
        seconds = extrapolated_s({**run, "timed_iterations": timed}, iterations)
        report["sets"][f"{method} ipc {ipc}"] = {
            "method": method, "ipc": ipc, "preset_iterations": iterations,
            "timed_iterations": timed, "expected_s": seconds, **run}
        print(f"{method} ipc {ipc} {args.preset}: {run['seconds_per_iteration']:.2f} s/it, "
              f"{iterations} iterations ~ {seconds / 60:.1f} min", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
