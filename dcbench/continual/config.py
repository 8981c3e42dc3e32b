"""The continual-learning task: one validated dataclass, YAML task files, presets, overrides.

A task file (``tasks/continual-*.yaml``) holds the keys of :class:`ContinualConfig` plus
``kind: continual``, an optional ``description`` and an optional ``presets`` mapping whose
``quick``/``paper`` entries override the top-level keys for that preset::

    kind: continual
    dataset: fashion-mnist
    experiences: 5
    ipc: 10
    buffers: [condensed, herding, random]
    protocol: gdumb
    seeds: [0, 1, 2]
    presets:
      quick: {epochs: 300, method_settings: {dc: {iterations: 10}}}

Resolution order, later wins: built-in preset defaults (:data:`PRESET_DEFAULTS`) < top-level
keys < ``presets.<preset>`` < command-line overrides. Unknown keys, wrong types and impossible
values fail with a one-line :class:`~dcbench.errors.DcbenchError` naming the key.

This module imports neither Avalanche nor the training code: the generic task runner
(``dcbench run tasks/<file>.yaml``) can validate a file cheaply and then call
:func:`run_continual_task`.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dcbench.continual.values import (
    as_float,
    as_int,
    as_list,
    as_mapping,
    as_method_settings,
    as_str,
    merge_settings,
)
from dcbench.errors import DcbenchError

KIND = "continual"
PRESETS = ("quick", "paper")
PROTOCOLS = ("gdumb", "replay", "replay+kd")
IMAGE_FORMATS = ("rgb32", "grey28")
#: Buffers that are not condensation methods (the others are registered condensers).
SPECIAL_BUFFERS = ("condensed", "reservoir", "none")
#: Settings of the core evaluation protocol a task may override (``training:``).
TRAINING_KEYS = ("lr", "momentum", "weight_decay", "batch_size", "lr_decay_at", "augment",
                 "test_batch")

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

#: Keys of a task file that are not settings (``expected_time``: the generic task files').
_META_KEYS = ("kind", "description", "expected_time", "presets", "preset")


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
    training: dict[str, Any] = field(default_factory=dict)  # core EvalProtocol overrides
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

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, Any] | None = None,
        preset: str | None = None,
        overrides: Mapping[str, Any] | None = None,
    ) -> ContinualConfig:
        """Validate a task mapping, apply the preset and ``overrides``; fill every default."""
        data = dict(data or {})
        _check_keys(data, allowed=_field_names() + list(_META_KEYS), where="task")
        kind = data.get("kind", KIND)
        if kind != KIND:
            raise DcbenchError(f"task kind is {kind!r}; this runner takes kind: {KIND}")
        overrides = _undot({k: v for k, v in (overrides or {}).items() if v is not None})
        _check_keys(overrides, allowed=_field_names(), where="overrides")
        chosen = preset or overrides.get("preset") or data.get("preset") or "quick"
        if chosen not in PRESETS:
            raise DcbenchError(f"unknown preset {chosen!r}; known: {', '.join(PRESETS)}")
        per_preset = data.get("presets") or {}
        if not isinstance(per_preset, Mapping):
            raise DcbenchError("task key 'presets' must map quick/paper to settings")
        for name, block in per_preset.items():
            if name not in PRESETS:
                raise DcbenchError(f"unknown preset {name!r} under 'presets'; known: "
                                   f"{', '.join(PRESETS)}")
            if not isinstance(block, Mapping):
                raise DcbenchError(f"'presets.{name}' must be a mapping of settings")
            _check_keys(block, allowed=_field_names(), where=f"presets.{name}")
        merged: dict[str, Any] = {}
        for layer in (
            {k: v for k, v in data.items() if k not in _META_KEYS},
            per_preset.get(chosen) or {},
            overrides,
        ):
            for key, value in layer.items():
                if key == "method_settings":
                    merged[key] = merge_settings(merged.get(key, {}), as_method_settings(value))
                elif key == "training":
                    merged[key] = {**merged.get(key, {}), **as_mapping(value, key)}
                else:
                    merged[key] = value
        merged["preset"] = chosen
        config = cls(**{k: _coerce(k, v) for k, v in merged.items()})
        config._apply_preset()
        config.validate()
        return config

    def _apply_preset(self) -> None:
        defaults = PRESET_DEFAULTS[self.preset]
        if self.model is None:
            self.model = defaults["model"]
        if self.epochs is None and self.protocol in defaults["epochs_by_protocol"]:
            self.epochs = defaults["epochs_by_protocol"][self.protocol]
        self.method_settings = merge_settings(
            copy.deepcopy(defaults["method_settings"]), self.method_settings
        )

    # ------------------------------------------------------------------ validation
    def validate(self) -> None:
        """One-line errors for impossible values (names are checked against the registries)."""
        from dcbench.condense import method_names

        if self.ipc < 1:
            raise DcbenchError(f"ipc must be at least 1 (got {self.ipc})")
        if self.experiences < 1:
            raise DcbenchError(f"experiences must be at least 1 (got {self.experiences})")
        if self.protocol not in PROTOCOLS:
            raise DcbenchError(
                f"unknown protocol {self.protocol!r}; known: {', '.join(PROTOCOLS)}"
            )
        if not self.buffers:
            raise DcbenchError("no buffers given")
        known = buffer_names()
        for b in self.buffers:
            if b not in known:
                raise DcbenchError(f"unknown buffer {b!r}; known: {', '.join(known)}")
        if len(set(self.buffers)) != len(self.buffers):
            raise DcbenchError(f"a buffer is listed twice in {self.buffers}")
        if self.protocol == "gdumb" and "none" in self.buffers:
            raise DcbenchError(
                "buffer 'none' leaves gdumb nothing to train on; use it with --protocol replay"
            )
        if self.method not in method_names():
            raise DcbenchError(
                f"unknown condensation method {self.method!r}; known: {', '.join(method_names())}"
            )
        for method in self.method_settings:
            if method not in method_names():
                raise DcbenchError(
                    f"method_settings names unknown method {method!r}; "
                    f"known: {', '.join(method_names())}"
                )
        if not self.seeds:
            raise DcbenchError("no seeds given")
        if len(set(self.seeds)) != len(self.seeds):
            raise DcbenchError(f"a seed is listed twice in {self.seeds}")
        if self.preset not in PRESETS:
            raise DcbenchError(f"unknown preset {self.preset!r}; known: {', '.join(PRESETS)}")
        if self.image_format not in IMAGE_FORMATS:
            raise DcbenchError(
                f"unknown image_format {self.image_format!r}; known: {', '.join(IMAGE_FORMATS)}"
            )
        if self.sequence is not None:
            if len(self.sequence) < 1:
                raise DcbenchError("sequence must name at least one dataset")
            if self.class_order is not None:
                raise DcbenchError("class_order applies to a single dataset, not a sequence")
        if self.epochs is not None and self.epochs < 1:
            raise DcbenchError(f"epochs must be at least 1 (got {self.epochs})")
        if self.replay_batch is not None and self.replay_batch < 1:
            raise DcbenchError(f"replay_batch must be at least 1 (got {self.replay_batch})")
        if self.jobs < 1 or (self.threads is not None and self.threads < 1):
            raise DcbenchError("jobs and threads must be at least 1")
        if self.kd_temperature <= 0 or self.kd_alpha < 0:
            raise DcbenchError("kd_temperature must be positive and kd_alpha non-negative")
        for key in self.training:
            if key not in TRAINING_KEYS:
                raise DcbenchError(
                    f"unknown training setting {key!r}; known: {', '.join(TRAINING_KEYS)}"
                )
        self.eval_protocol().validate()
        for method in sorted(set(self.methods_used()) | set(self.method_settings)):
            self.method_config(method)  # unknown or invalid settings fail here

    # ------------------------------------------------------------------ derived settings
    @property
    def num_experiences(self) -> int:
        return len(self.sequence) if self.sequence is not None else self.experiences

    def dataset_label(self) -> str:
        return "→".join(self.sequence) if self.sequence is not None else self.dataset

    def buffer_method(self, buffer: str) -> str | None:
        """The condensation method behind a buffer (None for reservoir/none)."""
        if buffer == "condensed":
            return self.method
        return None if buffer in SPECIAL_BUFFERS else buffer

    def methods_used(self) -> list[str]:
        methods = [self.buffer_method(b) for b in self.buffers]
        return sorted({m for m in methods if m is not None})

    def method_overrides(self, method: str) -> dict[str, Any]:
        """The task's settings for ``method``; its ``model`` defaults to the learner's."""
        from dcbench.condense import CONDENSERS

        settings = dict(self.method_settings.get(method, {}))
        fields = {f.name for f in dataclasses.fields(CONDENSERS.get(method).Config)}
        if "model" in fields and "model" not in settings:
            settings["model"] = self.model
        return settings

    def method_config(self, method: str) -> Any:
        """The resolved Config dataclass of ``method`` at this preset and ipc."""
        from dcbench.condense import make_config

        return make_config(method, self.preset, self.ipc, self.method_overrides(method))

    def eval_protocol(self) -> Any:
        """The core evaluation protocol with this task's epochs and training overrides."""
        from dcbench.evaluation.protocol import EvalProtocol

        settings: dict[str, Any] = {"num_models": 1, "test_batch": 256}
        settings.update(self.training)
        if self.epochs is not None:
            settings["epochs"] = self.epochs
        try:
            return EvalProtocol(**settings)
        except TypeError as exc:
            raise DcbenchError(f"bad training settings: {exc}") from None

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


def buffer_names() -> list[str]:
    from dcbench.condense import method_names

    return sorted(set(SPECIAL_BUFFERS) | set(method_names()))


# ---------------------------------------------------------------------- task files
def load_task_file(path: str | Path) -> dict[str, Any]:
    """Read a YAML task file into a mapping (one-line errors for missing or malformed files)."""
    from dcbench.tasks.spec import read_yaml

    data = read_yaml(path)
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise DcbenchError(f"task file {path} must hold a mapping of settings")
    return dict(data)


def run_continual_task(
    config: Mapping[str, Any] | ContinualConfig,
    preset: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    *,
    out: str | Path | None = None,
    threads: int | None = None,
    device: str = "auto",
    quiet: bool = False,
    data_root: str | Path | None = None,
    download: bool = False,
    jobs: int | None = None,
) -> Any:
    """Run a continual-learning task given as a mapping (a parsed task file) or a config.

    This is the entry point the generic task runner calls. ``overrides`` are ContinualConfig
    keys (None values are ignored; dotted keys reach into ``method_settings``/``training``);
    ``out`` is the run directory to create or resume; ``threads``/``jobs`` default to the task's.
    Returns a :class:`dcbench.continual.runner.RunResult` (run directory, metrics).
    """
    if not isinstance(config, ContinualConfig):
        config = ContinualConfig.from_dict(config, preset, overrides)
    elif preset is not None or overrides:
        config = ContinualConfig.from_dict(
            {k: v for k, v in config.to_dict().items() if v is not None}, preset, overrides
        )
    from dcbench.continual.runner import run_experiment

    return run_experiment(
        config, out=out, threads=threads if threads is not None else config.threads,
        device=device, quiet=quiet, data_root=data_root, download=download,
        jobs=jobs if jobs is not None else config.jobs,
    )


# ---------------------------------------------------------------------- helpers
def _field_names() -> list[str]:
    return [f.name for f in dataclasses.fields(ContinualConfig)]


def _check_keys(data: Mapping[str, Any], allowed: list[str], where: str) -> None:
    for key in data:
        if key not in allowed:
            raise DcbenchError(
                f"unknown key {key!r} in {where}; known keys: {', '.join(sorted(allowed))}"
            )


def _undot(overrides: dict[str, Any]) -> dict[str, Any]:
    """``{"method_settings.dc.iterations": 5}`` -> ``{"method_settings": {"dc": {...}}}``
    (the generic task runner's ``--set`` passes dotted keys)."""
    from dcbench.tasks.spec import set_dotted

    out: dict[str, Any] = {}
    for key, value in overrides.items():
        set_dotted(out, str(key), value)
    return out


def _coerce(key: str, value: Any) -> Any:
    """Type-check one ContinualConfig field value."""
    if value is None:
        if key in ("sequence", "class_order", "model", "epochs", "replay_batch", "name",
                   "threads"):
            return None
        raise DcbenchError(f"{key} must not be empty")
    if key in ("experiences", "ipc", "epochs", "replay_batch", "jobs", "threads"):
        return as_int(key, value)
    if key in ("kd_alpha", "kd_temperature"):
        return as_float(key, value)
    if key in ("seeds", "class_order"):
        return [as_int(key, v) for v in as_list(key, value)]
    if key in ("buffers", "sequence"):
        return [as_str(key, v).lower() for v in as_list(key, value)]
    if key == "method_settings":
        return as_method_settings(value)
    if key == "training":
        return as_mapping(value, key)
    if key in ("protocol", "method", "preset", "image_format"):
        return as_str(key, value).lower()
    return as_str(key, value)
