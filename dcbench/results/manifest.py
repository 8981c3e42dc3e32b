"""What every result records about how it was made."""

from __future__ import annotations

import platform
import shlex
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def git_commit() -> str | None:
    """The commit of the dcbench checkout, if it is one (with '+dirty' for local changes)."""
    here = Path(__file__).resolve().parent
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5
        )
        if rev.returncode != 0:
            return None
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=here, capture_output=True, text=True, timeout=5,
        )
        return rev.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def environment_info() -> dict[str, Any]:
    import torch

    import dcbench
    from dcbench.runtime import runtime_info

    return {
        "dcbench": dcbench.__version__,
        "torch": str(torch.__version__),
        "torchvision": _version("torchvision"),
        "avalanche-lib": _version("avalanche-lib"),
        "python": platform.python_version(),
        "git_commit": git_commit(),
        "machine": {
            "platform": platform.platform(),
            "processor": platform.machine(),
            "cpu_count": _cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
            # how busy the machine was as the run ended (1, 5, 15 min): a wall time measured
            # beside other jobs reads differently from one on an idle machine
            "load_average": _load_average(),
        },
        "runtime": runtime_info(),
    }


def _load_average() -> list[float] | None:
    import os

    try:
        return [round(v, 2) for v in os.getloadavg()]
    except (AttributeError, OSError):  # not on every platform
        return None


def _cpu_count() -> int | None:
    import os

    return os.cpu_count()


def command_line() -> str:
    """The command as typed (``dcbench ...``), so it can be pasted to re-run."""
    argv = list(sys.argv)
    if argv and Path(argv[0]).name in {"dcbench", "__main__.py"}:
        argv[0] = "dcbench"
    return " ".join(shlex.quote(a) for a in argv)


def make_manifest(
    kind: str, config: dict[str, Any], seeds: list[int], wall_time_s: float, **extra: Any
) -> dict[str, Any]:
    return {
        "kind": kind,
        "command": command_line(),
        "seeds": seeds,
        "config": config,
        "wall_time_s": round(wall_time_s, 3),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "environment": environment_info(),
        **extra,
    }
