"""The configs of the two kinds of task file that the core runs: condense and evaluate.

(Continual and NAS task files load into :class:`dcbench.continual.config.ContinualConfig` and
:class:`dcbench.nas.config.NASConfig`.) Both are loaded by :func:`dcbench.config.load`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dcbench import config as cfg
from dcbench.config import ConfigError, named
from dcbench.evaluation.config import EvaluateConfig


def _dataset_shape(name: str) -> tuple[int, int, tuple[int, int]] | None:
    """(channels, classes, size) of a registered dataset, when known without loading it."""
    from dcbench.data import DATASETS

    entry = DATASETS.get(name.split(":", 1)[0])
    if entry.channels and entry.image_size and entry.num_classes:
        return entry.channels, entry.num_classes, tuple(entry.image_size)
    return None


@dataclass
class CondenseTaskConfig:
    """A condense task file: every (dataset, method, ipc, seed) unit, then an evaluation."""

    dataset: list[str]
    methods: list[str]
    ipc: list[int]
    seeds: list[int] = field(default_factory=lambda: [0])
    preset: str = "quick"  # the task file's preset
    condense_preset: str | None = None  # the methods' preset (default: the task's)
    method_settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Also save every set after these minutes of condensation and evaluate each snapshot
    #: (accuracy-vs-time curves; iterative methods only).
    snapshot_minutes: list[float] = field(default_factory=list)
    #: Condense each unit of an iterative method (dc, dsa, dm) for this many minutes (see
    #: ``dcbench condense --budget-minutes``); coresets run as they are.
    budget_minutes: float | None = None
    evaluation: EvaluateConfig | None = None

    def validate(self) -> None:
        from dcbench.condense import CONDENSERS
        from dcbench.condense.config import check_method_settings

        shapes = [named("dataset", _dataset_shape, ds) for ds in self.dataset]
        for m in self.methods:
            named("methods", CONDENSERS.get, m)
        self.methods = [m.lower() for m in self.methods]
        if not self.methods:
            raise ConfigError("methods: no methods given")
        if any(not m > 0 for m in self.snapshot_minutes):
            raise ConfigError(f"snapshot_minutes: must be positive minutes "
                              f"(got {self.snapshot_minutes})")
        if any(i < 1 for i in self.ipc):
            raise ConfigError(f"ipc: every value must be at least 1 (got {self.ipc})")
        self.condense_preset = cfg.check_preset(self.condense_preset or self.preset,
                                                where="condense_preset")
        # settings of a registered method the run leaves out are kept unused, so that
        # ``--set methods=dm`` can narrow a task file that sets several methods
        check_method_settings(self.method_settings, CONDENSERS.names(), self.condense_preset,
                              self.ipc)
        if self.evaluation is not None:
            channels, classes, size = next((s for s in shapes if s), (1, 10, (28, 28)))
            named("evaluation.models", self.evaluation.check_models, channels, classes, size)

    def units(self) -> list[tuple[str, str, int, int]]:
        """(dataset, method, ipc, seed) in the order they run: cheap methods and small ipc
        first, so that a partial run already fills tables."""
        return [(d, m, i, s) for d in self.dataset for i in self.ipc for m in self.methods
                for s in self.seeds]

    def condense_config(self, dataset: str, method: str, ipc: int, seed: int) -> Any:
        """The :class:`~dcbench.condense.config.CondenseConfig` of one unit."""
        from dcbench.condense import CondenseConfig
        from dcbench.condense.config import method_fields

        settings = self.method_settings.get(method)
        iterates = "iterations" in method_fields(method)
        return cfg.load(CondenseConfig, {
            "dataset": dataset, "method": method, "ipc": ipc, "seed": seed,
            "preset": self.condense_preset, "snapshot_minutes": list(self.snapshot_minutes),
            "budget_minutes": self.budget_minutes if iterates else None,
            "method_settings": {method: settings} if settings else {}})


@dataclass
class EvaluateTaskConfig:
    """An evaluate task file: saved sets (paths or glob patterns) and how to evaluate them."""

    sets: list[str]
    evaluation: EvaluateConfig = field(default_factory=EvaluateConfig)
