"""The continual-learning experiment's settings: one dataclass, loaded by the config layer.

A task file (``tasks/continual-*.yaml``) holds :class:`ContinualConfig`'s keys; its
``presets`` are merged by the task loader like every kind's (:mod:`dcbench.tasks.spec`)::

    kind: continual
    dataset: fashion-mnist
    experiences: 5
    ipc: 10
    buffers: [condensed, herding, random]
    protocol: gdumb
    seeds: [0, 1, 2]
    presets:
      quick: {epochs: 300, method_settings: {dc: {iterations: 10}}}

Resolution order, later wins: the preset's defaults (:data:`PRESET_DEFAULTS`, applied by
``validate`` to the settings left unset) < top-level keys < ``presets.<preset>`` < command-line
options < ``--set``. This module imports neither Avalanche nor the training code.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from dcbench import config as cfg
from dcbench.config import ConfigError

IMAGE_FORMATS = ("rgb32", "grey28")

#: What each preset sets unless the task or the command line says otherwise.
#: ``paper`` keeps the papers' settings: the paper ConvNet, the core protocol's 300 epochs for
#: GDumb (a fresh model trained on the memory, exactly the evaluation of a condensed set) and each
#: condensation method's own ``paper`` preset. ``quick`` is sized so that Split Fashion-MNIST with
#: three buffers and three seeds fits ~30 CPU-minutes at one thread per process (see
#: dcbench/continual/README.md for the measurements): a narrower ConvNet (width 32, same depth,
#: norm, activation and pooling) used both to learn and to condense, 20 DC iterations per
#: experience without ``torch.compile`` (recompiling for every experience costs more than it
#: saves) and 2 fine-tuning epochs for the replay protocols.
PRESET_DEFAULTS: dict[str, dict[str, Any]] = {
    "paper": {
        "model": "convnet",
        "epochs_by_protocol": {"gdumb": 300, "replay": 30, "replay+kd": 30},
        "method_settings": {},
    },
    "quick": {
        "model": "convnet:width=32",
        "epochs_by_protocol": {"gdumb": 300, "replay": 2, "replay+kd": 2},
        "method_settings": {"dc": {"iterations": 20, "compile": False}},
    },
}


@dataclass
class ContinualConfig:
    """Everything that defines a continual-learning experiment (recorded in config.json)."""

    dataset: str = "fashion-mnist"
    #: A dataset sequence, one experience per dataset (e.g. [svhn, mnist, usps]); the datasets
    #: share one label space and are harmonised to ``image_format``. Replaces ``dataset``.
    sequence: list[str] | None = None
    image_format: str = "rgb32"
    experiences: int = 5
    #: Explicit class order (a permutation of the dataset's classes); default: drawn per seed.
    class_order: list[int] | None = None
    ipc: int = 10
    buffers: list[str] = field(default_factory=lambda: ["condensed"])
    method: str = "dc"  # the method behind ``condensed``
    method_settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    protocol: str = "gdumb"
    model: str | None = None  # None: the preset's
    epochs: int | None = None  # None: the preset's for the protocol
    training: dict[str, Any] = field(default_factory=dict)  # EvalProtocol overrides
    replay_batch: int | None = None  # memory samples per mini-batch (None: the batch size)
    kd_alpha: float = 1.0
    kd_temperature: float = 2.0
    seeds: list[int] = field(default_factory=lambda: [0])
    preset: str = "quick"
    name: str | None = None
    #: Runtime, not part of the experiment: (buffer, seed) units run in ``jobs`` processes of
    #: ``threads`` torch threads each (None: torch's default).
    jobs: int = 1
    threads: int | None = None

    # ------------------------------------------------------------------ validation
    def validate(self) -> None:
        """Names against the registries, impossible values, then the preset's defaults."""
        from dcbench.condense import CONDENSERS
        from dcbench.continual.memories import buffer_kind
        from dcbench.continual.protocols import PROTOCOLS

        self.buffers = [b.lower() for b in self.buffers]
        self.protocol, self.method = self.protocol.lower(), self.method.lower()
        self.image_format = self.image_format.lower()
        if self.sequence is not None:
            self.sequence = [s.lower() for s in self.sequence]
        cfg.check_preset(self.preset)
        for key in ("ipc", "experiences", "jobs"):
            if getattr(self, key) < 1:
                raise ConfigError(f"{key}: must be at least 1 (got {getattr(self, key)})")
        for key in ("epochs", "replay_batch", "threads"):
            if getattr(self, key) is not None and getattr(self, key) < 1:
                raise ConfigError(f"{key}: must be at least 1 (got {getattr(self, key)})")
        PROTOCOLS.get(self.protocol)
        if not self.buffers:
            raise ConfigError("buffers: no buffers given")
        for b in self.buffers:
            buffer_kind(b)
        for key in ("buffers", "seeds"):
            values = getattr(self, key)
            if len(set(values)) != len(values):
                raise ConfigError(f"{key}: a value is listed twice in {values}")
        if self.protocol == "gdumb" and "none" in self.buffers:
            raise ConfigError("buffers: 'none' leaves gdumb nothing to train on; use it with "
                              "--protocol replay")
        CONDENSERS.get(self.method)
        for method in self.method_settings:
            CONDENSERS.get(method)
        if not self.seeds:
            raise ConfigError("seeds: no seeds given")
        if self.image_format not in IMAGE_FORMATS:
            raise ConfigError(f"image_format: unknown {self.image_format!r}; known: "
                              f"{', '.join(IMAGE_FORMATS)}")
        if self.sequence is not None:
            if not self.sequence:
                raise ConfigError("sequence: must name at least one dataset")
            if self.class_order is not None:
                raise ConfigError("class_order: applies to a single dataset, not a sequence")
        if self.kd_temperature <= 0 or self.kd_alpha < 0:
            raise ConfigError("kd_temperature: must be positive and kd_alpha non-negative")
        self._apply_preset()
        self.eval_protocol()
        for method in sorted(set(self.methods_used()) | set(self.method_settings)):
            self.method_config(method)  # unknown or invalid settings fail here

    def _apply_preset(self) -> None:
        defaults = PRESET_DEFAULTS[self.preset]
        if self.model is None:
            self.model = defaults["model"]
        if self.epochs is None and self.protocol in defaults["epochs_by_protocol"]:
            self.epochs = defaults["epochs_by_protocol"][self.protocol]
        self.method_settings = cfg.merge(defaults["method_settings"], self.method_settings)

    # ------------------------------------------------------------------ derived settings
    @property
    def num_experiences(self) -> int:
        return len(self.sequence) if self.sequence is not None else self.experiences

    def dataset_label(self) -> str:
        return "→".join(self.sequence) if self.sequence is not None else self.dataset

    def buffer_method(self, buffer: str) -> str | None:
        """The condensation method behind a buffer (None for reservoir/none)."""
        from dcbench.continual.memories import buffer_kind

        return buffer_kind(buffer).method(self.method)

    def methods_used(self) -> list[str]:
        methods = [self.buffer_method(b) for b in self.buffers]
        return sorted({m for m in methods if m is not None})

    def method_overrides(self, method: str) -> dict[str, Any]:
        """The task's settings for ``method``; its ``model`` defaults to the learner's."""
        from dcbench.condense.config import method_fields

        settings = dict(self.method_settings.get(method, {}))
        if "model" in method_fields(method) and "model" not in settings:
            settings["model"] = self.model
        return settings

    def method_config(self, method: str) -> Any:
        """The resolved Config dataclass of ``method`` at this preset and ipc."""
        from dcbench.condense.config import make_config

        return make_config(method, self.preset, self.ipc, self.method_overrides(method))

    def eval_protocol(self) -> Any:
        """The core evaluation protocol with this task's epochs and ``training`` overrides."""
        from dcbench.evaluation.protocol import EvalProtocol

        settings: dict[str, Any] = {"num_models": 1, "test_batch": 256, **self.training}
        if self.epochs is not None:
            settings["epochs"] = self.epochs
        return cfg.load(EvalProtocol, settings, where="training.")

    def training_protocol(self, dataset: str) -> Any:
        """The protocol every step trains with, resolved for ``dataset`` and the run's model
        (the same for every buffer, so the buffers stay comparable)."""
        return self.eval_protocol().resolved(dataset, model=self.model)

    def identity(self) -> dict[str, Any]:
        """What a finished step depends on: all settings except the buffer/seed lists and name.

        A resumed run must agree on these; buffers and seeds may be added to a run directory.
        """
        d = self.to_dict()
        for key in ("buffers", "seeds", "name", "jobs", "threads"):
            d.pop(key)
        return d

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def run_name(self) -> str:
        if self.name:
            return self.name
        data = "-".join(self.sequence) if self.sequence else self.dataset
        return f"{data}-{self.protocol}-ipc{self.ipc}-{self.preset}"
