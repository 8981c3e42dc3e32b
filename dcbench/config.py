"""One configuration layer: every kind of run is a dataclass loaded from a plain mapping.

Task files, ``--set KEY=VALUE`` and CLI options all arrive as mappings of YAML scalars; this
module turns them into the typed config of a run, so that each kind (condense, evaluate,
continual, nas, every method's settings) needs no loader of its own:

* :func:`load` builds any config dataclass from a mapping, type-checked from its type hints
  with one coercion rule (:func:`coerce`), every unknown key and every missing required key
  named in one error, nested dataclasses loaded recursively, then ``validate()`` called;
* :func:`update` applies overrides to an existing config (a method's preset) the same way;
* :func:`merge` is the one preset merge (later layers win; mappings merge key by key);
* :func:`apply_set` gives ``--set`` one meaning on every command: a key of the run's config,
  dotted for nested settings (``--set training.lr=0.05``), with ``<method>.<key>`` short for
  ``method_settings.<method>.<key>`` (``--set dc.iterations=50``).

The coercion rule, the same for every field of every config:
``int``   an integer, or a string of one (``"5"`` → 5); never a bool or a float;
``float`` a number, or a string of one (``"1e-2"``: YAML 1.1 reads that as a string);
``bool``  true/false (or the strings ``true``/``false``);
``str``   a non-empty string (stripped);
``list``  a list, a comma-separated string (``"0,1,2"``) or one item; each item by its type;
``dict``  a mapping, values by their type; ``X | None`` also takes null.
"""

from __future__ import annotations

import copy
import dataclasses
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar, Union

import yaml

from dcbench.errors import DcbenchError

#: The presets every kind offers, declared once: quick (minutes to hours on 2 CPU cores) and
#: paper (the authors' settings).
PRESETS: tuple[str, ...] = ("quick", "paper")

T = TypeVar("T")


class ConfigError(DcbenchError):
    """A setting that does not validate (the message names the key)."""


# --------------------------------------------------------------------------- coercion
def _type_name(hint: Any) -> str:
    return {int: "an integer", float: "a number", bool: "true or false",
            str: "a non-empty string"}.get(hint, getattr(hint, "__name__", str(hint)))


def coerce(value: Any, hint: Any, key: str) -> Any:
    """``value`` as type ``hint`` under the module's one coercion rule, or a ConfigError."""
    origin = typing.get_origin(hint)
    if hint is Any or hint is object:
        return value
    if origin in (Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None:
            if type(None) in options:
                return None
            raise ConfigError(f"{key}: must not be empty")
        errors = []
        # a mapping goes to a mapping type first, anything else to the scalar types first
        ranked = sorted((o for o in options if o is not type(None)),
                        key=lambda o: 0 if (isinstance(value, Mapping)
                                            == (typing.get_origin(o) is dict)) else 1)
        for option in ranked:
            try:
                return coerce(value, option, key)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0])
    if value is None:
        raise ConfigError(f"{key}: must not be empty")
    if dataclasses.is_dataclass(hint):
        if isinstance(value, hint):
            return value
        if not isinstance(value, Mapping):
            raise ConfigError(f"{key}: must be a mapping of settings (got {value!r})")
        return load(hint, value, where=f"{key}.")
    if origin in (list, tuple):
        (item,) = typing.get_args(hint)[:1] or (Any,)
        if isinstance(value, str):
            items: list[Any] = [v.strip() for v in value.split(",") if v.strip()]
        elif isinstance(value, list | tuple):
            items = list(value)
        else:
            items = [value]
        return [coerce(v, item, key) for v in items]
    if origin is dict or hint is dict:
        args = typing.get_args(hint)
        vtype = args[1] if len(args) == 2 else Any
        if not isinstance(value, Mapping):
            raise ConfigError(f"{key}: must be a mapping (got {value!r})")
        return {str(k): coerce(v, vtype, f"{key}.{k}") for k, v in value.items()}
    if hint is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
    elif hint in (int, float):
        numbers = int if hint is int else int | float  # an int field takes no 1.5
        if isinstance(value, numbers) and not isinstance(value, bool):
            return hint(value)
        if isinstance(value, str):
            try:
                return hint(value.strip())
            except ValueError:
                pass
    elif hint is str:
        if isinstance(value, str | Path) and str(value).strip():
            return str(value).strip()
    else:  # pragma: no cover - a config field of a type this layer does not know
        raise TypeError(f"{key}: no coercion for type {hint!r}")
    raise ConfigError(f"{key}: must be {_type_name(hint)} (got {value!r})")


# --------------------------------------------------------------------------- loading
def hints(cls: type) -> dict[str, Any]:
    """The resolved type hints of a config dataclass's fields."""
    resolved = typing.get_type_hints(cls)
    return {f.name: resolved[f.name] for f in dataclasses.fields(cls) if f.init}


def field_names(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls) if f.init]


def _flattened(cls: type) -> tuple[str, ...]:
    """Nested-dataclass fields whose keys a mapping may give at its own level
    (``evaluation: {models, epochs}`` fills ``models`` and ``protocol.epochs``)."""
    return tuple(getattr(cls, "FLATTEN", ()))


def allowed_keys(cls: type) -> list[str]:
    """The keys a mapping for ``cls`` may hold (flattened fields' own keys included)."""
    types_, flat = hints(cls), _flattened(cls)
    return [k for k in types_ if k not in flat] + [
        k for name in flat for k in field_names(types_[name])]


def check_keys(data: Mapping[str, Any], allowed: Iterable[str], where: str = "",
               required: Iterable[str] = ()) -> None:
    """One error naming every unknown and every missing key."""
    allowed = list(allowed)
    unknown = [str(k) for k in data if k not in allowed]
    missing = [k for k in required if k not in data]
    problems = key_problems(unknown, missing, lambda k: f"{where}{k}")
    if problems:
        raise ConfigError(f"{problems} (known: {', '.join(sorted(allowed))})")


def key_problems(unknown: list[str], missing: list[str], name: Any = str) -> str:
    """``"unknown keys a, b; missing key c"`` (empty when nothing is wrong), keys shown by
    ``name``: the one wording of config and task-file key errors."""
    problems = [f"{what} key{'s' if len(keys) > 1 else ''} " + ", ".join(map(name, keys))
                for what, keys in (("unknown", unknown), ("missing", missing)) if keys]
    return "; ".join(problems)


def load(cls: type[T], data: Mapping[str, Any] | None, where: str = "") -> T:
    """A ``cls`` from ``data``: keys checked, values coerced by type hint, then validated.

    Fields missing from ``data`` take their defaults; ``None`` for a field typed ``X | None``
    is kept. ``cls.validate()``, if defined, checks values against registries and each other.
    """
    data = dict(data or {})
    types_ = hints(cls)
    flat = _flattened(cls)
    nested_keys = {name: field_names(types_[name]) for name in flat}
    allowed = allowed_keys(cls)
    required = [f.name for f in dataclasses.fields(cls) if f.init and f.name not in flat
                and f.default is dataclasses.MISSING
                and f.default_factory is dataclasses.MISSING]
    check_keys(data, allowed, where, required)
    values: dict[str, Any] = {}
    for name in flat:
        sub = {k: data.pop(k) for k in list(data) if k in nested_keys[name]}
        values[name] = load(types_[name], sub, where)
    for key, value in data.items():
        values[key] = coerce(value, types_[key], f"{where}{key}")
    obj = cls(**values)
    _validate(obj, where, types_)
    return obj


def _validate(obj: Any, where: str, fields: Mapping[str, Any]) -> None:
    """``obj.validate()``; a message that starts with one of its fields gets ``where`` first
    (validators write ``"epochs: must be ..."``; a task file reads ``evaluation.epochs: ...``)."""
    validate = getattr(obj, "validate", None)
    if not callable(validate):
        return
    try:
        validate()
    except DcbenchError as exc:
        message = str(exc)
        if where and message.split(":", 1)[0] in fields:
            raise type(exc)(where + message) from None
        raise


def update(obj: T, overrides: Mapping[str, Any] | None, where: str = "") -> T:
    """``obj`` with ``overrides`` applied under the same rule as :func:`load`; validated."""
    base = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj) if f.init}
    return load(type(obj), {**base, **(overrides or {})}, where)


# --------------------------------------------------------------------------- layers
def merge(*layers: Mapping[str, Any] | None) -> dict[str, Any]:
    """Later layers win; mappings merge key by key, anything else is replaced."""
    out: dict[str, Any] = {}
    for layer in layers:
        for key, value in (layer or {}).items():
            if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
                out[key] = merge(out[key], value)
            else:
                out[key] = copy.deepcopy(value)
    return out


def named(key: str, fn: Any, *args: Any) -> Any:
    """``fn(*args)`` (a registry lookup, a check); its error gets ``key`` in front, once."""
    try:
        return fn(*args)
    except ConfigError:
        raise  # already names its key
    except DcbenchError as exc:
        message = str(exc)
        raise ConfigError(message if message.startswith(key) else f"{key}: {message}") from None


def check_preset(name: str, known: Iterable[str] = PRESETS, where: str = "preset") -> str:
    known = list(known)
    if name not in known:
        raise ConfigError(f"{where}: unknown preset {name!r}; known: {', '.join(known)}")
    return name


def set_dotted(target: dict[str, Any], key: str, value: Any) -> None:
    """``target["a"]["b"] = value`` for ``key = "a.b"`` (creating the mappings on the way)."""
    parts = key.split(".")
    node = target
    for i, part in enumerate(parts[:-1]):
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            raise ConfigError(f"--set {key}: {'.'.join(parts[:i + 1])} is not a mapping")
        node = child
    node[parts[-1]] = value


def parse_assignments(pairs: Iterable[str]) -> dict[str, Any]:
    """``KEY=VALUE`` strings as a flat mapping (values parsed as YAML scalars/lists)."""
    out: dict[str, Any] = {}
    for pair in pairs:
        if "=" not in pair:
            raise ConfigError(f"--set {pair!r}: not KEY=VALUE")
        key, value = pair.split("=", 1)
        try:
            out[key.strip().replace("-", "_")] = yaml.safe_load(value) if value != "" else ""
        except yaml.YAMLError:
            raise ConfigError(f"--set {key.strip()}: {value!r} is not a valid value") from None
    return out


def apply_set(
    assignments: Mapping[str, Any],
    fields: Iterable[str],
    methods: Iterable[str] = (),
    default_method: str | None = None,
    method_fields: Iterable[str] = (),
    warn: Any = None,
) -> dict[str, Any]:
    """Flat ``--set`` keys → a nested override mapping for a config with ``fields``.

    ``a.b=v`` sets ``a: {b: v}``; ``<method>.<key>=v`` (a registered method that is not a
    field) sets ``method_settings.<method>.<key>``. The spelling of the last release, a bare
    method setting (``--set iterations=50``), still works for a key in ``method_fields`` (the
    settings of ``default_method``) with a deprecation message through ``warn``.
    """
    fields, methods = set(fields), {m.lower() for m in methods}
    method_fields = set(method_fields)
    out: dict[str, Any] = {}
    for key, value in assignments.items():
        head, _, rest = key.partition(".")
        if head in fields:
            set_dotted(out, key, value)
        elif rest and head.lower() in methods and "method_settings" in fields:
            set_dotted(out, f"method_settings.{head.lower()}.{rest}", value)
        elif default_method and key in method_fields and "method_settings" in fields:
            if warn is not None:
                warn(f"deprecated: --set {key}=... is a {default_method} setting; write "
                     f"--set {default_method}.{key}=... (the old spelling goes in the next "
                     "release)")
            set_dotted(out, f"method_settings.{default_method}.{key}", value)
        else:
            set_dotted(out, key, value)  # the loader names it as an unknown key
    return out


def read_yaml(path: str | Path) -> Any:
    """The parsed YAML at ``path``; a one-line ConfigError if it is missing or malformed."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"no task file at {path}")
    try:
        return yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ConfigError(f"{path}: not valid YAML{where}") from None
