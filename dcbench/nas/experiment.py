"""The NAS-proxy experiment: every candidate trained on every proxy, ranked against the truth.

``run_nas(config)``:

1. checks the settings and builds every candidate once on the meta device (a bad space fails
   before any data is loaded or any set condensed);
2. loads the dataset and builds the proxies (condensed/coreset sets through the engine, the
   early-stopping and ground-truth subsets);
3. runs the (candidate, proxy, seed) units missing from the cache on the chosen executor,
   largest first, caching each result as it arrives (so an interrupted run resumes);
4. writes the run directory: config.json, candidates.csv, runs.csv, ranking.json/.md,
   scatter.png, manifest.json.
"""

from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from dcbench.evaluation.protocol import EvalProtocol
from dcbench.nas.cache import ResultCache, default_cache_root, tensor_digest, unit_key
from dcbench.nas.config import NASConfig
from dcbench.nas.estimate import estimate, probe_macs_per_s, proxy_passes
from dcbench.nas.executors import EXECUTORS
from dcbench.nas.proxies import (
    ProxyContext,
    ProxyData,
    build_proxies,
    scoring_indices,
    whole_indices,
)
from dcbench.nas.spaces import SearchSpace, check_space, resolve_space
from dcbench.nas.training import Job, TrainData
from dcbench.progress import progress_bar
from dcbench.results import RunDir, results_root
from dcbench.results.rundir import check_location, slug


@dataclass
class NASResult:
    run_dir: Path
    ranking: dict[str, Any]
    records: dict[tuple[str, str, int], dict[str, Any]]
    jobs_run: int
    jobs_cached: int


def _echo(config: NASConfig):
    import click

    return (lambda msg: None) if config.quiet else (lambda msg: click.echo(msg, err=True))


def _run_dir(config: NASConfig, space: SearchSpace, settings: dict[str, Any]) -> RunDir:
    """``--out`` (created, or resumed with the same settings) or a fresh run directory."""
    if config.out:
        return RunDir.open("nas", config.out, _identity(settings), identity_of=_old_identity)
    return RunDir.fresh("nas", f"{slug(config.dataset)}-{space.name}")


#: Settings that change how a run goes, not what it computes.
_RUNTIME = ("executor", "workers", "threads", "address", "out", "cache", "device", "data_root",
            "download", "quiet")


def _identity(settings: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in settings.items() if k not in _RUNTIME}


def _old_identity(record: dict[str, Any]) -> dict[str, Any]:
    return _identity(record["settings"])


def plan_jobs(space: SearchSpace, proxies: dict[str, ProxyData], seeds: list[int],
              protocols: dict[str, dict[str, Any]], costs: dict[str, dict[str, int]],
              device: str) -> list[Job]:
    """Every (candidate, proxy, seed) unit, largest estimated cost first (better packing)."""
    jobs = []
    for c in space.candidates:
        for name, p in proxies.items():
            # training ~ 3 forward passes per sample; testing is the same for every proxy
            cost = costs[c.spec]["macs"] * 3.0 * len(p.x) * p.epochs
            for seed in seeds:
                jobs.append(Job(c.spec, c.seed_key, name, seed, protocols[name], device, cost))
    return sorted(jobs, key=lambda j: -j.cost)


def run_nas(config: NASConfig) -> NASResult:
    """Run (or resume) the experiment described by ``config``; see the module docstring."""
    from dcbench.data import load_dataset
    from dcbench.data.registry import check_usable
    from dcbench.device import resolve_device

    config.validate()
    echo = _echo(config)
    settings = config.resolved()
    space = resolve_space(config.space)
    executor = EXECUTORS.get(config.executor)(config.workers, config.threads, config.address)
    device = resolve_device(config.device)
    t_start = time.perf_counter()
    check_location(Path(config.out) if config.out else results_root() / "nas")

    ds = check_usable(load_dataset(config.dataset, root=config.data_root,
                                   download=config.download))
    costs = check_space(space, ds.channels, ds.num_classes, ds.image_size)
    whole_idx = whole_indices(ds, settings["whole_per_class"])
    test_idx = scoring_indices(ds, settings["test_per_class"])
    x_test, y_test = ds.x_test[test_idx], ds.y_test[test_idx]
    echo(f"NAS on {ds.name}: space {space.name} ({len(space)} candidates), proxies "
         f"{', '.join(settings['proxies'])}, seeds {config.seeds}, top-k {config.top_k}")

    passes = proxy_passes(settings["proxies"], config.ipc * ds.num_classes, settings["epochs"],
                          len(whole_idx), settings["whole_epochs"])
    threads = executor.threads or torch.get_num_threads()
    guess = estimate(space, costs, passes, len(x_test), list(config.seeds), 0,
                     executor.workers, probe_macs_per_s(space, costs, ds.channels,
                                                        ds.num_classes, ds.image_size, device))
    echo(guess.line(executor.workers, threads))

    ctx = ProxyContext(
        dataset=ds, ipc=config.ipc, epochs=settings["epochs"],
        whole_epochs=settings["whole_epochs"], whole_idx=whole_idx,
        proxy_seed=config.proxy_seed, condense_preset=settings["condense_preset"],
        condense_method=config.condense_method, condense_settings=config.condense_overrides,
        condensed_set=Path(config.condensed_set) if config.condensed_set else None,
        device=device, progress=not config.quiet, echo=echo,
    )
    proxies = build_proxies(settings["proxies"], ctx)
    base = EvalProtocol()
    protocols = {}
    for name, p in proxies.items():
        proto = dataclasses.replace(base, epochs=p.epochs, num_models=1).resolved(ds.name)
        proto.validate()
        protocols[name] = dataclasses.asdict(proto)

    # The cache: one directory per proxy, named by a digest of its tensors and protocol.
    cache = ResultCache(config.cache or default_cache_root(), ds.name)
    test_digest = tensor_digest(x_test, y_test)
    dirs = {}
    for name, p in proxies.items():
        key = unit_key(tensor_digest(p.x, p.y), test_digest, protocols[name])
        dirs[name] = cache.directory(name, p.epochs, key)
        cache.describe(dirs[name], {"dataset": ds.name, "proxy": p.summary(),
                                    "protocol": protocols[name], "test_images": len(x_test),
                                    "test_per_class": settings["test_per_class"], "key": key})

    run = _run_dir(config, space, settings)
    run_dir = run.path
    echo(f"run directory: {run_dir}")
    run.write_config(settings, _identity(settings), **{
        "space": space.describe(),
        "candidates": [{"index": c.index, "spec": c.spec, **c.options, **costs[c.spec]}
                       for c in space.candidates],
        "proxies": {n: p.summary() for n, p in proxies.items()},
        "protocols": protocols, "executor": {"name": config.executor, **executor.describe()},
        "device": str(device), "cache": {n: str(d) for n, d in dirs.items()},
        "test_images": len(x_test), "whole_images": len(whole_idx),
    })

    jobs_all = plan_jobs(space, proxies, config.seeds, protocols, costs, str(device))
    records: dict[tuple[str, str, int], dict[str, Any]] = {}
    todo = []
    for job in jobs_all:
        hit = cache.get(dirs[job.proxy], job.spec, job.seed)
        if hit is not None:
            records[job.unit] = {**hit, "cached": True}
        else:
            todo.append(job)
    echo(f"{len(jobs_all)} units: {len(jobs_all) - len(todo)} cached, {len(todo)} to run "
         f"({config.executor}, {executor.workers} worker(s) x {executor.threads} thread(s))")
    cores = os.cpu_count() or 1
    if config.executor == "local" and executor.workers * executor.threads > cores:
        echo(f"warning: {executor.workers} workers x {executor.threads} threads exceed the "
             f"{cores} cores; expect slower, oversubscribed training")

    data = TrainData(ds.channels, ds.num_classes, ds.image_size, x_test, y_test,
                     {n: (p.x, p.y) for n, p in proxies.items()})
    bar = progress_bar(total=len(todo), desc="nas", enabled=not config.quiet)

    def on_result(job: Job, record: dict[str, Any]) -> None:
        cache.put(dirs[job.proxy], record)
        records[job.unit] = {**record, "cached": False}
        bar.update(1)
        bar.set_postfix(proxy=job.proxy, acc=f"{record['accuracy']:.1f}")

    t_train = time.perf_counter()
    try:
        executor.run(todo, data, on_result)
    finally:
        bar.close()

    from dcbench.nas.outputs import write_outputs

    ranking = write_outputs(run_dir, config, settings, space, costs, proxies, records)
    wall = time.perf_counter() - t_start
    run.write_manifest(
        settings, seeds=list(config.seeds), wall_time_s=wall,
        units_total=len(jobs_all), units_run=len(todo), units_cached=len(jobs_all) - len(todo),
        estimate={"units": guess.units, "seconds": round(guess.seconds, 1),
                  "macs_per_s": guess.macs_per_s,
                  "actual_training_seconds": round(time.perf_counter() - t_train, 1),
                  "note": "estimated before the cache was read and proxies were made; actual: "
                          "the training and testing of the units run now"},
        executor={"name": config.executor, **executor.describe()}, device=str(device),
        outputs={"config": "config.json", "candidates": "candidates.csv", "runs": "runs.csv",
                 "ranking": "ranking.json", "table": "ranking.md", "plot": "scatter.png"},
    )
    return NASResult(run_dir, ranking, records, len(todo), len(jobs_all) - len(todo))

