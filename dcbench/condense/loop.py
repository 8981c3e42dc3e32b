"""The outer loop every iterative method (dc, dsa, dm) shares: iterate, watch, checkpoint.

A method supplies an *engine*: the synthetic images and labels, ``iteration(it) -> loss``, its
resumable ``state``/``load_state`` and ``real_std()`` for the divergence guard. This module
resumes from ``request.checkpoint``, shows the progress bar, stops a diverging run and writes
checkpoints, so the three methods behave the same when interrupted or diverging.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import nn

from dcbench.condense.base import CondenseRequest, base_meta
from dcbench.condense.checkpoint import load_checkpoint, save_checkpoint
from dcbench.condense.config import neutral_free
from dcbench.condense.divergence import MAX_STD_RATIO, DivergenceGuard
from dcbench.condense.synthetic_set import SyntheticSet
from dcbench.progress import progress_bar


def reset_parameters(net: nn.Module) -> None:
    """Re-initialise every layer in place: a fresh network without a new module, so a
    compiled graph of it is reused across iterations."""
    for module in net.modules():
        if module is not net and hasattr(module, "reset_parameters"):
            module.reset_parameters()


class Engine(Protocol):
    images: torch.Tensor
    labels: torch.Tensor
    opt: torch.optim.Optimizer

    def iteration(self, it: int) -> float: ...
    def real_std(self) -> float: ...


def engine_state(engine: Engine, it: int, history: list[float], wall: float,
                 seconds: list[float]) -> dict[str, Any]:
    return {"iteration": it, "images": engine.images.detach().cpu(),
            "opt": engine.opt.state_dict(), "history": history, "wall_time_s": wall,
            "iteration_s": seconds}


def load_engine_state(engine: Engine, state: dict[str, Any]
                      ) -> tuple[int, list[float], float, list[float]]:
    with torch.no_grad():
        engine.images.copy_(state["images"].to(engine.images.device))
    engine.opt.load_state_dict(state["opt"])
    return (int(state["iteration"]), list(state["history"]), float(state["wall_time_s"]),
            list(state.get("iteration_s", [])))


def fingerprint(method: str, request: CondenseRequest, config: Any) -> dict[str, Any]:
    """What a checkpoint must agree on to be resumed (a changed setting starts afresh)."""
    return {
        "method": method, "dataset": request.dataset.name, "ipc": request.ipc,
        "seed": request.seed, "classes": request.class_list(), "config": neutral_free(config),
    }


def snapshot_file(folder: Path, minutes: float) -> Path:
    """Where the snapshot after ``minutes`` of condensation is saved: ``set-<m>min.pt``."""
    return folder / f"set-{minutes:g}min.pt"


def snapshot_files(folder: Path) -> list[Path]:
    """The snapshots saved in ``folder``, in order of their minutes."""
    return sorted(folder.glob("set-*min.pt"), key=lambda p: float(p.stem[len("set-"):-3]))


class Snapshots:
    """Saves the set at the first iteration end after each of ``request.snapshot_minutes`` of
    condensation (wall time summed across resumes, so a budget passed before an interruption
    is not saved twice); each file records its iteration and wall time, and the method's own
    metadata as the final set does (e.g. the DSA strategy its evaluation augments with)."""

    def __init__(self, request: CondenseRequest, method: str, config: Any,
                 wall_before: float, extra_meta: dict[str, Any] | None = None) -> None:
        self.request, self.method, self.config = request, method, config
        self.extra_meta = dict(extra_meta or {})
        self.left = sorted(m for m in request.snapshot_minutes if m * 60 > wall_before)
        if self.left and request.snapshot_dir is None:
            raise ValueError("snapshot_minutes needs request.snapshot_dir")

    def due(self, engine: Engine, done: int, wall: float, history: list[float],
            seconds: list[float]) -> None:
        while self.left and wall >= self.left[0] * 60:
            minutes = self.left.pop(0)
            meta = base_meta(self.request, self.method, self.config)
            meta.update(self.extra_meta)
            meta.update(self.request.snapshot_meta)
            meta.update(snapshot_minutes=minutes, iterations_done=done,
                        wall_time_s=round(wall, 3), loss_history=list(history),
                        iteration_s=list(seconds))
            path = snapshot_file(self.request.snapshot_dir, minutes)
            path.parent.mkdir(parents=True, exist_ok=True)
            SyntheticSet(engine.images.detach().cpu(), engine.labels.cpu(), meta).save(path)


def run_iterations(method: str, request: CondenseRequest, config: Any, engine: Engine,
                   extra_meta: dict[str, Any] | None = None,
                   max_std_ratio: float | None = MAX_STD_RATIO) -> SyntheticSet:
    """Run ``config.iterations`` iterations of ``engine`` (resuming a checkpoint) into a set,
    or fewer when ``request.budget_minutes`` of condensation pass first (the set then records
    the iterations it got: ``iterations=<that>`` remakes it without a clock);
    ``max_std_ratio`` bounds the images' std (see :mod:`~dcbench.condense.divergence`)."""
    start, history, wall_before, seconds = 0, [], 0.0, []
    ckpt: Path | None = request.checkpoint
    expect = fingerprint(method, request, config)
    if ckpt is not None and ckpt.exists():
        start, history, wall_before, seconds = load_engine_state(
            engine, load_checkpoint(ckpt, expect))
    t0 = time.perf_counter()
    budget = request.budget_minutes
    # with a budget the clock ends the run: no iteration total (its ETA would mislead)
    bar = progress_bar(total=config.iterations if budget is None else None, initial=start,
                       desc=f"{method} ipc={request.ipc}"
                       + ("" if budget is None else f", {budget:g} min budget"),
                       enabled=request.progress)
    guard = DivergenceGuard(method, config.lr_img, engine.real_std(), max_std_ratio)
    snapshots = Snapshots(request, method, config, wall_before, extra_meta)
    budget_s = math.inf if request.budget_minutes is None else request.budget_minutes * 60
    done = start
    # a run resumed after its budget had passed makes no further iteration
    for it in range(start, config.iterations if wall_before < budget_s else start):
        t_it = time.perf_counter()
        loss = engine.iteration(it)
        seconds.append(round(time.perf_counter() - t_it, 4))
        history.append(loss)
        guard.check(it, loss, engine.images, history)
        bar.update(1)
        bar.set_postfix(loss=f"{loss:.4f}")
        done = it + 1
        now = wall_before + time.perf_counter() - t0
        snapshots.due(engine, done, now, history, seconds)
        if now >= budget_s:  # the first iteration end after the budget, like a snapshot
            break
        if ckpt is not None and done % config.checkpoint_every == 0 and done < config.iterations:
            wall = wall_before + time.perf_counter() - t0
            save_checkpoint(ckpt, engine_state(engine, done, history, wall, seconds), expect)
    bar.close()
    wall = wall_before + time.perf_counter() - t0
    meta = base_meta(request, method, config)
    meta.update(extra_meta or {})
    # iteration_s[i]: seconds of iteration i (the first includes any compilation); a run
    # resumed from an older release's checkpoint lists only the iterations run since
    meta.update(iterations_done=done, wall_time_s=round(wall, 3),
                loss_history=history, iteration_s=seconds)
    if request.budget_minutes is not None:
        meta.update(budget_minutes=request.budget_minutes,
                    stopped_by_budget=done < config.iterations)
    if guard.notes:
        meta["warnings"] = guard.notes
    return SyntheticSet(engine.images.detach().cpu(), engine.labels.cpu(), meta)
