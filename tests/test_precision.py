"""Precision: the bf16 autocast context and the rule that keeps earlier records matching."""

from __future__ import annotations

import pytest
import torch

from dcbench.errors import DcbenchError
from dcbench.precision import autocast, check_precision, without_later_defaults


def test_bf16_runs_convolutions_in_bf16_and_fp32_changes_nothing() -> None:
    conv, x = torch.nn.Conv2d(1, 4, 3), torch.randn(2, 1, 8, 8)
    with autocast("bf16", "cpu"):
        assert conv(x).dtype == torch.bfloat16
    with autocast("fp32", torch.device("cpu")):
        assert conv(x).dtype == torch.float32


def test_unknown_precisions_are_one_line_errors() -> None:
    assert check_precision("bf16") == "bf16"
    with pytest.raises(DcbenchError, match="dm setting precision: must be one of fp32, bf16"):
        check_precision("fp16", "dm setting precision")


def test_later_added_keys_at_their_earlier_value_are_dropped() -> None:
    assert without_later_defaults({"lr": 0.1, "precision": "fp32"}) == {"lr": 0.1}
    assert without_later_defaults({"precision": "bf16"}) == {"precision": "bf16"}


def test_fp32_on_cuda_switches_tf32_off() -> None:
    """cuDNN's default lets "fp32" convolutions run in TF32 on a GPU; an fp32 pass must not."""
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    try:
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
        with autocast("fp32", "cpu"):
            pass
        assert torch.backends.cudnn.allow_tf32  # a CPU pass leaves the GPU settings alone
        with autocast("fp32", "cuda"):
            pass
        assert not torch.backends.cuda.matmul.allow_tf32
        assert not torch.backends.cudnn.allow_tf32
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved
