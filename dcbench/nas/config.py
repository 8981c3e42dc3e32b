"""The NAS experiment's settings: one dataclass, two presets, a validating loader.

``NASConfig.from_dict`` checks a task file's (or the CLI's) settings; an unknown key or a bad
value is a one-line :class:`~dcbench.errors.DcbenchError` naming the key. Settings left unset
(``None``) take the preset's value:

========================  =============================  ==================================
setting                   quick (2 CPU cores)            paper (DC paper, Sec. 4.3)
========================  =============================  ==================================
epochs (on each proxy)    100                            100
whole_epochs              8                              100 (not stated in the paper)
whole_per_class           500 (5000 images on 10 cls)    0 = the whole training split
test_per_class            200 (2000 test images)         0 = the whole test split
condense preset           quick                          paper
========================  =============================  ==================================

The quick ground truth is therefore *a quick ground truth* — 8 epochs on a 500-per-class
subset, scored on 2000 test images — and every result file says so.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dcbench.errors import DcbenchError

META_KEYS = ("kind", "description", "expected_time", "presets")


@dataclass(frozen=True)
class NASPreset:
    epochs: int
    whole_epochs: int
    whole_per_class: int
    test_per_class: int
    condense_preset: str


NAS_PRESETS: dict[str, NASPreset] = {
    "quick": NASPreset(epochs=100, whole_epochs=8, whole_per_class=500, test_per_class=200,
                       condense_preset="quick"),
    "paper": NASPreset(epochs=100, whole_epochs=100, whole_per_class=0, test_per_class=0,
                       condense_preset="paper"),
}

_INT_KEYS = ("ipc", "epochs", "whole_epochs", "whole_per_class", "test_per_class", "top_k",
             "proxy_seed", "workers", "threads")
_MIN = {"ipc": 1, "epochs": 1, "whole_epochs": 1, "whole_per_class": 0, "test_per_class": 0,
        "top_k": 1, "workers": 1, "threads": 1}
_STR_KEYS = ("dataset", "condensed_set", "condense_method", "executor", "address", "preset",
             "out", "cache", "device", "data_root")
_BOOL_KEYS = ("download", "quiet")


@dataclass
class NASConfig:
    """Everything that defines a NAS-proxy run (see the module docstring for the presets)."""

    space: str | dict[str, Any] = "convnet-grid-small"
    proxies: list[str] = field(default_factory=lambda: list(_default_proxies()))
    dataset: str = "fashion-mnist"
    ipc: int = 10
    condensed_set: str | None = None
    condense_method: str = "dc"
    condense_settings: dict[str, Any] = field(default_factory=dict)
    epochs: int | None = None
    whole_epochs: int | None = None
    whole_per_class: int | None = None
    test_per_class: int | None = None
    top_k: int = 10
    seeds: list[int] = field(default_factory=lambda: [0])
    proxy_seed: int = 0
    executor: str = "local"
    workers: int = 1
    threads: int | None = None
    address: str | None = None
    preset: str = "quick"
    out: str | None = None
    cache: str | None = None
    device: str = "auto"
    data_root: str | None = None
    download: bool = False
    quiet: bool = False

    # ---------------------------------------------------------------- loading and checking
    @classmethod
    def keys(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> NASConfig:
        """Validate ``d`` (a task file's settings or the CLI's) into a config."""
        if not isinstance(d, dict):
            raise DcbenchError("a NAS task is a mapping of settings")
        known = cls.keys()
        values: dict[str, Any] = {}
        for key, value in d.items():
            if key == "kind":
                if value != "nas":
                    raise DcbenchError(f"kind: this is a nas task, not {value!r}")
                continue
            if key in ("description", "expected_time"):
                continue
            if key not in known:
                raise DcbenchError(f"{key}: unknown key; known: {', '.join(known)}")
            if value is not None:
                values[key] = _check(key, value)
        config = cls(**values)
        config.validate()
        return config

    def validate(self) -> None:
        """Names exist, the space resolves, top-k fits it; nothing is loaded or trained."""
        from dcbench.condense import CONDENSERS
        from dcbench.nas.executors import EXECUTORS
        from dcbench.nas.metrics import check_k
        from dcbench.nas.proxies import PROXIES
        from dcbench.nas.spaces import resolve_space

        if self.preset not in NAS_PRESETS:
            raise DcbenchError(f"preset: unknown preset {self.preset!r}; known: "
                               f"{', '.join(NAS_PRESETS)}")
        for name in self.proxies:
            _named("proxy", PROXIES.get, name)
        _named("executor", EXECUTORS.get, self.executor)
        _named("condense_method", CONDENSERS.get, self.condense_method)
        space = _named("space", resolve_space, self.space)
        _named("top_k", check_k, self.top_k, len(space))
        if self.top_k < 2:
            raise DcbenchError("top_k: must be at least 2 (a correlation needs two points)")
        if self.address and self.executor != "ray":
            raise DcbenchError("address: only the ray executor connects to a cluster "
                               "(use --executor ray)")
        if self.condensed_set is not None and "condensed" not in self.proxies:
            raise DcbenchError("condensed_set: given, but the condensed proxy is not run")
        if self.condensed_set is not None and not Path(self.condensed_set).is_file():
            raise DcbenchError(f"condensed_set: no file at {self.condensed_set}")

    # ---------------------------------------------------------------- derived values
    def preset_values(self) -> NASPreset:
        return NAS_PRESETS[self.preset]

    def resolved(self) -> dict[str, Any]:
        """Every setting with the preset's values filled in (what config.json records)."""
        p = self.preset_values()
        out = dataclasses.asdict(self)
        for key in ("epochs", "whole_epochs", "whole_per_class", "test_per_class"):
            if out[key] is None:
                out[key] = getattr(p, key)
        out["condense_preset"] = p.condense_preset
        out["proxies"] = self.all_proxies()
        return out

    def all_proxies(self) -> list[str]:
        """The proxies in the order given, with the ground truth (``whole``) last."""
        from dcbench.nas.proxies import GROUND_TRUTH

        names = [p for p in self.proxies if p != GROUND_TRUTH]
        return names + [GROUND_TRUTH]


def _default_proxies() -> tuple[str, ...]:
    from dcbench.nas.proxies import DEFAULT_PROXIES

    return DEFAULT_PROXIES


def _named(key: str, fn, *args):
    try:
        return fn(*args)
    except DcbenchError as exc:
        msg = str(exc)
        raise DcbenchError(msg if msg.startswith(f"{key}") else f"{key}: {msg}") from None


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _check(key: str, value: Any) -> Any:
    if key in _INT_KEYS:
        if not _is_int(value):
            raise DcbenchError(f"{key}: must be an integer (got {value!r})")
        if key in _MIN and value < _MIN[key]:
            raise DcbenchError(f"{key}: must be at least {_MIN[key]} (got {value!r})")
        return value
    if key in _STR_KEYS:
        if not isinstance(value, str | Path) or not str(value).strip():
            raise DcbenchError(f"{key}: must be a non-empty string (got {value!r})")
        return str(value).strip()
    if key in _BOOL_KEYS:
        if not isinstance(value, bool):
            raise DcbenchError(f"{key}: must be true or false (got {value!r})")
        return value
    if key == "space":
        if isinstance(value, str) and value.strip():
            return value.strip().lower()
        if isinstance(value, dict):
            return dict(value)
        raise DcbenchError(f"space: must be a name or a mapping with grid/candidates "
                           f"(got {value!r})")
    if key == "proxies":
        items = [v.strip() for v in value.split(",")] if isinstance(value, str) else value
        if not isinstance(items, list) or not items or not all(
                isinstance(v, str) and v.strip() for v in items):
            raise DcbenchError(f"proxies: must be a name or a list of names (got {value!r})")
        names = []
        for v in items:
            v = v.strip().lower()
            if v in names:
                raise DcbenchError(f"proxies: {v!r} is listed twice")
            names.append(v)
        return names
    if key == "seeds":
        items = value if isinstance(value, list) else [value]
        if not items or not all(_is_int(v) for v in items):
            raise DcbenchError(f"seeds: must be an integer or a list of integers (got {value!r})")
        if len(set(items)) != len(items):
            raise DcbenchError(f"seeds: a seed is listed twice ({value!r})")
        return list(items)
    if key == "condense_settings":
        if not isinstance(value, dict):
            raise DcbenchError("condense_settings: must map setting names to values, "
                               "e.g. {iterations: 50}")
        return dict(value)
    raise AssertionError(f"no checker for {key}")  # pragma: no cover


def resolve_task_dict(config_dict: dict[str, Any], preset: str | None,
                      overrides: dict[str, Any] | None) -> dict[str, Any]:
    """A task file's raw mapping (or plain settings) -> the settings of ``preset``.

    A raw task file (with ``presets:``) is resolved as the task loader does: the shared keys,
    then the preset's, then the ``--set`` overrides (dotted keys reach into mappings). The
    task's preset name is also the NAS preset unless the file sets ``preset:`` itself.
    """
    from dcbench.tasks.spec import deep_merge, set_dotted

    raw = copy.deepcopy(config_dict or {})
    body = {k: v for k, v in raw.items() if k not in META_KEYS}
    presets = raw.get("presets") or {}
    if preset is not None and presets:
        if preset not in presets:
            raise DcbenchError(f"no preset {preset!r}; presets: {', '.join(presets)}")
        body = deep_merge(body, presets[preset] or {})
    for key, value in (overrides or {}).items():
        set_dotted(body, key, copy.deepcopy(value))
    if preset is not None and "preset" not in body:
        if preset not in NAS_PRESETS:
            raise DcbenchError(f"preset {preset!r} is not a NAS preset ({', '.join(NAS_PRESETS)});"
                               " set preset: quick or paper in the task file")
        body["preset"] = preset
    return body


def run_nas_task(config_dict: dict[str, Any], preset: str | None = None,
                 overrides: dict[str, Any] | None = None, options: Any = None) -> Path:
    """Run a NAS task (a task file's raw mapping or plain settings); returns the run directory.

    ``options`` (optional, e.g. the task runner's ``RunOptions``) supplies ``device``,
    ``threads``, ``quiet``, ``data_root`` and ``download`` where the task does not set them.
    """
    from dcbench.nas.experiment import run_nas

    settings = resolve_task_dict(config_dict, preset, overrides)
    if options is not None:
        for key in ("device", "threads", "quiet", "data_root", "download"):
            value = getattr(options, key, None)
            if value not in (None, False, "auto") and key not in settings:
                settings[key] = value
    config = NASConfig.from_dict(settings)
    return run_nas(config).run_dir
