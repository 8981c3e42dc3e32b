"""The allocator setting keeps freed feature-map memory for reuse (glibc Linux only)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")

# Allocate and touch 256 MB, free it, and report how much of it the process still holds.
PROBE = textwrap.dedent("""
    import os, sys
    from dcbench.runtime import keep_freed_memory, runtime_info
    applied = keep_freed_memory() if sys.argv[1] == "tune" else False
    import torch
    page = os.sysconf("SC_PAGE_SIZE")
    def rss():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * page
    before = rss()
    x = torch.ones(64 * 1024 * 1024)  # 256 MB, written so the pages are resident
    del x
    print(applied, runtime_info()["malloc"], (rss() - before) // 2**20)
""")


def _probe(mode: str, malloc_env: str | None = None) -> tuple[str, str, int]:
    env = {k: v for k, v in os.environ.items() if k != "DCBENCH_MALLOC"}
    if malloc_env is not None:
        env["DCBENCH_MALLOC"] = malloc_env
    out = subprocess.run(
        [sys.executable, "-c", PROBE, mode], capture_output=True, text=True, env=env, check=True
    ).stdout.split()
    return out[0], out[1], int(out[2])


def test_default_allocator_returns_large_blocks() -> None:
    applied, state, held_mb = _probe("plain")
    assert (applied, state) == ("False", "default")
    assert held_mb < 64


def test_keep_freed_memory_holds_large_blocks_for_reuse() -> None:
    applied, state, held_mb = _probe("tune")
    if applied != "True":
        pytest.skip("mallopt not available (not glibc)")
    assert state == "keep-freed"
    assert held_mb >= 200


def test_env_opt_out_leaves_allocator_alone() -> None:
    applied, state, held_mb = _probe("tune", "default")
    assert (applied, state) == ("False", "default")
    assert held_mb < 64
