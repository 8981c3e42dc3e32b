"""Device and thread choice, made once per command and recorded.

Two CPU-heavy processes with torch's default threads on a small machine run many times slower
than either alone (measured here: a DC iteration went from ~5 s to ~50 s on 2 cores). So when
``--threads`` is not given and another dcbench command is already running, the threads are
shared out and a one-line hint says so.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import torch

from dcbench.errors import DcbenchError
from dcbench.precision import exact_fp32

DEVICE_CHOICES = ("auto", "cpu", "cuda")


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` picks CUDA when available; asking for CUDA without it is a user error."""
    name = (name or "auto").lower()
    if name == "auto":
        return _exact(torch.device("cuda" if torch.cuda.is_available() else "cpu"))
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise DcbenchError("--device cuda asked for, but torch sees no CUDA device")
        return _exact(torch.device(name))
    if name == "cpu":
        return torch.device("cpu")
    raise DcbenchError(f"unknown device {name!r}; use auto, cpu or cuda[:N]")


def _exact(device: torch.device) -> torch.device:
    """``device``, with TF32 off when it is a GPU (fp32 means fp32: precision.exact_fp32)."""
    if device.type == "cuda":
        exact_fp32()
    return device


def set_threads(threads: int | None) -> int:
    """Set torch's intra-op threads; returns the count in use.

    ``None`` keeps torch's default unless other dcbench commands are running, in which case
    the cores are shared out (see the module docstring)."""
    if threads is None:
        threads = _threads_beside_others()
    if threads is not None:
        if threads < 1:
            raise DcbenchError("--threads must be at least 1")
        torch.set_num_threads(threads)
    return torch.get_num_threads()


def _stopped(entry: Path) -> bool:
    """Whether /proc's ``entry`` is stopped or a zombie (state T, t or Z in its stat line)."""
    try:
        return (entry / "stat").read_text().rpartition(")")[2].split()[:1] in (["T"], ["t"],
                                                                               ["Z"])
    except OSError:
        return False


def other_dcbench_processes(proc: Path = Path("/proc")) -> int:
    """How many other ``dcbench`` command processes run on this machine (0 where unknown);
    a stopped one (Ctrl-Z, SIGSTOP) uses no core, so it does not count."""
    me = {os.getpid(), os.getppid()}
    count = 0
    for entry in proc.glob("[0-9]*"):
        try:
            if int(entry.name) in me:
                continue
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            continue
        if _stopped(entry):
            continue
        words = [Path(a.decode(errors="replace")).name for a in argv[:3]]
        if "dcbench" in words[:2] or (len(words) > 2 and words[1:3] == ["-m", "dcbench"]):
            count += 1
    return count


def _threads_beside_others() -> int | None:
    cores = os.cpu_count() or 1
    others = other_dcbench_processes()
    if not others:
        return None
    share = max(1, cores // (others + 1))
    print(f"hint: {others} other dcbench command(s) running: using {share} thread(s) of "
          f"{cores} cores to avoid oversubscription (set --threads to choose)", file=sys.stderr)
    return share
