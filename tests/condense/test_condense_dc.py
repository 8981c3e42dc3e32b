"""DC gradient matching: determinism, resume, batched vs per-class path, batch norm, settings."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from dcbench.condense import CondenseRequest, condense, make_config
from dcbench.condense.dc import DCConfig, GradientMatcher, paper_loops
from dcbench.condense.loop import reset_parameters
from dcbench.errors import DcbenchError
from dcbench.seeding import derive_seed, generator

TINY = {
    "model": "convnet:width=8:depth=2", "iterations": 4, "outer_loop": 2, "inner_loop": 1,
    "batch_real": 8, "init": "real", "compile": False,
}


def run_dc(ds, ipc: int = 2, seed: int = 0, checkpoint: Path | None = None, **overrides):
    request = CondenseRequest(ds, ipc=ipc, seed=seed, checkpoint=checkpoint, progress=False)
    return condense("dc", request, overrides={**TINY, **overrides})


# -- determinism ---------------------------------------------------------------------------------
def test_same_seed_same_set_and_another_seed_another(tiny_dataset) -> None:
    a, b = run_dc(tiny_dataset, seed=0), run_dc(tiny_dataset, seed=0)
    assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)
    assert a.meta["loss_history"] == b.meta["loss_history"]
    c = run_dc(tiny_dataset, seed=1)
    assert not torch.equal(a.images, c.images)


def test_noise_init_is_seeded_too(tiny_dataset) -> None:
    a = run_dc(tiny_dataset, init="noise", iterations=2)
    b = run_dc(tiny_dataset, init="noise", iterations=2)
    assert torch.equal(a.images, b.images)


def test_derive_seed_is_stable_and_mixes_every_part() -> None:
    assert derive_seed(0, 1) == derive_seed(0, 1)
    seeds = {derive_seed(s, it) for s in range(4) for it in range(50)}
    assert len(seeds) == 200
    assert derive_seed(1, 2) != derive_seed(2, 1)
    assert 0 <= derive_seed(2**70, -5) < 2**63
    assert torch.equal(torch.rand(3, generator=generator(4, 2)),
                       torch.rand(3, generator=generator(4, 2)))


def test_dc_set_shape_labels_and_metadata(tiny_dataset) -> None:
    ds = tiny_dataset
    sset = run_dc(ds, ipc=3)
    assert sset.images.shape == (9, 1, 16, 16)
    assert sset.labels.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert torch.isfinite(sset.images).all()
    meta = sset.meta
    assert meta["method"] == "dc" and meta["ipc"] == 3 and meta["seed"] == 0
    assert meta["iterations_done"] == 4 and len(meta["loss_history"]) == 4
    assert meta["hparams"]["model"] == TINY["model"] and meta["hparams"]["outer_loop"] == 2
    assert meta["class_names"] == ds.class_names and meta["mean"] == list(ds.mean)
    assert meta["versions"]["torch"] == torch.__version__
    # the images moved away from their real initialisation
    init = GradientMatcher(CondenseRequest(ds, ipc=3, progress=False),
                           make_config("dc", "quick", 3, TINY)).images.detach()
    assert (sset.images - init).abs().max() > 1e-3


def test_a_class_subset_condenses_only_those_classes(tiny_dataset) -> None:
    request = CondenseRequest(tiny_dataset, ipc=1, classes=[2, 0], progress=False)
    sset = condense("dc", request, overrides={**TINY, "iterations": 1})
    assert sset.labels.tolist() == [2, 0] and sset.meta["classes"] == [2, 0]


# -- resume ------------------------------------------------------------------------------------
class Interrupt(KeyboardInterrupt):
    """Ctrl-C raised by the test at a chosen iteration."""


def test_interrupted_run_resumes_to_the_uninterrupted_set_bit_for_bit(
    tiny_dataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ds, ckpt = tiny_dataset, tmp_path / "checkpoint.pt"
    settings = {"iterations": 7, "checkpoint_every": 2}
    reference = run_dc(ds, **settings)

    original = GradientMatcher.iteration
    calls: list[int] = []

    def interrupted(self, it: int) -> float:
        if it == 5:
            raise Interrupt
        calls.append(it)
        return original(self, it)

    monkeypatch.setattr(GradientMatcher, "iteration", interrupted)
    with pytest.raises(Interrupt):
        run_dc(ds, checkpoint=ckpt, **settings)
    assert calls == [0, 1, 2, 3, 4]
    saved = torch.load(ckpt, weights_only=False)
    assert saved["state"]["iteration"] == 4  # the last multiple of checkpoint_every

    def recording(self, it: int) -> float:
        calls.append(it)
        return original(self, it)

    calls.clear()
    monkeypatch.setattr(GradientMatcher, "iteration", recording)
    resumed = run_dc(ds, checkpoint=ckpt, **settings)
    assert calls == [4, 5, 6]  # finished iterations were not recomputed
    assert torch.equal(resumed.images, reference.images)
    assert torch.equal(resumed.labels, reference.labels)
    assert resumed.meta["loss_history"] == reference.meta["loss_history"]
    assert resumed.meta["iterations_done"] == 7


def test_checkpoints_are_written_every_k_iterations_but_not_at_the_end(
    tiny_dataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dcbench.condense.loop as loop_module

    saved: list[int] = []
    real_save = loop_module.save_checkpoint

    def spy(path, state, fingerprint):
        saved.append(state["iteration"])
        real_save(path, state, fingerprint)

    monkeypatch.setattr(loop_module, "save_checkpoint", spy)
    run_dc(tiny_dataset, checkpoint=tmp_path / "c.pt", iterations=7, checkpoint_every=3)
    assert saved == [3, 6]


def test_a_checkpoint_made_with_other_settings_is_refused(
    tiny_dataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ckpt = tmp_path / "checkpoint.pt"
    original = GradientMatcher.iteration

    def stop_at_3(self, it: int) -> float:
        if it == 3:
            raise Interrupt
        return original(self, it)

    monkeypatch.setattr(GradientMatcher, "iteration", stop_at_3)
    with pytest.raises(Interrupt):
        run_dc(tiny_dataset, checkpoint=ckpt, iterations=6, checkpoint_every=2)
    assert ckpt.exists()
    for other in ({"lr_img": 0.5}, {"iterations": 8}, {"model": "convnet:width=4:depth=2"}):
        settings = {"iterations": 6, "checkpoint_every": 2, **other}
        with pytest.raises(DcbenchError) as info:
            run_dc(tiny_dataset, checkpoint=ckpt, **settings)
        assert "other settings" in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(DcbenchError, match="other settings"):
        run_dc(tiny_dataset, seed=9, checkpoint=ckpt, iterations=6, checkpoint_every=2)
    # settings that do not change the result may differ
    monkeypatch.setattr(GradientMatcher, "iteration", original)
    done = run_dc(tiny_dataset, checkpoint=ckpt, iterations=6, checkpoint_every=3)
    assert done.meta["iterations_done"] == 6


@pytest.mark.parametrize("content", [b"", b"garbage", b"PK\x03\x04 not really"])
def test_an_unreadable_checkpoint_is_a_one_line_error(
    tiny_dataset, tmp_path: Path, content: bytes
) -> None:
    ckpt = tmp_path / "checkpoint.pt"
    ckpt.write_bytes(content)
    with pytest.raises(DcbenchError) as info:
        run_dc(tiny_dataset, checkpoint=ckpt)
    assert "checkpoint" in str(info.value) and "\n" not in str(info.value)


def test_a_foreign_torch_file_as_checkpoint_is_a_one_line_error(
    tiny_dataset, tmp_path: Path
) -> None:
    ckpt = tmp_path / "checkpoint.pt"
    torch.save(torch.zeros(3), ckpt)
    with pytest.raises(DcbenchError, match="checkpoint"):
        run_dc(tiny_dataset, checkpoint=ckpt)


# -- the batched (vmap) path vs the per-class loop ---------------------------------------------
def _matcher(ds, **overrides) -> GradientMatcher:
    request = CondenseRequest(ds, ipc=2, seed=0, progress=False)
    return GradientMatcher(request, make_config("dc", "quick", 2, {**TINY, **overrides}))


def test_batched_and_per_class_paths_give_the_same_loss_and_image_gradient(tiny_dataset) -> None:
    results = {}
    for batched in (True, False):
        m = _matcher(tiny_dataset, batch_classes=batched)
        assert m.batched is batched
        torch.manual_seed(5)
        reset_parameters(m.net)
        loss = m.matching_loss(generator(1))
        loss.backward()
        results[batched] = (loss.detach(), m.images.grad.clone())
    (l_b, g_b), (l_l, g_l) = results[True], results[False]
    assert l_b.item() > 0.1  # a real, non-degenerate loss
    torch.testing.assert_close(l_b, l_l, rtol=1e-5, atol=1e-6)
    assert g_l.abs().max() > 1e-4
    torch.testing.assert_close(g_b, g_l, rtol=1e-4, atol=1e-6)


def test_batched_and_per_class_runs_give_the_same_images(tiny_dataset) -> None:
    a = run_dc(tiny_dataset, batch_classes=True)
    b = run_dc(tiny_dataset, batch_classes=False)
    torch.testing.assert_close(a.images, b.images, rtol=1e-4, atol=1e-5)
    for x, y in zip(a.meta["loss_history"], b.meta["loss_history"], strict=True):
        assert x == pytest.approx(y, rel=1e-5)


@pytest.mark.parametrize("distance", ["mse", "cos"])
def test_other_distances_run_batched_and_agree_with_the_loop(tiny_dataset, distance) -> None:
    a = run_dc(tiny_dataset, distance=distance, iterations=2, batch_classes=True)
    b = run_dc(tiny_dataset, distance=distance, iterations=2, batch_classes=False)
    torch.testing.assert_close(a.images, b.images, rtol=1e-4, atol=1e-5)


# -- batch norm --------------------------------------------------------------------------------
def test_dc_with_a_batchnorm_convnet_runs_and_freezes_the_statistics(tiny_dataset) -> None:
    model = "convnet:width=8:depth=2:norm=batch"
    m = _matcher(tiny_dataset, model=model, batch_classes=True)
    assert m.bn and not m.batched  # one class per forward pass with batch norm
    loss = m.matching_loss(generator(0))
    assert torch.isfinite(loss)
    bns = [x for x in m.net.modules() if isinstance(x, nn.BatchNorm2d)]
    assert bns and all(not bn.training for bn in bns)  # frozen while matching
    assert all(bn.running_mean.abs().sum() > 0 for bn in bns)  # set from real images
    before = [bn.running_mean.clone() for bn in bns]
    m.synthetic_gradients()
    assert all(torch.equal(b, bn.running_mean) for b, bn in zip(before, bns, strict=True))
    sset = run_dc(tiny_dataset, model=model, iterations=2)
    assert torch.isfinite(sset.images).all() and len(sset.meta["loss_history"]) == 2


# -- settings ----------------------------------------------------------------------------------
def test_presets_follow_the_paper_loops() -> None:
    assert paper_loops(1) == (1, 1) and paper_loops(10) == (10, 50) and paper_loops(50) == (50, 10)
    assert paper_loops(12) == (10, 50) and paper_loops(15) == (10, 50)  # nearest, ties low
    paper = DCConfig.preset("paper", 10)
    assert (paper.iterations, paper.outer_loop, paper.inner_loop) == (1000, 10, 50)
    assert paper.init == "noise" and paper.lr_img == 0.1 and paper.momentum_img == 0.5
    assert paper.lr_net == 0.01 and paper.batch_real == 256 and paper.distance == "layerwise"
    quick = DCConfig.preset("quick", 10)
    assert quick.iterations < paper.iterations


@pytest.mark.parametrize(
    "overrides",
    [
        {"iterations": 0}, {"outer_loop": -1}, {"init": "zeros"}, {"distance": "l7"},
        {"lr_img": 0}, {"iterations": "many"}, {"lr_img": "fast"}, {"compile": "maybe"},
        {"bogus_setting": 1}, {"iterations": 2.5},
    ],
)
def test_bad_settings_are_one_line_errors(overrides) -> None:
    with pytest.raises(DcbenchError) as info:
        make_config("dc", "quick", 1, overrides)
    assert "\n" not in str(info.value)


def test_setting_values_are_coerced_to_the_setting_type() -> None:
    config = make_config("dc", "quick", 1, {"lr_img": "1e-2", "iterations": "5", "lr_net": 1})
    assert config.lr_img == 0.01 and config.iterations == 5
    assert isinstance(config.lr_net, float) and config.lr_net == 1.0
    with pytest.raises(DcbenchError, match="unknown preset"):
        make_config("dc", "fast", 1)
    with pytest.raises(DcbenchError, match="unknown condensation method"):
        make_config("dcc", "quick", 1)


def test_impossible_requests_fail_before_any_work(tiny_dataset) -> None:
    with pytest.raises(DcbenchError, match="larger than class"):
        condense("dc", CondenseRequest(tiny_dataset, ipc=13, progress=False), overrides=TINY)
    with pytest.raises(DcbenchError, match="at least 1"):
        condense("random", CondenseRequest(tiny_dataset, ipc=0, progress=False))
    with pytest.raises(DcbenchError, match="not in"):
        condense("random", CondenseRequest(tiny_dataset, ipc=1, classes=[5], progress=False))


def test_a_failing_compiler_falls_back_to_eager_with_one_warning(
    tiny_dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    """torch.compile fails lazily (at the first call) where no C++ toolchain exists."""
    import dcbench.compiled as compiled_module

    def broken_compile(fn):
        def call(*args, **kwargs):
            raise RuntimeError("InductorError: no working C++ compiler found\nmore lines")
        return call

    monkeypatch.setattr(compiled_module.torch, "compile", broken_compile)
    with pytest.warns(UserWarning, match="torch.compile unavailable .*no working C.. compiler"):
        compiled = run_dc(tiny_dataset, compile=True, iterations=2)
    eager = run_dc(tiny_dataset, compile=False, iterations=2)
    assert torch.equal(compiled.images, eager.images)
