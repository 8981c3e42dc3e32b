"""The one local process pool: units of work in spawned processes, results as they finish.

Continual learning ((buffer, seed) units) and NAS (candidate units) both run here. Workers are
*spawned* (never forked: torch and OpenMP state do not survive a fork) with ``threads`` torch
threads each, set through the environment before torch starts in them. The first failing unit
cancels the units not yet started and its error is raised in the caller, as if raised there.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from multiprocessing import get_context
from typing import Any

THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")


def run_in_processes(
    fn: Callable[..., Any],
    units: Sequence[tuple[Any, ...]],
    workers: int,
    on_result: Callable[[int, Any], None],
    *,
    threads: int | None = None,
    initializer: Callable[..., None] | None = None,
    initargs: tuple[Any, ...] = (),
    poll: Callable[[], None] | None = None,
    poll_every_s: float = 2.0,
) -> None:
    """``fn(*unit)`` for every unit in up to ``workers`` processes; ``on_result(i, result)``
    for unit ``i`` as it finishes; ``poll()`` every ``poll_every_s`` while waiting."""
    if not units:
        return
    saved = {k: os.environ.get(k) for k in THREAD_VARS}
    pool = None
    try:
        if threads is not None:
            for k in THREAD_VARS:  # inherited by the spawned workers before torch starts
                os.environ[k] = str(threads)
        pool = ProcessPoolExecutor(max_workers=min(workers, len(units)),
                                   mp_context=get_context("spawn"), initializer=initializer,
                                   initargs=initargs)
        pending = {pool.submit(fn, *unit): i for i, unit in enumerate(units)}
        while pending:
            done, _ = wait(pending, timeout=poll_every_s if poll else None,
                           return_when=FIRST_COMPLETED)
            for future in done:
                i = pending.pop(future)
                on_result(i, future.result())  # a worker's error is raised here
            if poll is not None:
                poll()
    except BaseException:
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
            pool = None
        raise
    finally:
        if pool is not None:
            pool.shutdown(wait=True)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
