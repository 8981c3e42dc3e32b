"""Type checks for continual task values, with one-line errors naming the key.

Task files, ``--set`` overrides and CLI options all arrive as YAML scalars or strings; these turn
them into the types :class:`dcbench.continual.config.ContinualConfig` holds.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dcbench.errors import DcbenchError


def as_mapping(value: Any, key: str) -> dict[str, Any]:
    """A mapping with ``-`` in keys read as ``_`` (YAML users write both); None is empty."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise DcbenchError(f"{key} must be a mapping")
    return {str(k).replace("-", "_"): v for k, v in value.items()}


def as_method_settings(value: Any) -> dict[str, dict[str, Any]]:
    """``method_settings``: {method: {key: value}}."""
    out: dict[str, dict[str, Any]] = {}
    for method, block in as_mapping(value, "method_settings").items():
        out[method.lower()] = as_mapping(block, f"method_settings.{method}")
    return out


def merge_settings(
    a: dict[str, dict[str, Any]], b: dict[str, dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Per-method settings of ``a`` updated by ``b`` (later layers win key by key)."""
    out = {m: dict(s) for m, s in a.items()}
    for method, settings in b.items():
        out.setdefault(method, {}).update(settings)
    return out


def as_int(key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise DcbenchError(f"{key} must be an integer, got {value!r}")
    try:
        return int(value)
    except ValueError:
        raise DcbenchError(f"{key} must be an integer, got {value!r}") from None


def as_float(key: str, value: Any) -> float:
    if isinstance(value, bool):
        raise DcbenchError(f"{key} must be a number, got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise DcbenchError(f"{key} must be a number, got {value!r}") from None


def as_list(key: str, value: Any) -> list[Any]:
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list | tuple):
        return list(value)
    raise DcbenchError(f"{key} must be a list (or a comma-separated string), got {value!r}")


def as_str(key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise DcbenchError(f"{key} must be a non-empty string, got {value!r}")
    return value.strip()
