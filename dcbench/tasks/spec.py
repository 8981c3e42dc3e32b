"""Task files: YAML specs of an experiment with a ``quick`` and a ``paper`` preset.

::

    kind: condense                 # condense | evaluate | continual | nas
    description: Table 1 on Fashion-MNIST ...
    expected_time: {quick: "~2 h", paper: "~3 weeks"}   # on 2 CPU cores, per preset
    methods: [dc, random]          # ... the kind's own keys, shared by every preset
    presets:
      quick: {seeds: [0]}          # per preset: any of the kind's keys, merged over the above
      paper: {seeds: [0, 1, 2, 3, 4]}

A file's kind names its config class; every preset of the file is loaded into that class by
the one configuration layer (:mod:`dcbench.config`) when the file is read, so an unknown key or
a bad value is a one-line :class:`TaskError` naming the file and the key. ``--set key=value``
overrides (dotted keys reach into mappings: ``evaluation.num_models=2``; ``dc.iterations=5``
is short for ``method_settings.dc.iterations=5``) are validated the same way, and the runner of
the kind receives exactly the validated config.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dcbench import config as cfg
from dcbench.errors import DcbenchError
from dcbench.registry import Registry

COMMON_KEYS = ("kind", "description", "expected_time", "presets")


class TaskError(DcbenchError):
    """A task file (or an override) that does not validate."""


class KindUnavailable(TaskError):
    """The package that validates and runs this kind is not importable here."""


def _import(target: str) -> Any:
    """``"module:attribute"`` → the attribute (the kind's package is imported when used)."""
    module, attr = target.split(":")
    try:
        return getattr(importlib.import_module(module), attr)
    except ModuleNotFoundError as exc:
        if exc.name and module.startswith(exc.name):
            raise KindUnavailable(f"{module} is not available in this install") from None
        raise


@dataclass(frozen=True)
class TaskKind:
    """One kind of task file: the config class its presets load into and its runner."""

    name: str
    summary: str
    config: str  # "module:Class", loaded by dcbench.config.load
    runner: str  # "module:function" taking (config, options)

    def config_class(self) -> type:
        return _import(self.config)

    def run(self, config: Any, options: Any) -> Any:
        return _import(self.runner)(config, options)


KINDS: Registry[TaskKind] = Registry("task kind")
for _kind in (
    TaskKind("condense", "condense sets (and evaluate them)",
             "dcbench.tasks.config:CondenseTaskConfig", "dcbench.tasks.runners:run_condense"),
    TaskKind("evaluate", "evaluate saved sets",
             "dcbench.tasks.config:EvaluateTaskConfig", "dcbench.tasks.runners:run_evaluate"),
    TaskKind("continual", "continual learning with a condensed memory",
             "dcbench.continual.config:ContinualConfig", "dcbench.tasks.runners:run_continual"),
    TaskKind("nas", "architecture search on a proxy set",
             "dcbench.nas.config:NASConfig", "dcbench.tasks.runners:run_nas"),
):
    KINDS.register(_kind.name)(_kind)


def method_names() -> list[str]:
    from dcbench.condense import CONDENSERS

    return CONDENSERS.names()


@dataclass
class TaskFile:
    """A loaded task file."""

    path: Path
    kind: str
    description: str
    expected_time: dict[str, str]
    body: dict[str, Any]  # the kind's keys shared by every preset
    presets: dict[str, dict[str, Any]]

    @property
    def name(self) -> str:
        return self.path.stem

    def config_class(self) -> type:
        return KINDS.get(self.kind).config_class()

    def overrides(self, assignments: dict[str, Any] | None) -> dict[str, Any]:
        """Flat ``--set`` keys → nested overrides of the kind's config."""
        for key in assignments or {}:
            if key.split(".")[0] in COMMON_KEYS:
                raise TaskError(f"{self.path}: --set {key}: {key!r} cannot be overridden")
        try:
            return cfg.apply_set(assignments or {}, cfg.field_names(self.config_class()),
                                 method_names())
        except TaskError:
            raise
        except DcbenchError as exc:
            raise TaskError(f"{self.path}: {exc}") from None

    def resolved(self, preset: str, assignments: dict[str, Any] | None = None
                 ) -> dict[str, Any]:
        """The kind's settings for ``preset``: shared keys, then the preset's, then the
        ``--set`` assignments (mappings merge key by key; anything else replaces)."""
        if preset not in self.presets:
            raise TaskError(f"{self.path}: no preset {preset!r}; presets: "
                            f"{', '.join(self.presets)}")
        return cfg.merge(self.body, self.presets[preset], self.overrides(assignments))

    def config(self, preset: str, assignments: dict[str, Any] | None = None) -> Any:
        """The validated config of ``preset`` (with ``--set`` assignments): what runs."""
        resolved = self.resolved(preset, assignments)
        try:
            cls = self.config_class()
            if "preset" in cfg.field_names(cls):
                resolved = {"preset": preset, **resolved}
            return cfg.load(cls, resolved)
        except DcbenchError as exc:
            where = f"{self.path} (preset {preset}"
            where += ", with --set)" if assignments else ")"
            kind = KindUnavailable if isinstance(exc, KindUnavailable) else TaskError
            raise kind(f"{where}: {exc}") from None


def run_task(task: TaskFile, preset: str, assignments: dict[str, Any], options: Any) -> Any:
    """Validate ``task`` at ``preset`` with the ``--set`` assignments and run exactly that
    config with the kind's runner (``options``: :class:`dcbench.tasks.runners.RunOptions`)."""
    config = task.config(preset, assignments)
    if options.dry_run:
        options.echo(f"{task.kind} task {task.name}, preset {preset}, settings:")
        options.echo(json.dumps(dataclasses.asdict(config), indent=2, default=str))
        if task.kind not in ("condense", "evaluate"):  # these list their units
            return None
    return KINDS.get(task.kind).run(config, options)


def _check_common(path: Path, raw: dict[str, Any]) -> None:
    """The keys every task file has, and (for a known kind) every unknown key, in one error."""
    missing = [k for k in COMMON_KEYS if k not in raw]
    unknown: list[str] = []
    kind = raw.get("kind")
    if kind in KINDS:
        try:
            allowed = cfg.allowed_keys(KINDS.get(kind).config_class())
        except KindUnavailable:
            allowed = None
        if allowed is not None:
            unknown = [str(k) for k in raw if k not in COMMON_KEYS and k not in allowed]
    problems = cfg.key_problems(unknown, missing, repr)
    if problems:
        raise TaskError(f"{path}: {problems}")


def load_task_file(path: str | Path, check: bool = True) -> TaskFile:
    """Read a task file and validate every preset of it (unless ``check`` is false)."""
    path = Path(path)
    try:
        raw = cfg.read_yaml(path)
    except DcbenchError as exc:
        raise TaskError(str(exc)) from None
    if not isinstance(raw, dict):
        raise TaskError(f"{path}: a task file is a YAML mapping with kind, description, "
                        "expected_time and presets")
    kind = raw.get("kind")
    if kind is not None and kind not in KINDS:
        raise TaskError(f"{path}: kind: unknown kind {kind!r}; known: {', '.join(KINDS)}")
    _check_common(path, raw)
    if not isinstance(raw["description"], str) or not raw["description"].strip():
        raise TaskError(f"{path}: description: must be a non-empty string")
    presets = raw["presets"]
    if not isinstance(presets, dict) or not presets:
        raise TaskError(f"{path}: presets: must map preset names to settings")
    for name in cfg.PRESETS:
        if name not in presets:
            raise TaskError(f"{path}: presets: the {name!r} preset is missing")
    for name, settings in presets.items():
        if settings is None:
            presets[name] = {}
        elif not isinstance(settings, dict):
            raise TaskError(f"{path}: presets.{name}: must be a mapping of settings")
        for key in presets[name]:
            if key in COMMON_KEYS:
                raise TaskError(f"{path}: presets.{name}.{key}: not allowed inside a preset")
    expected = raw["expected_time"]
    if not isinstance(expected, dict):
        raise TaskError(f"{path}: expected_time: must map each preset to a time, "
                        "e.g. {quick: '10 min', paper: '2 days'}")
    for name in presets:
        if not isinstance(expected.get(name), str | int | float):
            raise TaskError(f"{path}: expected_time.{name}: missing (a time on 2 CPU cores)")
    unknown = [k for k in expected if k not in presets]
    if unknown:
        raise TaskError(f"{path}: expected_time.{unknown[0]}: no such preset")
    task = TaskFile(
        path=path, kind=kind, description=raw["description"],
        expected_time={k: str(v) for k, v in expected.items()},
        body={k: v for k, v in raw.items() if k not in COMMON_KEYS},
        presets=presets,
    )
    if check:
        for name in presets:
            task.config(name)
    return task


def task_dirs() -> list[Path]:
    """Where ``dcbench tasks`` looks: ./tasks, else the tasks/ of the dcbench checkout."""
    import dcbench

    here = Path("tasks")
    repo = Path(dcbench.__file__).resolve().parents[1] / "tasks"
    return [p for p in (here, repo) if p.is_dir()][:1]


def list_task_files(directory: str | Path | None = None) -> list[Path]:
    dirs = [Path(directory)] if directory is not None else task_dirs()
    return sorted(p for d in dirs for p in (*d.glob("*.yaml"), *d.glob("*.yml")))
