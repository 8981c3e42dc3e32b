"""Building models by name and from spec strings such as ``convnet:depth=2:width=32``.

A spec is how the CLI, YAML tasks and result files name an architecture: one string that
round-trips through a command line and a CSV cell. :func:`format_model_spec` writes the
canonical form back.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Sequence
from typing import Any

from torch import nn

from dcbench.errors import DcbenchError
from dcbench.models.base import MODELS, as_image_size

_INT = re.compile(r"[+-]?\d+")
_SHAPE_ARGS = ("channels", "num_classes", "image_size")


def parse_model_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """Split ``name:key=value:...`` into the name and an options dict.

    Values that look like integers become ints, everything else stays a string; whether an
    option exists and its value is allowed is checked later, by the model itself.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise DcbenchError(f"bad model spec {spec!r}: expected name or name:key=value:...")
    name, *parts = (p.strip() for p in spec.strip().split(":"))
    if not name:
        raise DcbenchError(f"bad model spec {spec!r}: the model name is missing")
    options: dict[str, Any] = {}
    for part in parts:
        key, sep, value = (s.strip() for s in part.partition("="))
        key = key.lower()
        if not sep or not key or not value:
            raise DcbenchError(
                f"bad model spec {spec!r}: {part!r} is not key=value (e.g. convnet:depth=2)"
            )
        if key in options:
            raise DcbenchError(f"bad model spec {spec!r}: option {key!r} given twice")
        options[key] = int(value) if _INT.fullmatch(value) else value
    return name.lower(), options


def format_model_spec(name: str, options: dict[str, Any] | None = None) -> str:
    """Inverse of :func:`parse_model_spec` with options sorted, for stable names in results."""
    items = sorted((options or {}).items())
    return ":".join([name.lower(), *(f"{k}={v}" for k, v in items)])


def model_options(name: str) -> dict[str, Any]:
    """The options model ``name`` accepts, with their defaults (UnknownNameError if no model)."""
    params = inspect.signature(MODELS.get(name)).parameters
    return {
        k: p.default
        for k, p in params.items()
        if k not in _SHAPE_ARGS and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    }


def build_model(
    name: str,
    channels: int,
    num_classes: int,
    image_size: int | Sequence[int],
    **options: Any,
) -> nn.Module:
    """Instantiate registered model ``name`` for images of ``channels`` x ``image_size``.

    Unknown options are rejected here (with the list of valid ones) so that a typo in a spec
    never silently falls back to a default; option values are checked by the model.
    Initialisation uses PyTorch's defaults and the global RNG: seed before calling.
    """
    factory = MODELS.get(name)
    allowed = model_options(name)
    for key in options:
        if key not in allowed:
            valid = ", ".join(sorted(allowed)) if allowed else "none (it takes no options)"
            raise DcbenchError(f"model {name!r} has no option {key!r}; options: {valid}")
    return factory(
        channels=channels, num_classes=num_classes, image_size=as_image_size(image_size), **options
    )


def model_from_spec(
    spec: str, channels: int, num_classes: int, image_size: int | Sequence[int]
) -> nn.Module:
    """``build_model`` from a spec string like ``convnet:depth=2:width=32:norm=batch``."""
    name, options = parse_model_spec(spec)
    return build_model(name, channels, num_classes, image_size, **options)
