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
        SyntheticSet.load(set_path)  # a corrupt file is reported, not silently reused
        return set_path, True
    out.mkdir(parents=True, exist_ok=True)
    request.checkpoint = out / CHECKPOINT_FILE
    t0 = time.perf_counter()
    sset = cls().run(request, config)
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
