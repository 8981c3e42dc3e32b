"""Condensation engine: one registry of methods, one entry point, one SyntheticSet format.

``condense(method, request, preset, overrides)`` is the single function continual learning and
NAS call; importing this package registers the built-in methods.
"""

from __future__ import annotations

from typing import Any

from dcbench.condense import coresets, dc, dm, dsa  # noqa: F401  (registers the methods)
from dcbench.condense.base import CONDENSERS, CondenseRequest, check_request
from dcbench.condense.config import PRESETS, CondenseConfig, make_config
from dcbench.condense.synthetic_set import SyntheticSet

__all__ = [
    "CONDENSERS",
    "PRESETS",
    "CondenseConfig",
    "CondenseRequest",
    "SyntheticSet",
    "condense",
    "make_config",
    "method_names",
]


def method_names() -> list[str]:
    return CONDENSERS.names()


def condense(
    method: str,
    request: CondenseRequest,
    preset: str = "quick",
    overrides: dict[str, Any] | None = None,
) -> SyntheticSet:
    """Build a synthetic set with ``method`` (a registered name) at ``preset`` settings."""
    cls = CONDENSERS.get(method)
    config = make_config(method, preset, request.ipc, overrides)
    check_request(request)
    return cls().run(request, config)
