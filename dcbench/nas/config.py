"""The NAS experiment's settings: one dataclass, two presets, a validating loader.

:func:`dcbench.config.load` turns a task file's (or the CLI's) settings into a
:class:`NASConfig`; an unknown key or a bad value is a one-line error naming the key. Settings
left unset (``None``) take the preset's value:

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

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dcbench import config as cfg
from dcbench.config import ConfigError, named
from dcbench.errors import DcbenchError


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

#: Lower bounds of the integer settings (checked by ``validate``).
_MIN = {"ipc": 1, "epochs": 1, "whole_epochs": 1, "whole_per_class": 0, "test_per_class": 0,
        "top_k": 1, "workers": 1, "threads": 1}


@dataclass
class NASConfig:
    """Everything that defines a NAS-proxy run (see the module docstring for the presets)."""

    space: str | dict[str, Any] = "convnet-grid-small"
    proxies: list[str] = field(default_factory=lambda: list(_default_proxies()))
    dataset: str = "fashion-mnist"
    ipc: int = 10
    condensed_set: str | None = None
    condense_method: str = "dc"
    #: Settings of the on-the-fly condensation, by method: {dc: {iterations: 50}}.
    method_settings: dict[str, dict[str, Any]] = field(default_factory=dict)
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

    def validate(self) -> None:
        """Names exist, the space resolves, top-k fits it; nothing is loaded or trained."""
        from dcbench.condense import CONDENSERS
        from dcbench.condense.config import check_method_settings
        from dcbench.nas.executors import EXECUTORS
        from dcbench.nas.metrics import check_k
        from dcbench.nas.proxies import PROXIES
        from dcbench.nas.spaces import resolve_space

        cfg.check_preset(self.preset, NAS_PRESETS)
        for key, low in _MIN.items():
            value = getattr(self, key)
            if value is not None and value < low:
                raise ConfigError(f"{key}: must be at least {low} (got {value})")
        if isinstance(self.space, str):
            self.space = self.space.lower()
        self.proxies = [p.lower() for p in self.proxies]
        if not self.proxies:
            raise ConfigError("proxies: no proxies given")
        for key in ("proxies", "seeds"):
            values = getattr(self, key)
            if len(set(values)) != len(values):
                raise ConfigError(f"{key}: a value is listed twice in {values}")
        for name in self.proxies:
            named("proxy", PROXIES.get, name)
        named("executor", EXECUTORS.get, self.executor)
        named("condense_method", CONDENSERS.get, self.condense_method)
        self.condense_method = self.condense_method.lower()
        named("method_settings", check_method_settings, self.method_settings,
               [self.condense_method], NAS_PRESETS[self.preset].condense_preset, [self.ipc])
        space = named("space", resolve_space, self.space)
        named("top_k", check_k, self.top_k, len(space))
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
    @property
    def condense_overrides(self) -> dict[str, Any]:
        """The on-the-fly condensation's overrides of its method's preset."""
        return dict(self.method_settings.get(self.condense_method, {}))

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

