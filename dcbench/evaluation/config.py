"""What an evaluation runs with: the models, the seed and the protocol.

Task files write it flat (``evaluation: {models: [convnet], num_models: 5, epochs: 300}``):
the protocol's keys are :class:`~dcbench.evaluation.protocol.EvalProtocol`'s own fields, listed
nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from dcbench.config import ConfigError
from dcbench.evaluation.protocol import COMPILE_MODES, EvalProtocol


@dataclass
class EvaluateConfig:
    """Fresh models of each spec in ``models``, trained and scored with ``protocol``."""

    FLATTEN: ClassVar[tuple[str, ...]] = ("protocol",)

    models: list[str] = field(default_factory=lambda: ["convnet"])
    seed: int | None = None  # None: the set's own seed
    protocol: EvalProtocol = field(default_factory=EvalProtocol)
    #: Train through ``torch.compile``: ``auto`` (when a model's training is long enough to
    #: repay compiling, see ``COMPILE_WORTH``), ``true`` or ``false``. ~1.5x faster steps
    #: here, fp32 results equal within noise, eager where no compiler works. How to run, not
    #: what: evaluations made with and without it are the same protocol.
    compile: bool | str = "auto"  # --set compile=false reads as a YAML bool

    def validate(self) -> None:
        if not self.models:
            raise ConfigError("models: no models given")
        self.protocol.validate()
        self.compile = str(self.compile).lower()
        if self.compile not in COMPILE_MODES:
            raise ConfigError(f"compile: must be one of {', '.join(COMPILE_MODES)} "
                              f"(got {self.compile!r})")

    def check_models(self, channels: int, classes: int, size: tuple[int, int]) -> None:
        """Build each spec once on this data's shape, so a typo fails before any training."""
        from dcbench.models import model_from_spec

        for spec in self.models:
            model_from_spec(spec, channels, classes, size)

    def seed_for(self, set_meta: dict[str, Any]) -> int:
        return self.seed if self.seed is not None else int(set_meta.get("seed", 0))
