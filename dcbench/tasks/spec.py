"""Task files: YAML specs of an experiment with a ``quick`` and a ``paper`` preset.

::

    kind: condense                 # condense | evaluate | continual | nas
    description: Table 1 on Fashion-MNIST ...
    expected_time: {quick: "~2 h", paper: "~3 weeks"}   # on 2 CPU cores, per preset
    methods: [dc, random]          # ... the kind's own keys, shared by every preset
    presets:
      quick: {seeds: [0]}          # per preset: any of the kind's keys, merged over the above
      paper: {seeds: [0, 1, 2, 3, 4]}

A file is validated when loaded, every preset of it: an unknown key or a bad value is a
one-line :class:`DcbenchError` naming the file and the key. ``--set key=value`` overrides
(dotted keys reach into mappings: ``evaluation.num_models=2``) are validated the same way.
"""

from __future__ import annotations

import copy
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dcbench.errors import DcbenchError

COMMON_KEYS = ("kind", "description", "expected_time", "presets")
REQUIRED_PRESETS = ("quick", "paper")


class TaskError(DcbenchError):
    """A task file (or an override) that does not validate."""


class KindUnavailable(TaskError):
    """The package that validates and runs this kind is not importable here."""


@dataclass(frozen=True)
class TaskKind:
    """How one kind of task is validated and run (the runner is imported when used)."""

    name: str
    summary: str
    #: ``validate(resolved, preset) -> config``; raises TaskError/DcbenchError naming the key.
    validate: Callable[[dict[str, Any], str], Any]
    #: ``"module:function"`` running ``(task, preset, overrides, options)``.
    runner: str


KINDS: dict[str, TaskKind] = {}


def register_kind(kind: TaskKind) -> TaskKind:
    KINDS[kind.name] = kind
    return kind


@dataclass
class TaskFile:
    """A loaded, validated task file."""

    path: Path
    kind: str
    description: str
    expected_time: dict[str, str]
    body: dict[str, Any]  # the kind's keys shared by every preset
    presets: dict[str, dict[str, Any]]
    raw: dict[str, Any] = field(repr=False, default_factory=dict)

    @property
    def name(self) -> str:
        return self.path.stem

    def resolved(self, preset: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
        """The kind's settings for ``preset``: shared keys, then the preset's, then overrides
        (mappings merge key by key; anything else replaces)."""
        if preset not in self.presets:
            raise TaskError(f"{self.path}: no preset {preset!r}; presets: "
                            f"{', '.join(self.presets)}")
        out = deep_merge(self.body, self.presets[preset])
        for key, value in (overrides or {}).items():
            if key in COMMON_KEYS:
                raise TaskError(f"{self.path}: --set {key}: {key!r} cannot be overridden")
            try:
                set_dotted(out, key, value)
            except TaskError as exc:
                raise TaskError(f"{self.path}: {exc}") from None
        return out

    def config(self, preset: str, overrides: dict[str, Any] | None = None) -> Any:
        """The validated settings of ``preset`` (with ``overrides``), as the kind's config."""
        resolved = self.resolved(preset, overrides)
        try:
            return KINDS[self.kind].validate(resolved, preset)
        except DcbenchError as exc:
            where = f"{self.path} (preset {preset}"
            where += ", with --set)" if overrides else ")"
            cls = KindUnavailable if isinstance(exc, KindUnavailable) else TaskError
            raise cls(f"{where}: {exc}") from None

    def first_line(self) -> str:
        return self.description.strip().splitlines()[0] if self.description.strip() else ""


def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def set_dotted(target: dict[str, Any], key: str, value: Any) -> None:
    parts = key.split(".")
    node = target
    for i, part in enumerate(parts[:-1]):
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            raise TaskError(f"--set {key}: {'.'.join(parts[:i + 1])} is not a mapping")
        node = child
    node[parts[-1]] = value


def _ensure_kinds() -> None:
    # the built-in kinds register on import
    importlib.import_module("dcbench.tasks.kinds")


def read_yaml(path: str | Path) -> Any:
    """The parsed YAML at ``path``; a one-line TaskError if it is missing or malformed."""
    path = Path(path)
    if not path.is_file():
        raise TaskError(f"no task file at {path}")
    try:
        return yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise TaskError(f"{path}: not valid YAML{where}") from None


def load_task_file(path: str | Path, check: bool = True) -> TaskFile:
    """Read and validate a task file (all its presets unless ``check`` is false)."""
    _ensure_kinds()
    path = Path(path)
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise TaskError(f"{path}: a task file is a YAML mapping with kind, description, "
                        "expected_time and presets")
    for key in ("kind", "description", "expected_time", "presets"):
        if key not in raw:
            raise TaskError(f"{path}: missing key {key!r}")
    kind = raw["kind"]
    if kind not in KINDS:
        raise TaskError(f"{path}: kind: unknown kind {kind!r}; known: {', '.join(KINDS)}")
    if not isinstance(raw["description"], str) or not raw["description"].strip():
        raise TaskError(f"{path}: description: must be a non-empty string")
    presets = raw["presets"]
    if not isinstance(presets, dict) or not presets:
        raise TaskError(f"{path}: presets: must map preset names to settings")
    for name in REQUIRED_PRESETS:
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
        path=path,
        kind=kind,
        description=raw["description"],
        expected_time={k: str(v) for k, v in expected.items()},
        body={k: v for k, v in raw.items() if k not in COMMON_KEYS},
        presets=presets,
        raw=raw,
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
