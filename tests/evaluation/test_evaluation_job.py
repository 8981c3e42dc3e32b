"""``evaluate_job``: the set's method reaches the protocol's resolution, per model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dcbench.condense import CondenseRequest, condense
from dcbench.data import load_dataset
from dcbench.evaluation.config import EvaluateConfig
from dcbench.evaluation.job import evaluate_job, unfinished_run
from dcbench.evaluation.protocol import EvalProtocol

pytestmark = pytest.mark.usefixtures("one_thread")
TOY = "toy:classes=3:per_class=10:test_per_class=5:size=16"
MODEL = "convnet:width=8:depth=1"


def made_by(method: str, tmp_path: Path) -> Path:
    """A random set of the toy data whose metadata names ``method`` as its maker."""
    sset = condense("random", CondenseRequest(load_dataset(TOY), ipc=1, progress=False))
    sset.meta["method"] = method
    return sset.save(tmp_path / method / "set.pt")


@pytest.mark.parametrize(("method", "augment"), [("dm", "dsa"), ("dsa", "dsa"),
                                                 ("random", "none")])
def test_the_sets_method_picks_the_augmentation(method: str, augment: str, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DCBENCH_RESULTS", str(tmp_path / "results"))
    bn = f"{MODEL}:norm=batch"
    config = EvaluateConfig(models=[MODEL, bn], protocol=EvalProtocol(epochs=1, num_models=1))
    run, metrics = evaluate_job(made_by(method, tmp_path), config, "cpu", None, False, False)
    assert metrics["set"]["method"] == method
    assert metrics["protocol"]["augment"] == augment
    assert metrics["models"][MODEL]["protocol"]["augment"] == augment
    assert metrics["models"][bn]["protocol"]["augment"] == ("dsa" if method != "random"
                                                            else "crop_noise")
    record = json.loads((run / "config.json").read_text())["config"]
    assert record["protocols"] == {m: r["protocol"] for m, r in metrics["models"].items()}


def _interrupt_after(first: int, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make the job's evaluation stop (as Ctrl-C would) once ``first`` models are saved;
    returns the list of models trained, appended as they finish."""
    from dcbench.evaluation import job

    trained: list[str] = []
    real = job.evaluate_set

    def stopping(*args, on_model, **kwargs):
        def hook(spec, model):
            on_model(spec, model)
            trained.append(spec)
            if len(trained) == first:
                raise KeyboardInterrupt
        return real(*args, on_model=hook, **kwargs)

    monkeypatch.setattr(job, "evaluate_set", stopping)
    return trained


def test_an_interrupted_evaluation_continues_where_it_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    from dcbench.evaluation import protocol

    monkeypatch.setenv("DCBENCH_RESULTS", str(tmp_path / "results"))
    set_path = made_by("random", tmp_path)
    config = EvaluateConfig(models=[MODEL, "mlp"], protocol=EvalProtocol(epochs=2, num_models=2))
    _, whole = evaluate_job(set_path, config, "cpu", None, False, False, tmp_path / "whole")

    out = tmp_path / "resumed"
    _interrupt_after(3, monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        evaluate_job(set_path, config, "cpu", None, False, False, out)
    assert "3 trained model(s) are saved in" in capsys.readouterr().err
    assert not (out / "metrics.json").exists() and (out / "progress.json").exists()

    monkeypatch.undo()
    monkeypatch.setenv("DCBENCH_RESULTS", str(tmp_path / "results"))
    trained: list[str] = []
    real_train = protocol.train_model
    monkeypatch.setattr(protocol, "train_model",
                        lambda model, *a, **k: trained.append("x") or real_train(model, *a, **k))
    _, resumed = evaluate_job(set_path, config, "cpu", None, False, False, out)
    assert trained == ["x"]  # only the 4th model (mlp, second) was left
    for spec in (MODEL, "mlp"):
        assert resumed["models"][spec]["accuracies"] == whole["models"][spec]["accuracies"]
    assert not (out / "progress.json").exists() and (out / "manifest.json").exists()

    again = evaluate_job(set_path, config, "cpu", None, False, False, out)[1]
    assert trained == ["x"] and again == json.loads((out / "metrics.json").read_text())


def test_other_settings_do_not_continue_a_run(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from dcbench.errors import DcbenchError

    monkeypatch.setenv("DCBENCH_RESULTS", str(tmp_path / "results"))
    set_path = made_by("random", tmp_path)
    config = EvaluateConfig(models=[MODEL], protocol=EvalProtocol(epochs=1, num_models=1))
    evaluate_job(set_path, config, "cpu", None, False, False, tmp_path / "run")
    config.protocol.num_models = 2
    with pytest.raises(DcbenchError, match="holds a run with other settings"):
        evaluate_job(set_path, config, "cpu", None, False, False, tmp_path / "run")


def test_a_fresh_run_that_trains_nothing_leaves_nothing(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from dcbench.errors import DcbenchError
    from dcbench.evaluation import protocol

    monkeypatch.setenv("DCBENCH_RESULTS", str(tmp_path / "results"))
    set_path = made_by("random", tmp_path)

    def diverge(*args, **kwargs):
        raise DcbenchError("training diverged (loss nan) at epoch 0")

    monkeypatch.setattr(protocol, "train_model", diverge)
    config = EvaluateConfig(models=[MODEL], protocol=EvalProtocol(epochs=1, num_models=1))
    with pytest.raises(DcbenchError, match="diverged"):
        evaluate_job(set_path, config, "cpu", None, False, False)
    assert list((tmp_path / "results" / "evaluate").iterdir()) == []


def test_out_takes_one_set(tmp_path: Path) -> None:
    from dcbench.errors import DcbenchError
    from dcbench.evaluation.job import evaluate_sets

    sets = [made_by("random", tmp_path / str(i)) for i in range(2)]
    with pytest.raises(DcbenchError, match="--out names one run directory but 2 sets"):
        evaluate_sets(sets, EvaluateConfig(models=[MODEL]), "cpu", None, False, False,
                      tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_parallel_jobs_train_the_same_models(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Two worker processes with one thread each give the accuracies of one process with one
    thread: the seeds derive from the model's index, not from the order of training."""
    monkeypatch.setenv("DCBENCH_RESULTS", str(tmp_path / "results"))
    set_path = made_by("random", tmp_path)
    config = EvaluateConfig(models=[MODEL], protocol=EvalProtocol(epochs=3, num_models=3))
    _, alone = evaluate_job(set_path, config, "cpu", None, False, False)
    from dcbench.evaluation import protocol

    pools = []
    real = protocol.run_in_processes
    monkeypatch.setattr(protocol, "run_in_processes",
                        lambda fn, units, workers, *a, **k: pools.append(workers)
                        or real(fn, units, workers, *a, **k))
    run, parallel = evaluate_job(set_path, config, "cpu", None, False, False, jobs=2, threads=1)
    assert pools == [2]  # the models did train in worker processes
    assert parallel["models"][MODEL]["accuracies"] == alone["models"][MODEL]["accuracies"]
    assert json.loads((run / "config.json").read_text())["config"]["jobs"] == 2


def test_jobs_are_checked_first(tmp_path: Path) -> None:
    from dcbench.errors import DcbenchError
    from dcbench.evaluation.job import evaluate_sets

    with pytest.raises(DcbenchError, match="--jobs must be at least 1"):
        evaluate_sets([made_by("random", tmp_path)], EvaluateConfig(models=[MODEL]), "cpu",
                      None, False, False, tmp_path / "out", jobs=0)
    assert not (tmp_path / "out").exists()


@pytest.fixture
def interrupted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                ) -> tuple[Path, EvaluateConfig, Path]:
    """(set, config, run directory) of a 2-model evaluation stopped after its first model,
    under ``tmp_path/results`` (the results root while the test runs)."""
    results = tmp_path / "results"
    set_path = made_by("random", tmp_path)
    config = EvaluateConfig(models=[MODEL], protocol=EvalProtocol(epochs=2, num_models=2))
    with pytest.MonkeyPatch.context() as mp:
        _interrupt_after(1, mp)
        mp.setenv("DCBENCH_RESULTS", str(results))
        with pytest.raises(KeyboardInterrupt):
            evaluate_job(set_path, config, "cpu", None, False, False)
    monkeypatch.setenv("DCBENCH_RESULTS", str(results))
    (partial,) = (results / "evaluate").iterdir()
    return set_path, config, partial


def test_the_same_command_continues_without_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    interrupted: tuple[Path, EvaluateConfig, Path],
) -> None:
    set_path, config, partial = interrupted
    results = partial.parent.parent
    other = EvaluateConfig(models=[MODEL], protocol=EvalProtocol(epochs=2, num_models=3))
    assert unfinished_run(set_path, other, 0, "cpu") is None  # another protocol
    monkeypatch.chdir(tmp_path)  # the same set named by a relative path
    relative = set_path.relative_to(tmp_path)
    run, metrics = evaluate_job(relative, config, "cpu", None, False, False)
    assert run == partial and len(metrics["models"][MODEL]["accuracies"]) == 2
    assert list((results / "evaluate").iterdir()) == [partial]
    assert not (partial / "running.lock").exists()


def test_a_run_in_progress_is_left_alone(
    interrupted: tuple[Path, EvaluateConfig, Path],
) -> None:
    import os

    from dcbench.errors import DcbenchError
    from dcbench.evaluation.job import try_lock

    set_path, config, partial = interrupted
    held = try_lock(partial)  # as a process evaluating there holds it
    assert held is not None
    assert unfinished_run(set_path, config, 0, "cpu") is None
    with pytest.raises(DcbenchError, match=f"is being evaluated by process {os.getpid()}"):
        evaluate_job(set_path, config, "cpu", None, False, False, partial)
    held.close()  # the process ended (the system drops its lock, however it ended)
    assert (partial / "running.lock").exists()  # left behind, but no longer held
    assert unfinished_run(set_path, config, 0, "cpu") == partial


def test_a_probe_neither_turns_the_owner_away_nor_rewrites_its_pid(
    interrupted: tuple[Path, EvaluateConfig, Path],
) -> None:
    """16 evaluations started at once: one's is_running probe of a run held the lock for an
    instant and the run's own process gave up. A probe leaves the pid alone, and the owner
    waits out a lock held for less than its wait."""
    import fcntl
    import threading

    from dcbench.evaluation.job import LOCK, is_running, try_lock

    set_path, config, partial = interrupted
    (partial / LOCK).write_text("4242")
    assert not is_running(partial) and (partial / LOCK).read_text() == "4242"
    with open(partial / LOCK) as probe:  # a probe that holds the lock for a moment
        fcntl.flock(probe.fileno(), fcntl.LOCK_EX)
        release = threading.Timer(0.2, fcntl.flock, (probe.fileno(), fcntl.LOCK_UN))
        release.start()
        held = try_lock(partial, wait_s=30.0)
        release.join()
    assert held is not None
    assert is_running(partial) and try_lock(partial, wait_s=0.0) is None
    held.close()
    run, metrics = evaluate_job(set_path, config, "cpu", None, False, False)
    assert run == partial and len(metrics["models"][MODEL]["accuracies"]) == 2


def test_the_test_batch_does_not_stop_a_run_continuing(
    interrupted: tuple[Path, EvaluateConfig, Path],
) -> None:
    """How the test images are batched changes no result, so a run interrupted under one
    test batch continues under another (e.g. after its default changed)."""
    import dataclasses

    set_path, config, partial = interrupted
    other = dataclasses.replace(config, protocol=dataclasses.replace(config.protocol,
                                                                     test_batch=2048))
    assert unfinished_run(set_path, other, 0, "cpu") == partial


def test_results_written_without_a_manifest_are_finished_on_the_next_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A crash between metrics.json and manifest.json: the next run completes the directory
    (every model is in progress.json, so nothing trains again)."""
    from dcbench.evaluation import protocol
    from dcbench.results.rundir import RunDir

    monkeypatch.setenv("DCBENCH_RESULTS", str(tmp_path / "results"))
    set_path = made_by("random", tmp_path)
    config = EvaluateConfig(models=[MODEL], protocol=EvalProtocol(epochs=2, num_models=1))

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(RunDir, "write_manifest", crash)
    with pytest.raises(KeyboardInterrupt):
        evaluate_job(set_path, config, "cpu", None, False, False, tmp_path / "run")
    assert (tmp_path / "run" / "metrics.json").exists()
    monkeypatch.undo()
    monkeypatch.setenv("DCBENCH_RESULTS", str(tmp_path / "results"))
    monkeypatch.setattr(protocol, "train_model", crash)  # nothing may train again
    evaluate_job(set_path, config, "cpu", None, False, False, tmp_path / "run")
    assert (tmp_path / "run" / "manifest.json").exists()



@pytest.mark.parametrize("text, mode", [("false", "false"), ("true", "true"), ("auto", "auto")])
def test_set_compile_takes_what_its_help_names(text: str, mode: str) -> None:
    """``--set compile=false`` arrives as a YAML bool; it must mean the mode ``false``."""
    from dcbench import config as cfg

    config = cfg.load(EvaluateConfig, cfg.parse_assignments([f"compile={text}"]))
    assert config.compile == mode
