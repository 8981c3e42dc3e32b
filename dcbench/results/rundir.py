"""Run directories: one API for creating, resuming and writing a run's files.

Every kind of run (condense, evaluate, continual, nas) writes into a :class:`RunDir`:

* ``RunDir.fresh(kind, name)`` — a new ``<root>/<kind>/<timestamp>-<name>``, never reused;
* ``RunDir.open(kind, path, identity)`` — create ``path``, or resume it when its
  ``config.json`` records the same identity (what the results depend on); any other
  difference is refused with one line naming the first differing keys;
* ``write_config`` / ``write_manifest`` — the one ``config.json`` schema
  (``{"kind", "config", "identity", ...}``) and ``manifest.json`` schema (see
  :func:`dcbench.results.manifest.make_manifest`) of every kind; ``write_json``/``write_text``/
  ``write_bytes`` — atomic writes of any other file.

Output locations are checked before any work starts: a path under a file or one that cannot
be created is a one-line error, not a traceback.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dcbench.errors import DcbenchError
from dcbench.results.io import atomic_write_bytes, atomic_write_json, atomic_write_text
from dcbench.results.manifest import make_manifest

DEFAULT_RESULTS_ROOT = "results"
CONFIG_FILE = "config.json"
MANIFEST_FILE = "manifest.json"


def results_root() -> Path:
    """Where results go: ``$DCBENCH_RESULTS`` or ``./results``."""
    return Path(os.environ.get("DCBENCH_RESULTS", DEFAULT_RESULTS_ROOT))


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "run"


def make_dirs(path: Path) -> list[Path]:
    """``mkdir -p path`` with a one-line error; returns the directories it created."""
    created = [p for p in (path, *path.parents) if not p.exists()]
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise DcbenchError(f"cannot use {path} as an output directory: a file is in the "
                           "way") from None
    except NotADirectoryError:
        raise DcbenchError(f"cannot use {path} as an output directory: a parent is a "
                           "file") from None
    except OSError as exc:
        raise DcbenchError(f"cannot create {path}: {exc.strerror or exc}") from None
    if not os.access(path, os.W_OK):
        raise DcbenchError(f"cannot write into {path}: permission denied")
    return created


def check_location(path: Path) -> None:
    """Fail now, creating nothing, if ``path`` could not be made a directory later (for runs
    that load data or condense for minutes before their run directory is created)."""
    for p in (path, *path.parents):
        if p.exists():
            if not p.is_dir():
                raise DcbenchError(f"cannot use {path} as an output directory: {p} is a file")
            try:  # os.access says yes to root even where nothing can be made (/proc)
                os.rmdir(tempfile.mkdtemp(prefix=".dcbench-check-", dir=p))
            except OSError as exc:
                raise DcbenchError(f"cannot create {path}: {p}: "
                                   f"{exc.strerror or exc}") from None
            return


def _differences(saved: dict[str, Any], mine: dict[str, Any], limit: int = 3) -> str:
    keys = [k for k in sorted(set(saved) | set(mine)) if saved.get(k) != mine.get(k)]
    return ", ".join(f"{k}: {saved.get(k)!r} → {mine.get(k)!r}" for k in keys[:limit])


@dataclass
class RunDir:
    """A run's directory and the one way its files are written."""

    path: Path
    kind: str
    resumed: bool = False

    # ------------------------------------------------------------------ creation
    @classmethod
    def fresh(cls, kind: str, name: str, root: str | Path | None = None) -> RunDir:
        """A new, empty ``<root>/<kind>/<timestamp>-<name>``; a clash gets a numeric suffix."""
        parent = (Path(root) if root is not None else results_root()) / kind
        make_dirs(parent)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        for n in range(1000):
            candidate = parent / f"{stamp}-{slug(name)}{'' if n == 0 else f'-{n}'}"
            try:
                candidate.mkdir()
                return cls(candidate, kind)
            except FileExistsError:
                continue
        raise DcbenchError(f"could not create a fresh run directory under {parent}")

    @classmethod
    def open(cls, kind: str, path: str | Path, identity: dict[str, Any],
             adopt: tuple[str, ...] = (),
             identity_of: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> RunDir:
        """Create ``path`` or resume it if it holds a ``kind`` run of the same ``identity``.

        A directory without config.json is adopted only if it holds nothing but the files
        named in ``adopt``; a config.json of an older release without an ``identity`` gets
        one from ``identity_of(record)``. Anything else is refused.
        """
        path = Path(path)
        if path.exists() and not path.is_dir():
            raise DcbenchError(f"cannot use {path} as an output directory: it is a file")
        run = cls(path, kind)
        saved = run.read_config()
        if saved is not None:
            if saved.get("kind") != kind:
                raise DcbenchError(f"{path} holds a {saved.get('kind')} run, not a {kind} run; "
                                   "use another --out")
            if "identity" not in saved and identity_of is not None:
                try:
                    saved["identity"] = identity_of(saved)
                except (KeyError, TypeError, DcbenchError) as exc:
                    raise DcbenchError(f"{run.file(CONFIG_FILE)} is not a readable {kind} "
                                       f"config ({exc}); use another --out") from None
            theirs = json.loads(json.dumps(saved.get("identity", {})))
            mine = json.loads(json.dumps(identity))
            if theirs != mine:
                raise DcbenchError(f"{path} holds a run with other settings "
                                   f"({_differences(theirs, mine)}); use another --out")
            run.resumed = True
            return run
        if path.is_dir():
            foreign = [p.name for p in path.iterdir() if p.name not in adopt]
            if foreign:
                raise DcbenchError(f"{path} exists and is not a {kind} run directory; use "
                                   "another --out")
            run.resumed = any(path.iterdir())
        make_dirs(path)
        return run

    # ------------------------------------------------------------------ files
    def file(self, name: str) -> Path:
        return self.path / name

    def read_config(self) -> dict[str, Any] | None:
        p = self.file(CONFIG_FILE)
        if not p.exists():
            return None
        try:
            data = json.loads(p.read_text())
        except (OSError, ValueError):
            raise DcbenchError(f"{p} is not readable JSON; use another --out") from None
        if not isinstance(data, dict):
            raise DcbenchError(f"{p} is not a dcbench config.json; use another --out")
        return data

    def write_config(self, config: dict[str, Any], identity: dict[str, Any] | None = None,
                     **extra: Any) -> Path:
        """config.json: ``{"kind", "config", "identity", **extra}`` for every kind."""
        record = {"kind": self.kind, "config": config,
                  "identity": identity if identity is not None else config, **extra}
        return atomic_write_json(self.file(CONFIG_FILE), record)

    def write_manifest(self, config: dict[str, Any], seeds: list[int], wall_time_s: float,
                       **extra: Any) -> Path:
        return atomic_write_json(self.file(MANIFEST_FILE),
                                 make_manifest(self.kind, config, seeds, wall_time_s, **extra))

    def write_json(self, name: str, obj: Any) -> Path:
        return atomic_write_json(self.file(name), obj)

    def write_text(self, name: str, text: str) -> Path:
        return atomic_write_text(self.file(name), text)

    def write_bytes(self, name: str, data: bytes) -> Path:
        return atomic_write_bytes(self.file(name), data)

    def __str__(self) -> str:
        return str(self.path)


def saved_identity(run_path: str | Path) -> dict[str, Any] | None:
    """The identity a run directory's config.json records (None: no readable one), for the
    lookups that match runs by what they hold without opening them."""
    try:
        saved = json.loads((Path(run_path) / CONFIG_FILE).read_text())
    except (OSError, ValueError):
        return None
    identity = saved.get("identity") if isinstance(saved, dict) else None
    return identity if isinstance(identity, dict) else None
