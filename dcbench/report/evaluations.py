"""Condense and evaluate runs as frames: one row per set, one row per trained model.

Every table and figure of condensation results starts here. An evaluation names its set by
path and content digest; the set's own run (its manifest) says how it was made, so each
trained model's row carries both: what the set is (method, ipc, preset, the settings it
changed) and how the model was trained (spec, protocol, seed, device). The run schema these
read is :mod:`dcbench.report.runs`.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pandas as pd

from dcbench.errors import DcbenchError
from dcbench.precision import LATER_DEFAULTS
from dcbench.report.runs import MANIFEST, Run, Source, read_json, read_runs
from dcbench.results.io import file_digest
from dcbench.results.rundir import results_root, saved_identity

CONDENSE_COLUMNS = ["run_id", "path", "set_path", "grid_path", "dataset", "method", "ipc",
                    "preset", "seed", "overrides", "condense_time_s", "wall_time_s", "command",
                    "finished_at"]


def load_condense(source: Source = None) -> pd.DataFrame:
    """Finished condensation runs, one row each (dataset, method, ipc, preset, seed, paths)."""
    rows = []
    for run in read_runs(source, "condense"):
        m, c = run.manifest or {}, run.config
        rows.append({
            "run_id": run.run_id,
            "path": str(run.path),
            "set_path": str(run.path / "set.pt"),
            "grid_path": str(run.path / "set.png"),
            **{key: c.get(key) for key in ("dataset", "method", "ipc", "preset")},
            "seed": (m.get("seeds") or [None])[0],
            # a time budget changes the set like an override (see overrides_text)
            "overrides": {**changed_from_preset(c),
                          **({"budget_minutes": c["budget_minutes"]}
                             if c.get("budget_minutes") is not None else {})},
            "condense_time_s": m.get("condensation_wall_time_s", m.get("wall_time_s")),
            **{key: m.get(key) for key in ("wall_time_s", "command", "finished_at")},
        })
    return pd.DataFrame(rows, columns=CONDENSE_COLUMNS)


#: What makes one trained model: its seeds derive from (evaluation seed, spec, index) alone,
#: so the same key in two runs (any num_models, any device) is the same model trained again.
MODEL_KEY = ["set_path", "eval_seed", "model", "epochs", "augment", "precision", "index"]
EVAL_COLUMNS = ["run_id", "path", "dataset", "method", "ipc", "preset", "seed", "set_path",
                "set_run", "condense_time_s", "iterations_done", "snapshot_minutes", "overrides",
                "model", "index", "accuracy",
                "epochs", "num_models", "augment", "precision", "schedule", "eval_seed", "device",
                "command", "condense_command", "finished_at"]
#: Marks a table cell with models trained under the evaluation protocol before it followed the
#: authors' (issue 10, 2026-12-05): their records have no ``schedule``. They are kept, not
#: hidden, because re-training them costs hours; the mark says which numbers they are.
EARLIER_PROTOCOL_MARK = "†"
EARLIER_PROTOCOL_NOTE = (
    f"{EARLIER_PROTOCOL_MARK}: the cell pools models trained under dcbench's evaluation "
    "protocol before 2026-12-05 ({n} models in this table), recorded without a `schedule`: no "
    "momentum restart at the lr decay and the earlier augmentation rules, so not the authors' "
    "protocol of the other cells. Re-running the cell's evaluate command (REPRODUCIBILITY.md) "
    "trains them under the current protocol, and the newer training of a model replaces it.")


def earlier_protocol(evals: pd.DataFrame) -> pd.Series:
    """Per row of ``evals``: whether the model trained under the earlier protocol (its record
    has no ``schedule``). A frame without the column (built by hand, not by
    :func:`load_evaluations`) says nothing of it: its rows count as current."""
    if "schedule" not in evals:
        return pd.Series(False, index=evals.index)
    return evals["schedule"].isna()


def resolve_set_path(text: str | None, root: Path) -> Path | None:
    """Find the set an evaluation names: as written, from the results root's parent (paths
    are usually relative to the repository), or by its run name under ``root/condense``."""
    if not text:
        return None
    p = Path(text)
    candidates = [p, root.parent / p, root / "condense" / p.parent.name / p.name]
    return next((c for c in candidates if c.is_file()), None)


def same_set(info: dict[str, Any], set_path: Path, run: Path | None = None) -> bool:
    """Whether the file at ``set_path`` is the set an evaluation recorded: the same content
    digest, from its metrics' ``set`` (``info``) or, for runs from before metrics held it,
    the identity in the run's config.json (``run``); runs that recorded none count as the
    same."""
    recorded = info.get("sha1") or ((saved_identity(run) or {}).get("set_sha1")
                                    if run is not None else None)
    return recorded is None or recorded == _digest(set_path)


@functools.lru_cache(maxsize=1024)
def _digest_cached(path: str, inode: int, size: int, mtime_ns: int, ctime_ns: int) -> str:
    return file_digest(path)


def _digest(path: Path) -> str:
    """``file_digest``, computed once per file version (a report reads each set many times;
    a set saved again is a new inode, by the atomic rename)."""
    st = path.stat()
    return _digest_cached(str(path.resolve()), st.st_ino, st.st_size, st.st_mtime_ns,
                          st.st_ctime_ns)


def condense_run_dir(set_path: Path) -> Path:
    """The condense run a set belongs to: its folder, or the folder above ``snapshots/``."""
    from dcbench.condense.job import SNAPSHOT_DIR

    return set_path.parent.parent if set_path.parent.name == SNAPSHOT_DIR else set_path.parent


def _condense_manifest(set_path: Path | None) -> dict[str, Any]:
    if set_path is None or not (condense_run_dir(set_path) / MANIFEST).is_file():
        return {}
    try:
        return read_json(condense_run_dir(set_path) / MANIFEST)
    except DcbenchError:
        return {}


def overrides_text(overrides: dict[str, Any] | None,
                   budget_minutes: float | None = None) -> str:
    """A set's overrides of its preset as ``key=value,...`` (sorted; empty for none), without
    the settings that do not change a set; a time budget (``--budget-minutes``) counts as one,
    so a budget's set never pools into its preset's rows."""
    from dcbench.condense.config import NEUTRAL_SETTINGS

    items = [(k, v) for k, v in (overrides or {}).items() if k not in NEUTRAL_SETTINGS]
    if budget_minutes is not None:
        items.append(("budget_minutes", f"{budget_minutes:g}"))
    return ",".join(f"{k}={v}" for k, v in sorted(items))


def parse_overrides(text: str) -> dict[str, str]:
    """``key=value,...`` as :func:`overrides_text` writes it, back to a mapping (values such
    as model specs hold ``=`` and ``:``, never ``,``)."""
    return dict(item.partition("=")[::2] for item in text.split(",") if item)


def changed_from_preset(config: dict[str, Any]) -> dict[str, Any]:
    """The settings a condense run (its ``config``) was made with that differ from its preset
    as the preset is now (a set made before a preset changed does not pool into the new
    preset's rows), or for a record without ``settings`` the overrides it recorded."""
    from dcbench.condense.config import changed_settings

    overrides, budget = config.get("overrides") or {}, config.get("budget_minutes")
    settings, method = config.get("settings"), config.get("method")
    if isinstance(settings, dict) and method and config.get("preset") and config.get("ipc"):
        try:
            overrides = changed_settings(method, config["preset"], int(config["ipc"]), settings,
                                         budget=budget is not None)
        except DcbenchError:  # a method or preset this version no longer has
            pass
    return dict(overrides)


def set_overrides(config: dict[str, Any]) -> str:
    """:func:`overrides_text` of a condense run's :func:`changed_from_preset` and budget."""
    return overrides_text(changed_from_preset(config), config.get("budget_minutes"))


def _device_text(run: Run) -> str:
    """Where a run's models trained: its config's device, with the GPU's name for CUDA."""
    device = str((run.config or {}).get("device") or "cpu")
    machine = ((run.manifest or {}).get("environment") or {}).get("machine") or {}
    gpu = machine.get("cuda") if isinstance(machine, dict) else None
    return f"{device} ({gpu})" if device.startswith("cuda") and gpu else device


def load_evaluations(source: Source = None, dedupe: bool = True) -> pd.DataFrame:
    """Every accuracy of every evaluate run, one row per trained model (long form).

    Columns: the set's dataset, method, ipc, preset and seed; ``model`` (the spec) and
    ``index`` (which of the ``num_models``), ``accuracy`` (final-epoch test %, as recorded),
    the protocol's epochs/num_models/augment (the model's own, as resolved for it; older runs
    recorded one protocol for all), its ``schedule`` (None for a model trained before the
    protocol followed the authors': see :data:`EARLIER_PROTOCOL_NOTE`), the evaluation seed,
    the set's condensation time and the commands that made the set and the evaluation. An
    evaluation of a set since made again at the same path (another content digest) is left
    out. With ``dedupe`` a model trained again counts once (the newest): the same set,
    evaluation seed, model spec, protocol and index (a re-training under the current protocol
    replaces one under the earlier), whatever ``num_models`` each run asked for — model
    ``i``'s seeds derive from ``(seed, spec, i)`` alone, so a 10-model evaluation re-trains a
    2-model one's two models.
    ``device`` is where the models trained (``cuda (<GPU name>)`` or ``cpu``).
    """
    root = Path(source) if isinstance(source, str | Path) else results_root()
    rows = []
    for run in read_runs(source, "evaluate"):
        metrics = run.metrics or {}
        info = metrics.get("set") or {}
        protocol = metrics.get("protocol") or {}
        m = run.manifest or {}
        set_path = resolve_set_path(info.get("path"), root)
        if set_path is not None and not same_set(info, set_path, run.path):
            continue  # the set was made again since: this evaluation is of one no longer there
        cmanifest = _condense_manifest(set_path)
        per_run = {  # the same for every model trained in the run
            "run_id": run.run_id,
            "path": str(run.path),
            **{key: info.get(key) for key in ("dataset", "method", "ipc", "seed",
                                              "iterations_done")},
            "preset": info.get("preset") or (cmanifest.get("config") or {}).get("preset"),
            "set_path": str(set_path) if set_path else info.get("path"),
            "set_run": condense_run_dir(set_path).name if set_path else None,
            "condense_time_s": info.get("wall_time_s"),
            "snapshot_minutes": info.get("snapshot_minutes"),
            "overrides": set_overrides(cmanifest.get("config") or {}),
            "eval_seed": (m.get("seeds") or [None])[0],
            "device": _device_text(run),
            "command": m.get("command"),
            "condense_command": cmanifest.get("command"),
            "finished_at": m.get("finished_at"),
        }
        for spec, result in (metrics.get("models") or {}).items():
            own = result.get("protocol") or protocol  # older runs: one for all models
            settings = {key: own.get(key) for key in ("epochs", "num_models", "augment")}
            settings["precision"] = own.get("precision", LATER_DEFAULTS["precision"])
            settings["schedule"] = own.get("schedule")  # None: before the authors' protocol
            rows += [{**per_run, **settings, "model": spec, "index": i, "accuracy": float(acc)}
                     for i, acc in enumerate(result.get("accuracies") or [])]
    frame = pd.DataFrame(rows, columns=EVAL_COLUMNS)
    return dedupe_models(frame) if dedupe else frame


def dedupe_models(evals: pd.DataFrame) -> pd.DataFrame:
    """``evals`` (as :func:`load_evaluations` reads them with ``dedupe=False``) with each model
    (:data:`MODEL_KEY`) once, its newest training."""
    if evals.empty:
        return evals
    return (evals.sort_values(["finished_at", "run_id"], na_position="first")
            .drop_duplicates(subset=MODEL_KEY, keep="last")
            .sort_values(["dataset", "method", "ipc", "seed", "model", "run_id", "index"])
            .reset_index(drop=True))
