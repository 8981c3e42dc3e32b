"""DSA and DM: their losses, presets, metadata, resume, and that they beat random on toy data."""

from __future__ import annotations

import statistics
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from dcbench import dsa
from dcbench.condense import CondenseRequest, condense, make_config
from dcbench.condense.dc import GradientMatcher
from dcbench.condense.dm import DistributionMatcher, DMConfig, dm_loss
from dcbench.condense.dsa import DSAConfig
from dcbench.condense.matching import layerwise_distance
from dcbench.data import make_toy_dataset
from dcbench.errors import DcbenchError
from dcbench.evaluation.protocol import EvalProtocol, evaluate_set
from dcbench.seeding import generator

TINY = {
    "dsa": {"model": "convnet:width=8:depth=2", "iterations": 4, "outer_loop": 2,
            "inner_loop": 1, "batch_real": 8, "compile": False},
    "dm": {"model": "convnet:width=8:depth=2", "iterations": 4, "batch_real": 8,
           "compile": False},
}
ENGINES = {"dsa": GradientMatcher, "dm": DistributionMatcher}


class Interrupt(Exception):
    pass


def run(method: str, ds, ipc: int = 2, seed: int = 0, checkpoint: Path | None = None, **kw):
    request = CondenseRequest(ds, ipc=ipc, seed=seed, checkpoint=checkpoint, progress=False)
    return condense(method, request, overrides={**TINY[method], **kw})


# -- DM's loss -------------------------------------------------------------------------------
def test_dm_loss_is_the_squared_distance_of_class_means() -> None:
    real = torch.tensor([[1.0, 0.0], [3.0, 2.0], [0.0, 0.0], [0.0, 4.0]])  # classes 0, 0, 1, 1
    syn = torch.tensor([[1.0, 1.0], [0.0, 1.0]])  # one per class
    # class 0: mean (2, 1) vs (1, 1) -> 1; class 1: mean (0, 2) vs (0, 1) -> 1
    assert float(dm_loss(real, [2, 2], syn, [1, 1])) == pytest.approx(2.0)
    uneven = dm_loss(real, [1, 3], syn, [1, 1])  # (1,0)-(1,1) -> 1; (1, 2)-(0, 1) -> 2
    assert float(uneven) == pytest.approx(3.0)


def test_dm_one_pass_equals_the_per_class_loop(tiny_dataset) -> None:
    request = CondenseRequest(tiny_dataset, ipc=2, seed=0, progress=False)
    m = DistributionMatcher(request, DMConfig(**TINY["dm"]), strategy="none")
    loss = m.loss(generator(5))
    g = generator(5)  # the same real batches, embedded class by class
    per_class = torch.zeros(())
    for i, c in enumerate(m.classes):
        real = m._sample_real(c, m.config.batch_real, g)
        syn = m.images[i * m.ipc:(i + 1) * m.ipc]
        per_class = per_class + (m.net.embed(real).mean(0) - m.net.embed(syn).mean(0)).pow(2).sum()
    assert torch.allclose(loss, per_class, rtol=1e-5)
    grad_one, = torch.autograd.grad(loss, m.images)
    grad_loop, = torch.autograd.grad(per_class, m.images)
    assert torch.allclose(grad_one, grad_loop, rtol=1e-4, atol=1e-7)


def test_dm_siamese_loss_equals_a_per_class_loop_with_one_transform_per_class(
    tiny_dataset,
) -> None:
    request = CondenseRequest(tiny_dataset, ipc=2, seed=0, progress=False)
    m = DistributionMatcher(request, DMConfig(**TINY["dm"]), strategy=dsa.FULL)
    loss = m.loss(generator(5))
    g = generator(5)
    real = [m._sample_real(c, m.config.batch_real, g) for c in m.classes]
    t = dsa.siamese(dsa.FULL, len(m.classes), g)
    expected = torch.zeros(())
    for i, x in enumerate(real):
        xr = t.apply(x, torch.full((len(x),), i))
        xs = t.apply(m.images[i * m.ipc:(i + 1) * m.ipc], torch.full((m.ipc,), i))
        expected = expected + (m.net.embed(xr).mean(0) - m.net.embed(xs).mean(0)).pow(2).sum()
    assert torch.allclose(loss, expected, rtol=1e-5)
    plain = DistributionMatcher(request, DMConfig(**TINY["dm"]), strategy="none")
    plain.net.load_state_dict(m.net.state_dict())
    assert not torch.allclose(plain.loss(generator(5)), loss)  # the augmentation acted


def test_dsa_matching_equals_a_per_class_loop_with_one_transform_per_class(tiny_dataset) -> None:
    request = CondenseRequest(tiny_dataset, ipc=2, seed=0, progress=False)
    config = make_config("dsa", "quick", 2, TINY["dsa"])
    m = GradientMatcher(request, config, strategy=dsa.FULL)
    assert m.batched  # the vmap path is what is checked against the loop
    loss = m.matching_loss(generator(4))
    g = generator(4)
    t = dsa.siamese(dsa.FULL, len(m.classes), g)  # drawn before the real batches, as DSA does
    params, expected = m.matched_params, torch.zeros(())
    for i, c in enumerate(m.classes):
        x = m._sample_real(c, config.batch_real, g)
        x = t.apply(x, torch.full((len(x),), i))
        g_real = torch.autograd.grad(F.cross_entropy(m.net(x), torch.full((len(x),), c)), params)
        syn = t.apply(m.images[i * m.ipc:(i + 1) * m.ipc], torch.full((m.ipc,), i))
        g_syn = torch.autograd.grad(F.cross_entropy(m.net(syn), torch.full((m.ipc,), c)), params,
                                    create_graph=True)
        expected = expected + layerwise_distance(g_real, g_syn)
    torch.testing.assert_close(loss, expected, rtol=1e-5, atol=1e-6)


def test_dm_network_is_frozen_and_fresh_each_iteration(tiny_dataset) -> None:
    request = CondenseRequest(tiny_dataset, ipc=1, seed=0, progress=False)
    m = DistributionMatcher(request, DMConfig(**TINY["dm"]), strategy=dsa.NO_FLIP)
    m.iteration(0)
    first = [p.clone() for p in m.net.parameters()]
    assert all(not p.requires_grad for p in m.net.parameters())
    m.iteration(1)
    assert any(not torch.equal(a, b) for a, b in zip(first, m.net.parameters(), strict=True))


def test_dm_with_a_batchnorm_convnet_embeds_all_classes_at_once(tiny_dataset) -> None:
    sset = run("dm", tiny_dataset, model="convnet:width=8:depth=2:norm=batch", iterations=2)
    assert torch.isfinite(sset.images).all() and len(sset.meta["loss_history"]) == 2


@pytest.mark.parametrize("method", ["dc", "dsa", "dm"])
def test_bf16_losses_stay_close_to_fp32(tiny_dataset, method: str) -> None:
    """bf16 runs only the passes that tolerate it: the loss moves by bf16 rounding, no more."""
    losses = {}
    for precision in ("fp32", "bf16"):
        request = CondenseRequest(tiny_dataset, ipc=2, seed=0, progress=False)
        settings = {**TINY.get(method, TINY["dsa"]), "precision": precision}
        config = make_config(method, "quick", 2, settings)
        if method == "dm":
            engine = DistributionMatcher(request, config, strategy="none")
            losses[precision] = float(engine.loss(generator(3)))
        else:
            engine = GradientMatcher(request, config, dsa.FULL if method == "dsa" else None)
            losses[precision] = float(engine.matching_loss(generator(3)))
    assert losses["bf16"] != losses["fp32"]  # bf16 really ran
    assert losses["bf16"] == pytest.approx(losses["fp32"], rel=5e-2)
    sset = run("dm", tiny_dataset, precision="bf16", iterations=2)
    assert sset.meta["hparams"]["precision"] == "bf16"


# -- presets, metadata ------------------------------------------------------------------------
def test_presets_are_the_authors() -> None:
    paper = DSAConfig.preset("paper", 10)
    assert (paper.iterations, paper.outer_loop, paper.inner_loop) == (1000, 10, 50)
    assert paper.init == "real" and paper.lr_img == 0.1 and paper.strategy == "auto"
    dm = DMConfig.preset("paper", 10)
    assert (dm.iterations, dm.batch_real, dm.lr_img, dm.momentum_img, dm.init) == (
        20000, 256, 1.0, 0.5, "real")
    assert DMConfig.preset("quick", 10).iterations < dm.iterations
    with pytest.raises(DcbenchError, match="unknown DSA op"):
        make_config("dsa", "quick", 1, {"strategy": "color_blur"})
    with pytest.raises(DcbenchError, match="dm setting lr_img"):
        make_config("dm", "quick", 1, {"lr_img": 0})


@pytest.mark.parametrize("method", ["dsa", "dm"])
def test_sets_record_method_strategy_and_settings(tiny_dataset, method: str) -> None:
    sset = run(method, tiny_dataset)
    assert sset.images.shape == (6, 1, 16, 16) and sset.labels.tolist() == [0, 0, 1, 1, 2, 2]
    assert sset.meta["method"] == method and sset.meta["dsa_strategy"] == dsa.FULL
    assert sset.meta["hparams"]["strategy"] == "auto" and sset.meta["iterations_done"] == 4
    assert sset.meta["deviations"]  # where it differs from the authors, said in the file
    assert len(sset.meta["iteration_s"]) == 4 and all(t > 0 for t in sset.meta["iteration_s"])
    again = run(method, tiny_dataset)
    assert torch.equal(again.images, sset.images)  # seeded
    assert not torch.equal(run(method, tiny_dataset, seed=1).images, sset.images)


@pytest.mark.parametrize("method", ["dsa", "dm"])
def test_interrupted_run_resumes_to_the_same_set(
    tiny_dataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, method: str
) -> None:
    settings = {"iterations": 5, "checkpoint_every": 2}
    reference = run(method, tiny_dataset, **settings)
    engine = ENGINES[method]
    original = engine.iteration

    def interrupted(self, it: int) -> float:
        if it == 3:
            raise Interrupt
        return original(self, it)

    monkeypatch.setattr(engine, "iteration", interrupted)
    ckpt = tmp_path / "checkpoint.pt"
    with pytest.raises(Interrupt):
        run(method, tiny_dataset, checkpoint=ckpt, **settings)
    monkeypatch.setattr(engine, "iteration", original)
    resumed = run(method, tiny_dataset, checkpoint=ckpt, **settings)
    assert torch.equal(resumed.images, reference.images)
    assert resumed.meta["loss_history"] == reference.meta["loss_history"]
    assert len(resumed.meta["iteration_s"]) == 5  # one time per iteration, across the resume


# -- they work ------------------------------------------------------------------------------
@pytest.mark.parametrize("method, settings", [
    ("dsa", {"model": "convnet:width=16:depth=2", "iterations": 20, "lr_img": 1.0,
             "outer_loop": 1, "inner_loop": 1, "compile": False}),
    ("dm", {"model": "convnet:width=16:depth=2", "iterations": 100, "batch_real": 40,
            "lr_img": 1.0, "compile": False}),
])
def test_method_beats_random_on_the_toy_dataset(method: str, settings: dict) -> None:
    ds = make_toy_dataset(num_classes=4, per_class=40, test_per_class=100)
    protocol = EvalProtocol(epochs=100, num_models=2, augment="none")
    scores: dict[str, list[float]] = {"random": [], method: []}
    for name, overrides in (("random", {}), (method, settings)):
        for seed in (0, 1, 2):
            sset = condense(name, CondenseRequest(ds, ipc=1, seed=seed, progress=False),
                            overrides=overrides)
            result = evaluate_set(sset.images, sset.labels, ds, [settings["model"]], protocol,
                                  seed=seed, progress=False)
            scores[name].append(result["models"][settings["model"]]["mean"])
    assert statistics.fmean(scores[method]) > statistics.fmean(scores["random"]) + 5, scores
