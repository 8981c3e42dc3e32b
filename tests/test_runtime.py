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


def test_the_cuda_home_notice_is_dropped_and_other_messages_pass() -> None:
    import logging

    from dcbench.runtime import quiet_known_noise

    quiet_known_noise()
    quiet_known_noise()
    logger = logging.getLogger("torch.utils.cpp_extension")
    seen: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    handler = Keep()
    logger.addHandler(handler)
    try:
        logger.warning("No CUDA runtime is found, using CUDA_HOME='/usr/local'")
        logger.warning("Error building extension 'x'")
    finally:
        logger.removeHandler(handler)
    assert seen == ["Error building extension 'x'"]
    assert sum(f.__class__.__name__ == "_NotOnThisMachine" for f in logger.filters) == 1


def test_other_dcbench_processes_are_counted(tmp_path, monkeypatch) -> None:
    monkeypatch.undo()  # the autouse fixture stubs the function out
    from dcbench.device import other_dcbench_processes

    def proc(pid: int, *argv: str) -> None:
        (tmp_path / str(pid)).mkdir()
        (tmp_path / str(pid) / "cmdline").write_bytes(b"\0".join(a.encode() for a in argv))

    proc(101, "/venv/bin/python3", "/venv/bin/dcbench", "condense")
    proc(102, "/venv/bin/dcbench", "evaluate", "x.pt")
    proc(103, "python", "-m", "dcbench", "run", "nas")
    proc(104, "python", "-m", "pytest", "tests/dcbench")
    proc(105, "vim", "dcbench.txt")
    (tmp_path / "self").mkdir()
    assert other_dcbench_processes(tmp_path) == 3
    (tmp_path / "101" / "stat").write_text("101 (python3) S 1 101 101 0")
    (tmp_path / "102" / "stat").write_text("102 (dcbench) T 1 102 102 0")  # Ctrl-Z'd
    assert other_dcbench_processes(tmp_path) == 2


def test_threads_are_shared_with_other_dcbench_commands(monkeypatch, capsys) -> None:
    import torch

    from dcbench import device

    before = torch.get_num_threads()
    monkeypatch.setattr(device, "other_dcbench_processes", lambda: 1)
    monkeypatch.setattr(device.os, "cpu_count", lambda: 2)
    try:
        assert device.set_threads(None) == 1
        assert "1 other dcbench command(s) running: using 1 thread(s)" in capsys.readouterr().err
        assert device.set_threads(2) == 2  # an explicit --threads is never overridden
        assert capsys.readouterr().err == ""
    finally:
        torch.set_num_threads(before)
