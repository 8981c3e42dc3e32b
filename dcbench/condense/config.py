"""The settings of a condensation: a method's own ``Config`` at a preset, and the run's.

Every method's ``Config`` dataclass has ``preset(name, ipc)`` (its ``quick`` and ``paper``
values); :func:`make_config` applies a run's overrides to it through the one configuration
layer (:mod:`dcbench.config`). :class:`CondenseConfig` is what ``dcbench condense`` and each
unit of a condense task file run with.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

from dcbench import config as cfg
from dcbench.condense.base import CONDENSERS
from dcbench.config import PRESETS, ConfigError

__all__ = ["PRESETS", "CondenseConfig", "make_config", "method_fields"]


def make_config(method: str, preset: str, ipc: int, overrides: dict[str, Any] | None = None):
    """The method's Config for ``preset`` at ``ipc``, with ``overrides`` applied and checked."""
    cls = CONDENSERS.get(method)
    cfg.check_preset(preset)
    return cfg.update(cls.Config.preset(preset, ipc), overrides, where=f"{method}.")


def method_fields(method: str) -> list[str]:
    """The names of a method's settings."""
    return cfg.field_names(CONDENSERS.get(method).Config)


def check_method_settings(settings: dict[str, dict[str, Any]], allowed: list[str],
                          preset: str, ipcs: list[int]) -> None:
    """Each method's overrides name one of ``allowed`` and load at every ipc."""
    for method, overrides in settings.items():
        if method not in allowed:
            raise ConfigError(f"method_settings.{method}: not a method of this run "
                              f"({', '.join(allowed)})")
        for ipc in ipcs:
            make_config(method, preset, ipc, overrides)


def changed_settings(method: str, preset: str, ipc: int, recorded: dict[str, Any],
                     budget: bool = False) -> dict[str, Any]:
    """The settings a set was made with (``recorded``: its manifest's ``settings``) that differ
    from ``preset`` as it is *now*: a set made before a preset changed reads as that preset
    with overrides, never as the preset. Neutral settings, later-added ones at their earlier
    value and settings since removed are not differences; under a time ``budget`` neither is
    the iteration cap the budget lifts to the paper's."""
    now = make_config(method, preset, ipc)
    if budget and hasattr(now, "iterations"):
        now.iterations = make_config(method, "paper", ipc).iterations
    return differences(recorded, now)


def differences(recorded: dict[str, Any], now: Any) -> dict[str, Any]:
    """The ``recorded`` settings (as JSON kept them) that differ from the method config
    ``now``, by recorded value. Neutral settings, later-added ones at their earlier value and
    settings since removed are not differences."""
    from dcbench.precision import LATER_DEFAULTS

    current = json.loads(json.dumps(dataclasses.asdict(now)))
    recorded = {**LATER_DEFAULTS, **recorded}
    return {k: v for k, v in recorded.items()
            if k in current and k not in NEUTRAL_SETTINGS and current[k] != v}


@dataclass
class CondenseConfig:
    """One condensation: which data, method, size, preset and seed, and the method's
    overrides (``method_settings: {dc: {iterations: 50}}``, ``--set dc.iterations=50``)."""

    dataset: str = "fashion-mnist"
    method: str = "dc"
    ipc: int = 10
    preset: str = "quick"
    seed: int = 0
    method_settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Minutes of condensation after which the set is also saved (snapshots/set-<m>min.pt);
    #: they do not change the final set, so they are not part of its identity.
    snapshot_minutes: list[float] = field(default_factory=list)
    #: Condense for this many minutes of wall time and keep the set as it is then ("the best
    #: set in N minutes"). The clock, not the preset's iteration count, ends the run: the
    #: count is lifted to the paper preset's unless set explicitly. Part of the set's identity.
    budget_minutes: float | None = None

    def validate(self) -> None:
        if any(not m > 0 for m in self.snapshot_minutes):
            raise ConfigError(f"snapshot_minutes: must be positive minutes "
                              f"(got {self.snapshot_minutes})")
        if self.budget_minutes is not None and not self.budget_minutes > 0:
            raise ConfigError(f"budget_minutes: must be positive minutes "
                              f"(got {self.budget_minutes})")
        CONDENSERS.get(self.method)
        cfg.check_preset(self.preset)
        if self.ipc < 1:
            raise ConfigError(f"ipc: must be at least 1 (got {self.ipc})")
        self.method = self.method.strip().lower()
        check_method_settings(self.method_settings, [self.method], self.preset, [self.ipc])
        if self.budget_minutes is not None and "iterations" not in method_fields(self.method):
            raise ConfigError(f"budget_minutes: {self.method} does not iterate; a time budget "
                              "applies to dc, dsa and dm")

    @property
    def overrides(self) -> dict[str, Any]:
        """The run's overrides of its method's preset (part of the run directory's name)."""
        return dict(self.method_settings.get(self.method, {}))

    def method_config(self) -> Any:
        overrides = self.overrides
        if self.budget_minutes is not None and "iterations" not in overrides:
            # the budget ends the run; the paper's iteration count only bounds it
            overrides["iterations"] = make_config(self.method, "paper", self.ipc).iterations
        return make_config(self.method, self.preset, self.ipc, overrides)

    def identity(self) -> dict[str, Any]:
        """What the saved set depends on (runtime-only settings excluded)."""
        out = {"dataset": self.dataset, "method": self.method, "ipc": self.ipc,
               "seed": self.seed, "settings": neutral_free(self.method_config())}
        if self.budget_minutes is not None:
            out["budget_minutes"] = self.budget_minutes
        return out


#: Method settings that do not change the set a run produces.
NEUTRAL_SETTINGS = ("compile", "checkpoint_every")


def neutral_free(method_config: Any) -> dict[str, Any]:
    """The settings that make the set, without the neutral ones and without later-added ones at
    the value earlier sets had (so their checkpoints and sets still match): of a method's
    config, or of settings as a set recorded them (its ``hparams``)."""
    from dcbench.precision import without_later_defaults

    settings = (method_config if isinstance(method_config, dict)
                else dataclasses.asdict(method_config))
    return without_later_defaults({k: v for k, v in settings.items()
                                   if k not in NEUTRAL_SETTINGS})
