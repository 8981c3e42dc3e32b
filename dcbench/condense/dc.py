"""Dataset Condensation with gradient matching (Zhao, Mopuri, Bilen, ICLR 2021).

Each iteration draws a freshly initialised network. In each of ``outer_loop`` steps the
gradient of the loss on 256 real images of every class is matched (layer-wise cosine distance)
to the gradient on that class's synthetic images, and one SGD step on the images lowers the sum;
between outer steps the network trains ``inner_loop`` epochs on the synthetic set.

What makes it fast (see ``benchmarks/dc_speed.py``, which checks the loss against a per-class
reference loop):

* one persistent network re-initialised in place instead of a new module per iteration, so the
  optional ``torch.compile`` of the real-gradient and inner-training passes compiles once;
* all classes' synthetic images in one forward pass with per-class gradients from
  ``torch.func.vmap(grad(...))`` when every sample is normalised on its own (no batch norm);
* in-memory tensors, full-batch inner steps, no DataLoader and no per-step model copies.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, grad, vmap

from dcbench import dsa
from dcbench.compiled import maybe_compile
from dcbench.condense.base import CONDENSERS, CondenseRequest
from dcbench.condense.loop import reset_parameters, run_iterations
from dcbench.condense.matching import DISTANCES, MULTIDIM_ONLY
from dcbench.condense.synthetic_set import SyntheticSet
from dcbench.errors import DcbenchError
from dcbench.models import has_batchnorm, model_from_spec
from dcbench.precision import autocast, check_precision
from dcbench.seeding import derive_seed, generator

#: ipc -> (outer_loop, inner_loop), from the authors' code.
PAPER_LOOPS: dict[int, tuple[int, int]] = {
    1: (1, 1), 10: (10, 50), 20: (20, 25), 30: (30, 20), 40: (40, 15), 50: (50, 10)
}
INITS = ("real", "noise")


def paper_loops(ipc: int) -> tuple[int, int]:
    """The paper's (outer, inner) loops; other ipc values take the nearest tabulated one."""
    nearest = min(PAPER_LOOPS, key=lambda k: (abs(k - ipc), k))
    return PAPER_LOOPS[nearest]


@dataclass
class DCConfig:
    """Hyper-parameters of gradient matching; ``paper`` is the authors' setting."""

    iterations: int = 1000
    outer_loop: int = 1
    inner_loop: int = 1
    batch_real: int = 256
    lr_img: float = 0.1
    momentum_img: float = 0.5
    lr_net: float = 0.01
    batch_train: int = 256
    init: str = "noise"
    distance: str = "layerwise"
    model: str = "convnet"
    bn_batch: int = 16  # real images per class that set frozen batch-norm statistics
    batch_classes: bool = True  # one forward pass for all classes' synthetic images
    compile: bool = True  # torch.compile where it works (eager fallback); neutral
    checkpoint_every: int = 10
    precision: str = "fp32"  # bf16: the real-gradient and inner-training passes (precision.py)

    @classmethod
    def preset(cls, name: str, ipc: int) -> DCConfig:
        outer, inner = paper_loops(ipc)
        if name == "paper":
            return cls(iterations=1000, outer_loop=outer, inner_loop=inner, init="noise")
        # quick: minutes on 2 CPU cores. Real-image init converges in far fewer iterations;
        # the loop lengths shrink with ipc so that ipc 10 stays within ~10 minutes.
        if ipc <= 1:
            return cls(iterations=100, outer_loop=1, inner_loop=1, init="real", compile=True)
        return cls(
            iterations=20, outer_loop=min(outer, 5), inner_loop=min(inner, 10),
            batch_real=128, init="real", compile=True, checkpoint_every=2,
        )

    def validate(self) -> None:
        for key in ("iterations", "outer_loop", "inner_loop", "batch_real", "batch_train"):
            if getattr(self, key) < 1:
                raise DcbenchError(f"dc setting {key} must be at least 1")
        if self.init not in INITS:
            raise DcbenchError(f"dc setting init must be one of {', '.join(INITS)}")
        DISTANCES.get(self.distance)
        check_precision(self.precision, "dc setting precision")
        for key in ("lr_img", "lr_net"):
            if not getattr(self, key) > 0:
                raise DcbenchError(f"dc setting {key} must be positive")


class GradientMatcher:
    """The state of one condensation: synthetic images, their optimiser and the network.

    With a DSA ``strategy`` (the ``dsa`` method) each class's real and synthetic images get the
    same random transform before their gradients are taken, and the inner training augments
    each batch; without one this is DC.
    """

    def __init__(self, request: CondenseRequest, config: DCConfig,
                 strategy: str | None = None) -> None:
        ds = request.dataset
        self.request, self.config = request, config
        self.strategy = strategy
        self.device = request.device
        self.classes = request.class_list()
        self.ipc = request.ipc
        torch.manual_seed(derive_seed(request.seed, 0xD0))
        self.net = model_from_spec(config.model, ds.channels, ds.num_classes, ds.image_size)
        self.net.to(self.device)
        self.params = [p for p in self.net.parameters()]
        self.names = [n for n, _ in self.net.named_parameters()]
        # The paper's distance ignores 1-D tensors (biases, norm affines): their gradients are
        # never computed, which skips memory-bound reductions over the largest feature maps.
        only_nd = config.distance in MULTIDIM_ONLY
        self.matched = [i for i, p in enumerate(self.params) if p.dim() > 1 or not only_nd]
        self.matched_params = [self.params[i] for i in self.matched]
        self.matched_names = [self.names[i] for i in self.matched]
        self.bn = has_batchnorm(self.net)
        self.batched = config.batch_classes and not self.bn
        self.fast = maybe_compile(self.net, config.compile and not self.bn)
        self.distance = DISTANCES.get(config.distance)
        self.images = self._init_images().to(self.device).requires_grad_(True)
        self.labels = torch.tensor(self.classes, device=self.device).repeat_interleave(self.ipc)
        self.group_of = torch.arange(len(self.classes)).repeat_interleave(self.ipc)
        self.opt = torch.optim.SGD([self.images], lr=config.lr_img, momentum=config.momentum_img)
        # The real images live on the device once; per-class index lists are sampled on CPU.
        self.real_x = ds.x_train.to(self.device)
        self.class_idx = {c: ds.class_indices(c) for c in self.classes}

    def real_std(self) -> float:
        """The standard deviation of (a fixed sample of) the real images of these classes."""
        g = generator(self.request.seed, 0x57D)
        x = torch.cat([self._sample_real(c, 256, g) for c in self.classes])
        return float(x.std())

    # -- initialisation -------------------------------------------------------------------
    def _init_images(self) -> torch.Tensor:
        ds, g = self.request.dataset, generator(self.request.seed, 0x1417)
        shape = (len(self.classes) * self.ipc, ds.channels, *ds.image_size)
        if self.config.init == "noise":
            return torch.randn(shape, generator=g)
        return torch.cat([ds.sample_class(c, self.ipc, g) for c in self.classes]).clone()

    # -- gradients ---------------------------------------------------------------------------
    def _sample_real(self, c: int, n: int, g: torch.Generator) -> torch.Tensor:
        idx = self.class_idx[c]
        pick = torch.randperm(len(idx), generator=g)[:n]
        return self.real_x[idx[pick].to(self.real_x.device)]

    def real_gradients(self, g: torch.Generator,
                       t: dsa.Transform | None = None) -> list[torch.Tensor]:
        """Per-class gradients on real images, stacked as (classes, *param shape), detached."""
        per_class = []
        for i, c in enumerate(self.classes):
            x = self._sample_real(c, self.config.batch_real, g)
            if t is not None:
                x = t.apply(x, torch.full((len(x),), i))
            y = torch.full((len(x),), c, device=self.device, dtype=torch.long)
            with autocast(self.config.precision, self.device):
                loss = F.cross_entropy(self.fast(x), y)
            per_class.append(torch.autograd.grad(loss, self.matched_params))
        return [torch.stack(gs).detach() for gs in zip(*per_class, strict=True)]

    def synthetic_gradients(self, t: dsa.Transform | None = None) -> list[torch.Tensor]:
        """Per-class gradients on the synthetic images, with graph back to the images."""
        k = len(self.classes)
        images = self.images if t is None else t.apply(self.images, self.group_of)
        if self.batched:
            every = {n: p.detach() for n, p in zip(self.names, self.params, strict=True)}
            params = {n: every[n] for n in self.matched_names}

            def class_loss(p: dict[str, torch.Tensor], x: torch.Tensor, y: torch.Tensor):
                return F.cross_entropy(functional_call(self.net, {**every, **p}, (x,)), y)

            x = images.view(k, self.ipc, *images.shape[1:])
            y = self.labels.view(k, self.ipc)
            grads = vmap(grad(class_loss), in_dims=(None, 0, 0))(params, x, y)
            return [grads[n] for n in self.matched_names]
        per_class = []
        for i in range(k):
            sl = slice(i * self.ipc, (i + 1) * self.ipc)
            loss = F.cross_entropy(self.net(images[sl]), self.labels[sl])
            per_class.append(
                torch.autograd.grad(loss, self.matched_params, create_graph=True)
            )
        return [torch.stack(gs) for gs in zip(*per_class, strict=True)]

    def _freeze_batchnorm(self, g: torch.Generator) -> None:
        """Set batch-norm statistics from a few real images per class, then freeze them."""
        x = torch.cat([self._sample_real(c, self.config.bn_batch, g) for c in self.classes])
        self.net.train()
        with torch.no_grad():
            self.net(x)
        for m in self.net.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.eval()

    def matching_loss(self, g: torch.Generator) -> torch.Tensor:
        if self.bn:
            self._freeze_batchnorm(g)
        # one siamese transform per class, drawn before the real batch so both use it
        t = dsa.siamese(self.strategy, len(self.classes), g) if self.strategy else None
        real = self.real_gradients(g, t)
        syn = self.synthetic_gradients(t)
        return self.distance(real, syn, 1)

    # -- training the network on the synthetic set ---------------------------------------------
    def train_network(self, epochs: int, g: torch.Generator) -> None:
        """Plain SGD (the authors' network optimiser has no momentum) on the detached images."""
        self.net.train()
        lr = self.config.lr_net
        x_all, y_all = self.images.detach(), self.labels
        n, b = len(x_all), self.config.batch_train
        for _ in range(epochs):
            order = torch.randperm(n, generator=g) if n > b else None
            for start in range(0, n, b):
                if order is None:
                    x, y = x_all, y_all
                else:
                    sel = order[start:start + b].to(self.device)
                    x, y = x_all[sel], y_all[sel]
                if self.strategy:
                    x = dsa.augment(x, self.strategy, g)
                with autocast(self.config.precision, self.device):
                    loss = F.cross_entropy(self.fast(x), y)
                grads = torch.autograd.grad(loss, self.params)
                with torch.no_grad():
                    torch._foreach_add_(self.params, grads, alpha=-lr)

    # -- one iteration -------------------------------------------------------------------------
    def iteration(self, it: int) -> float:
        """One paper iteration: fresh network, outer steps of matching, inner training."""
        cfg, seed = self.config, self.request.seed
        torch.manual_seed(derive_seed(seed, it, 1))
        reset_parameters(self.net)
        g = generator(seed, it, 2)
        total = 0.0
        for ol in range(cfg.outer_loop):
            loss = self.matching_loss(g)
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            self.opt.step()
            total += float(loss.detach())
            if ol == cfg.outer_loop - 1:
                break
            self.train_network(cfg.inner_loop, g)
        return total / cfg.outer_loop / len(self.classes)


@CONDENSERS.register("dc")
class DCCondenser:
    """DC: gradient matching (Zhao, Mopuri, Bilen, ICLR 2021); resumes from its checkpoint."""

    Config = DCConfig

    def run(self, request: CondenseRequest, config: DCConfig) -> SyntheticSet:
        return run_iterations("dc", request, config, GradientMatcher(request, config))
