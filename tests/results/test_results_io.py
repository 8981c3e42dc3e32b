"""Atomic writes: a failure leaves neither a half-written file nor a temporary one."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from dcbench.results import atomic_write_bytes, atomic_write_json, atomic_write_text
from dcbench.results.io import atomic_write_with


def test_writes_create_parents_and_replace(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "x.txt"
    atomic_write_text(target, "one")
    atomic_write_text(target, "two")
    assert target.read_text() == "two"
    atomic_write_bytes(tmp_path / "y.bin", b"\x00\x01")
    assert (tmp_path / "y.bin").read_bytes() == b"\x00\x01"
    assert sorted(p.name for p in target.parent.iterdir()) == ["x.txt"]


def test_a_failing_write_keeps_the_old_file_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "x.json"
    atomic_write_text(target, "old")

    def half_then_crash(p: Path) -> None:
        p.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        atomic_write_with(target, half_then_crash)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]
    with pytest.raises(RuntimeError):
        atomic_write_with(tmp_path / "new.json", half_then_crash)
    assert not (tmp_path / "new.json").exists()


def test_json_is_strict_and_plain(tmp_path: Path) -> None:
    obj = {"nan": math.nan, "inf": [math.inf, 1.5], 3: Path("/a/b"), "t": torch.tensor(2.5),
           "tuple": (1, 2)}
    path = atomic_write_json(tmp_path / "m.json", obj)
    text = path.read_text()
    assert "NaN" not in text and "Infinity" not in text and text.endswith("\n")
    back = json.loads(text)
    assert back == {"nan": None, "inf": [None, 1.5], "3": "/a/b", "t": 2.5, "tuple": [1, 2]}
