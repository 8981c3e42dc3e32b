"""``dcbench evaluate``: a saved set, the evaluation protocol, a fresh run directory."""

from __future__ import annotations

import csv
import dataclasses
import fcntl
import io
import json
import os
import sys
import time
from pathlib import Path
from typing import IO, Any

from dcbench.condense.synthetic_set import SyntheticSet
from dcbench.data import ClassDataset, load_dataset
from dcbench.data.registry import check_usable
from dcbench.errors import DcbenchError
from dcbench.evaluation.config import EvaluateConfig
from dcbench.evaluation.protocol import NEUTRAL_PROTOCOL_KEYS, evaluate_set, resolve_protocols
from dcbench.results import RunDir
from dcbench.results.io import file_digest
from dcbench.results.rundir import (
    CONFIG_FILE,
    MANIFEST_FILE,
    check_location,
    make_dirs,
    results_root,
    saved_identity,
)
from dcbench.results.stats import mean_std

METRICS_FILE = "metrics.json"
#: Locked (flock) by the process evaluating in a run directory while it runs; holds its pid.
LOCK = "running.lock"
#: The models an unfinished evaluation has trained, written after each one (see --out).
PROGRESS = "progress.json"


def dataset_for_set(sset: SyntheticSet, root: str | None, download: bool,
                    loaded: dict[str, ClassDataset] | None = None) -> ClassDataset:
    """Load the dataset a set was made from (once per name in ``loaded``) and check that
    they agree."""
    loaded = {} if loaded is None else loaded
    name = sset.meta["dataset"]
    if name not in loaded:
        loaded[name] = load_dataset(name, root=root, download=download)
    ds = loaded[name]
    if list(ds.class_names) != list(sset.meta["class_names"]):
        raise DcbenchError("the set's class names differ from the dataset's; wrong dataset?")
    if tuple(sset.images.shape[1:]) != (ds.channels, *ds.image_size):
        raise DcbenchError("the set's image shape differs from the dataset's")
    ours, theirs = list(ds.mean) + list(ds.std), sset.meta["mean"] + sset.meta["std"]
    drift = max(abs(a - b) for a, b in zip(ours, theirs, strict=True))
    if drift > 1e-3:
        raise DcbenchError("the set was normalised with another mean/std than the dataset's")
    return ds


def evaluated_as(meta: dict[str, Any]) -> str | None:
    """The method whose protocol a set is evaluated with: its own, or for an imported set the
    method that made it (``source_method``, e.g. ``dsa`` for the authors' res_DSA_ files)."""
    return meta.get("source_method") or meta.get("method")


def metrics_csv(result: dict[str, Any]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["model", "run", "accuracy"])
    for spec, r in result["models"].items():
        for i, acc in enumerate(r["accuracies"]):
            w.writerow([spec, i, f"{acc:.4f}"])
    return buf.getvalue()


def check_set(set_path: Path, config: EvaluateConfig, root: str | None, download: bool,
              loaded: dict[str, ClassDataset] | None = None
              ) -> tuple[SyntheticSet, ClassDataset]:
    """Load a set and its dataset and check that the run can go (before any training)."""
    sset = SyntheticSet.load(set_path)
    ds = check_usable(dataset_for_set(sset, root, download, loaded))
    config.check_models(ds.channels, ds.num_classes, ds.image_size)
    config.validate()
    return sset, ds


def pooled(results: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per model, the accuracies of every set's models together: n = sets x models, mean and
    sample std (the report's Table 1 pools the same way; the DC authors' ``np.std`` is the
    population std, which is smaller by a factor sqrt((n-1)/n))."""
    out: dict[str, dict[str, Any]] = {}
    for spec in results[0]["models"]:
        accs = [a for r in results for a in r["models"][spec]["accuracies"]]
        mean, std = mean_std(accs)
        out[spec] = {"accuracies": accs, "mean": mean, "std": std, "sets": len(results),
                     "std_kind": "sample"}
    return out


def evaluate_sets(set_paths: list[Path], config: EvaluateConfig, device, root: str | None,
                  download: bool, progress: bool, out: Path | None = None,
                  jobs: int = 1, threads: int | None = None
                  ) -> list[tuple[Path, dict[str, Any]]]:
    """Every set checked first, then each evaluated into its own run directory (``out``, for
    one set only: where an interrupted evaluation of it continues); ``jobs`` processes with
    ``threads`` each train the models (how, not what: not part of the run's identity)."""
    if not set_paths:
        raise DcbenchError("no set files given")
    if jobs < 1:
        raise DcbenchError(f"--jobs must be at least 1 (got {jobs})")
    if out is not None and len(set_paths) > 1:
        raise DcbenchError(f"--out names one run directory but {len(set_paths)} sets were "
                           "given; evaluate them one at a time")
    loaded: dict[str, ClassDataset] = {}
    checked = [check_set(p, config, root, download, loaded) for p in set_paths]
    return [_evaluate_checked(p, sset, ds, config, device, progress, out, jobs, threads)
            for p, (sset, ds) in zip(set_paths, checked, strict=True)]


def evaluate_job(set_path: Path, config: EvaluateConfig, device, root: str | None,
                 download: bool, progress: bool, out: Path | None = None, jobs: int = 1,
                 threads: int | None = None) -> tuple[Path, dict[str, Any]]:
    """Evaluate the set at ``set_path`` with ``config``; returns (run directory, metrics)."""
    sset, ds = check_set(set_path, config, root, download)
    return _evaluate_checked(set_path, sset, ds, config, device, progress, out, jobs, threads)


def evaluation_identity(config: EvaluateConfig, seed: int, set_path: Path,
                        device: Any) -> dict[str, Any]:
    """What an evaluation run directory holds, for resuming it: the config (compile aside:
    it is how, not what, so a run may continue with or without it), the seed, the device and
    the set: its absolute path and a digest of its contents (a set made again at the same path,
    e.g. under another time budget, is another set)."""
    settings = dataclasses.asdict(config)
    for key in NEUTRAL_PROTOCOL_KEYS:  # how the protocol runs, not what it is
        settings["protocol"].pop(key, None)
    return {**{k: v for k, v in settings.items() if k != "compile"},
            "seed": seed, "set": str(Path(set_path).resolve()), "set_sha1": file_digest(set_path),
            "device": str(device)}


def try_lock(run_path: Path, wait_s: float = 1.0) -> IO[str] | None:
    """An exclusive lock on ``run_path``'s lock file, held while the returned file stays open
    (the system drops it when the process ends, however it ends), or None when another process
    holds it. Tried for ``wait_s``: another evaluation's :func:`is_running` probe holds the lock
    for an instant, which must not turn this run away (seen with 16 evaluations started at
    once)."""
    handle = open(run_path / LOCK, "a+")  # noqa: SIM115 - the open file is the lock
    end = time.monotonic() + wait_s
    while True:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() >= end:
                handle.close()
                return None
            time.sleep(0.05)
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


def is_running(run_path: Path) -> bool:
    """Whether a live process evaluates in ``run_path`` (holds its lock). A probe: the lock is
    taken and dropped at once and the holder's pid in the file is left as it is."""
    if not (run_path / LOCK).exists():
        return False
    with open(run_path / LOCK) as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    return False


def unfinished_run(set_path: Path, config: EvaluateConfig, seed: int,
                   device: Any) -> Path | None:
    """The newest interrupted evaluation of this set with this config, seed and device under
    the results root (no manifest yet, no live process in it), to continue."""
    mine = json.loads(json.dumps(evaluation_identity(config, seed, set_path, device)))
    for config_file in sorted((results_root() / "evaluate").glob(f"*/{CONFIG_FILE}"),
                              reverse=True):
        run = config_file.parent
        if (run / MANIFEST_FILE).exists() or saved_identity(run) != mine:
            continue  # the identity first: only a run of this very evaluation is probed
        if not is_running(run):
            return run
    return None


def _open_run(out: Path | None, name: str, identity: dict[str, Any]) -> RunDir:
    """``out`` (created, or resumed when it holds this evaluation), else a fresh directory."""
    if out is None:
        make_dirs(results_root() / "evaluate")  # unusable output locations fail here
        return RunDir.fresh("evaluate", name)
    check_location(out)
    return RunDir.open("evaluate", out, identity)


def _read_progress(run: RunDir) -> dict[str, Any]:
    """The models an interrupted run of this directory finished (``progress.json``)."""
    path = run.file(PROGRESS)
    if not run.resumed or not path.exists():
        return {"models": {}, "wall_time_s": 0.0}
    try:
        saved = json.loads(path.read_text())
        return {"models": {spec: [{"index": int(m["index"]), "accuracy": float(m["accuracy"]),
                                   "train_s": float(m["train_s"])} for m in models]
                           for spec, models in saved["models"].items()},
                "wall_time_s": float(saved.get("wall_time_s", 0.0))}
    except (OSError, ValueError, KeyError, TypeError):
        raise DcbenchError(f"{path} is not readable; delete it to start this evaluation "
                           "over") from None


def _after_failure(run: RunDir, progress: dict[str, Any], created: bool) -> None:
    """A run directory this command created and that trained nothing is emptied (and then
    removed when its lock goes); otherwise say how to go on."""
    done = sum(len(v) for v in progress["models"].values())
    if done == 0 and created:
        run.file(CONFIG_FILE).unlink(missing_ok=True)
        return
    if done:
        print(f"{done} trained model(s) are saved in {run.path}; the same command continues "
              "from there", file=sys.stderr)


def _evaluate_checked(set_path: Path, sset: SyntheticSet, ds: ClassDataset,
                      config: EvaluateConfig, device, progress: bool, out: Path | None = None,
                      jobs: int = 1, threads: int | None = None
                      ) -> tuple[Path, dict[str, Any]]:
    seed = config.seed_for(sset.meta)
    name = f"{sset.meta['dataset']}-{sset.meta['method']}-ipc{sset.meta['ipc']}"
    method, strategy = evaluated_as(sset.meta), sset.meta.get("dsa_strategy")
    protocols = {spec: dataclasses.asdict(p) for spec, p in resolve_protocols(
        config.protocol, ds.name, config.models, method, strategy).items()}
    record = {"set": str(set_path), "models": list(config.models), "compile": config.compile,
              "protocol": protocols[config.models[0]], "device": str(device),
              "protocols": protocols, "jobs": jobs}
    identity = evaluation_identity(config, seed, set_path, device)
    if out is None:  # the same command after an interruption continues where it stopped
        out = unfinished_run(set_path, config, seed, device)
        if out is not None and progress:
            print(f"continuing the interrupted evaluation in {out}", file=sys.stderr)
    created = out is None or not Path(out).exists()
    run = _open_run(out, name, identity)
    if run.resumed and run.file(MANIFEST_FILE).exists():  # finished: the manifest comes last
        if progress:
            print(f"{run.path} already holds this evaluation; reusing it", file=sys.stderr)
        return run.path, json.loads(run.file(METRICS_FILE).read_text())
    lock = try_lock(run.path)
    if lock is None:
        pid = run.file(LOCK).read_text().strip()
        holder = f"process {pid}" if pid.isdigit() else "another process"
        raise DcbenchError(f"{run.path} is being evaluated by {holder}; wait for it or "
                           "use another --out")
    try:
        return _evaluate_into(run, created, set_path, sset, ds, config, device, progress,
                              jobs, threads, seed, method, strategy, record, identity)
    finally:
        run.file(LOCK).unlink(missing_ok=True)
        lock.close()
        if created and run.path.is_dir() and not any(run.path.iterdir()):
            run.path.rmdir()  # a new directory left empty (nothing trained)


def _evaluate_into(run: RunDir, created: bool, set_path: Path, sset: SyntheticSet,
                   ds: ClassDataset, config: EvaluateConfig, device, progress: bool, jobs: int,
                   threads: int | None, seed: int, method: str | None, strategy: str | None,
                   record: dict[str, Any], identity: dict[str, Any]
                   ) -> tuple[Path, dict[str, Any]]:
    """Train what ``run`` still lacks, saving each model, then write its results."""
    run.write_config(record, identity=identity)
    state = _read_progress(run)
    t0 = time.perf_counter()

    def saved(spec: str, model: dict[str, float]) -> None:
        state["models"].setdefault(spec, []).append(model)
        run.write_json(PROGRESS, {"models": state["models"],
                                  "wall_time_s": state["wall_time_s"]
                                  + time.perf_counter() - t0})

    try:
        result = evaluate_set(sset.images, sset.labels, ds, config.models, config.protocol,
                              seed, device, progress, method=method, strategy=strategy,
                              compile=config.compile,
                              done={k: list(v) for k, v in state["models"].items()},
                              on_model=saved, jobs=jobs, threads=threads)
    except BaseException:
        _after_failure(run, state, created)
        raise
    wall = state["wall_time_s"] + time.perf_counter() - t0
    set_info = {k: sset.meta.get(k) for k in ("dataset", "method", "source_method",
                                               "dsa_strategy", "ipc", "seed", "preset",
                                               "iterations_done", "wall_time_s",
                                               "snapshot_minutes")}
    set_info["path"] = str(set_path)
    set_info["sha1"] = identity["set_sha1"]  # which set: a set re-made at this path is another
    metrics = {"set": set_info, **result}
    run.write_json(METRICS_FILE, metrics)
    run.write_text("metrics.csv", metrics_csv(result))
    run.write_manifest(record, seeds=[seed], wall_time_s=wall)
    run.file(PROGRESS).unlink(missing_ok=True)
    return run.path, metrics
