"""The evaluation protocol, in one place: train fresh models on a tensor set, test on the real
test split, report the *final-epoch* accuracy (never the best epoch on test).

Every rule is the DC authors' (``evaluate_synset``, ``get_daparam`` and their ``main`` scripts):

* SGD lr 0.01, momentum 0.9, weight decay 5e-4, batch 256;
* ``Epoch + 1`` passes over the set (they loop ``range(Epoch + 1)``); the lr drops ×0.1 after
  pass ``Epoch // 2 + 1`` and the optimiser is rebuilt there, so the momentum restarts;
* augmentation by the set's method, the dataset and the evaluated model
  (:func:`resolve_augment`): DSA for DSA and DM sets; ``crop_noise`` for a batch-norm ConvNet;
  ``crop_scale_rotate`` on MNIST; none otherwise;
* ``Epoch`` = 300 without augmentation, 1000 with any ("training with data augmentation needs
  more epochs").

Every result file records the protocol resolved for each model.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from dcbench.augment import dsa_for, get_augmentation
from dcbench.compiled import maybe_compile
from dcbench.data import ClassDataset
from dcbench.errors import DcbenchError
from dcbench.models import MODELS, ConvNet, model_from_spec, model_options, parse_model_spec
from dcbench.parallel import run_in_processes
from dcbench.precision import autocast, check_precision
from dcbench.progress import progress_bar
from dcbench.results.stats import mean_std  # re-exported: callers import it from here
from dcbench.seeding import derive_seed, generator

#: Protocol settings that never change a result (each test image is scored on its own).
NEUTRAL_PROTOCOL_KEYS = ("test_batch",)

BatchHook = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], None]
#: Called with (model spec, {"accuracy", "train_s"}) after each model an evaluation trains.
ModelHook = Callable[[str, dict[str, float]], None]


#: The authors' ``Epoch`` without and with augmentation.
EPOCHS_PLAIN, EPOCHS_AUGMENTED = 300, 1000

#: Methods whose sets the authors train with DSA at evaluation (``main.py --method DSA``,
#: ``main_DM.py``), whatever the dataset and model.
DSA_METHODS = ("dsa", "dm")

#: What every result records of the schedule; a protocol dict without it predates the rule.
SCHEDULE = ("Epoch+1 passes; lr x0.1 after pass int(Epoch*lr_decay_at)+1 (Epoch//2+1 at 0.5), "
            "momentum restarted (the authors' evaluate_synset)")


def passes_for(epochs: int) -> int:
    """Passes over the set for the authors' ``Epoch``: they loop ``range(Epoch + 1)``."""
    return epochs + 1


def is_batchnorm_convnet(spec: str | None) -> bool:
    """The authors augment the evaluation of ``ConvNetBN`` (and of no other batch-norm model)."""
    if spec is None:
        return False
    name, options = parse_model_spec(spec)
    if MODELS.get(name) is not ConvNet:
        return False
    return str({**model_options(name), **options}["norm"]).lower() == "batch"


def resolve_augment(name: str, dataset: str | None = None, method: str | None = None,
                    model: str | None = None, strategy: str | None = None) -> str:
    """The augmentation ``name`` means for this set and model: ``"auto"`` is the authors' rule,
    anything else is checked and kept.

    Their order: DSA sets (``dsa``, ``dm``) get DSA with the strategy they were condensed with
    (``strategy``, default the dataset's; ``get_daparam`` is not called) unless it was
    ``none``; otherwise ``get_daparam`` sets ``crop_scale_rotate`` for MNIST and then overrides
    it with ``crop_noise`` for ConvNetBN, so a batch-norm ConvNet gets ``crop_noise`` on MNIST
    too.
    """
    if name != "auto":
        get_augmentation(name)
        return name
    if (method or "").lower() in DSA_METHODS and (strategy or "").lower() != "none":
        return dsa_for(dataset, strategy)
    if is_batchnorm_convnet(model):
        return "crop_noise"
    return "crop_scale_rotate" if dataset == "mnist" else "none"


@dataclass
class EvalProtocol:
    """How a model is trained on a (synthetic) set and scored; recorded with every result."""

    epochs: int | None = None  # the authors' Epoch; None: 300, or 1000 with augmentation
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 5e-4
    batch_size: int = 256
    lr_decay_at: float = 0.5  # lr x0.1 after pass int(epochs * lr_decay_at) + 1; 0: never
    augment: str = "auto"  # auto: the authors' rule (resolve_augment)
    num_models: int = 5
    #: The authors' test-loader batch. A speed setting only (each image is scored on its
    #: own); 256 scored the 10k test images 1.4x faster than 2048 here (2048 images of a
    #: 32x32x128 activation each overflow the caches), and testing is half of a DC ipc-1
    #: evaluation's time.
    test_batch: int = 256
    precision: str = "fp32"  # bf16: training forward passes under autocast (precision.py)
    schedule: str = SCHEDULE
    reported: str = "final-epoch test accuracy on the full test split"

    def validate(self) -> None:
        for key in ("batch_size", "num_models", "test_batch"):
            if getattr(self, key) < 1:
                raise DcbenchError(f"{key}: must be at least 1 (got {getattr(self, key)})")
        if self.epochs is not None and self.epochs < 1:
            raise DcbenchError(f"epochs: must be at least 1 (got {self.epochs})")
        if not self.lr > 0:
            raise DcbenchError(f"lr: must be positive (got {self.lr})")
        if not 0 <= self.lr_decay_at <= 1:
            raise DcbenchError(f"lr_decay_at: must be a fraction in [0, 1] "
                               f"(got {self.lr_decay_at})")
        if self.schedule != SCHEDULE:
            raise DcbenchError(f"schedule: describes the one schedule dcbench runs "
                               f"({SCHEDULE!r}); it is not a setting")
        if self.augment != "auto":
            get_augmentation(self.augment)
        check_precision(self.precision)

    def resolved(self, dataset: str | None = None, method: str | None = None,
                 model: str | None = None, strategy: str | None = None) -> EvalProtocol:
        """A copy with the augmentation for this dataset, set method (and its DSA
        ``strategy``) and model spec, and the epochs that go with it (see the module
        docstring); resolving twice changes nothing."""
        augment = resolve_augment(self.augment, dataset, method, model, strategy)
        epochs = self.epochs
        if epochs is None:
            epochs = EPOCHS_PLAIN if augment == "none" else EPOCHS_AUGMENTED
        return dataclasses.replace(self, augment=augment, epochs=epochs)

    @property
    def passes(self) -> int:
        """Passes over the set of a resolved protocol."""
        if self.epochs is None:
            raise DcbenchError("epochs: not resolved yet (EvalProtocol.resolved)")
        return passes_for(self.epochs)

    def epochs_text(self) -> str:
        """The epochs in words, resolved or not (for dry runs and notes)."""
        if self.epochs is None:
            return f"{EPOCHS_PLAIN} epochs ({EPOCHS_AUGMENTED} with augmentation)"
        return f"{self.epochs} epochs"

    def schedule_text(self) -> str:
        """The resolved schedule in words, for the notes beside results."""
        last = last_full_lr_pass(self)
        drop = ("no lr drop" if last is None or last >= self.passes - 1 else
                f"lr ×0.1 after pass {last} of 0..{self.passes - 1}, momentum restarted")
        return f"{self.epochs} epochs = {self.passes} passes, {drop}"


#: ``compile=auto`` compiles a model's training when it runs at least this many image passes
#: (passes x images): compiling costs ~3 s with a warm cache and up to a minute cold, and saves
#: ~25 ms per step at 10 images, ~200 ms at 100 (fp32, this project's 2-core CPU), so a DC
#: ipc-1 evaluation (301 x 10) stays eager and a DSA/DM or ipc-10 one (1001 x 10, 301 x 100)
#: compiles.
COMPILE_WORTH = 10_000
COMPILE_MODES = ("auto", "true", "false")


def should_compile(mode: str | bool, protocol: EvalProtocol, images: int) -> bool:
    """Whether ``train_model`` should compile for this ``mode`` (see :data:`COMPILE_WORTH`)."""
    mode = str(mode).lower()
    if mode not in COMPILE_MODES:
        raise DcbenchError(f"compile: must be one of {', '.join(COMPILE_MODES)} (got {mode!r})")
    return mode == "true" or (mode == "auto" and protocol.passes * images >= COMPILE_WORTH)


def make_optimizer(model: nn.Module, protocol: EvalProtocol) -> torch.optim.Optimizer:
    """The protocol's optimiser: SGD with its lr, momentum and weight decay."""
    return torch.optim.SGD(model.parameters(), lr=protocol.lr, momentum=protocol.momentum,
                           weight_decay=protocol.weight_decay)


def last_full_lr_pass(protocol: EvalProtocol) -> int | None:
    """The pass after which the lr drops: ``int(epochs * lr_decay_at) + 1`` (the authors'
    ``Epoch // 2 + 1``), or None when ``lr_decay_at`` is 0."""
    if protocol.lr_decay_at == 0:
        return None
    epochs = protocol.passes - 1  # the resolved epochs (passes raises when unresolved)
    return int(epochs * protocol.lr_decay_at) + 1


def lr_for_epoch(protocol: EvalProtocol, epoch: int) -> float:
    """The lr of pass ``epoch`` (0-based, of ``protocol.passes``): ``lr`` up to and including
    :func:`last_full_lr_pass`, ``lr × 0.1`` after it."""
    last = last_full_lr_pass(protocol)
    return protocol.lr * 0.1 if last is not None and epoch > last else protocol.lr


def begin_pass(optimizer: torch.optim.Optimizer, protocol: EvalProtocol, epoch: int) -> None:
    """Set pass ``epoch``'s lr; on the first pass after the drop also forget the momentum, as
    the authors' rebuilt optimiser does (SGD then starts its buffers from the next gradient)."""
    if epoch > 0 and lr_for_epoch(protocol, epoch) != lr_for_epoch(protocol, epoch - 1):
        optimizer.state.clear()
    for group in optimizer.param_groups:
        group["lr"] = lr_for_epoch(protocol, epoch)


def train_model(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    protocol: EvalProtocol,
    g: torch.Generator,
    device: torch.device,
    on_batch: BatchHook | None = None,
    progress: bool = False,
    compile: bool = False,
) -> nn.Module:
    """Train ``model`` in place for ``protocol.passes`` passes; ``on_batch(idx, logits, y)`` sees
    each batch (used to count forgetting events). An unresolved protocol is resolved knowing
    nothing of the set: ``auto`` then means no augmentation. ``compile`` runs the forward
    pass through ``torch.compile`` (same parameters, fused kernels; eager where no compiler
    works): a speed setting, not part of the protocol."""
    protocol = protocol.resolved()
    model.to(device).train()
    forward = maybe_compile(model, compile)
    opt = make_optimizer(model, protocol)
    augment = get_augmentation(protocol.augment)
    x, y = x.to(device), y.to(device)
    n, b = len(x), protocol.batch_size
    bar = progress_bar(total=protocol.passes, desc="train", enabled=progress)
    for epoch in range(protocol.passes):
        begin_pass(opt, protocol, epoch)
        order = torch.randperm(n, generator=g)
        for start in range(0, n, b):
            idx = order[start:start + b]
            xb = augment(x[idx.to(device)], g)
            with autocast(protocol.precision, device):
                out = forward(xb)
                loss = F.cross_entropy(out, y[idx.to(device)])
            if not torch.isfinite(loss):
                value = float(loss.detach())
                raise DcbenchError(f"training diverged (loss {value}) at epoch {epoch}")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if on_batch is not None:
                on_batch(idx, out.detach(), y[idx.to(device)])
        bar.update(1)
    bar.close()
    return model


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int, device) -> float:
    """Top-1 accuracy in percent."""
    model.to(device).eval()
    correct = 0
    for start in range(0, len(x), batch):
        out = model(x[start:start + batch].to(device))
        correct += int((out.argmax(1) == y[start:start + batch].to(device)).sum())
    return 100.0 * correct / max(1, len(x))


def resolve_protocols(protocol: EvalProtocol, dataset: str, models: Sequence[str],
                      method: str | None, strategy: str | None) -> dict[str, EvalProtocol]:
    """Each model spec's resolved protocol for a set made by ``method`` (the augmentation,
    hence the epochs, depend on the model)."""
    return {spec: protocol.resolved(dataset, method, spec, strategy) for spec in models}


@dataclass
class EvalWork:
    """What every model of one evaluation needs: the set, the test split and how to test.
    Picklable, so worker processes (``jobs``) get it once, without the training split."""

    images: torch.Tensor
    labels: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    channels: int
    num_classes: int
    image_size: tuple[int, int]
    seed: int
    device: str
    test_batch: int


def train_and_test(work: EvalWork, spec: str, spec_index: int, index: int,
                   protocol: EvalProtocol, compiled: bool) -> dict[str, float]:
    """Model ``index`` of spec number ``spec_index``: seeded from ``(seed, spec_index, index)``
    alone, trained on the set, tested. Returns ``{"index", "accuracy", "train_s"}``."""
    device = torch.device(work.device)
    torch.manual_seed(derive_seed(work.seed, spec_index, index, 7))
    model = model_from_spec(spec, work.channels, work.num_classes, work.image_size)
    t0 = time.perf_counter()
    train_model(model, work.images, work.labels, protocol,
                generator(work.seed, spec_index, index, 8), device, compile=compiled)
    train_s = round(time.perf_counter() - t0, 3)
    acc = accuracy(model, work.x_test, work.y_test, work.test_batch, device)
    return {"index": index, "accuracy": acc, "train_s": train_s}


_WORKER: dict[str, EvalWork] = {}


def _start_worker(work: EvalWork, threads: int) -> None:
    torch.set_num_threads(threads)
    _WORKER["work"] = work


def _train_in_worker(*unit: Any) -> dict[str, float]:
    return train_and_test(_WORKER["work"], *unit)


def evaluate_set(
    images: torch.Tensor,
    labels: torch.Tensor,
    dataset: ClassDataset,
    models: Sequence[str],
    protocol: EvalProtocol,
    seed: int = 0,
    device: torch.device | str = "cpu",
    progress: bool = True,
    method: str | None = None,
    strategy: str | None = None,
    compile: str | bool = False,
    done: dict[str, list[dict[str, float]]] | None = None,
    on_model: ModelHook | None = None,
    jobs: int = 1,
    threads: int | None = None,
) -> dict[str, Any]:
    """Train ``protocol.num_models`` fresh models of each spec on the set (made by ``method``,
    with DSA ``strategy`` for dsa/dm sets);
    test on the real test split. The protocol is resolved per model (the augmentation, hence
    the epochs, depend on it). Returns ``{"protocol": <the first model's>, "models": {spec:
    {"accuracies", "mean", "std", "protocol", "train_s"}}}`` (``train_s``: each model's
    training seconds, for speed reports; ``compiled``: whether training ran through
    ``torch.compile``, decided per spec by :func:`should_compile`).

    ``jobs`` > 1 trains the models in that many spawned processes with ``threads`` torch
    threads each (default: the cores shared out); the seeds are the same, so are the models.
    Resuming: ``done[spec]`` holds the ``{"index", "accuracy", "train_s"}`` of models already
    trained (by an interrupted run); they are not trained again. Every model's seeds derive
    from ``(seed, spec index, model index)`` alone, so a resumed evaluation gives the
    accuracies an uninterrupted one would. ``on_model(spec, record)`` is called after each
    newly trained model (the job saves its progress there)."""
    device = torch.device(device)
    protocol.validate()
    if jobs < 1:
        raise DcbenchError(f"jobs must be at least 1 (got {jobs})")
    resolved = resolve_protocols(protocol, dataset.name, models, method, strategy)
    compiled = {spec: should_compile(compile, resolved[spec], len(images)) for spec in models}
    finished = {spec: {int(r["index"]): r for r in (done or {}).get(spec, [])}
                for spec in models}
    todo = [(spec, m_i, r, resolved[spec], compiled[spec]) for m_i, spec in enumerate(models)
            for r in range(protocol.num_models) if r not in finished[spec]]
    work = EvalWork(images, labels, dataset.x_test, dataset.y_test, dataset.channels,
                    dataset.num_classes, tuple(dataset.image_size), seed, str(device),
                    protocol.test_batch)
    total = len(models) * protocol.num_models
    bar = progress_bar(total=total, initial=total - len(todo), desc="evaluate",
                       enabled=progress)

    def record(spec: str, model: dict[str, float]) -> None:
        finished[spec][int(model["index"])] = model
        if on_model is not None:
            on_model(spec, model)
        bar.update(1)
        bar.set_postfix(model=spec, acc=f"{model['accuracy']:.2f}")

    if jobs > 1 and len(todo) > 1:
        # the cores this command may use (set_threads shares them with other commands)
        per_job = threads or max(1, torch.get_num_threads() // min(jobs, len(todo)))
        run_in_processes(_train_in_worker, todo, jobs,
                         lambda i, model: record(todo[i][0], model), threads=per_job,
                         initializer=_start_worker, initargs=(work, per_job))
    else:
        for unit in todo:
            record(unit[0], train_and_test(work, *unit))
    bar.close()
    results: dict[str, Any] = {}
    for spec in models:
        ordered = [finished[spec][r] for r in range(protocol.num_models)]
        accs = [float(m["accuracy"]) for m in ordered]
        mean, std = mean_std(accs)
        results[spec] = {"accuracies": accs, "mean": mean, "std": std,
                         "protocol": dataclasses.asdict(resolved[spec]),
                         "train_s": [float(m["train_s"]) for m in ordered],
                         "compiled": compiled[spec]}
    return {"protocol": results[models[0]]["protocol"], "models": results}
