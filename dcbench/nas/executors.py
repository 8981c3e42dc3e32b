"""Where NAS jobs run: in this process, in a local process pool, or on a Ray cluster.

Every executor runs the same :func:`~dcbench.nas.training.run_job` on the same tensors, so with
the same seeds and threads per worker they give identical results (a job's outcome does not
depend on which worker ran it or in what order). Results are handed back to the caller as they
finish (``on_result``); the caller caches them, so workers never write files (a Ray worker on
another machine could not).

* ``local`` with 1 worker runs jobs one by one in this process;
* ``local`` with N workers starts N spawned processes, each with ``threads`` intra-op threads
  (default: the machine's cores divided by N, so workers do not oversubscribe the CPU). The
  tensors go to the workers once, through a temporary file they memory-map;
* ``ray`` (``pip install 'dcbench[ray]'``) connects to ``--address`` or, without one, starts a
  local Ray instance with ``workers * threads`` CPUs; the tensors go to the object store once.
  Nodes of a cluster need dcbench installed; they need no dataset files.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from dcbench.errors import DcbenchError
from dcbench.nas.training import Job, TrainData, run_job
from dcbench.parallel import run_in_processes
from dcbench.registry import Registry

OnResult = Callable[[Job, dict[str, Any]], None]

EXECUTORS: Registry[type] = Registry("executor")


def default_threads(workers: int) -> int:
    """Threads per worker so that ``workers`` workers fill, and do not exceed, the cores."""
    return max(1, (os.cpu_count() or 1) // max(1, workers))


class Executor(ABC):
    """Runs jobs; subclasses implement :meth:`run`."""

    def __init__(self, workers: int = 1, threads: int | None = None,
                 address: str | None = None) -> None:
        if workers < 1:
            raise DcbenchError(f"--workers must be at least 1 (got {workers})")
        if threads is not None and threads < 1:
            raise DcbenchError(f"--threads must be at least 1 (got {threads})")
        self.workers = workers
        self.threads = threads
        self.address = address

    def describe(self) -> dict[str, Any]:
        return {"workers": self.workers, "threads_per_worker": self.threads,
                "address": self.address}

    @abstractmethod
    def run(self, jobs: Sequence[Job], data: TrainData, on_result: OnResult) -> None:
        """Train every job and call ``on_result`` as each finishes."""


@EXECUTORS.register("local")
class LocalExecutor(Executor):
    """Sequential in this process (1 worker) or a pool of spawned processes."""

    def __init__(self, workers: int = 1, threads: int | None = None,
                 address: str | None = None) -> None:
        super().__init__(workers, threads, address)
        if address:
            raise DcbenchError("--address is for the ray executor (use --executor ray)")
        if threads is None:
            self.threads = default_threads(workers) if workers > 1 else torch.get_num_threads()

    def run(self, jobs: Sequence[Job], data: TrainData, on_result: OnResult) -> None:
        if self.workers == 1:
            self._run_here(jobs, data, on_result)
        elif jobs:
            self._run_pool(jobs, data, on_result)

    def _run_here(self, jobs: Sequence[Job], data: TrainData, on_result: OnResult) -> None:
        before = torch.get_num_threads()
        torch.set_num_threads(self.threads)
        try:
            for job in jobs:
                on_result(job, run_job(job, data))
        finally:
            torch.set_num_threads(before)

    def _run_pool(self, jobs: Sequence[Job], data: TrainData, on_result: OnResult) -> None:
        tmp = Path(tempfile.mkdtemp(prefix="dcbench-nas-"))
        try:
            path = tmp / "data.pt"
            torch.save(data.to_state(), path)
            run_in_processes(_worker_run, [(job,) for job in jobs], self.workers,
                             lambda i, record: on_result(jobs[i], record), threads=self.threads,
                             initializer=_init_worker, initargs=(str(path), self.threads))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


_WORKER_DATA: TrainData | None = None


def _init_worker(path: str, threads: int) -> None:
    global _WORKER_DATA
    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already set in this process
        pass
    state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    _WORKER_DATA = TrainData.from_state(state)


def _worker_run(job: Job) -> dict[str, Any]:
    assert _WORKER_DATA is not None, "worker not initialised"
    return run_job(job, _WORKER_DATA)


# ---------------------------------------------------------------------------------------- ray

def _import_ray():
    try:
        import ray
    except ImportError:
        raise DcbenchError(
            "the ray executor needs Ray, which is not installed: pip install 'dcbench[ray]'"
        ) from None
    return ray


def _numpy_state(data: TrainData) -> dict[str, Any]:
    state = data.to_state()
    state["x_test"], state["y_test"] = state["x_test"].numpy(), state["y_test"].numpy()
    state["sets"] = {k: [x.numpy(), y.numpy()] for k, (x, y) in state["sets"].items()}
    return state


def _ray_task(job: Job, state: dict[str, Any], threads: int) -> dict[str, Any]:
    """Runs on a Ray worker; the state arrives zero-copy (read-only numpy) from the store."""
    torch.set_num_threads(threads)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # read-only arrays; we never write them
        tensors = {
            "shape": state["shape"],
            "x_test": torch.from_numpy(state["x_test"]),
            "y_test": torch.from_numpy(state["y_test"]),
            "sets": {job.proxy: [torch.from_numpy(a) for a in state["sets"][job.proxy]]},
        }
    return run_job(job, TrainData.from_state(tensors))


@EXECUTORS.register("ray")
class RayExecutor(Executor):
    """Ray tasks, one per job, each asking for ``threads`` CPUs."""

    def __init__(self, workers: int = 1, threads: int | None = None,
                 address: str | None = None) -> None:
        super().__init__(workers, threads, address)
        _import_ray()  # fail before any work if Ray is missing
        if threads is None:
            self.threads = 1 if address else default_threads(workers)

    def describe(self) -> dict[str, Any]:
        out = super().describe()
        out["ray_mode"] = f"cluster at {self.address}" if self.address else \
            f"local Ray instance with {self.workers * self.threads} CPUs"
        return out

    def run(self, jobs: Sequence[Job], data: TrainData, on_result: OnResult) -> None:
        if not jobs:
            return
        ray = _import_ray()
        started = False
        if not ray.is_initialized():
            where = {"address": self.address} if self.address else {
                "num_cpus": self.workers * self.threads, "include_dashboard": False}
            ray.init(**where, log_to_driver=False, configure_logging=False)
            started = True
        pending: dict[Any, Job] = {}
        try:
            ref = ray.put(_numpy_state(data))
            task = ray.remote(num_cpus=self.threads, max_retries=0)(_ray_task)
            pending = {task.remote(job, ref, self.threads): job for job in jobs}
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                for r in done:
                    on_result(pending.pop(r), ray.get(r))
        except BaseException:
            for r in pending:
                ray.cancel(r, force=True)
            raise
        finally:
            if started:
                ray.shutdown()
