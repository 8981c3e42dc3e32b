"""The result schema and its loader: any set of run directories as a pandas DataFrame.

Every run lives in ``<results>/<kind>/<run>/`` (see ``results/README.md``) with at least a
``manifest.json`` saying how it was made::

    {"kind", "command", "seeds", "config", "wall_time_s", "finished_at",
     "environment": {"dcbench", "torch", "avalanche-lib", "git_commit", "machine", ...}}

plus the kind's metrics (``metrics.json`` and a CSV) and artifacts. A directory without a
manifest is a run still in progress (a condensation checkpoint) and is left out by default.
The condense and evaluate runs as frames of sets and trained models are
:mod:`dcbench.report.evaluations`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from dcbench.errors import DcbenchError
from dcbench.results.rundir import results_root

#: What the readers accept: a results root (default: ``$DCBENCH_RESULTS`` or ``results``) or
#: run directories.
Source = str | Path | Iterable[str | Path] | None

#: Folders of the results root that hold report outputs, not runs.
REPORT_DIRS = ("tables", "figures")
MANIFEST = "manifest.json"
METRICS = "metrics.json"
CONFIG = "config.json"
MANIFEST_KEYS = ("kind", "command", "seeds", "config", "wall_time_s", "finished_at",
                 "environment")
ENVIRONMENT_KEYS = ("dcbench", "torch", "avalanche-lib", "git_commit", "machine")
RUN_COLUMNS = ["run_id", "kind", "name", "path", "complete", "command", "seeds", "wall_time_s",
               "finished_at", "dcbench_version", "torch_version", "avalanche_version",
               "python_version", "git_commit", "machine", "cpu_count", "cuda", "files"]
#: Files each kind must have besides the manifest.
REQUIRED_FILES: dict[str, tuple[str, ...]] = {
    "condense": ("set.pt",),
    "evaluate": ("metrics.json", "metrics.csv"),
    "continual": ("metrics.json", "summary.csv"),
    "nas": ("candidates.csv", "ranking.json"),
}


@dataclass
class Run:
    """One run directory, read."""

    path: Path
    kind: str
    manifest: dict[str, Any] | None
    metrics: dict[str, Any] | None = None
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def run_id(self) -> str:
        return f"{self.kind}/{self.path.name}"

    @property
    def complete(self) -> bool:
        return self.manifest is not None

    @property
    def command(self) -> str | None:
        return (self.manifest or {}).get("command")

    def files(self) -> list[str]:
        return sorted(p.name for p in self.path.iterdir() if p.is_file()
                      and not p.name.startswith("."))


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise DcbenchError(f"cannot read {path}: {type(exc).__name__}: {exc}") from None


def read_run(path: str | Path) -> Run:
    """Read a run directory: its manifest, metrics.json and config (config.json, else the
    manifest's ``config``)."""
    path = Path(path)
    if not path.is_dir():
        raise DcbenchError(f"no run directory at {path}")
    manifest = read_json(path / MANIFEST) if (path / MANIFEST).is_file() else None
    kind = (manifest or {}).get("kind") or path.parent.name
    metrics = read_json(path / METRICS) if (path / METRICS).is_file() else None
    if (path / CONFIG).is_file():
        config = read_json(path / CONFIG)
        if isinstance(config, dict) and "identity" in config:  # RunDir's schema
            config = dict(config.get("config") or {})
    else:
        config = dict((manifest or {}).get("config") or {})
    return Run(path=path, kind=kind, manifest=manifest, metrics=metrics, config=config)


def check_run(path: str | Path) -> list[str]:
    """What is wrong with a run directory against the schema (empty list: nothing)."""
    try:
        run = read_run(path)
    except DcbenchError as exc:
        return [str(exc)]
    if run.manifest is None:
        return [f"{run.run_id}: no {MANIFEST} (unfinished run?)"]
    problems = [f"{run.run_id}: manifest lacks {k!r}" for k in MANIFEST_KEYS
                if k not in run.manifest]
    env = run.manifest.get("environment") or {}
    problems += [f"{run.run_id}: manifest environment lacks {k!r}" for k in ENVIRONMENT_KEYS
                 if k not in env]
    problems += [f"{run.run_id}: missing {f}" for f in REQUIRED_FILES.get(run.kind, ())
                 if not (run.path / f).is_file()]
    return problems


def short_name(run_id: str) -> str:
    """``20261122-003911`` for a timestamped run, else the run's folder name."""
    name = run_id.split("/", 1)[-1]
    m = re.match(r"\d{8}-\d{6}(-\d+)?(?=-|$)", name)
    return m.group(0) if m else name


def discover_runs(
    root: str | Path | None = None,
    kinds: Iterable[str] | None = None,
    include_incomplete: bool = False,
) -> list[Path]:
    """Run directories under ``root`` (default: ``$DCBENCH_RESULTS`` or ``results``), sorted."""
    root = Path(root) if root is not None else results_root()
    if not root.is_dir():
        return []
    wanted = set(kinds) if kinds is not None else None

    def folders(parent: Path) -> list[Path]:
        return sorted(p for p in parent.iterdir() if p.is_dir() and not p.name.startswith("."))

    found = []
    for kind_dir in folders(root):
        if kind_dir.name in REPORT_DIRS or (wanted is not None and kind_dir.name not in wanted):
            continue
        for run_dir in folders(kind_dir):
            if (run_dir / MANIFEST).is_file() or (include_incomplete and any(
                    p.is_file() for p in run_dir.iterdir())):  # not a cache of sub-folders
                found.append(run_dir)
    return found


def _as_paths(source: Source, kinds: Iterable[str] | None, include_incomplete: bool
              ) -> list[Path]:
    if source is None or isinstance(source, str | Path):
        return discover_runs(source, kinds, include_incomplete)
    paths = [Path(p) for p in source]
    if kinds is not None:
        wanted = set(kinds)
        paths = [p for p in paths if read_run(p).kind in wanted]
    return paths


def read_runs(source: Source, kind: str) -> list[Run]:
    """The finished runs of one kind in ``source`` (a results root or run directories), read."""
    return [read_run(p) for p in _as_paths(source, [kind], False)]


def _machine_text(machine: Any) -> str | None:
    if not isinstance(machine, dict):
        return machine
    parts = [machine.get("platform"), f"{machine.get('cpu_count')} CPUs"
             if machine.get("cpu_count") else None, machine.get("cuda")]
    return ", ".join(str(p) for p in parts if p)


def run_record(run: Run) -> dict[str, Any]:
    """The row :func:`load_runs` makes of one run."""
    m = run.manifest or {}
    env = m.get("environment") or {}
    machine = env.get("machine") or {}
    row: dict[str, Any] = {
        "run_id": run.run_id,
        "kind": run.kind,
        "name": run.name,
        "path": str(run.path),
        "complete": run.complete,
        **{key: m.get(key) for key in ("command", "seeds", "wall_time_s", "finished_at")},
        "dcbench_version": env.get("dcbench"),
        "torch_version": env.get("torch"),
        "avalanche_version": env.get("avalanche-lib"),
        "python_version": env.get("python"),
        "git_commit": env.get("git_commit"),
        "machine": _machine_text(machine),
        "cpu_count": machine.get("cpu_count") if isinstance(machine, dict) else None,
        "cuda": machine.get("cuda") if isinstance(machine, dict) else None,
        "files": run.files(),
    }
    if run.config:
        row.update({f"config.{key}": value for key, value
                    in pd.json_normalize(run.config, sep=".").iloc[0].items()})
    return row


def load_runs(source: Source = None, kinds: Iterable[str] | None = None,
              include_incomplete: bool = False) -> pd.DataFrame:
    """Any set of runs as a DataFrame, one row per run.

    ``source`` is a results root (default ``$DCBENCH_RESULTS`` or ``results``) or a list of
    run directories; ``kinds`` restricts to some kinds (condense, evaluate, continual, nas).
    Columns: run_id, kind, name, path, complete, command, seeds, wall_time_s, finished_at,
    dcbench/torch/avalanche/python versions, git_commit, machine, cpu_count, cuda, files, and
    the run's config flattened as ``config.<key>``.
    """
    rows = [run_record(read_run(p)) for p in _as_paths(source, kinds, include_incomplete)]
    return pd.DataFrame(rows) if rows else pd.DataFrame(columns=RUN_COLUMNS)
