"""``dcbench best``: the best set measured within N minutes of condensation, and how to make it.

Issue 13's question — *what is the best set I can get in N minutes, with which method and
settings?* — answered from what the results folder measured, never guessed: every point of
an accuracy-vs-time curve (a snapshot or a curve's final set, :mod:`dcbench.report.curves`)
and every preset row (:func:`dcbench.report.condensation.aggregate`) of the dataset and ipc,
kept when its condensation took at most N minutes (+5 %: a snapshot is saved at the end of the
iteration that passes its budget), ranked by ConvNet accuracy, one per method and setting (the
best of each, so the list compares methods rather than one curve's points). Each comes with
the command that makes that set again: its settings and, for a curve point of one set, the
iterations it had reached; a point pooled over several seeds (whose iteration counts differ)
is remade by its time budget instead.
"""

from __future__ import annotations

import math
import shlex
from dataclasses import dataclass

import pandas as pd

from dcbench.errors import DcbenchError
from dcbench.report.condensation import GROUP, aggregate, whole_sets
from dcbench.report.curves import curve_frame
from dcbench.report.evaluations import parse_overrides
from dcbench.report.render import fmt_stat

#: A point saved "after N minutes" is saved at the end of the iteration that passes N.
SLACK = 1.05


@dataclass(frozen=True)
class Option:
    """One measured way to make a set: its settings, time and accuracy."""

    dataset: str
    method: str
    ipc: int
    preset: str
    overrides: str  # ``key=value,...`` as the report writes them
    minutes: float
    iterations: int | None  # a curve point's iterations (None: the preset's own)
    mean: float
    std: float
    n: int
    source: str  # "preset", "set" (a preset with overrides) or "curve"
    sets: int = 1
    budget: float | None = None  # the snapshot's (or the run's) minutes of condensation

    def overridden(self) -> dict[str, str]:
        """The overrides of the preset, without the run's time budget."""
        out = parse_overrides(self.overrides)
        out.pop("budget_minutes", None)
        return out

    def by_budget(self) -> bool:
        """Remade by its time budget: a curve point pooled over sets that reached different
        iteration counts, or a budget's final set whose iterations the row does not hold."""
        return self.budget is not None and (self.iterations is None or self.sets > 1)

    def settings(self) -> dict[str, str]:
        """The method settings to ``--set``: the overrides, and a curve point's iterations
        (the set is remade without a clock) unless it is remade by its budget."""
        out = self.overridden()
        if self.by_budget() and self.iterations is not None:  # the points' count differs
            out.pop("iterations", None)
        elif self.iterations is not None:
            out["iterations"] = str(self.iterations)
        return out

    def family(self) -> tuple[str, str, tuple[tuple[str, str], ...]]:
        """What one curve shares (its points differ in iterations only)."""
        rest = {k: v for k, v in self.overridden().items() if k != "iterations"}
        return self.method, self.preset, tuple(sorted(rest.items()))

    def command(self) -> str:
        sets = "".join(f" --set {shlex.quote(f'{self.method}.{k}={v}')}"
                       for k, v in sorted(self.settings().items()))
        budget = f" --budget-minutes {self.budget:g}" if self.by_budget() else ""
        return (f"dcbench condense --dataset {shlex.quote(self.dataset)} --method {self.method} "
                f"--ipc {self.ipc} --preset {self.preset}{sets}{budget}")

    def label(self) -> str:
        settings = ", ".join(f"{k}={v}" for k, v in sorted(self.settings().items()))
        if self.by_budget():
            settings = ", ".join(filter(None, [settings, f"{self.budget:g} min budget"]))
        return f"{self.method} ({self.preset}{', ' + settings if settings else ''})"


def options(evals: pd.DataFrame, dataset: str, ipc: int) -> list[Option]:
    """Every measured option for ``dataset`` at ``ipc``: curve points, and whole sets pooled
    per preset and overrides (a preset's rows, and sets made with changed settings — e.g. an
    earlier release's preset, which now reads as overrides)."""
    found: list[Option] = []
    curves = curve_frame(evals)
    for _, r in curves[(curves["dataset"] == dataset) & (curves["ipc"] == ipc)].iterrows():
        if not (_number(r["minutes"]) and _number(r["iterations"])):
            continue  # a point whose sets lack a recorded time or iteration count
        overrides = r["overrides"] or ""
        # a snapshot's budget; a final set's is its run's (if the run had one)
        budget = parse_overrides(overrides).get("budget_minutes") if r["final"] else r[
            "budget_min"]
        budget = None if budget is None else float(budget)
        found.append(Option(dataset, r["method"], ipc, r["preset"], overrides,
                            float(r["minutes"]), int(round(r["iterations"])), float(r["mean"]),
                            float(r["std"]), int(r["n"]), "curve", int(r["sets"]), budget))
    sets = whole_sets(evals).assign(overrides=lambda f: f["overrides"].fillna(""))
    agg = aggregate(sets, by=[*GROUP, "overrides"], standard_only=False)
    for _, r in agg[(agg["dataset"] == dataset) & (agg["ipc"] == ipc)].iterrows():
        seconds = r["condense_time_s"]
        if not _number(seconds):
            continue
        budget = parse_overrides(r["overrides"]).get("budget_minutes")
        found.append(Option(dataset, r["method"], ipc, r["preset"], r["overrides"],
                            float(seconds) / 60, None, float(r["mean"]), float(r["std"]),
                            int(r["n"]), "preset" if not r["overrides"] else "set",
                            int(r["sets"]), None if budget is None else float(budget)))
    return found


def _number(value: object) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def best_within(found: list[Option], minutes: float) -> list[Option]:
    """The options whose condensation took at most ``minutes`` (+5 %), best accuracy first,
    the best one of each method and setting (:meth:`Option.family`)."""
    if not minutes > 0:
        raise DcbenchError(f"--minutes must be positive (got {minutes})")
    within = sorted((o for o in found if o.minutes <= minutes * SLACK),
                    key=lambda o: (-o.mean, o.minutes))
    best: dict[tuple, Option] = {}
    for o in within:
        best.setdefault(o.family(), o)
    return list(best.values())


def answer(evals: pd.DataFrame, dataset: str, ipc: int, minutes: float, top: int = 3
           ) -> list[str]:
    """The lines ``dcbench best`` prints; a one-line error when nothing was measured."""
    found = options(evals, dataset, ipc)
    if not found:
        raise DcbenchError(f"nothing measured for {dataset} at ipc {ipc} in the results folder "
                           "(condense and evaluate a set, or run a tasks/condense-*curves* "
                           "task)")
    ranked = best_within(found, minutes)
    if not ranked:
        fastest = min(found, key=lambda o: o.minutes)
        raise DcbenchError(f"no {dataset} ipc {ipc} set measured within {minutes:g} min; the "
                           f"fastest took {fastest.minutes:.1f} min ({fastest.label()})")
    lines = [f"best measured within {minutes:g} min of condensation ({dataset}, ipc {ipc}, "
             "ConvNet, fp32):"]
    for i, o in enumerate(ranked[:top], 1):
        lines.append(f"{i}. {o.label()}: {fmt_stat(o.mean, o.std, o.n)} after "
                     f"{o.minutes:.1f} min ({o.source})")
        lines.append(f"   {o.command()}")
    lines.append("minutes as measured where each set was made (threads and other jobs vary: "
                 "see its manifest); accuracy: mean ± sample std over n = sets × models")
    return lines
