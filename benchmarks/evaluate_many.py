"""Evaluate many saved sets at once, one ``dcbench evaluate`` process per set, until a deadline.

Why: on a lent GPU machine (16 cores, one GPU, minutes of time) a single evaluation leaves
the GPU mostly idle — a ConvNet step on 10-500 images is a few small kernels — so several
processes share it. Each set runs the shipped command, ``dcbench evaluate SET --num-models N``
(``--threads 1``, ``--quiet``, plus the given extra options), so every result records the
command that re-makes it; a process still training at the deadline is stopped (its finished
models stay in its ``progress.json``). Jobs start in the order given: put the most wanted
first.

    python benchmarks/evaluate_many.py JOBS --parallel 12 --deadline-s 420 -- --device cuda

JOBS holds one ``SET NUM_MODELS`` per line (``#`` comments allowed). The summary (one JSON
line per job: set, models, return code, wall seconds, run directory) goes to stdout.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Job:
    set_path: str
    num_models: int
    proc: subprocess.Popen | None = None
    log: tempfile._TemporaryFileWrapper | None = None  # the process's output (no pipe to fill)
    started: float = 0.0
    wall_s: float | None = None
    returncode: int | None = None

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read()


def read_jobs(path: Path) -> list[Job]:
    jobs = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        text = line.split("#", 1)[0].split()
        if not text:
            continue
        if len(text) != 2 or not text[1].isdigit():
            sys.exit(f"{path}:{number}: expected 'SET NUM_MODELS', got {line.strip()!r}")
        jobs.append(Job(text[0], int(text[1])))
    return jobs


def command(job: Job, extra: list[str]) -> list[str]:
    return [sys.executable, "-m", "dcbench", "evaluate", job.set_path, "--num-models",
            str(job.num_models), "--threads", "1", "--quiet", *extra]


def run_dir(output: str) -> str | None:
    """The run directory the command printed (``results: <dir>``), if it got that far."""
    for line in output.splitlines():
        if line.startswith("results: "):
            return line[len("results: "):].split(" (", 1)[0].strip()
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("jobs", type=Path)
    parser.add_argument("--parallel", type=int, default=4)
    parser.add_argument("--deadline-s", type=float, default=600.0)
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = argv[argv.index("--") + 1:] if "--" in argv else []  # for every dcbench evaluate
    args = parser.parse_args(argv[:argv.index("--")] if "--" in argv else argv)
    todo, running, done = read_jobs(args.jobs), [], []
    end = time.monotonic() + args.deadline_s
    while (todo or running) and time.monotonic() < end:
        while todo and len(running) < args.parallel:
            job = todo.pop(0)
            job.log = tempfile.TemporaryFile("w+")
            job.proc = subprocess.Popen(command(job, extra), stdout=job.log,
                                        stderr=subprocess.STDOUT, text=True)
            job.started = time.monotonic()
            running.append(job)
        time.sleep(1.0)
        for job in [j for j in running if j.proc.poll() is not None]:
            running.remove(job)
            job.wall_s, job.returncode = time.monotonic() - job.started, job.proc.returncode
            done.append(job)
            print(f"[{time.strftime('%H:%M:%S')}] rc={job.returncode} {job.wall_s:.0f}s "
                  f"{job.set_path}", file=sys.stderr, flush=True)
    for job in running:  # the deadline: stop what still trains, keep what it saved
        job.proc.terminate()
    for job in running:
        try:
            job.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            job.proc.kill()
            job.proc.wait()
        job.wall_s, job.returncode = time.monotonic() - job.started, job.proc.returncode
        done.append(job)
    for job in done:
        text = job.output()
        print(json.dumps({"set": job.set_path, "num_models": job.num_models,
                          "returncode": job.returncode, "wall_s": round(job.wall_s, 1),
                          "run": run_dir(text), "tail": text.strip().splitlines()[-3:]}))
    for job in todo:
        print(json.dumps({"set": job.set_path, "num_models": job.num_models,
                          "returncode": None, "not_started": True}))
    return 0 if all(j.returncode == 0 for j in done) and not todo else 1


if __name__ == "__main__":
    sys.exit(main())
