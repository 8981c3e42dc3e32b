"""A condensation run as the CLI performs it: a named run directory, resume, atomic outputs.

The directory name is derived from the :class:`CondenseConfig` (dataset, method, ipc, preset,
seed and a hash of any overridden settings), so re-running the same command finds the
checkpoint and resumes, and a finished set is never recomputed or overwritten. When a preset
has changed since that folder's set was made, the new set goes to the name plus a digest of
its settings (:func:`default_out`), so the older set stays where its evaluations point.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any

from dcbench.condense.base import CONDENSERS, CondenseRequest, check_request
from dcbench.condense.config import CondenseConfig, neutral_free
from dcbench.condense.estimate import describe, passes, seconds_per_pass
from dcbench.condense.loop import snapshot_files
from dcbench.condense.synthetic_set import SyntheticSet
from dcbench.errors import DcbenchError
from dcbench.results import RunDir, results_root
from dcbench.results.rundir import saved_identity, slug

SET_FILE = "set.pt"
CHECKPOINT_FILE = "checkpoint.pt"
SNAPSHOT_DIR = "snapshots"
#: Files of a run directory written before config.json existed (adopted on resume).
LEGACY_FILES = (SET_FILE, "set.png", "manifest.json", CHECKPOINT_FILE)


def run_name(dataset: str, method: str, ipc: int, preset: str, seed: int,
             overrides: dict[str, Any], budget_minutes: float | None = None) -> str:
    budget = "" if budget_minutes is None else f"-budget{budget_minutes:g}min"
    name = f"{slug(dataset)}-{method}-ipc{ipc}-{preset}{budget}-seed{seed}"
    if overrides:
        digest = hashlib.sha1(json.dumps(overrides, sort_keys=True).encode()).hexdigest()[:8]
        name += f"-{digest}"
    return name


def default_out(config: CondenseConfig, dataset_name: str) -> Path:
    """``results/condense/<run name>``; when that folder holds a set made with other settings
    (the preset has changed since it was made), ``<run name>-<digest of the settings>``, so
    the older set stays where its results point and the new one gets a folder of its own
    (re-running the command then finds that folder: the digest is of the settings)."""
    base = results_root() / "condense" / run_name(
        dataset_name, config.method, config.ipc, config.preset, config.seed, config.overrides,
        config.budget_minutes)
    settings = json.loads(json.dumps(neutral_free(config.method_config())))
    recorded = _recorded_settings(base)
    if recorded is None or recorded == settings:
        return base
    digest = hashlib.sha1(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:8]
    return base.with_name(f"{base.name}-{digest}")


def _recorded_settings(run: Path) -> dict[str, Any] | None:
    """The settings a condense run directory records: its ``config.json`` identity's, or for a
    folder from before config.json its set's (None: nothing readable; such a folder is resumed
    or refused by the checks of :func:`condense_job`)."""
    settings = (saved_identity(run) or {}).get("settings")
    if isinstance(settings, dict):
        return settings
    if not (run / SET_FILE).is_file():
        return None
    try:
        return neutral_free(SyntheticSet.load(run / SET_FILE).meta.get("hparams") or {})
    except DcbenchError:
        return None


def condense_job(config: CondenseConfig, request: CondenseRequest,
                 out: Path | None = None) -> tuple[Path, bool]:
    """Condense into ``out`` (default :func:`default_out`).

    ``request`` carries the loaded dataset, device and progress; ``config`` everything else.
    Returns (path of the set, whether it already existed). Settings and the output location
    are checked before any work, so a bad request leaves nothing behind.
    """
    cls = CONDENSERS.get(config.method)
    method_config = config.method_config()
    request.ipc, request.seed = config.ipc, config.seed
    check_request(request)
    out = Path(out) if out is not None else default_out(config, request.dataset.name)
    set_path = out / SET_FILE
    if set_path.exists():
        # a corrupt file is reported, and a set made otherwise (same --out) is not reused
        _check_same(SyntheticSet.load(set_path), config, request, method_config, set_path)
        return set_path, True
    identity = {**config.identity(), "dataset": request.dataset.name,
                "classes": request.class_list()}
    estimate_s = _estimate(config, method_config, request)
    created = [p for p in (out, *out.parents) if not p.exists()]  # deepest first
    run = RunDir.open("condense", out, identity, adopt=LEGACY_FILES)
    record = {**dataclasses.asdict(config), "dataset": request.dataset.name,
              "settings": dataclasses.asdict(method_config), "overrides": config.overrides,
              "device": str(request.device)}
    run.write_config(record, identity)
    request.checkpoint = run.file(CHECKPOINT_FILE)
    request.snapshot_minutes = list(config.snapshot_minutes)
    request.snapshot_dir = run.file(SNAPSHOT_DIR)
    request.budget_minutes = config.budget_minutes
    request.snapshot_meta = {"preset": config.preset}
    t0 = time.perf_counter()
    try:
        sset = cls().run(request, method_config)
    except BaseException:
        # A run that failed before its first checkpoint (e.g. a bad model spec in the
        # settings) leaves no directory behind; one with a checkpoint stays, to be resumed.
        if created and not request.checkpoint.exists():
            _remove_new(created)
        raise
    sset.meta["preset"] = config.preset
    sset.save(set_path)
    for snap in snapshot_files(request.snapshot_dir):  # saved by an older release: no preset
        early = SyntheticSet.load(snap)
        if "preset" not in early.meta:
            early.meta["preset"] = config.preset
            early.save(snap)
    run.write_manifest(
        record, seeds=[config.seed],
        wall_time_s=time.perf_counter() - t0,
        condensation_wall_time_s=sset.meta.get("wall_time_s"),
        estimate_s=estimate_s,
        outputs={"set": SET_FILE, "grid": "set.png", "config": "config.json"},
    )
    if request.checkpoint.exists():
        request.checkpoint.unlink()
    return set_path, False


def _estimate(config: CondenseConfig, method_config: Any,
              request: CondenseRequest) -> float | None:
    """Seconds this condensation should take here; printed before a long one starts."""
    model = getattr(method_config, "model", None)
    ds = request.dataset
    n = passes(config.method, method_config, len(request.class_list()), config.ipc,
               min(ds.class_counts()[c] for c in request.class_list()))
    if not model or not n:
        return None
    seconds = n * seconds_per_pass(model, ds, request.device)
    if config.budget_minutes is not None:
        seconds = min(seconds, config.budget_minutes * 60)
    knob = "iterations" if hasattr(method_config, "iterations") else "epochs"
    if request.progress and seconds > 60:
        quicker = "--preset quick or " if config.preset != "quick" else ""
        print(f"estimate: {config.method} ipc {config.ipc}, {describe(seconds)} on this machine "
              f"(eager; compiled steps are faster); shorter: {quicker}fewer "
              f"--set {config.method}.{knob}", file=sys.stderr)
    return seconds


def _remove_new(created: list[Path]) -> None:
    """Remove the directories this run created (deepest first) and the config it wrote."""
    (created[0] / "config.json").unlink(missing_ok=True)
    for p in created:
        try:
            p.rmdir()
        except OSError:
            break


def _check_same(sset: SyntheticSet, config: CondenseConfig, request: CondenseRequest,
                method_config: Any, path: Path) -> None:
    meta = sset.meta
    got = neutral_free(meta.get("hparams") or {})
    same = (
        meta.get("method") == config.method and meta.get("dataset") == request.dataset.name
        and meta.get("ipc") == config.ipc and meta.get("seed") == config.seed
        and meta.get("classes", request.class_list()) == request.class_list()
        and got == json.loads(json.dumps(neutral_free(method_config)))
        and meta.get("budget_minutes") == config.budget_minutes
    )
    if not same:
        raise DcbenchError(
            f"{path} holds a set made with other settings; use another --out or delete it"
        )
