"""The evaluation protocol: schedule, final-epoch accuracy, recorded settings, mean ± std."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

import dcbench.evaluation.protocol as train_module
from dcbench.errors import DcbenchError
from dcbench.evaluation.protocol import (
    EvalProtocol,
    accuracy,
    evaluate_set,
    last_full_lr_pass,
    lr_for_epoch,
    mean_std,
    train_model,
)
from dcbench.models import model_from_spec
from dcbench.seeding import derive_seed, generator

pytestmark = pytest.mark.usefixtures("one_thread")
MODEL = "convnet:width=8:depth=1"


class RecordingSGD(torch.optim.SGD):
    """SGD that logs the learning rate of every step it takes."""

    log: list[float] = []

    def step(self, closure=None):
        RecordingSGD.log.append(self.param_groups[0]["lr"])
        return super().step(closure)


def _train(ds, protocol: EvalProtocol, n: int | None = None):
    x, y = ds.x_train[:n], ds.y_train[:n]
    torch.manual_seed(0)
    model = model_from_spec(MODEL, ds.channels, ds.num_classes, ds.image_size)
    return train_model(model, x, y, protocol, generator(0), torch.device("cpu"))


def test_paper_defaults() -> None:
    p = EvalProtocol()
    assert (p.epochs, p.lr, p.momentum, p.weight_decay, p.batch_size) == (None, 0.01, 0.9, 5e-4,
                                                                          256)
    assert p.lr_decay_at == 0.5 and "final-epoch" in p.reported and p.augment == "auto"
    assert "Epoch+1 passes" in p.schedule and "momentum restarted" in p.schedule
    mnist, fmnist = p.resolved("mnist"), p.resolved("fashion-mnist")
    assert (mnist.augment, mnist.epochs, mnist.passes) == ("crop_scale_rotate", 1000, 1001)
    assert (fmnist.augment, fmnist.epochs, fmnist.passes) == ("none", 300, 301)
    assert p.resolved("toy").augment == "none" and p.epochs is None  # resolved() copies
    assert mnist.resolved("mnist") == mnist  # resolving twice changes nothing


@pytest.mark.parametrize(
    ("dataset", "method", "model", "augment"),
    [
        ("fashion-mnist", "dc", "convnet", "none"),
        ("cifar10", "herding", "convnet:norm=instance", "none"),
        ("fashion-mnist", "dsa", "convnet", "dsa"),
        ("cifar10", "DM", "convnet", "dsa"),
        ("fashion-mnist", "dm", "convnet:norm=batch", "dsa"),  # DSA sets: DSA, whatever model
        ("mnist", "dsa", "convnet", "dsa-noflip"),  # digits are not mirrored
        ("svhn", "dm", None, "dsa-noflip"),
        ("mnist", "dc", "convnet", "crop_scale_rotate"),
        ("mnist", None, None, "crop_scale_rotate"),
        ("cifar10", "dc", "convnet:width=8:norm=batch", "crop_noise"),
        ("mnist", "random", "convnet:norm=batch", "crop_noise"),  # get_daparam's override
        ("cifar10", "dc", "vgg11:norm=batch", "none"),  # theirs: ConvNetBN only
        ("cifar10", "imported:dc-authors", "resnet18:norm=batch", "none"),
    ],
)
def test_augmentation_and_epochs_follow_the_authors_rule(dataset, method, model, augment) -> None:
    p = EvalProtocol().resolved(dataset, method, model)
    assert p.augment == augment
    assert p.epochs == (300 if augment == "none" else 1000)
    assert p.passes == p.epochs + 1


def test_explicit_settings_win_over_the_rule() -> None:
    assert EvalProtocol(augment="none").resolved("mnist", "dm").epochs == 300
    explicit = EvalProtocol(epochs=50).resolved("mnist")
    assert (explicit.augment, explicit.epochs) == ("crop_scale_rotate", 50)
    assert EvalProtocol(augment="crop_noise").resolved("cifar10").epochs == 1000


@pytest.mark.parametrize(("dataset", "full", "lowered"),
                         [("mnist", 502, 499), ("fashion-mnist", 152, 149)])
def test_schedule_is_epoch_plus_one_passes_with_the_drop_after_epoch_half_plus_one(
    dataset: str, full: int, lowered: int
) -> None:
    p = EvalProtocol().resolved(dataset)
    lrs = [lr_for_epoch(p, e) for e in range(p.passes)]
    assert last_full_lr_pass(p) == p.epochs // 2 + 1  # 501 with augmentation, 151 without
    assert lrs == pytest.approx([0.01] * full + [0.001] * lowered)


def test_no_drop_when_lr_decay_at_is_zero() -> None:
    p = EvalProtocol(epochs=10, lr_decay_at=0.0).resolved()
    assert last_full_lr_pass(p) is None
    assert {lr_for_epoch(p, e) for e in range(p.passes)} == {0.01}


@pytest.mark.parametrize("epochs", [2, 4, 6, 7])
def test_training_makes_epochs_plus_one_passes_and_drops_the_lr_after_pass_half_plus_one(
    tiny_dataset, monkeypatch: pytest.MonkeyPatch, epochs: int
) -> None:
    monkeypatch.setattr(train_module.torch.optim, "SGD", RecordingSGD)
    RecordingSGD.log = []
    protocol = EvalProtocol(epochs=epochs, lr=0.05, batch_size=10, augment="none")
    _train(tiny_dataset, protocol, n=20)  # 20 images, batch 10: 2 steps per pass
    log = RecordingSGD.log
    assert len(log) == 2 * (epochs + 1)
    full = min(epochs // 2 + 2, epochs + 1)  # passes 0 .. epochs//2 + 1 at the full lr
    assert log[: 2 * full] == pytest.approx([0.05] * (2 * full))
    assert log[2 * full:] == pytest.approx([0.005] * (2 * (epochs + 1 - full)))
    if epochs == 4:
        assert full == 4 and len(log) == 10  # 5 passes; the drop after pass 3


def test_one_epoch_never_decays(tiny_dataset, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(train_module.torch.optim, "SGD", RecordingSGD)
    RecordingSGD.log = []
    _train(tiny_dataset, EvalProtocol(epochs=1, lr=0.05, batch_size=256, augment="none"))
    assert RecordingSGD.log == [0.05, 0.05]  # 2 passes; the drop would come after pass 1


def test_the_drop_restarts_the_momentum_as_their_rebuilt_optimiser(tiny_dataset) -> None:
    """train_model equals the authors' loop, which builds a new SGD after pass Epoch//2 + 1."""
    ds, epochs = tiny_dataset, 4
    protocol = EvalProtocol(epochs=epochs, lr=0.05, batch_size=10, augment="none")
    ours = _train(ds, protocol, n=20)

    x, y = ds.x_train[:20], ds.y_train[:20]
    torch.manual_seed(0)
    theirs = model_from_spec(MODEL, ds.channels, ds.num_classes, ds.image_size)
    lr, g = 0.05, generator(0)
    opt = torch.optim.SGD(theirs.parameters(), lr=lr, momentum=0.9, weight_decay=5e-4)
    for ep in range(epochs + 1):
        order = torch.randperm(20, generator=g)
        for start in (0, 10):
            idx = order[start:start + 10]
            loss = torch.nn.functional.cross_entropy(theirs(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        if ep == epochs // 2 + 1:
            lr *= 0.1
            opt = torch.optim.SGD(theirs.parameters(), lr=lr, momentum=0.9, weight_decay=5e-4)
    for a, b in zip(ours.state_dict().values(), theirs.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)

    kept = EvalProtocol(epochs=epochs, lr=0.05, batch_size=10, augment="none", lr_decay_at=0.0)
    no_drop = _train(ds, kept, n=20)
    assert not torch.equal(no_drop.classifier.weight, ours.classifier.weight)


def test_optimiser_settings_are_the_protocols(tiny_dataset, monkeypatch) -> None:
    seen = {}

    class Spy(torch.optim.SGD):
        def __init__(self, params, **kw):
            seen.update(kw)
            super().__init__(params, **kw)

    monkeypatch.setattr(train_module.torch.optim, "SGD", Spy)
    _train(tiny_dataset, EvalProtocol(epochs=1, momentum=0.8, weight_decay=1e-3, lr=0.02))
    assert seen == {"lr": 0.02, "momentum": 0.8, "weight_decay": 1e-3}


def test_reported_accuracy_is_the_final_epoch_model_on_the_whole_test_split(
    tiny_dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    ds = tiny_dataset
    x, y = ds.x_train[::4], ds.y_train[::4]
    protocol = EvalProtocol(epochs=5, num_models=2, batch_size=8, augment="none")
    calls: list[int] = []
    real_accuracy = train_module.accuracy

    def counting(model, xs, ys, batch, device):
        calls.append(len(xs))
        return real_accuracy(model, xs, ys, batch, device)

    monkeypatch.setattr(train_module, "accuracy", counting)
    result = evaluate_set(x, y, ds, [MODEL], protocol, seed=3, progress=False)
    # one test per model, after training, on every test image: no best-epoch picking
    assert calls == [len(ds.x_test)] * 2
    # the same models trained by hand for all 5 epochs score exactly what was reported
    expected = []
    for r in range(2):
        torch.manual_seed(derive_seed(3, 0, r, 7))
        model = model_from_spec(MODEL, ds.channels, ds.num_classes, ds.image_size)
        train_model(model, x, y, protocol, generator(3, 0, r, 8), torch.device("cpu"))
        expected.append(real_accuracy(model, ds.x_test, ds.y_test, protocol.test_batch, "cpu"))
    got = result["models"][MODEL]
    assert got["accuracies"] == expected
    assert got["mean"] == pytest.approx(sum(expected) / 2)


def test_protocol_dict_is_recorded_resolved(tiny_dataset) -> None:
    ds = tiny_dataset
    protocol = EvalProtocol(epochs=2, num_models=3, lr=0.02)
    result = evaluate_set(ds.x_train[:6], ds.y_train[:6], ds, [MODEL, "mlp"], protocol,
                          progress=False)
    recorded = result["protocol"]
    assert recorded == dataclasses.asdict(dataclasses.replace(protocol, augment="none"))
    assert recorded["reported"].startswith("final-epoch") and recorded["lr_decay_at"] == 0.5
    assert recorded["schedule"] == protocol.schedule
    assert set(result["models"]) == {MODEL, "mlp"}
    for r in result["models"].values():
        assert len(r["accuracies"]) == 3 and all(0 <= a <= 100 for a in r["accuracies"])
        assert (r["mean"], r["std"]) == pytest.approx(mean_std(r["accuracies"]))
        assert r["protocol"] == recorded


def test_each_model_is_trained_with_its_own_resolved_protocol(
    tiny_dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    ds, bn = tiny_dataset, f"{MODEL}:norm=batch"
    seen: list[tuple[str, int]] = []
    real_train = train_module.train_model

    def spy(model, x, y, protocol, g, device, **kw):
        seen.append((protocol.augment, protocol.passes))
        return real_train(model, x, y, dataclasses.replace(protocol, epochs=1), g, device, **kw)

    monkeypatch.setattr(train_module, "train_model", spy)
    result = evaluate_set(ds.x_train[:6], ds.y_train[:6], ds, [MODEL, bn],
                          EvalProtocol(num_models=1), progress=False)
    assert seen == [("none", 301), ("crop_noise", 1001)]
    assert result["protocol"] == result["models"][MODEL]["protocol"]
    assert result["models"][bn]["protocol"]["augment"] == "crop_noise"
    assert result["models"][bn]["protocol"]["epochs"] == 1000
    seen.clear()
    dsa = evaluate_set(ds.x_train[:6], ds.y_train[:6], ds, [MODEL, bn],
                       EvalProtocol(num_models=1), progress=False, method="dm")
    assert seen == [("dsa", 1001), ("dsa", 1001)]
    assert dsa["protocol"]["augment"] == "dsa" and dsa["protocol"]["epochs"] == 1000


def test_evaluation_is_seeded(tiny_dataset) -> None:
    ds, p = tiny_dataset, EvalProtocol(epochs=3, num_models=2, augment="crop_scale_rotate")
    a = evaluate_set(ds.x_train[:9], ds.y_train[:9], ds, [MODEL], p, seed=1, progress=False)
    b = evaluate_set(ds.x_train[:9], ds.y_train[:9], ds, [MODEL], p, seed=1, progress=False)
    assert [len(r["models"][MODEL].pop("train_s")) for r in (a, b)] == [2, 2]  # timings differ
    assert a == b


def test_training_learns(tiny_dataset) -> None:
    ds = tiny_dataset
    model = _train(ds, EvalProtocol(epochs=30, batch_size=16, augment="none"))
    train_acc = accuracy(model, ds.x_train, ds.y_train, 64, "cpu")
    assert train_acc > 90


def test_bf16_training_learns_and_is_recorded(tiny_dataset, monkeypatch) -> None:
    ds = tiny_dataset
    seen: list[torch.dtype] = []
    real_ce = train_module.F.cross_entropy

    def spy(logits, target):
        seen.append(logits.dtype)
        return real_ce(logits, target)

    monkeypatch.setattr(train_module.F, "cross_entropy", spy)
    model = _train(ds, EvalProtocol(epochs=30, batch_size=16, augment="none", precision="bf16"))
    assert seen and all(d == torch.bfloat16 for d in seen)  # the forward ran in bf16
    assert all(p.dtype == torch.float32 for p in model.parameters())  # weights stay fp32
    assert accuracy(model, ds.x_train, ds.y_train, 64, "cpu") > 90
    result = evaluate_set(ds.x_train[:9], ds.y_train[:9], ds, [MODEL],
                          EvalProtocol(epochs=1, num_models=1, precision="bf16"), progress=False)
    assert result["models"][MODEL]["protocol"]["precision"] == "bf16"


def test_accuracy_counts_correct_predictions() -> None:
    class Fixed(torch.nn.Module):
        def forward(self, x):
            return torch.nn.functional.one_hot(x[:, 0, 0, 0].long(), 3).float()

    x = torch.tensor([0.0, 1.0, 2.0, 2.0, 1.0]).view(5, 1, 1, 1)
    y = torch.tensor([0, 1, 2, 0, 0])
    assert accuracy(Fixed(), x, y, batch=2, device="cpu") == pytest.approx(60.0)


def test_divergence_is_a_one_line_error(tiny_dataset) -> None:
    ds = tiny_dataset
    x = ds.x_train[:8].clone()
    x[3] = math.inf  # a broken set: the loss is not finite
    model = model_from_spec("mlp", ds.channels, ds.num_classes, ds.image_size)
    with pytest.raises(DcbenchError, match="diverged"):
        train_model(model, x, ds.y_train[:8], EvalProtocol(epochs=2), generator(0), "cpu")


@pytest.mark.parametrize(
    "bad", [{"epochs": 0}, {"epochs": -1}, {"batch_size": 0}, {"num_models": 0}, {"lr": 0.0},
            {"augment": "x"}, {"augment": "dc"}, {"schedule": "300 epochs, x0.1 at half"},
            {"precision": "fp16"}]
)
def test_bad_protocols_are_rejected(bad: dict) -> None:
    with pytest.raises(DcbenchError):
        EvalProtocol(**bad).validate()


def test_mean_std() -> None:
    assert mean_std([1.0, 2.0, 3.0, 4.0]) == pytest.approx((2.5, math.sqrt(5 / 3)))
    assert mean_std([7.5]) == (7.5, 0.0)
    assert mean_std((90, 92)) == pytest.approx((91.0, math.sqrt(2)))  # sample std (n - 1)
    m, s = mean_std([])
    assert math.isnan(m) and math.isnan(s)


def test_dsa_sets_are_evaluated_with_the_strategy_they_were_condensed_with() -> None:
    """As the authors' main_DM.py: evaluation uses the run's dsa_strategy; with DSA off the
    set falls back to get_daparam's rule (none and 300 epochs on Fashion-MNIST)."""
    from dcbench.augment import get_augmentation

    p = EvalProtocol()
    assert p.resolved("fashion-mnist", "dm", "convnet").augment == "dsa"
    assert p.resolved("mnist", "dsa", "convnet", "color_crop_cutout_scale_rotate").augment == (
        "dsa-noflip")
    off = p.resolved("fashion-mnist", "dm", "convnet", "none")
    assert (off.augment, off.epochs) == ("none", 300)
    own = p.resolved("fashion-mnist", "dsa", "convnet", "color_crop")
    assert (own.augment, own.epochs) == ("dsa:color_crop", 1000)
    x = torch.randn(4, 1, 8, 8)
    assert get_augmentation(own.augment)(x, generator(0)).shape == x.shape
    with pytest.raises(DcbenchError, match="unknown DSA op blur"):
        EvalProtocol(augment="dsa:blur").validate()


def test_compile_auto_compiles_only_training_long_enough_to_repay_it() -> None:
    from dcbench.evaluation.protocol import COMPILE_WORTH, should_compile

    dc_ipc1 = EvalProtocol().resolved("fashion-mnist")  # 301 passes
    dsa_ipc1 = EvalProtocol().resolved("fashion-mnist", "dsa")  # 1001 passes
    assert not should_compile("auto", dc_ipc1, 10) and should_compile("auto", dc_ipc1, 100)
    assert should_compile("auto", dsa_ipc1, 10)
    assert dc_ipc1.passes * 10 < COMPILE_WORTH <= dsa_ipc1.passes * 10
    assert should_compile("true", dc_ipc1, 1) and not should_compile("false", dsa_ipc1, 10**6)
    with pytest.raises(DcbenchError, match="compile: must be one of"):
        should_compile("sometimes", dc_ipc1, 10)


def test_compiled_training_ends_where_eager_training_does(tiny_dataset) -> None:
    """The compiled step is the same computation (fused kernels): equal weights up to fp32
    rounding, and the result records that it was compiled."""
    ds = tiny_dataset
    protocol = EvalProtocol(epochs=3, num_models=1, augment="crop_scale_rotate", lr=0.05)
    x, y = ds.x_train[:20], ds.y_train[:20]
    weights = {}
    for mode in (False, True):
        torch.manual_seed(0)
        model = model_from_spec(MODEL, ds.channels, ds.num_classes, ds.image_size)
        train_model(model, x, y, protocol, generator(0), torch.device("cpu"), compile=mode)
        weights[mode] = torch.cat([p.detach().flatten() for p in model.parameters()])
    assert not torch.equal(weights[False], torch.cat(
        [p.detach().flatten() for p in model_from_spec(
            MODEL, ds.channels, ds.num_classes, ds.image_size).parameters()]))  # it trained
    torch.testing.assert_close(weights[True], weights[False], rtol=1e-4, atol=1e-5)
    out = evaluate_set(x, y, ds, [MODEL], protocol, progress=False, compile="true")
    assert out["models"][MODEL]["compiled"] is True
    assert evaluate_set(x, y, ds, [MODEL], protocol, progress=False)["models"][MODEL][
        "compiled"] is False
