"""Arithmetic precision of the passes that tolerate it: ``fp32`` (default) or ``bf16``.

This CPU has AMX-BF16, where oneDNN runs bf16 convolutions several times faster than fp32.
``bf16`` runs the chosen forward passes under ``torch.autocast`` (weights, gradients and
optimiser state stay fp32); each command records the precision it ran with. Where a pass may
use it is decided by its caller: evaluation training, DC/DSA's real-gradient and inner-training
passes, DM's real embeddings — never the synthetic-image graph or the matching distance.
"""

from __future__ import annotations

import contextlib

import torch

from dcbench.errors import DcbenchError

PRECISIONS = ("fp32", "bf16")
#: Settings added after sets and results were published, with the value every earlier run had:
#: a record without the key means this value (so earlier sets, checkpoints and evaluations
#: keep matching).
LATER_DEFAULTS = {"precision": "fp32"}


def check_precision(name: str, key: str = "precision") -> str:
    if name not in PRECISIONS:
        raise DcbenchError(f"{key}: must be one of {', '.join(PRECISIONS)} (got {name!r})")
    return name


def exact_fp32() -> None:
    """Switch TF32 off for CUDA matrix products and cuDNN convolutions.

    PyTorch lets cuDNN convolutions run in TF32 (a 10-bit mantissa) by default on Ampere and
    later GPUs, so a GPU's "fp32" would silently be another precision than the CPU's; results
    recorded as fp32 must be fp32 wherever they ran."""
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False


def autocast(precision: str, device: torch.device | str):
    """A context running eligible ops in ``precision`` (a no-op context for fp32, with TF32
    off on CUDA: see :func:`exact_fp32`)."""
    if precision == "fp32":
        if torch.device(device).type == "cuda":
            exact_fp32()
        return contextlib.nullcontext()
    return torch.autocast(torch.device(device).type, dtype=torch.bfloat16)


def without_later_defaults(record: dict) -> dict:
    """``record`` without the later-added keys that hold their earlier implicit value."""
    return {k: v for k, v in record.items() if LATER_DEFAULTS.get(k, object()) != v}
