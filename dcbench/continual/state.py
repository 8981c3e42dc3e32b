"""Per-step state files of a continual run: where they live, how they are checked and read.

``state/<buffer>/seed<s>/step<k>.pt`` holds everything step ``k`` produced (memory, accuracies,
timings and, for the replay protocols, the model). Each carries a fingerprint of the settings
that made it, so a run directory re-used with other settings is refused instead of mixed.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import torch

from dcbench.continual.config import ContinualConfig
from dcbench.continual.metrics import StepRecord, UnitResult
from dcbench.errors import DcbenchError
from dcbench.results import atomic_write_bytes
from dcbench.results.rundir import slug

STATE_DIR = "state"


def step_fingerprint(config: ContinualConfig, buffer: str, seed: int, classes: list[list[int]]):
    return json.loads(json.dumps(
        {"identity": config.identity(), "buffer": buffer, "seed": seed, "classes": classes}
    ))


def step_path(run_dir: Path, buffer: str, seed: int, step: int) -> Path:
    return run_dir / STATE_DIR / slug(buffer) / f"seed{seed}" / f"step{step:02d}.pt"


def load_step(path: Path, fingerprint: dict[str, Any]) -> dict[str, Any]:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated or foreign file
        raise DcbenchError(
            f"cannot read {path} ({type(exc).__name__}); delete it to recompute that step"
        ) from None
    if state.get("fingerprint") != fingerprint:
        raise DcbenchError(
            f"{path} was made with other settings; use another --out or delete the run's state"
        )
    return state


def save_step(path: Path, state: dict[str, Any]) -> None:
    """Write a step's state atomically, so an interrupted write never looks like a finished step."""
    buf = io.BytesIO()
    torch.save(state, buf)
    atomic_write_bytes(path, buf.getvalue())


def collect(config: ContinualConfig, data: Any, run_dir: Path) -> dict[str, list[UnitResult]]:
    """Read every finished step of every (buffer, seed) from the state files."""
    out: dict[str, list[UnitResult]] = {}
    for buffer in config.buffers:
        units = []
        for seed in config.seeds:
            classes = stream_classes(config, data, seed)
            fp = step_fingerprint(config, buffer, seed, classes)
            steps = []
            for step in range(len(classes)):
                path = step_path(run_dir, buffer, seed, step)
                if not path.exists():
                    break
                s = load_step(path, fp)
                steps.append(StepRecord(step, list(s["correct"]), list(s["count"]),
                                        int(s["memory_size"]), float(s["wall_time_s"]),
                                        dict(s["timings"])))
            units.append(UnitResult(buffer, seed, steps, classes))
        out[buffer] = units
    return out


def stream_classes(config: ContinualConfig, data: Any, seed: int) -> list[list[int]]:
    """The classes of each experience for ``seed`` (the same order the stream is built with)."""
    from dcbench.continual.streams import check_split, draw_class_order

    if isinstance(data, list):
        return [sorted(torch.unique(ds.y_train).tolist()) for ds in data]
    per = check_split(data.num_classes, config.experiences, data.name)
    order = config.class_order or draw_class_order(data.num_classes, seed)
    return [list(order[i * per:(i + 1) * per]) for i in range(config.experiences)]
