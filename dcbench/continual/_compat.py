"""Importing Avalanche quietly: it warns "no QP solver found" (only its GEM strategy needs one,
and dcbench does not use GEM) on every fresh import."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def quiet_avalanche_import() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="no QP solver", category=UserWarning)
        yield


def import_avalanche() -> None:
    with quiet_avalanche_import():
        import avalanche.training  # noqa: F401
