"""The continual-learning experiment: (buffer, seed) units of T steps, resumable step by step.

Every step is a pure function of the previous step's saved state, the seed and the step index:
it builds a fresh Avalanche strategy (see :mod:`dcbench.continual.protocols`), restores the
memory tensors (and, for the replay protocols, the model) from ``state/<buffer>/seed<s>/
step<k-1>.pt``, trains on experience ``k``, evaluates on every experience seen and writes
``step<k>.pt`` atomically. A re-run with the same run directory (``--out``) skips finished
steps, so an interrupted run resumes at the next step and ends with the same numbers.

Seeds: the class order, each step's model initialisation and data order derive from the seed
only, so all buffers of one seed see the same stream and the same initial weights (a paired
comparison); condensation seeds derive from (seed, experience).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from dcbench import config as cfg
from dcbench.condense.estimate import describe
from dcbench.continual.config import ContinualConfig
from dcbench.continual.memories import BufferRequest, buffer_kind
from dcbench.continual.outputs import write_outputs
from dcbench.continual.rundir import prepare_run_dir, write_config_record
from dcbench.continual.state import (
    STATE_DIR,
    collect,
    load_step,
    save_step,
    step_fingerprint,
    step_path,
)
from dcbench.data import ClassDataset
from dcbench.errors import DcbenchError
from dcbench.parallel import run_in_processes
from dcbench.progress import progress_bar
from dcbench.results.rundir import CONFIG_FILE
from dcbench.seeding import derive_seed, generator


@dataclass
class RunResult:
    run_dir: Path
    metrics: dict[str, Any]
    steps_run: int
    steps_skipped: int

    def __str__(self) -> str:
        return str(self.run_dir)


# ---------------------------------------------------------------------- data and streams
def load_data(config: ContinualConfig, data_root: Any = None,
              download: bool = False) -> ClassDataset | list[ClassDataset]:
    """The dataset (or the harmonised sequence) the task names."""
    if config.sequence is not None:
        from dcbench.continual.sequence import load_sequence

        return load_sequence(config.sequence, config.image_format, data_root, download)
    from dcbench.data import load_dataset

    return load_dataset(config.dataset, root=data_root, download=download)


def check_data(config: ContinualConfig, data: ClassDataset | list[ClassDataset]) -> None:
    """Impossible splits and budgets fail before any directory or work is created."""
    from dcbench.continual.streams import check_split
    from dcbench.data.registry import check_usable

    datasets = data if isinstance(data, list) else [data]
    if isinstance(data, ClassDataset):
        check_usable(data)
        check_split(data.num_classes, config.experiences, data.name)
        k = data.num_classes
        if config.class_order is not None and sorted(config.class_order) != list(range(k)):
            raise DcbenchError(f"class_order must be a permutation of 0..{k - 1}")
    for ds in datasets:
        counts = ds.class_counts()
        small = [ds.class_names[c] for c, n in enumerate(counts) if n < config.ipc]
        if small:
            raise DcbenchError(
                f"ipc {config.ipc} is larger than classes {', '.join(small[:5])} of {ds.name} "
                f"(fewest train images: {min(counts)})"
            )
    from dcbench.models import model_from_spec

    ds = datasets[0]
    model_from_spec(config.model, ds.channels, ds.num_classes, ds.image_size)


def build_stream(config: ContinualConfig, data: ClassDataset | list[ClassDataset], seed: int):
    from dcbench.continual.streams import class_incremental_stream, dataset_sequence_stream

    if isinstance(data, list):
        return dataset_sequence_stream(data)
    return class_incremental_stream(data, config.experiences, seed, config.class_order)


def make_buffer(config: ContinualConfig, buffer: str, stream: Any, seed: int,
                device: torch.device, progress: bool, checkpoint_dir: Path | None = None) -> Any:
    """The registered buffer ``buffer`` for one step (see :mod:`dcbench.continual.memories`)."""
    kind = buffer_kind(buffer)
    method = kind.method(config.method)
    return kind.make(BufferRequest(
        ipc=config.ipc,
        max_classes=sum(len(c) for c in stream.classes()),  # (experience, class) groups
        method=method, preset=config.preset,
        settings=config.method_overrides(method) if method else {},
        seed=seed, device=device, source=stream.source, progress=progress,
        group_by="experience" if config.sequence is not None else "class",
        checkpoint_dir=checkpoint_dir))


# ---------------------------------------------------------------------- one step
@torch.no_grad()
def _correct(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int,
             device: torch.device) -> int:
    """Correct predictions, computed as the core protocol's :func:`~dcbench.evaluation.accuracy`."""
    from dcbench.evaluation.protocol import accuracy

    return round(accuracy(model, x, y, batch, device) * len(x) / 100.0)


def run_step(config: ContinualConfig, stream: Any, buffer_name: str, seed: int, step: int,
             previous: dict[str, Any] | None, device: torch.device,
             progress: bool, checkpoint_dir: Path | None = None) -> dict[str, Any]:
    """Train and evaluate one step; returns the state to save (without the fingerprint)."""
    from dcbench.continual.protocols import PROTOCOLS, build_strategy
    from dcbench.models import model_from_spec

    t0, cpu0 = time.perf_counter(), time.process_time()
    settings = config.training_protocol(stream.sources[0].dataset.name)
    buffer = make_buffer(config, buffer_name, stream, seed, device, progress, checkpoint_dir)
    if previous is not None:
        buffer.load_state_dict(previous["memory"])
    keep_model = PROTOCOLS.get(config.protocol).needs_previous_model
    torch.manual_seed(derive_seed(seed, step, 0x1417))  # the same init for every buffer
    model = model_from_spec(config.model, stream.channels, stream.num_classes, stream.image_size)
    previous_model = None
    if keep_model and previous is not None:
        model.load_state_dict(previous["model"])
        previous_model = model  # build_strategy copies it (the teacher) before training
    seen_before = [c for cls in stream.classes()[:step] for c in cls]
    strategy = build_strategy(
        config.protocol, model, buffer, settings, device, generator(seed, step, 0xA06),
        previous_model=previous_model, previous_classes=seen_before, step=step,
        replay_batch=config.replay_batch, kd_alpha=config.kd_alpha,
        kd_temperature=config.kd_temperature, progress=progress,
        desc=f"train {buffer_name} s{seed} e{step}",
    )
    torch.manual_seed(derive_seed(seed, step, 0x5EED))  # Avalanche's data-loader shuffling
    strategy.train(stream.train_stream[step], eval_streams=[])
    t_train = time.perf_counter()
    model = strategy.model
    correct, count = [], []
    for j in range(step + 1):
        x, y = stream.sources[j].test_tensors()
        correct.append(_correct(model, x, y, settings.test_batch, device))
        count.append(len(y))
    t_end = time.perf_counter()
    return {
        "step": step,
        "classes": stream.classes()[step],
        "correct": correct,
        "count": count,
        "memory": buffer.state_dict(),
        "memory_size": len(buffer),
        "model": {k: v.detach().cpu() for k, v in model.state_dict().items()}
        if keep_model else None,
        "wall_time_s": t_end - t0,
        "timings": {
            "memory_s": buffer.last_update_s,
            "train_s": t_train - t0 - buffer.last_update_s,
            "eval_s": t_end - t_train,
            "cpu_s": time.process_time() - cpu0,  # ≈ wall time on an idle core at 1 thread
        },
    }


# ---------------------------------------------------------------------- one (buffer, seed) unit
def run_unit(config: ContinualConfig, data: Any, run_dir: Path, buffer: str, seed: int,
             device: torch.device, progress: bool, bar: Any = None) -> tuple[int, int]:
    """All steps of one (buffer, seed); returns (steps run, steps skipped)."""
    stream = build_stream(config, data, seed)
    fp = step_fingerprint(config, buffer, seed, stream.classes())
    previous: dict[str, Any] | None = None
    ran = skipped = 0
    for step in range(stream.n_experiences):
        path = step_path(run_dir, buffer, seed, step)
        if path.exists():
            previous = load_step(path, fp)
            skipped += 1
            continue
        if bar is not None:
            bar.set_description(f"{buffer} seed {seed} step {step + 1}/{stream.n_experiences}")
        state = run_step(config, stream, buffer, seed, step, previous, device, progress,
                         checkpoint_dir=path.parent)
        state["fingerprint"] = fp
        save_step(path, state)
        previous = state
        ran += 1
        if bar is not None:
            acc = 100.0 * sum(state["correct"]) / max(1, sum(state["count"]))
            bar.set_postfix(acc=f"{acc:.1f}", s=f"{state['wall_time_s']:.0f}")
            bar.update(1)
    return ran, skipped


def _worker(config_dict: dict[str, Any], run_dir: str, buffer: str, seed: int,
            threads: int | None, device: str, data_root: Any, download: bool) -> tuple[int, int]:
    """A unit in a separate process (``--jobs``): quiet, own threads, own data copy."""
    from dcbench.device import resolve_device, set_threads

    set_threads(threads)
    config = cfg.load(ContinualConfig, config_dict)
    data = load_data(config, data_root, download)
    return run_unit(config, data, Path(run_dir), buffer, seed, resolve_device(device), False)


# ---------------------------------------------------------------------- the experiment
def run_experiment(config: ContinualConfig, *, out: Any = None, threads: int | None = None,
                   device: str = "auto", quiet: bool = False, data_root: Any = None,
                   download: bool = False, jobs: int | None = None,
                   echo: Any = None) -> RunResult:
    """Run (or resume) every (buffer, seed) unit and write the run directory's files.

    ``threads``/``jobs`` default to the config's (runtime settings, not part of the results).
    """
    from dcbench.device import resolve_device, set_threads

    threads = threads if threads is not None else config.threads
    jobs = jobs if jobs is not None else config.jobs
    if jobs < 1:
        raise DcbenchError(f"jobs must be at least 1 (got {jobs})")
    n_threads = set_threads(threads)
    dev = resolve_device(device)
    data = load_data(config, data_root, download)
    check_data(config, data)
    run, config = prepare_run_dir(config, out)
    run_dir = run.path
    if echo is not None:
        echo(f"run directory: {run_dir}")
    record = write_config_record(run, config,
                                 data[0].name if isinstance(data, list) else data.name)
    t0 = time.perf_counter()
    # Costliest first, so that parallel workers finish together: condensation, then the
    # coresets that train a reference network, then the rest.
    cost = {b: 0 if config.buffer_method(b) == config.method else
            1 if config.buffer_method(b) not in (None, "random") else 2 for b in config.buffers}
    units = sorted(((b, s) for s in config.seeds for b in config.buffers),
                   key=lambda u: cost[u[0]] if jobs > 1 else 0)
    total_steps = len(units) * config.num_experiences
    done_before = sum(step_path(run_dir, b, s, k).exists()
                      for b, s in units for k in range(config.num_experiences))
    estimate_s = estimate_seconds(config, data, dev, len(units)) * (
        1 - done_before / max(1, total_steps)) / min(jobs, len(units))
    if not quiet and estimate_s > 60:
        print(f"estimate: {total_steps - done_before} steps, {describe(estimate_s)} on this "
              f"machine with {min(jobs, len(units))} job(s) (eager); shorter: --preset quick, "
              "fewer buffers or seeds; faster: --jobs N --threads 1", file=sys.stderr)
    bar = progress_bar(total=total_steps, initial=done_before, desc="continual",
                       enabled=not quiet)
    ran = skipped = 0
    try:
        if jobs == 1 or len(units) == 1:
            for b, s in units:
                r, k = run_unit(config, data, run_dir, b, s, dev, not quiet, bar)
                ran, skipped = ran + r, skipped + k
                write_outputs(config, data, run_dir, collect(config, data, run_dir), record)
        else:
            ran, skipped = _run_parallel(config, data_root, download, run_dir, units, n_threads,
                                         device, jobs, bar, done_before)
    finally:
        bar.close()
    metrics = write_outputs(config, data, run_dir, collect(config, data, run_dir), record)
    wall = time.perf_counter() - t0
    compute = sum(sum(u["step_wall_time_s"]) for b in metrics["buffers"].values()
                  for u in b["seeds"].values())
    run.write_manifest(
        record["config"], config.seeds, wall,
        device=str(dev), threads=n_threads, jobs=jobs, steps_run=ran, steps_resumed=skipped,
        step_compute_time_s=round(compute, 3), estimate_s=estimate_s,
        outputs={"config": CONFIG_FILE, "metrics": "metrics.json", "summary": "summary.csv",
                 "table": "table.md", "plot": "accuracy_vs_step.png",
                 "accuracy_matrices": "accuracy/<buffer>-seed<seed>.csv",
                 "state": "state/<buffer>/seed<seed>/step<k>.pt"},
    )
    return RunResult(run_dir, metrics, ran, skipped)


def estimate_seconds(config: ContinualConfig, data: Any, device: torch.device,
                     units: int) -> float:
    """Seconds of all steps of ``units`` (buffer, seed) units, one after the other: each step
    condenses its new classes (the condensed buffer's method) and trains on the memory for the
    protocol's epochs (replay: on the experience too); counted in image passes timed by
    :func:`dcbench.condense.estimate.seconds_per_pass` on the learner's network."""
    from dcbench.condense.estimate import passes, seconds_per_pass

    ds = data[0] if isinstance(data, list) else data
    per_exp = max(1, ds.num_classes // config.num_experiences)
    class_size = min(ds.class_counts())
    epochs = config.eval_protocol().epochs
    total = 0.0
    for step in range(config.num_experiences):
        seen = per_exp * (step + 1)
        train = config.ipc * seen if config.protocol == "gdumb" else \
            per_exp * class_size + config.ipc * seen
        total += epochs * train
        for b in config.buffers:
            method = config.buffer_method(b)
            if method:
                total += passes(method, config.method_config(method), per_exp, config.ipc,
                                class_size) / len(config.buffers)
    per_unit = total * seconds_per_pass(config.model, ds, device)
    return per_unit * units


def _run_parallel(config: ContinualConfig, data_root: Any, download: bool, run_dir: Path,
                  units: list[tuple[str, int]], threads: int, device: str, jobs: int, bar: Any,
                  done_before: int) -> tuple[int, int]:
    """Units in ``jobs`` spawned processes; the bar follows the step files as they appear."""
    cfg_dict = config.to_dict()
    results: list[tuple[int, int]] = []

    def poll() -> None:
        done = sum(1 for _ in (run_dir / STATE_DIR).rglob("step*.pt"))
        bar.update(max(0, done - bar.n))

    run_in_processes(
        _worker, [(cfg_dict, str(run_dir), b, s, threads, device, data_root, download)
                  for b, s in units], jobs, lambda i, result: results.append(result), poll=poll)
    return sum(r[0] for r in results), sum(r[1] for r in results)
