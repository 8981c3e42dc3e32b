"""One unit of NAS work: train one candidate on one proxy with one seed, test it.

A :class:`Job` is small and picklable (it goes to worker processes and Ray tasks); the tensors
it trains and tests on travel separately, once per worker, as a :class:`TrainData`. The result
is a pure function of (spec, proxy data, protocol, seed) and the thread count: the model's
initial weights and the batch order derive from the seed and the spec (not from the candidate's
index or the proxy), so a candidate starts from the same weights on every proxy and a cached
result is valid in any search space that contains the candidate.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import torch

from dcbench.errors import DcbenchError
from dcbench.evaluation.protocol import EvalProtocol, accuracy, train_model
from dcbench.models import model_from_spec
from dcbench.seeding import derive_seed, generator

_INIT, _ORDER = 0x4E4153, 0x4E4154  # stream tags for derive_seed


@dataclass(frozen=True)
class Job:
    """Train ``spec`` on proxy ``proxy`` with ``seed``; ``cost`` orders the queue (big first)."""

    spec: str
    seed_key: int
    proxy: str
    seed: int
    protocol: dict[str, Any]
    device: str = "cpu"
    cost: float = 0.0

    @property
    def unit(self) -> tuple[str, str, int]:
        return (self.spec, self.proxy, self.seed)


@dataclass
class TrainData:
    """Every proxy's training tensors plus the test split, as plain tensors and ints."""

    channels: int
    num_classes: int
    image_size: tuple[int, int]
    x_test: torch.Tensor
    y_test: torch.Tensor
    sets: dict[str, tuple[torch.Tensor, torch.Tensor]]

    def to_state(self) -> dict[str, Any]:
        """A plain dict (``torch.save``-able with ``weights_only`` loading)."""
        return {
            "shape": [self.channels, self.num_classes, *self.image_size],
            "x_test": self.x_test, "y_test": self.y_test,
            "sets": {k: [x, y] for k, (x, y) in self.sets.items()},
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> TrainData:
        c, k, h, w = (int(v) for v in state["shape"])
        sets = {name: (xy[0], xy[1]) for name, xy in state["sets"].items()}
        return cls(c, k, (h, w), state["x_test"], state["y_test"], sets)


def run_job(job: Job, data: TrainData) -> dict[str, Any]:
    """Train and test one candidate; returns the record the cache stores.

    A run whose loss becomes NaN/inf stops there and is tested as it is (``diverged`` says so):
    a candidate that cannot be trained is a legitimate, bad result of the search.
    """
    if job.proxy not in data.sets:
        raise DcbenchError(f"no training data for proxy {job.proxy!r}")
    x, y = data.sets[job.proxy]
    protocol = EvalProtocol(**job.protocol)
    device = torch.device(job.device)
    torch.manual_seed(derive_seed(job.seed, job.seed_key, _INIT))
    model = model_from_spec(job.spec, data.channels, data.num_classes, data.image_size)
    diverged = None
    c0, t0 = time.process_time(), time.perf_counter()
    try:
        train_model(model, x, y, protocol, generator(job.seed, job.seed_key, _ORDER), device)
    except DcbenchError as exc:
        if "diverged" not in str(exc):
            raise
        diverged = str(exc)
    t1 = time.perf_counter()
    acc = accuracy(model, data.x_test, data.y_test, protocol.test_batch, device)
    t2 = time.perf_counter()
    cpu = time.process_time() - c0
    return {
        "spec": job.spec,
        "proxy": job.proxy,
        "seed": job.seed,
        "accuracy": acc,
        "train_s": round(t1 - t0, 4),
        "test_s": round(t2 - t1, 4),
        "cpu_s": round(cpu, 4),  # process CPU time of train + test (all threads)
        "epochs": protocol.epochs,
        "train_images": len(x),
        "test_images": len(data.x_test),
        "diverged": diverged,
        "device": str(device),
        "threads": torch.get_num_threads(),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }

