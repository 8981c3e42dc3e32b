"""The four kinds of task and their validation: condense and evaluate here, continual and nas
by the config classes of their packages (imported only when a file of that kind is used)."""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass, field
from typing import Any

from dcbench.errors import DcbenchError
from dcbench.tasks.spec import KindUnavailable, TaskError, TaskKind, register_kind

EVALUATION_KEYS = ("models", "num_models", "epochs", "lr", "batch_size", "augment", "seed")


# --- small checkers, each naming the key ----------------------------------------------------

def _known(d: dict[str, Any], allowed: tuple[str, ...], where: str = "") -> None:
    for key in d:
        if key not in allowed:
            raise TaskError(f"{where}{key}: unknown key; known: {', '.join(allowed)}")


def _int_list(value: Any, key: str, minimum: int | None = None) -> list[int]:
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(v, int) and not isinstance(v, bool) for v in items):
        raise TaskError(f"{key}: must be an integer or a list of integers (got {value!r})")
    if minimum is not None and any(v < minimum for v in items):
        raise TaskError(f"{key}: every value must be at least {minimum} (got {value!r})")
    return list(items)


def _str_list(value: Any, key: str) -> list[str]:
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise TaskError(f"{key}: must be a name or a list of names (got {value!r})")
    return list(value)


def _number(value: Any, key: str, kind: type, minimum: float | None = None,
            positive: bool = False) -> Any:
    ok = isinstance(value, int | float) if kind is float else isinstance(value, int)
    if not ok or isinstance(value, bool):
        raise TaskError(f"{key}: must be {'a number' if kind is float else 'an integer'} "
                        f"(got {value!r})")
    if minimum is not None and value < minimum:
        raise TaskError(f"{key}: must be at least {minimum} (got {value!r})")
    if positive and not value > 0:
        raise TaskError(f"{key}: must be positive (got {value!r})")
    return kind(value)


def _named(key: str, fn, *args) -> Any:
    """Run a registry lookup / check and prefix its message with the key."""
    try:
        return fn(*args)
    except TaskError:
        raise
    except DcbenchError as exc:
        raise TaskError(f"{key}: {exc}") from None


# --- evaluation ----------------------------------------------------------------------------

@dataclass
class EvaluationSpec:
    """How a task evaluates its sets (the protocol's settings plus the models)."""

    models: list[str] = field(default_factory=lambda: ["convnet"])
    num_models: int = 5
    epochs: int = 300
    lr: float = 0.01
    batch_size: int = 256
    augment: str = "auto"
    seed: int | None = None  # None: the set's own seed

    def protocol(self):
        from dcbench.evaluation.protocol import EvalProtocol

        return EvalProtocol(epochs=self.epochs, lr=self.lr, batch_size=self.batch_size,
                            augment=self.augment, num_models=self.num_models)


def check_evaluation(value: Any, shape: tuple[int, int, tuple[int, int]] | None = None
                     ) -> EvaluationSpec | None:
    """``evaluation:`` of a task; ``null``/``false`` means no evaluation."""
    if value is None or value is False:
        return None
    if not isinstance(value, dict):
        raise TaskError(f"evaluation: must be a mapping of {', '.join(EVALUATION_KEYS)} "
                        "(or false)")
    _known(value, EVALUATION_KEYS, "evaluation.")
    spec = EvaluationSpec()
    if "models" in value:
        spec.models = _str_list(value["models"], "evaluation.models")
    if "num_models" in value:
        spec.num_models = _number(value["num_models"], "evaluation.num_models", int, 1)
    if "epochs" in value:
        spec.epochs = _number(value["epochs"], "evaluation.epochs", int, 1)
    if "lr" in value:
        spec.lr = _number(value["lr"], "evaluation.lr", float, positive=True)
    if "batch_size" in value:
        spec.batch_size = _number(value["batch_size"], "evaluation.batch_size", int, 1)
    if "augment" in value:
        if not isinstance(value["augment"], str):
            raise TaskError(f"evaluation.augment: must be a name (got {value['augment']!r})")
        spec.augment = value["augment"]
    if value.get("seed") is not None:
        spec.seed = _number(value["seed"], "evaluation.seed", int)
    _named("evaluation.augment", spec.protocol().validate)
    from dcbench.models import model_from_spec

    channels, classes, size = shape or (1, 10, (28, 28))
    for model in spec.models:
        _named("evaluation.models", model_from_spec, model, channels, classes, size)
    return spec


# --- condense ------------------------------------------------------------------------------

CONDENSE_KEYS = ("dataset", "methods", "ipc", "seeds", "settings", "evaluation",
                 "condense_preset")


@dataclass
class CondenseTask:
    datasets: list[str]
    methods: list[str]
    ipc: list[int]
    seeds: list[int]
    condense_preset: str
    settings: dict[str, dict[str, Any]]
    evaluation: EvaluationSpec | None

    def units(self) -> list[tuple[str, str, int, int]]:
        """(dataset, method, ipc, seed) in the order they run: cheap methods and small ipc
        first, so that a partial run already fills tables."""
        return [(d, m, i, s) for d in self.datasets for i in self.ipc for m in self.methods
                for s in self.seeds]


def _dataset_shape(name: str) -> tuple[int, int, tuple[int, int]] | None:
    from dcbench.data import DATASETS

    entry = DATASETS.get(name.split(":", 1)[0])
    if entry.channels and entry.image_size and entry.num_classes:
        return entry.channels, entry.num_classes, tuple(entry.image_size)
    return None


def validate_condense(d: dict[str, Any], preset: str) -> CondenseTask:
    from dcbench.condense import CONDENSERS, PRESETS, make_config

    _known(d, CONDENSE_KEYS)
    for key in ("dataset", "methods", "ipc"):
        if key not in d:
            raise TaskError(f"{key}: missing")
    datasets = _str_list(d["dataset"], "dataset")
    shapes = [_named("dataset", _dataset_shape, ds) for ds in datasets]
    methods = _str_list(d["methods"], "methods")
    for m in methods:
        _named("methods", CONDENSERS.get, m)
    ipcs = _int_list(d["ipc"], "ipc", 1)
    seeds = _int_list(d.get("seeds", [0]), "seeds")
    cpreset = d.get("condense_preset", preset)
    if cpreset not in PRESETS:
        raise TaskError(f"condense_preset: must be one of {', '.join(PRESETS)} (got {cpreset!r})")
    settings = d.get("settings") or {}
    if not isinstance(settings, dict):
        raise TaskError("settings: must map a method to its settings, e.g. {dc: {iterations: 50}}")
    for method, overrides in settings.items():
        if method not in methods:
            raise TaskError(f"settings.{method}: not one of this task's methods "
                            f"({', '.join(methods)})")
        if not isinstance(overrides, dict):
            raise TaskError(f"settings.{method}: must be a mapping of setting: value")
        for ipc in ipcs:
            _named(f"settings.{method}", make_config, method, cpreset, ipc, overrides)
    shape = next((s for s in shapes if s), None)
    evaluation = check_evaluation(d.get("evaluation"), shape)
    return CondenseTask(datasets, methods, ipcs, seeds, cpreset,
                        {k: dict(v) for k, v in settings.items()}, evaluation)


# --- evaluate ------------------------------------------------------------------------------

EVALUATE_KEYS = ("sets", "evaluation")


@dataclass
class EvaluateTask:
    sets: list[str]  # paths or glob patterns of set.pt files
    evaluation: EvaluationSpec


def validate_evaluate(d: dict[str, Any], preset: str) -> EvaluateTask:
    _known(d, EVALUATE_KEYS)
    if "sets" not in d:
        raise TaskError("sets: missing (paths or glob patterns of set.pt files)")
    sets = _str_list(d["sets"], "sets")
    evaluation = check_evaluation(d.get("evaluation", {}))
    assert evaluation is not None
    return EvaluateTask(sets, evaluation)


# --- continual and nas: their packages validate --------------------------------------------

def _app_validator(module: str, cls_name: str):
    def validate(d: dict[str, Any], preset: str) -> Any:
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name and module.startswith(exc.name):
                raise KindUnavailable(f"{module} is not available in this install") from None
            raise
        cls = getattr(mod, cls_name)
        if "preset" in inspect.signature(cls.from_dict).parameters:
            args: tuple = (d, preset)
        else:  # the task's preset is the application's unless the file names one
            args = ({**d, "preset": d.get("preset", preset)},)
        try:
            return cls.from_dict(*args)
        except DcbenchError:
            raise
        except (KeyError, TypeError, ValueError) as exc:  # a validator that is not ours
            raise TaskError(str(exc).strip("'\"")) from None

    return validate


register_kind(TaskKind("condense", "condense sets (and evaluate them)", validate_condense,
                       "dcbench.tasks.runners:run_condense"))
register_kind(TaskKind("evaluate", "evaluate saved sets", validate_evaluate,
                       "dcbench.tasks.runners:run_evaluate"))
register_kind(TaskKind("continual", "continual learning with a condensed memory",
                       _app_validator("dcbench.continual.config", "ContinualConfig"),
                       "dcbench.tasks.runners:run_continual"))
register_kind(TaskKind("nas", "architecture search on a proxy set",
                       _app_validator("dcbench.nas.config", "NASConfig"),
                       "dcbench.tasks.runners:run_nas"))
