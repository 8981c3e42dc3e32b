"""Device and thread choice, made once per command and recorded."""

from __future__ import annotations

import torch

from dcbench.errors import DcbenchError

DEVICE_CHOICES = ("auto", "cpu", "cuda")


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` picks CUDA when available; asking for CUDA without it is a user error."""
    name = (name or "auto").lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise DcbenchError("--device cuda asked for, but torch sees no CUDA device")
        return torch.device(name)
    if name == "cpu":
        return torch.device("cpu")
    raise DcbenchError(f"unknown device {name!r}; use auto, cpu or cuda[:N]")


def set_threads(threads: int | None) -> int:
    """Set torch's intra-op threads (None keeps torch's default); returns the count in use.

    Set deliberately: with another CPU-heavy process on a small machine, torch's default can be
    many times slower than fewer threads."""
    if threads is not None:
        if threads < 1:
            raise DcbenchError("--threads must be at least 1")
        torch.set_num_threads(threads)
    return torch.get_num_threads()
