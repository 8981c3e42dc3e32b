"""Running a validated task file: one function per kind.

Condense tasks reuse what exists: a finished set is never recomputed (``condense_job``), and a
set already evaluated with the same protocol, seed and models is not evaluated again, so
re-running an interrupted task file continues it.
"""

from __future__ import annotations

import glob
import importlib
import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dcbench.errors import DcbenchError
from dcbench.results.rundir import results_root
from dcbench.tasks.kinds import CondenseTask, EvaluateTask, EvaluationSpec
from dcbench.tasks.spec import KINDS, TaskFile


@dataclass
class RunOptions:
    device: str = "auto"
    threads: int | None = None
    quiet: bool = False
    data_root: str | None = None
    download: bool = False
    dry_run: bool = False
    echo: Callable[[str], None] = print


def run_task(task: TaskFile, preset: str, overrides: dict[str, Any],
             options: RunOptions) -> Any:
    """Validate ``task`` at ``preset`` with ``overrides`` and run it with its kind's runner."""
    config = task.config(preset, overrides)
    module, attr = KINDS[task.kind].runner.split(":")
    return getattr(importlib.import_module(module), attr)(task, config, preset, overrides,
                                                          options)


# --- evaluation reuse ----------------------------------------------------------------------

def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and a.samefile(b))
    except OSError:
        return False


def find_evaluation(set_path: Path, spec: EvaluationSpec, seed: int,
                    root: Path | None = None) -> Path | None:
    """An evaluate run of ``set_path`` with this protocol, seed and (at least) these models."""
    from dcbench.report.runs import resolve_set_path

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
        found = resolve_set_path((metrics.get("set") or {}).get("path"), root)
        if found is None or not _same_file(found, set_path):
            continue
        p = metrics.get("protocol") or {}
        same = (p.get("epochs") == spec.epochs and p.get("num_models") == spec.num_models
                and p.get("batch_size") == spec.batch_size
                and abs(float(p.get("lr", -1)) - spec.lr) < 1e-12
                and (spec.augment == "auto" or p.get("augment") == spec.augment)
                and (manifest.get("seeds") or [None])[0] == seed
                and set(spec.models) <= set(metrics.get("models") or {}))
        if same:
            return run
    return None


def _evaluate(set_path: Path, spec: EvaluationSpec, seed: int, options: RunOptions,
              device) -> None:
    from dcbench.evaluation.job import evaluate_job

    done = find_evaluation(set_path, spec, seed)
    if done is not None:
        options.echo(f"    evaluated already: {done}")
        return
    out, metrics = evaluate_job(set_path, spec.models, spec.protocol(), seed, device,
                                options.data_root, options.download, not options.quiet)
    for model, r in metrics["models"].items():
        options.echo(f"    {model:24s} {r['mean']:6.2f} ± {r['std']:.2f} "
                     f"(n={len(r['accuracies'])})")
    options.echo(f"    results: {out}")


def _runtime(options: RunOptions):
    from dcbench.device import resolve_device, set_threads

    set_threads(options.threads)
    return resolve_device(options.device)


# --- the kinds -----------------------------------------------------------------------------

def run_condense(task: TaskFile, config: CondenseTask, preset: str,
                 overrides: dict[str, Any], options: RunOptions) -> list[Path]:
    from dcbench.condense import CondenseRequest
    from dcbench.condense.job import SET_FILE, condense_job, run_name
    from dcbench.data import load_dataset

    units = config.units()
    ev = config.evaluation
    if options.dry_run:
        from dcbench.data import DATASETS

        for i, (ds, method, ipc, seed) in enumerate(units, 1):
            canonical = ds if ":" in ds else DATASETS.get(ds).name  # aliases: fmnist
            name = run_name(canonical, method, ipc, config.condense_preset, seed,
                            config.settings.get(method, {}))
            target = results_root() / "condense" / name / SET_FILE
            state = "set exists" if target.exists() else "to condense"
            evals = ""
            if ev:
                seen = target.exists() and find_evaluation(
                    target, ev, seed if ev.seed is None else ev.seed) is not None
                evals = (f"; {'evaluated' if seen else 'to evaluate'}: "
                         f"{','.join(ev.models)} × {ev.num_models}, {ev.epochs} epochs")
            options.echo(f"[{i}/{len(units)}] condense {ds} {method} ipc {ipc} seed {seed} "
                         f"({config.condense_preset}): {state}{evals}")
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
        path, existed = condense_job(method, request, config.condense_preset,
                                     config.settings.get(method, {}))
        options.echo(f"    {'set exists' if existed else 'saved'}: {path}")
        paths.append(path)
        if ev is not None:
            _evaluate(path, ev, seed if ev.seed is None else ev.seed, options, device)
    return paths


def expand_sets(patterns: list[str]) -> list[Path]:
    out: list[Path] = []
    for pattern in patterns:
        hits = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
        hits = [h for h in hits if Path(h).is_file()]
        if not hits:
            raise DcbenchError(f"sets: nothing matches {pattern!r}")
        out += [Path(h) for h in hits if Path(h) not in out]
    return out


def run_evaluate(task: TaskFile, config: EvaluateTask, preset: str,
                 overrides: dict[str, Any], options: RunOptions) -> list[Path]:
    from dcbench.condense.synthetic_set import SyntheticSet

    sets = expand_sets(config.sets)
    ev = config.evaluation
    if options.dry_run:
        for i, path in enumerate(sets, 1):
            options.echo(f"[{i}/{len(sets)}] evaluate {path}: {','.join(ev.models)} × "
                         f"{ev.num_models}, {ev.epochs} epochs")
        return []
    device = _runtime(options)
    for i, path in enumerate(sets, 1):
        options.echo(f"[{i}/{len(sets)}] {path}")
        seed = ev.seed if ev.seed is not None else int(SyntheticSet.load(path).meta.get("seed", 0))
        _evaluate(path, ev, seed, options, device)
    return sets


RUNTIME_KEYS = ("device", "threads", "quiet", "data_root", "download")


def _run_app(module: str, function: str, task: TaskFile, preset: str,
             overrides: dict[str, Any], options: RunOptions) -> Any:
    """Call the application's ``run_*_task(raw task mapping, preset, overrides, ...)`` with
    the runtime options its signature takes (``options`` itself, or them by keyword)."""
    if options.dry_run:
        resolved = task.resolved(preset, overrides)
        options.echo(f"{task.kind} task {task.name}, preset {preset}, settings:")
        options.echo(json.dumps(resolved, indent=2, default=str))
        return None
    run = getattr(importlib.import_module(module), function)
    params = inspect.signature(run).parameters
    kwargs: dict[str, Any] = {}
    if "options" in params:
        kwargs["options"] = options
    else:
        for key in RUNTIME_KEYS:
            value = getattr(options, key)
            if key in params and value not in (None, False, "auto"):
                kwargs[key] = value
    result = run(task.raw, preset, overrides, **kwargs)
    if result is not None:
        options.echo(f"results: {getattr(result, 'run_dir', result)}")
    return result


def run_continual(task: TaskFile, config: Any, preset: str, overrides: dict[str, Any],
                  options: RunOptions) -> Any:
    return _run_app("dcbench.continual.config", "run_continual_task", task, preset, overrides,
                    options)


def run_nas(task: TaskFile, config: Any, preset: str, overrides: dict[str, Any],
            options: RunOptions) -> Any:
    return _run_app("dcbench.nas.config", "run_nas_task", task, preset, overrides, options)
