"""Fresh run directories: ``<root>/<kind>/<timestamp>-<name>`` never reused."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

DEFAULT_RESULTS_ROOT = "results"


def results_root() -> Path:
    """Where results go: ``$DCBENCH_RESULTS`` or ``./results``."""
    return Path(os.environ.get("DCBENCH_RESULTS", DEFAULT_RESULTS_ROOT))


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "run"


def fresh_run_dir(kind: str, name: str, root: str | Path | None = None) -> Path:
    """Create and return a new, empty run directory; a clash gets a numeric suffix."""
    base = Path(root) if root is not None else results_root()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    parent = base / kind
    parent.mkdir(parents=True, exist_ok=True)
    for n in range(1000):
        suffix = "" if n == 0 else f"-{n}"
        candidate = parent / f"{stamp}-{slug(name)}{suffix}"
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            continue
    raise RuntimeError(f"could not create a fresh run directory under {parent}")
