"""Continual-learning metrics and the CSV files they are written to (no Avalanche here).

For one (buffer, seed) run of T steps:

* accuracy matrix ``A[k][j]``: test accuracy (%) on experience ``j`` after training step ``k``,
  for ``j <= k`` (experiences not yet seen are left empty);
* average accuracy after step ``k``: accuracy on the union of the test sets of the experiences
  seen so far (= the mean over those experiences when they have equally many test images);
* final average accuracy: the average accuracy after the last step;
* average forgetting (Chaudhry et al., 2018): over the experiences ``j < T-1``, the mean of
  ``max_{j <= l < T-1} A[l][j] - A[T-1][j]`` (undefined, null, for a single experience).

Over seeds each quantity is reported as mean ± sample standard deviation
(:func:`dcbench.results.stats.mean_std`). The run's table and figure are the report's, made
from ``metrics.json`` (see :mod:`dcbench.continual.outputs`).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

from dcbench.results.stats import finite_or_none, mean_std


@dataclass
class StepRecord:
    """What one finished step contributes: per seen experience, correct and total counts."""

    step: int
    correct: list[int]
    count: list[int]
    memory_size: int
    wall_time_s: float
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def accuracies(self) -> list[float]:
        return [100.0 * c / max(1, n) for c, n in zip(self.correct, self.count, strict=True)]

    @property
    def average(self) -> float:
        return 100.0 * sum(self.correct) / max(1, sum(self.count))


@dataclass
class UnitResult:
    """One (buffer, seed) run."""

    buffer: str
    seed: int
    steps: list[StepRecord]
    classes: list[list[int]]

    @property
    def matrix(self) -> list[list[float | None]]:
        t = len(self.classes)
        return [(rec.accuracies + [None] * t)[:t] for rec in self.steps]

    @property
    def average_accuracy(self) -> list[float]:
        return [rec.average for rec in self.steps]

    @property
    def final_accuracy(self) -> float:
        return self.steps[-1].average if self.steps else float("nan")

    @property
    def forgetting(self) -> float:
        return average_forgetting([rec.accuracies for rec in self.steps])

    @property
    def complete(self) -> bool:
        return len(self.steps) == len(self.classes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "classes_per_experience": self.classes,
            "accuracy_matrix": self.matrix,
            "average_accuracy": self.average_accuracy,
            "final_average_accuracy": finite_or_none(self.final_accuracy),
            "average_forgetting": finite_or_none(self.forgetting),
            "memory_size": [rec.memory_size for rec in self.steps],
            "step_wall_time_s": [round(rec.wall_time_s, 3) for rec in self.steps],
            "step_cpu_time_s": [round(rec.timings.get("cpu_s", float("nan")), 3)
                                for rec in self.steps],
            "step_timings_s": [{k: round(v, 3) for k, v in rec.timings.items()}
                               for rec in self.steps],
        }


def average_forgetting(rows: list[list[float]]) -> float:
    """Chaudhry et al.'s average forgetting from the rows ``A[k][0..k]``."""
    t = len(rows)
    if t < 2:
        return float("nan")
    drops = [max(rows[k][j] for k in range(j, t - 1)) - rows[-1][j] for j in range(t - 1)]
    return sum(drops) / len(drops)


def matrix_csv(unit: UnitResult) -> str:
    """One row per step: the accuracy on each experience (blank if unseen) and the average."""
    buf = io.StringIO()
    w = csv.writer(buf)
    t = len(unit.classes)
    w.writerow(["step", *[f"exp{j}" for j in range(t)], "average_seen", "memory_size",
                "wall_time_s"])
    for rec, row in zip(unit.steps, unit.matrix, strict=True):
        cells = ["" if v is None else f"{v:.2f}" for v in row]
        w.writerow([rec.step, *cells, f"{rec.average:.2f}", rec.memory_size,
                    f"{rec.wall_time_s:.1f}"])
    return buf.getvalue()


def _ms(values: list[float | None]) -> dict[str, float | None]:
    """``{mean, std, n}`` over the defined values (None and NaN dropped: a seed without
    forgetting does not count), all None when there is none."""
    vals = [v for v in values if finite_or_none(v) is not None]
    if not vals:
        return {"mean": None, "std": None, "n": 0}
    m, s = mean_std(vals)
    return {"mean": m, "std": s, "n": len(vals)}


def aggregate(units: list[UnitResult]) -> dict[str, Any]:
    """Mean ± std over the seeds of one buffer (complete runs only)."""
    done = [u for u in units if u.complete]
    if not done:
        return {"seeds": [], "complete": False}
    t = len(done[0].classes)
    per_step = [_ms([u.average_accuracy[k] for u in done]) for k in range(t)]
    cells = [[_ms([u.matrix[k][j] for u in done]) if j <= k else None for j in range(t)]
             for k in range(t)]
    return {
        "seeds": [u.seed for u in done],
        "complete": True,
        "average_accuracy": per_step,
        "final_average_accuracy": _ms([u.final_accuracy for u in done]),
        "average_forgetting": _ms([u.forgetting for u in done]),
        "accuracy_matrix": cells,
        "memory_size": done[0].steps[-1].memory_size,
        "step_wall_time_s": _ms([sum(r.wall_time_s for r in u.steps) / t for u in done]),
        "step_cpu_time_s": _ms([sum(r.timings.get("cpu_s", float("nan")) for r in u.steps) / t
                                for u in done]),
        "wall_time_s": round(sum(r.wall_time_s for u in done for r in u.steps), 3),
    }


def summary_csv(summary: dict[str, dict[str, Any]], methods: dict[str, str | None]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    t = max((len(s.get("average_accuracy", [])) for s in summary.values()), default=0)
    w.writerow(["buffer", "method", "seeds", "memory_size", "final_acc_mean", "final_acc_std",
                "forgetting_mean", "forgetting_std",
                *[f"acc_step{k + 1}_mean" for k in range(t)],
                *[f"acc_step{k + 1}_std" for k in range(t)], "step_wall_time_s_mean",
                "step_cpu_time_s_mean"])

    def num(ms: dict[str, Any] | None, key: str) -> str:
        v = (ms or {}).get(key)
        return "" if v is None else f"{v:.4f}"

    for buffer, s in summary.items():
        if not s.get("complete"):
            continue
        steps = s["average_accuracy"]
        w.writerow([
            buffer, methods.get(buffer) or "", len(s["seeds"]), s["memory_size"],
            num(s["final_average_accuracy"], "mean"), num(s["final_average_accuracy"], "std"),
            num(s["average_forgetting"], "mean"), num(s["average_forgetting"], "std"),
            *[num(m, "mean") for m in steps], *[num(m, "std") for m in steps],
            num(s["step_wall_time_s"], "mean"), num(s.get("step_cpu_time_s"), "mean"),
        ])
    return buf.getvalue()
