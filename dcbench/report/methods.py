"""What ``dcbench methods`` says about each method: its presets' main settings and, from the
results folder, what each preset measured (accuracy and condensation time), never typed."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from dcbench.report.condensation import aggregate
from dcbench.report.evaluations import load_evaluations
from dcbench.report.render import fmt_stat

#: Printed under the list when anything was measured.
MEASURED_NOTE = ("measured: ConvNet accuracy from the results folder, mean ± sample std over "
                 "n = sets × models; minutes as each run recorded them (threads and other "
                 "jobs on the machine vary: see its manifest)")

#: The settings shown per preset (those a method has), in this order.
SHOWN = ("iterations", "outer_loop", "inner_loop", "batch_real", "init", "epochs",
         "pool_per_class")


def preset_summary(config_cls: Any, preset: str, ipcs: tuple[int, ...] = (1, 10, 50)) -> str:
    """``ipc 1: iterations=100 ...; ipc 10: ...`` (ipcs with equal settings share one entry)."""
    by_text: dict[str, list[int]] = {}
    for ipc in ipcs:
        fields = dataclasses.asdict(config_cls.preset(preset, ipc))
        text = " ".join(f"{k}={fields[k]}" for k in SHOWN if k in fields)
        by_text.setdefault(text, []).append(ipc)
    if list(by_text) == [""]:
        return "no settings"
    return "; ".join(f"ipc {','.join(map(str, v))}: {t}" for t, v in by_text.items())


def measured(root: Path) -> dict[tuple[str, str], list[str]]:
    """(method, preset) -> ``fashion-mnist ipc 1: 69.4 ± 0.6 (n=5), 7.9 min`` lines from the
    evaluations under ``root`` (ConvNet, fp32, preset settings as they are)."""
    evals = load_evaluations(root)
    out: dict[tuple[str, str], list[str]] = {}
    agg = aggregate(evals)
    for _, r in agg.sort_values(["method", "preset", "dataset", "ipc"]).iterrows():
        minutes = (f", {r['condense_time_s'] / 60:.1f} min to condense"
                   if r["condense_time_s"] == r["condense_time_s"]
                   and r["condense_time_s"] is not None else "")
        out.setdefault((r["method"], r["preset"]), []).append(
            f"{r['dataset']} ipc {int(r['ipc'])}: {fmt_stat(r['mean'], r['std'], int(r['n']))}"
            f"{minutes}")
    return out


def preset_speeds(benchmarks: Path) -> list[dict[str, Any]]:
    """The presets timed by ``benchmarks/preset_speed.py`` (the shipped command run alone for a
    few iterations), each extrapolated to the preset's length: dicts with method, ipc, preset,
    iterations, seconds_per_iteration, expected_s, threads. A measurement made with other
    settings than the preset has now (a preset changed since) is left out rather than shown as
    this preset's."""
    from dcbench.condense.config import make_config

    path = benchmarks / "preset_speed.json"
    if not path.is_file():
        return []
    data = json.loads(path.read_text())
    preset = data.get("preset", "quick")
    found = []
    for d in (data.get("sets") or {}).values():
        now = dataclasses.asdict(make_config(d["method"], preset, d["ipc"]))
        timed = {**now, "iterations": d["timed_iterations"]}
        if {k: d["settings"].get(k) for k in timed} != timed:
            continue
        found.append({"method": d["method"], "ipc": d["ipc"], "preset": preset,
                      "iterations": now["iterations"], "threads": data.get("threads"),
                      "seconds_per_iteration": d["seconds_per_iteration"],
                      "expected_s": extrapolated_s(d, now["iterations"])})
    return found


def extrapolated_s(run: dict[str, Any], iterations: int) -> float:
    """Seconds for ``iterations`` from a command timed for ``run["timed_iterations"]``: its
    process wall time (start-up, data, compile included) plus the remaining iterations at
    its steady seconds per iteration."""
    rest = max(iterations - run["timed_iterations"], 0)
    return run["process_wall_s"] + rest * run["seconds_per_iteration"]


def preset_minutes(benchmarks: Path) -> dict[tuple[str, str], list[str]]:
    """(method, preset) -> ``ipc 10: 6.1 min here alone (20 × 17.3 s/iteration + start-up)``
    (:func:`preset_speeds`)."""
    out: dict[tuple[str, str], list[str]] = {}
    for d in preset_speeds(benchmarks):
        out.setdefault((d["method"], d["preset"]), []).append(
            f"ipc {d['ipc']}: {d['expected_s'] / 60:.1f} min here alone ({d['iterations']} × "
            f"{d['seconds_per_iteration']:.2f} s/iteration + start-up, {d['threads']} threads, "
            f"{benchmarks / 'preset_speed.json'})")
    return out


def paper_hours(benchmarks: Path) -> dict[tuple[str, str], list[str]]:
    """(method, ``paper``) -> ``ipc 10: 34.0 h here (1000 × 122.39 s/iteration)`` from the
    shipped command's measured seconds per iteration (``benchmarks/cli_speed.py``'s JSON)."""
    path = benchmarks / "cli_speed.json"
    if not path.is_file():
        return {}
    data = json.loads(path.read_text())
    found = [("dc", int(ipc), d["cli"]["seconds_per_iteration"], 1000)
             for ipc, d in (data.get("dc") or {}).items()]
    for name, d in (data.get("paper_preset_seconds_per_iteration") or {}).items():
        method, _, ipc = name.partition(" ipc ")
        found.append((method, int(ipc), d["seconds_per_iteration"], d["paper_iterations"]))
    out: dict[tuple[str, str], list[str]] = {}
    for method, ipc, seconds, iterations in sorted(found):
        out.setdefault((method, "paper"), []).append(
            f"ipc {ipc}: {seconds * iterations / 3600:.1f} h here ({iterations} × "
            f"{seconds:.2f} s/iteration, {data.get('threads')} threads, {path})")
    return out
