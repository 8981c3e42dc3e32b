"""A condensation run as the CLI performs it: a named run directory, resume, atomic outputs.

The directory name is derived from the request (dataset, method, ipc, preset, seed and a hash
of any overridden settings), so re-running the same command finds the checkpoint and resumes,
and a finished set is never recomputed or overwritten.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from dcbench.condense import CONDENSERS, CondenseRequest, SyntheticSet, check_request, make_config
from dcbench.errors import DcbenchError
from dcbench.results import atomic_write_json, make_manifest
from dcbench.results.rundir import results_root, slug

SET_FILE = "set.pt"
CHECKPOINT_FILE = "checkpoint.pt"


def run_name(dataset: str, method: str, ipc: int, preset: str, seed: int,
             overrides: dict[str, Any]) -> str:
    name = f"{slug(dataset)}-{method}-ipc{ipc}-{preset}-seed{seed}"
    if overrides:
        digest = hashlib.sha1(json.dumps(overrides, sort_keys=True).encode()).hexdigest()[:8]
        name += f"-{digest}"
    return name


def condense_job(
    method: str,
    request: CondenseRequest,
    preset: str,
    overrides: dict[str, Any],
    out: Path | None = None,
) -> tuple[Path, bool]:
    """Condense into ``out`` (default ``results/condense/<run name>``).

    Returns (path of the set, whether it already existed). Settings are checked before any
    directory is created, so a bad request leaves nothing behind.
    """
    cls = CONDENSERS.get(method)
    config = make_config(method, preset, request.ipc, overrides)
    check_request(request)
    if out is None:
        out = results_root() / "condense" / run_name(
            request.dataset.name, method, request.ipc, preset, request.seed, overrides
        )
    set_path = out / SET_FILE
    if set_path.exists():
        # a corrupt file is reported, and a set made otherwise (same --out) is not reused
        _check_same(SyntheticSet.load(set_path), method, request, config, set_path)
        return set_path, True
    created = [p for p in (out, *out.parents) if not p.exists()]  # deepest first
    out.mkdir(parents=True, exist_ok=True)
    request.checkpoint = out / CHECKPOINT_FILE
    t0 = time.perf_counter()
    try:
        sset = cls().run(request, config)
    except BaseException:
        # A run that failed before writing anything (e.g. a bad model spec in the settings)
        # leaves no empty directory behind; one with a checkpoint stays, to be resumed.
        for p in created:
            try:
                p.rmdir()
            except OSError:
                break
        raise
    sset.meta["preset"] = preset
    sset.save(set_path)
    manifest = make_manifest(
        "condense",
        {"method": method, "preset": preset, "ipc": request.ipc, "dataset": request.dataset.name,
         "settings": asdict(config), "overrides": overrides, "device": str(request.device)},
        seeds=[request.seed],
        wall_time_s=time.perf_counter() - t0,
        condensation_wall_time_s=sset.meta.get("wall_time_s"),
        outputs={"set": SET_FILE, "grid": "set.png"},
    )
    atomic_write_json(out / "manifest.json", manifest)
    if request.checkpoint.exists():
        request.checkpoint.unlink()
    return set_path, False


#: Settings that do not change the set a run produces.
_NEUTRAL = ("compile", "checkpoint_every")


def _check_same(sset: SyntheticSet, method: str, request: CondenseRequest, config: Any,
                path: Path) -> None:
    meta, want = sset.meta, json.loads(json.dumps(asdict(config)))
    got = {k: v for k, v in (meta.get("hparams") or {}).items() if k not in _NEUTRAL}
    same = (
        meta.get("method") == method and meta.get("dataset") == request.dataset.name
        and meta.get("ipc") == request.ipc and meta.get("seed") == request.seed
        and meta.get("classes", request.class_list()) == request.class_list()
        and got == {k: v for k, v in want.items() if k not in _NEUTRAL}
    )
    if not same:
        raise DcbenchError(
            f"{path} holds a set made with other settings; use another --out or delete it"
        )
