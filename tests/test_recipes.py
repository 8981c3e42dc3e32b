"""The five recipes of ARCHITECTURE.md, each done once with a dummy entry.

Every test registers something new the way the recipe says (and only that way), then uses it
through the public entry point a user would: the CLI or the run function. Registrations are
undone after each test (``monkeypatch`` on the registry's entries).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from torch import nn

from dcbench.cli import cli
from dcbench.condense.base import CONDENSERS, CondenseRequest, base_meta
from dcbench.condense.synthetic_set import SyntheticSet
from dcbench.data import make_toy_dataset
from dcbench.data.registry import DATASETS, DatasetEntry
from dcbench.models import MODELS
from dcbench.registry import Registry

TOY = "toy:classes=3:per_class=8:test_per_class=4:size=16x16"
FAST = ["--quiet", "--threads", "1", "--device", "cpu"]


def register(monkeypatch: pytest.MonkeyPatch, registry: Registry, name: str, obj) -> None:
    monkeypatch.setitem(registry._entries, name, obj)


@pytest.fixture
def results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DCBENCH_RESULTS", str(tmp_path / "results"))
    return tmp_path / "results"


def invoke(*args: str):
    return CliRunner().invoke(cli, [*args, *FAST])


# --- recipe 1: a condensation method --------------------------------------------------------

@dataclass
class FirstKConfig:
    """The first images of each class, after skipping ``offset``."""

    offset: int = 0

    @classmethod
    def preset(cls, name: str, ipc: int) -> FirstKConfig:
        return cls(offset=0 if name == "paper" else 1)


class FirstK:
    """The first ipc images of every class (a dummy method)."""

    Config = FirstKConfig

    def run(self, request: CondenseRequest, config: FirstKConfig) -> SyntheticSet:
        ds, picks = request.dataset, []
        for c in request.class_list():
            picks.append(ds.class_indices(c)[config.offset:config.offset + request.ipc])
        idx = torch.cat(picks)
        meta = {**base_meta(request, "firstk", config), "iterations_done": 0}
        return SyntheticSet(ds.x_train[idx].clone(), ds.y_train[idx].clone(), meta)


def test_recipe_method(monkeypatch, results: Path) -> None:
    register(monkeypatch, CONDENSERS, "firstk", FirstK)
    res = invoke("condense", "--dataset", TOY, "--method", "firstk", "--ipc", "2",
                 "--set", "firstk.offset=3")
    assert res.exit_code == 0, res.output
    path = Path(res.output.strip().splitlines()[-1].split(": ", 1)[1])
    sset = SyntheticSet.load(path)
    assert sset.meta["method"] == "firstk" and sset.meta["hparams"] == {"offset": 3}
    assert len(sset.images) == 6
    assert "firstk" in CliRunner().invoke(cli, ["methods"]).output
    bad = invoke("condense", "--dataset", TOY, "--method", "firstk", "--set", "firstk.x=1")
    assert bad.exit_code == 1 and "unknown key firstk.x" in bad.output


# --- recipe 2: a model -----------------------------------------------------------------------

class TinyNet(nn.Module):
    """One linear layer over the pixels (a dummy model)."""

    def __init__(self, channels: int, num_classes: int, image_size: tuple[int, int],
                 hidden: int = 8) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(channels * image_size[0]
                                                          * image_size[1], hidden), nn.ReLU())
        self.head = nn.Linear(hidden, num_classes)
        self.feature_dim = hidden

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(x))


def test_recipe_model(monkeypatch, results: Path) -> None:
    register(monkeypatch, MODELS, "tinynet", TinyNet)
    res = invoke("condense", "--dataset", TOY, "--method", "random", "--ipc", "1")
    assert res.exit_code == 0, res.output
    set_path = res.output.strip().splitlines()[-1].split(": ", 1)[1]
    res = invoke("evaluate", set_path, "--models", "tinynet:hidden=4", "--num-models", "1",
                 "--epochs", "2")
    assert res.exit_code == 0, res.output
    (run,) = (results / "evaluate").iterdir()
    metrics = json.loads((run / "metrics.json").read_text())
    assert list(metrics["models"]) == ["tinynet:hidden=4"]


# --- recipe 3: a dataset ---------------------------------------------------------------------

def test_recipe_dataset(monkeypatch, results: Path) -> None:
    def load_blobs(arg, root, download):
        return make_toy_dataset(2, 6, 3, image_size=(12, 12), seed=5)

    register(monkeypatch, DATASETS, "blobs", DatasetEntry("blobs", load_blobs, "two blobs"))
    res = invoke("condense", "--dataset", "blobs", "--method", "random", "--ipc", "2")
    assert res.exit_code == 0, res.output
    assert (results / "condense").glob("*-random-ipc2-quick-seed0")
    assert "blobs" in CliRunner().invoke(cli, ["data", "list"]).output


# --- recipe 4: a continual-learning buffer --------------------------------------------------

def test_recipe_buffer(monkeypatch) -> None:
    from dcbench.config import load
    from dcbench.continual.config import ContinualConfig
    from dcbench.continual.memories import BUFFERS, BufferKind, BufferRequest, buffer_kind

    made: list[BufferRequest] = []

    def make(request: BufferRequest):
        made.append(request)
        return "a buffer"

    kind = BufferKind("lastseen", "the last images seen", make, lambda run_method: None)
    register(monkeypatch, BUFFERS, "lastseen", kind)
    config = load(ContinualConfig, {"buffers": ["condensed", "lastseen"], "ipc": 2})
    assert config.buffer_method("lastseen") is None and config.methods_used() == ["dc"]
    request = BufferRequest(ipc=2, max_classes=4, method=None, preset="quick", settings={},
                            seed=0, device=torch.device("cpu"), source=None)
    assert buffer_kind("lastseen").make(request) == "a buffer" and made == [request]


# --- recipe 5: a NAS proxy -------------------------------------------------------------------

def test_recipe_proxy(monkeypatch, results: Path) -> None:
    from dcbench.config import load
    from dcbench.nas.config import NASConfig
    from dcbench.nas.experiment import run_nas
    from dcbench.nas.proxies import PROXIES, ProxyContext, ProxyData

    def first_images(ctx: ProxyContext) -> ProxyData:
        idx = ctx.whole_idx[: ctx.set_images]
        return ProxyData("first-images", ctx.dataset.x_train[idx], ctx.dataset.y_train[idx],
                         ctx.epochs, len(idx), f"the first {len(idx)} training images")

    register(monkeypatch, PROXIES, "first-images", first_images)
    config = load(NASConfig, {
        "space": {"grid": {"width": [4, 8], "depth": [1], "pool": ["avg"]}},
        "dataset": TOY, "ipc": 1, "proxies": ["first-images"], "top_k": 2, "epochs": 1,
        "whole_epochs": 1, "whole_per_class": 0, "test_per_class": 0, "threads": 1,
        "device": "cpu", "quiet": True})
    result = run_nas(config)
    assert list(result.ranking["proxies"]) == ["first-images", "whole"]
    assert result.ranking["proxies"]["first-images"]["images_stored"] == 3
