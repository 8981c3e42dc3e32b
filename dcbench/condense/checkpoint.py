"""Resumable state for iterative methods, written atomically.

A checkpoint stores a fingerprint of the request and settings; resuming with different settings
is refused with a one-line message instead of silently mixing two runs.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import torch

from dcbench.errors import DcbenchError
from dcbench.results.io import atomic_write_bytes


def save_checkpoint(path: Path, state: dict[str, Any], fingerprint: dict[str, Any]) -> None:
    buf = io.BytesIO()
    torch.save({"fingerprint": fingerprint, "state": state}, buf)
    atomic_write_bytes(path, buf.getvalue())


def load_checkpoint(path: Path, expect: dict[str, Any]) -> dict[str, Any]:
    try:
        obj = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:
        raise DcbenchError(
            f"checkpoint {path} is unreadable ({type(exc).__name__}); delete it to start afresh"
        ) from None
    if not isinstance(obj, dict) or "state" not in obj:
        raise DcbenchError(f"checkpoint {path} is not a dcbench checkpoint; delete it")
    if obj.get("fingerprint") != expect:
        raise DcbenchError(
            f"checkpoint {path} was made with other settings; delete it or use another --out"
        )
    return obj["state"]
