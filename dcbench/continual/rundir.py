"""A continual run's directory: created fresh, or reopened to resume the same experiment.

Resuming is only sound when the remaining steps would be made exactly as the finished ones:
the identity (config.json) pins the experiment, and the methods' settings resolved when the
run began are compared with what their presets give now.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from dcbench import config as cfg
from dcbench.continual.config import ContinualConfig
from dcbench.errors import DcbenchError
from dcbench.results import RunDir

KIND = "continual"


def prepare_run_dir(config: ContinualConfig, out: Any) -> tuple[RunDir, ContinualConfig]:
    """A fresh run directory, or ``out`` (created, or resumed if it holds this experiment).

    Resuming merges the buffer and seed lists with those already in the directory, so a
    re-run may add buffers or seeds; any other difference is refused.
    """
    if out is None:
        return RunDir.fresh(KIND, config.run_name()), config
    run = RunDir.open(KIND, out, config.identity(), identity_of=_saved_identity)
    saved = run.read_config()
    if saved is None:
        return run, config
    old = cfg.load(ContinualConfig, saved["config"])
    _check_presets_unchanged(saved.get("method_settings_resolved") or {}, config, run.path)
    merged = dataclasses.replace(
        config,
        buffers=old.buffers + [b for b in config.buffers if b not in old.buffers],
        seeds=old.seeds + [s for s in config.seeds if s not in old.seeds],
        name=old.name,
    )
    return run, merged


def _check_presets_unchanged(saved: dict[str, dict[str, Any]], config: ContinualConfig,
                             path: Any) -> None:
    """Refuse to resume when a method's settings resolve differently now than when the run
    began (its preset changed in a release since): the identity records the preset's name,
    so the remaining steps would otherwise condense with other settings than the finished
    ones (:func:`~dcbench.condense.config.differences` says what counts)."""
    from dcbench.condense import CONDENSERS
    from dcbench.condense.config import differences

    for method, theirs in sorted(saved.items()):
        if method not in CONDENSERS.names():  # a method this release no longer has
            continue
        mine = config.method_config(method)
        changed = [f"{k}: {v} → {getattr(mine, k)}"
                   for k, v in differences(theirs, mine).items()]
        if changed:
            raise DcbenchError(
                f"{path} was started with other {method} settings than its preset gives now "
                f"({', '.join(changed)}); finish it with the dcbench release it began with, "
                "or use another --out")


def _saved_identity(record: dict[str, Any]) -> dict[str, Any]:
    """The identity of a config.json written before it recorded one."""
    return cfg.load(ContinualConfig, record["config"]).identity()


def config_record(config: ContinualConfig, dataset_name: str) -> dict[str, Any]:
    """config.json's extras: the training protocol and every method's resolved settings."""
    protocol = config.training_protocol(dataset_name)
    return {
        "config": config.to_dict(),
        "training_protocol": dataclasses.asdict(protocol),
        "method_settings_resolved": {
            m: dataclasses.asdict(config.method_config(m)) for m in config.methods_used()
        },
    }


def write_config_record(run: RunDir, config: ContinualConfig, dataset_name: str
                        ) -> dict[str, Any]:
    """Write config.json (the config, its identity and :func:`config_record`'s extras) and
    return the record: what a resumed run is checked against."""
    record = config_record(config, dataset_name)
    run.write_config(record["config"], config.identity(),
                     **{k: v for k, v in record.items() if k != "config"})
    return record
