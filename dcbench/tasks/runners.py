"""Running a validated task file: one function per kind, each taking the kind's config.

Condense tasks reuse what exists: a finished set is never recomputed (``condense_job``), and a
set already evaluated with the same protocol, seed and models is not evaluated again, so
re-running an interrupted task file continues it.
"""

from __future__ import annotations

import dataclasses
import glob
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dcbench.errors import DcbenchError
from dcbench.evaluation.config import EvaluateConfig
from dcbench.evaluation.job import evaluated_as
from dcbench.evaluation.protocol import NEUTRAL_PROTOCOL_KEYS
from dcbench.precision import LATER_DEFAULTS
from dcbench.results.rundir import results_root
from dcbench.tasks.config import CondenseTaskConfig, EvaluateTaskConfig


@dataclass
class RunOptions:
    """How to run, not what: none of these changes a result."""

    device: str = "auto"
    threads: int | None = None
    quiet: bool = False
    data_root: str | None = None
    download: bool = False
    dry_run: bool = False
    echo: Callable[[str], None] = print


# --- evaluation reuse ----------------------------------------------------------------------

def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and a.samefile(b))
    except OSError:
        return False


def _same_protocol(recorded: dict[str, Any] | None, want: dict[str, Any]) -> bool:
    """Every field that changes a result agrees; a record without a field (an older run, e.g.
    without ``schedule``) differs, unless the field was added later with the value every
    earlier run had (``precision``: fp32)."""
    if recorded is not None:
        recorded = {**LATER_DEFAULTS, **recorded}
    return recorded is not None and all(
        k in recorded and recorded[k] == v for k, v in want.items()
        if k not in NEUTRAL_PROTOCOL_KEYS)


def _same_evaluation(metrics: dict[str, Any], spec: EvaluateConfig) -> bool:
    """The run trained each of ``spec``'s models with the protocol ``spec`` resolves to for
    that set and model (the resolution depends on the dataset, the set's method and the model)."""
    info, done = metrics.get("set") or {}, metrics.get("models") or {}
    return all(
        model in done and _same_protocol(done[model].get("protocol"), dataclasses.asdict(
            spec.protocol.resolved(info.get("dataset"), evaluated_as(info), model,
                                   info.get("dsa_strategy"))))
        for model in spec.models)


def find_evaluation(set_path: Path, spec: EvaluateConfig, seed: int,
                    root: Path | None = None) -> Path | None:
    """An evaluate run of ``set_path`` (the file as it is now) with this protocol, seed and
    (at least) these models."""
    from dcbench.report.evaluations import resolve_set_path, same_set

    root = root or results_root()
    for metrics_path in sorted((root / "evaluate").glob("*/metrics.json")):
        run = metrics_path.parent
        if not (run / "manifest.json").is_file():
            continue
        try:
            metrics = json.loads(metrics_path.read_text())
            manifest = json.loads((run / "manifest.json").read_text())
        except (OSError, ValueError):
            continue
        info = metrics.get("set") or {}
        found = resolve_set_path(info.get("path"), root)
        if found is None or not _same_file(found, set_path) or not same_set(info, set_path, run):
            continue
        if (manifest.get("seeds") or [None])[0] == seed and _same_evaluation(metrics, spec):
            return run
    return None


def _evaluate(set_path: Path, spec: EvaluateConfig, seed: int, options: RunOptions,
              device) -> None:
    from dcbench.evaluation.job import evaluate_job, unfinished_run

    done = find_evaluation(set_path, spec, seed)
    if done is not None:
        options.echo(f"    evaluated already: {done}")
        return
    config = dataclasses.replace(spec, seed=seed)
    resume = unfinished_run(set_path, config, seed, device)  # an interrupted session's models
    if resume is not None:
        options.echo(f"    continuing: {resume}")
    out, metrics = evaluate_job(set_path, config, device, options.data_root, options.download,
                                not options.quiet, resume)
    for model, r in metrics["models"].items():
        options.echo(f"    {model:24s} {r['mean']:6.2f} ± {r['std']:.2f} "
                     f"(n={len(r['accuracies'])})")
    options.echo(f"    results: {out}")


def _runtime(options: RunOptions):
    from dcbench.device import resolve_device, set_threads

    set_threads(options.threads)
    return resolve_device(options.device)


# --- the kinds -----------------------------------------------------------------------------

def run_condense(config: CondenseTaskConfig, options: RunOptions) -> list[Path]:
    from dcbench.condense import CondenseRequest
    from dcbench.condense.job import SET_FILE, condense_job, default_out
    from dcbench.data import DATASETS, load_dataset

    units = config.units()
    ev = config.evaluation
    if options.dry_run:
        for i, (ds, method, ipc, seed) in enumerate(units, 1):
            canonical = ds if ":" in ds else DATASETS.get(ds).name  # aliases: fmnist
            unit = config.condense_config(ds, method, ipc, seed)
            target = default_out(unit, canonical) / SET_FILE
            state = "set exists" if target.exists() else "to condense"
            evals = ""
            if ev:
                seen = target.exists() and find_evaluation(
                    target, ev, seed if ev.seed is None else ev.seed) is not None
                resolved = ev.protocol.resolved(canonical, method, ev.models[0])
                evals = (f"; {'evaluated' if seen else 'to evaluate'}: "
                         f"{','.join(ev.models)} × {ev.protocol.num_models}, "
                         f"{resolved.epochs_text()}, augment {resolved.augment}")
            snaps = (f"; snapshots at {', '.join(f'{m:g}' for m in config.snapshot_minutes)} "
                     f"min{' (each evaluated)' if ev else ''}" if config.snapshot_minutes else "")
            budget = (f", {unit.budget_minutes:g} min budget"
                      if unit.budget_minutes is not None else "")
            options.echo(f"[{i}/{len(units)}] condense {ds} {method} ipc {ipc} seed {seed} "
                         f"({config.condense_preset}{budget}): {state}{evals}{snaps}")
        return []
    device = _runtime(options)
    paths = []
    loaded: dict[str, Any] = {}
    for i, (ds_name, method, ipc, seed) in enumerate(units, 1):
        options.echo(f"[{i}/{len(units)}] {ds_name} {method} ipc {ipc} seed {seed} "
                     f"({config.condense_preset} preset)")
        if ds_name not in loaded:
            loaded = {ds_name: load_dataset(ds_name, root=options.data_root,
                                            download=options.download)}
        request = CondenseRequest(loaded[ds_name], ipc=ipc, seed=seed, device=device,
                                  progress=not options.quiet)
        path, existed = condense_job(config.condense_config(ds_name, method, ipc, seed),
                                     request)
        options.echo(f"    {'set exists' if existed else 'saved'}: {path}")
        paths.append(path)
        if ev is not None:
            for target in [path, *snapshots_of(path)]:
                if target != path:
                    options.echo(f"    snapshot: {target}")
                _evaluate(target, ev, seed if ev.seed is None else ev.seed, options, device)
    return paths


def snapshots_of(set_path: Path) -> list[Path]:
    """The snapshots saved beside a set (``snapshots/set-<m>min.pt``), in order of minutes."""
    from dcbench.condense.job import SNAPSHOT_DIR
    from dcbench.condense.loop import snapshot_files

    return snapshot_files(set_path.parent / SNAPSHOT_DIR)


def expand_sets(patterns: list[str]) -> list[Path]:
    out: list[Path] = []
    for pattern in patterns:
        hits = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
        hits = [h for h in hits if Path(h).is_file()]
        if not hits:
            raise DcbenchError(f"sets: nothing matches {pattern!r}")
        out += [Path(h) for h in hits if Path(h) not in out]
    return out


def run_evaluate(config: EvaluateTaskConfig, options: RunOptions) -> list[Path]:
    from dcbench.condense.synthetic_set import SyntheticSet

    sets = expand_sets(config.sets)
    ev = config.evaluation
    if options.dry_run:
        for i, path in enumerate(sets, 1):
            options.echo(f"[{i}/{len(sets)}] evaluate {path}: {','.join(ev.models)} × "
                         f"{ev.protocol.num_models}, {ev.protocol.epochs_text()}")
        return []
    device = _runtime(options)
    for i, path in enumerate(sets, 1):
        options.echo(f"[{i}/{len(sets)}] {path}")
        _evaluate(path, ev, ev.seed_for(SyntheticSet.load(path).meta), options, device)
    return sets


def run_continual(config: Any, options: RunOptions) -> Any:
    """A :class:`~dcbench.continual.config.ContinualConfig`, run (or resumed)."""
    from dcbench.continual.runner import run_experiment

    result = run_experiment(config, threads=options.threads or config.threads,
                            device=options.device, quiet=options.quiet,
                            data_root=options.data_root, download=options.download,
                            jobs=config.jobs)
    options.echo(f"results: {result.run_dir}")
    return result


def run_nas(config: Any, options: RunOptions) -> Any:
    """A :class:`~dcbench.nas.config.NASConfig`, with the runtime options the task leaves
    unset, run (or resumed from the cache)."""
    from dcbench.nas.experiment import run_nas as run

    runtime = {k: getattr(options, k) for k in ("device", "threads", "quiet", "data_root",
                                                  "download")}
    defaults = {f.name: f.default for f in dataclasses.fields(config)}
    updates = {k: v for k, v in runtime.items()
               if v not in (None, False, "auto") and getattr(config, k) == defaults.get(k)}
    result = run(dataclasses.replace(config, **updates))
    options.echo(f"results: {result.run_dir}")
    return result
