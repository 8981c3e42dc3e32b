"""The on-disk cache of finished NAS units: one small JSON per (candidate, proxy, seed).

Layout (default root ``results/nas/cache``)::

    <root>/<dataset>/<proxy>-e<epochs>-<key>/key.json
    <root>/<dataset>/<proxy>-e<epochs>-<key>/<candidate spec>.seed<k>.json

``key`` is a digest of everything a result depends on besides the candidate and the seed: the
proxy's training tensors (images and labels, bit for bit), the test images it is scored on and
the training protocol (epochs, lr, schedule, batch, augmentation). The space is not part of it:
a candidate is named by its full spec, so results are shared by every space that contains it,
and the ground truth of a dataset/protocol is computed once for all runs. Writes are atomic, so
an interrupted run leaves only whole files; re-running continues with the missing units.
Each record states the device and threads it ran with; neither is part of the key (results on
CPU and CUDA, or with other thread counts, agree only to float rounding, not bit for bit).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch

from dcbench.results import atomic_write_json
from dcbench.results.rundir import results_root, slug


def default_cache_root() -> Path:
    return results_root() / "nas" / "cache"


def tensor_digest(*tensors: torch.Tensor) -> str:
    h = hashlib.blake2b(digest_size=20)
    for t in tensors:
        t = t.detach().cpu().contiguous()
        h.update(f"{t.dtype}{tuple(t.shape)}".encode())
        h.update(t.view(-1).view(torch.uint8).numpy() if t.numel() else b"")
    return h.hexdigest()


def unit_key(train_digest: str, test_digest: str, protocol: dict[str, Any]) -> str:
    """The digest naming a proxy's cache directory."""
    text = json.dumps({"train": train_digest, "test": test_digest, "protocol": protocol},
                      sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def spec_filename(spec: str) -> str:
    return slug(spec.replace(":", ".").replace("=", "-"))


class ResultCache:
    """Finished units of one dataset under ``root``."""

    def __init__(self, root: str | Path, dataset: str) -> None:
        self.root = Path(root)
        self.base = self.root / slug(dataset)

    def directory(self, proxy: str, epochs: int, key: str) -> Path:
        return self.base / f"{slug(proxy)}-e{epochs}-{key}"

    def describe(self, directory: Path, about: dict[str, Any]) -> None:
        """Write ``key.json`` (what the directory's results were computed on) once."""
        path = directory / "key.json"
        if not path.exists():
            atomic_write_json(path, about)

    def path(self, directory: Path, spec: str, seed: int) -> Path:
        return directory / f"{spec_filename(spec)}.seed{seed}.json"

    def get(self, directory: Path, spec: str, seed: int) -> dict[str, Any] | None:
        try:
            record = json.loads(self.path(directory, spec, seed).read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(record, dict) or record.get("spec") != spec or \
                record.get("seed") != seed or not isinstance(record.get("accuracy"), int | float):
            return None
        return record

    def put(self, directory: Path, record: dict[str, Any]) -> Path:
        return atomic_write_json(self.path(directory, record["spec"], record["seed"]), record)
