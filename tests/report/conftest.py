"""A results tree written by the package's real writers on generated data, read by the tests.

Every run is made as a user makes it: the ``dcbench`` command, in this process (click's
CliRunner, ``sys.argv`` set to the command so each manifest records it), into a temporary
results root. A writer that changes what it writes without its reader following therefore
fails these tests; no file here is written by hand except the unfinished condensation.

On the toy dataset :data:`TOY` (3 classes, 8 training and 4 test images each, 16×16):

* condense: random ipc 1 seeds 0 and 1 (quick), dc ipc 1 seed 0 (quick, as the preset is), herding
  ipc 5 seed 0 (paper preset), and a condensation still running (a checkpoint only),
  which the report ignores;
* evaluate (2 epochs, 2 models per spec): each random set on the ConvNet (pooled: n = 4 over
  2 sets); the dc set on the ConvNet and the MLP, twice (a repeated evaluation that must count
  once); the herding set on the ConvNet;
* one continual run: condensed (dc) and herding memories × seeds 0, 1 × 3 steps (gdumb);
* one NAS run: the 15-candidate space on the condensed proxy (the dc set above), random and
  the ground truth (whole).

Building it takes seconds; it is session-scoped and read-only (copy it before changing it).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import torch
from click.testing import CliRunner

from dcbench.cli import cli

TOY = "toy:classes=3:per_class=8:test_per_class=4:size=16x16"


@dataclass(frozen=True)
class FixtureRuns:
    """Where each run of the fixture tree is (paths as the commands printed them)."""

    root: Path
    sets: dict[str, Path]  # random0, random1, dc, herding -> set.pt
    evals: dict[str, Path]  # random0, random1, dc, dc_again, herding -> run directory
    continual: Path
    nas: Path
    dataset: str = TOY

    def accuracies(self, *evals: str, model: str = "convnet") -> list[float]:
        """The accuracies the named evaluate runs recorded for one model spec, in order."""
        return [a for key in evals for a in read_json(self.evals[key] / "metrics.json")
                ["models"][model]["accuracies"]]


def dcbench(*args: str) -> str:
    """Run ``dcbench ARGS --quiet --threads 1 --device cpu``; its output (must succeed)."""
    argv = ["dcbench", *args, "--quiet", "--threads", "1", "--device", "cpu"]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sys, "argv", argv)  # what the manifests record as the command
        result = CliRunner().invoke(cli, argv[1:])
    assert result.exit_code == 0, result.output
    return result.output


def printed_path(output: str, prefix: str) -> Path:
    """The path on the output line starting with ``prefix`` (``saved: ``, ``results: ``)."""
    line = next(x for x in output.splitlines() if x.startswith(prefix))
    return Path(line[len(prefix):].split(" (", 1)[0].strip())


def condense(method: str, ipc: int, seed: int, preset: str = "quick", *sets: str) -> Path:
    settings = [a for s in sets for a in ("--set", s)]
    return printed_path(dcbench("condense", "--dataset", TOY, "--method", method, "--ipc",
                                str(ipc), "--preset", preset, "--seed", str(seed), *settings),
                        "saved: ")


def evaluate(set_path: Path, models: str, seed: int) -> Path:
    return printed_path(dcbench("evaluate", str(set_path), "--models", models, "--num-models",
                                "2", "--epochs", "2", "--seed", str(seed)), "results: ")


def build_fixture_results(root: Path) -> FixtureRuns:
    sets = {"random0": condense("random", 1, 0), "random1": condense("random", 1, 1),
            "dc": condense("dc", 1, 0, "quick", "compile=false"),  # compile: not a setting
            "herding": condense("herding", 5, 0, "paper")}
    evals = {"random0": evaluate(sets["random0"], "convnet", 0),
             "random1": evaluate(sets["random1"], "convnet", 1),
             "dc": evaluate(sets["dc"], "convnet,mlp", 0),
             "dc_again": evaluate(sets["dc"], "convnet,mlp", 0),  # the same evaluation
             "herding": evaluate(sets["herding"], "convnet", 0)}
    unfinished = root / "condense" / "toy-dc-ipc2-quick-seed0"
    unfinished.mkdir(parents=True)
    (unfinished / "checkpoint.pt").write_bytes(b"x")
    continual = printed_path(dcbench(
        "run", "continual", "--dataset", TOY, "--experiences", "3", "--ipc", "2",
        "--buffer", "condensed,herding", "--seeds", "0,1", "--epochs", "2",
        "--model", "convnet:width=8:depth=2", "--set", "dc.iterations=1",
        "--set", "dc.outer_loop=2", "--set", "dc.batch_real=8", "--set", "dc.compile=false",
        "--set", "herding.epochs=1"), "results: ")
    nas = printed_path(dcbench(
        "run", "nas", "--dataset", TOY, "--space", "convnet-grid-small",
        "--proxy", "condensed,random", "--ipc", "1", "--condensed-set", str(sets["dc"]),
        "--epochs", "2", "--whole-epochs", "2", "--whole-per-class", "0",
        "--test-per-class", "0", "--top-k", "3"), "results: ")
    return FixtureRuns(root, sets, evals, continual, nas)


@pytest.fixture(scope="session")
def fixture_runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FixtureRuns]:
    """The fixture tree and where its runs are (session-scoped: treat it as read-only)."""
    root = tmp_path_factory.mktemp("report") / "results"
    threads = torch.get_num_threads()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DCBENCH_RESULTS", str(root))
        runs = build_fixture_results(root)
    torch.set_num_threads(threads)  # --threads 1 set it for the whole process
    yield runs


@pytest.fixture(scope="session")
def fixture_results(fixture_runs: FixtureRuns) -> Path:
    """The results root of the fixture tree (read-only: copy it before changing anything)."""
    return fixture_runs.root


def read_json(path: Path) -> Any:
    return json.loads(Path(path).read_text())
