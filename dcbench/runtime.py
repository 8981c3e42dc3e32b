"""Process-wide runtime settings that make CPU training fast, applied once at start-up.

Why the allocator matters: a ConvNet step on 256 Fashion-MNIST images allocates feature maps of
~130 MB. glibc serves blocks that large with ``mmap`` and returns them to the kernel on
``free``, so every training step page-faults the same memory in again; on this project's
2-core machine that was ~40 % of a gradient-matching step (``benchmarks/dc_speed.py``). Telling
glibc to keep freed memory in its heap (no ``mmap`` for large blocks, no trimming) makes later
steps reuse the pages. Peak memory is unchanged; memory freed late in a run is not given back
to the system before the process ends, which for a benchmark process is harmless.

Set ``DCBENCH_MALLOC=default`` to leave the C allocator alone.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import sys

#: glibc ``mallopt`` parameters (malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
_TRIM_NEVER = 2**31 - 1

_state: dict[str, str] = {"malloc": "default"}


def keep_freed_memory() -> bool:
    """Ask glibc to reuse freed large blocks instead of unmapping them; True if it applied.

    A no-op (False) off Linux/glibc, when ``DCBENCH_MALLOC=default``, or if ``mallopt``
    refuses; calling it twice is harmless.
    """
    if os.environ.get("DCBENCH_MALLOC", "").lower() == "default":
        return False
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl or another libc without mallopt
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    ok = mallopt(_M_MMAP_MAX, 0) == 1 and mallopt(_M_TRIM_THRESHOLD, _TRIM_NEVER) == 1
    if ok:
        _state["malloc"] = "keep-freed"
    return ok


class _NotOnThisMachine(logging.Filter):
    """Drops torch's "No CUDA runtime is found, using CUDA_HOME=..." notice, which torch's C++
    extension loader logs whenever ``torch.compile`` starts on a CPU machine that has CUDA
    headers installed: it is not the user's business. Every other message passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("No CUDA runtime is found")


def quiet_known_noise() -> None:
    """Install the filters above (before torch logs anything; calling it twice is harmless)."""
    logger = logging.getLogger("torch.utils.cpp_extension")
    if not any(isinstance(f, _NotOnThisMachine) for f in logger.filters):
        logger.addFilter(_NotOnThisMachine())


def runtime_info() -> dict[str, str]:
    """What this module changed, for the environment block of result manifests."""
    return dict(_state)
