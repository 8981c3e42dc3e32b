"""``dcbench run <task file>``: dispatch by kind, reuse of finished work, dry runs."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from dcbench.cli import cli
from dcbench.report import load_evaluations

TOY = "toy:classes=3:per_class=8:test_per_class=4:size=16x16"
TINY = {
    "kind": "condense",
    "description": "Two random sets of a tiny toy dataset, each evaluated on one small model.",
    "expected_time": {"quick": "seconds", "paper": "seconds"},
    "dataset": TOY,
    "methods": ["random"],
    "ipc": [1],
    "evaluation": {"models": ["convnet:depth=1:width=4"], "num_models": 1, "epochs": 2},
    "presets": {"quick": {"seeds": [0, 1]}, "paper": {"seeds": [0]}},
}


@pytest.fixture
def results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "results"
    monkeypatch.setenv("DCBENCH_RESULTS", str(root))
    return root


def write(tmp_path: Path, data: dict, name: str) -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    return path


def run(*args: str):
    return CliRunner().invoke(cli, ["run", *args, "--quiet", "--threads", "1",
                                    "--device", "cpu"])


def test_condense_task_runs_then_reuses_everything(tmp_path: Path, results: Path) -> None:
    path = write(tmp_path, TINY, "condense-tiny.yaml")
    res = run(str(path))
    assert res.exit_code == 0, res.output
    assert res.output.count("saved: ") == 2 and res.output.count("results: ") == 2
    evals = load_evaluations(results)
    assert sorted(evals["seed"]) == [0, 1]  # evaluation seed = the set's seed by default
    assert set(evals["eval_seed"]) == {0, 1} and set(evals["preset"]) == {"quick"}
    again = run(str(path))
    assert again.exit_code == 0, again.output
    assert again.output.count("set exists: ") == 2
    assert again.output.count("evaluated already: ") == 2
    assert len(list((results / "evaluate").iterdir())) == 2
    # a different protocol is a new evaluation; the sets are still reused
    third = run(str(path), "--set", "evaluation.num_models=2", "--set", "seeds=[0]")
    assert third.exit_code == 0, third.output
    assert "set exists: " in third.output and "evaluated already" not in third.output
    assert len(list((results / "evaluate").iterdir())) == 3


def test_an_interrupted_evaluation_continues_on_the_next_run(
    tmp_path: Path, results: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A session that ends mid-evaluation keeps its trained models; the next run of the task
    continues that run directory instead of starting the evaluation over."""
    from dcbench.evaluation import job

    data = {**TINY, "presets": {"quick": {"seeds": [0]}, "paper": {"seeds": [0]}},
            "evaluation": {**TINY["evaluation"], "num_models": 3}}
    path = write(tmp_path, data, "condense-tiny.yaml")
    real = job.evaluate_set

    def stop_after_one(*args, on_model, **kwargs):
        def hook(spec, model):
            on_model(spec, model)
            raise KeyboardInterrupt
        return real(*args, on_model=hook, **kwargs)

    monkeypatch.setattr(job, "evaluate_set", stop_after_one)
    assert run(str(path)).exit_code != 0
    (partial,) = (results / "evaluate").iterdir()
    assert (partial / "progress.json").exists() and not (partial / "metrics.json").exists()
    trained = []
    monkeypatch.setattr(job, "evaluate_set", lambda *a, **k: trained.append(
        len(k["done"]["convnet:depth=1:width=4"])) or real(*a, **k))
    res = run(str(path))
    assert res.exit_code == 0, res.output
    assert f"continuing: {partial}" in res.output and trained == [1]
    assert list((results / "evaluate").iterdir()) == [partial]
    assert (partial / "metrics.json").exists() and not (partial / "progress.json").exists()


def test_an_evaluation_of_an_older_protocol_is_not_reused(tmp_path: Path, results: Path) -> None:
    """A recorded protocol without this one's fields (e.g. ``schedule``, before training made
    Epoch + 1 passes) or resolved otherwise for a model is a different evaluation."""
    import json

    from dcbench.evaluation.config import EvaluateConfig
    from dcbench.evaluation.protocol import EvalProtocol
    from dcbench.tasks.runners import find_evaluation

    path = write(tmp_path, {**TINY, "presets": {"quick": {"seeds": [0]}, "paper": {}}},
                 "condense-one.yaml")
    assert run(str(path)).exit_code == 0
    (metrics_path,) = (results / "evaluate").glob("*/metrics.json")
    set_path = Path(json.loads(metrics_path.read_text())["set"]["path"])
    spec = EvaluateConfig(models=["convnet:depth=1:width=4"],
                          protocol=EvalProtocol(epochs=2, num_models=1))
    assert find_evaluation(set_path, spec, 0, results) == metrics_path.parent
    assert find_evaluation(set_path, spec, 1, results) is None  # another seed
    other = EvaluateConfig(models=spec.models, protocol=EvalProtocol(epochs=2, num_models=1,
                                                                     augment="crop_noise"))
    assert find_evaluation(set_path, other, 0, results) is None
    bigger = EvaluateConfig(models=spec.models, protocol=EvalProtocol(epochs=2, num_models=1,
                                                                      test_batch=7))
    assert find_evaluation(set_path, bigger, 0, results) == metrics_path.parent  # no effect
    bf16 = EvaluateConfig(models=spec.models, protocol=EvalProtocol(epochs=2, num_models=1,
                                                                    precision="bf16"))
    assert find_evaluation(set_path, bf16, 0, results) is None
    metrics = json.loads(metrics_path.read_text())
    for r in metrics["models"].values():
        del r["protocol"]["precision"]  # added later: its absence means fp32
    metrics_path.write_text(json.dumps(metrics))
    assert find_evaluation(set_path, spec, 0, results) == metrics_path.parent
    assert find_evaluation(set_path, bf16, 0, results) is None
    for r in metrics["models"].values():
        del r["protocol"]["schedule"]
    metrics_path.write_text(json.dumps(metrics))
    assert find_evaluation(set_path, spec, 0, results) is None
    again = run(str(path))
    assert again.exit_code == 0 and "evaluated already" not in again.output


def test_an_evaluation_of_a_set_since_made_again_is_not_reused(tmp_path: Path,
                                                               results: Path) -> None:
    """A set saved again at the same path (another content digest) is another set: its old
    evaluation is neither reused by the task nor pooled by the report."""
    import json

    import torch

    from dcbench.condense.synthetic_set import SyntheticSet

    path = write(tmp_path, {**TINY, "presets": {"quick": {"seeds": [0]}, "paper": {}}},
                 "condense-one.yaml")
    assert run(str(path)).exit_code == 0
    (metrics_path,) = (results / "evaluate").glob("*/metrics.json")
    set_path = Path(json.loads(metrics_path.read_text())["set"]["path"])
    assert len(load_evaluations(results)) == 1
    again = run(str(path))
    assert "evaluated already" in again.output
    metrics = json.loads(metrics_path.read_text())
    del metrics["set"]["sha1"]  # before metrics held it: config.json's identity tells
    metrics_path.write_text(json.dumps(metrics))
    sset = SyntheticSet.load(set_path)
    SyntheticSet(sset.images + 0.5, sset.labels, sset.meta).save(set_path)
    assert load_evaluations(results).empty  # the evaluation is of a set no longer there
    third = run(str(path))
    assert third.exit_code == 0 and "evaluated already" not in third.output
    assert len(list((results / "evaluate").glob("*/metrics.json"))) == 2
    assert len(load_evaluations(results)) == 1
    assert torch.equal(SyntheticSet.load(set_path).images, sset.images + 0.5)


def test_dry_run_changes_nothing(tmp_path: Path, results: Path) -> None:
    path = write(tmp_path, TINY, "condense-tiny.yaml")
    res = run(str(path), "--dry-run", "--preset", "paper")
    assert res.exit_code == 0, res.output
    assert "[1/1] condense " in res.output and "to condense; to evaluate" in res.output
    assert not results.exists()


def test_evaluate_task(tmp_path: Path, results: Path) -> None:
    assert run(str(write(tmp_path, {**TINY, "presets": {"quick": {"seeds": [0]},
                                                        "paper": {}}}, "condense-a.yaml"))
               ).exit_code == 0
    task = {"kind": "evaluate", "description": "Evaluate every toy set again.",
            "expected_time": {"quick": "s", "paper": "s"},
            "sets": [str(results / "condense" / "*" / "set.pt")],
            "evaluation": {"models": ["mlp"], "num_models": 1, "epochs": 1},
            "presets": {"quick": {}, "paper": {"evaluation": {"num_models": 2}}}}
    path = write(tmp_path, task, "evaluate-all.yaml")
    res = run(str(path))
    assert res.exit_code == 0, res.output
    assert set(load_evaluations(results)["model"]) == {"convnet:depth=1:width=4", "mlp"}
    missing = write(tmp_path, {**task, "sets": [str(tmp_path / "none" / "*.pt")]},
                    "evaluate-none.yaml")
    res = run(str(missing))
    assert res.exit_code == 1 and "sets: nothing matches" in res.output


@pytest.mark.parametrize("kind, body", [
    ("continual", {"ipc": 2, "buffers": ["condensed", "herding"],
                   "presets": {"quick": {"epochs": 3}, "paper": {"epochs": 4}}}),
    ("nas", {"ipc": 2, "proxies": ["random"], "top_k": 3,
             "presets": {"quick": {"epochs": 3}, "paper": {"epochs": 4}}}),
])
def test_the_config_a_file_validates_to_is_the_config_the_run_gets(
        kind: str, body: dict, tmp_path: Path, results: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The kind's runner receives exactly the validated config (not a raw mapping), with the
    preset's and the --set values applied once."""
    from dcbench.tasks import runners
    from dcbench.tasks.spec import load_task_file

    seen: list = []

    def fake_runner(config, options):
        seen.append((config, options))
        return None

    monkeypatch.setattr(runners, f"run_{kind}", fake_runner)
    data = {"kind": kind, "description": "A stand-in.",
            "expected_time": {"quick": "s", "paper": "s"}, **body}
    path = write(tmp_path, data, f"{kind}-x.yaml")
    res = run(str(path), "--preset", "paper", "--set", "seeds=[0,1]", "--set",
              "dc.iterations=3")
    assert res.exit_code == 0, res.output
    ((config, options),) = seen
    expected = load_task_file(path).config("paper", {"seeds": [0, 1], "dc.iterations": 3})
    assert config == expected and type(config).__name__ in ("ContinualConfig", "NASConfig")
    assert config.epochs == 4 and config.seeds == [0, 1] and config.preset == "paper"
    assert config.method_settings["dc"]["iterations"] == 3
    assert options.threads == 1 and options.quiet
    res = run(str(path), "--set", "bad=1")
    assert res.exit_code == 1 and "unknown key bad" in res.output and len(seen) == 1
