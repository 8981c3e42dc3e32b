"""Search spaces: named, ordered lists of architectures (model specs).

``convnet-grid`` is the DC paper's 720 ConvNets (:data:`dcbench.models.CONVNET_GRID`);
``convnet-grid-small`` is a hand-designed 15-point subset that uses every value of every axis
and fits the quick preset on 2 CPU cores. A task file may define its own space::

    space: {name: my-grid, grid: {width: [32, 64], depth: [1, 2], norm: [none, instance]}}
    space: {name: picks, candidates: ["convnet:width=32:depth=1", "convnet:depth=2"]}

A candidate is identified by its canonical spec (``format_model_spec``), never by its index
alone: cached results are keyed by the spec, so two spaces that share an architecture share its
results.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from dcbench.errors import DcbenchError
from dcbench.models import CONVNET_GRID, build_model, format_model_spec, iter_convnet_grid
from dcbench.models.spec import model_options, parse_model_spec
from dcbench.registry import Registry


@dataclass(frozen=True)
class Candidate:
    """One architecture of a space: its position, model name and options."""

    index: int
    model: str
    options: dict[str, Any] = field(hash=False)

    @property
    def spec(self) -> str:
        return format_model_spec(self.model, self.options)

    @property
    def seed_key(self) -> int:
        """A stable integer from the spec (seeds derive from it, never from the index)."""
        return int.from_bytes(hashlib.sha1(self.spec.encode()).digest()[:8], "big")


@dataclass(frozen=True)
class SearchSpace:
    """An ordered list of candidates plus what the space is (for result files)."""

    name: str
    description: str
    candidates: tuple[Candidate, ...]

    def __len__(self) -> int:
        return len(self.candidates)

    @property
    def specs(self) -> list[str]:
        return [c.spec for c in self.candidates]

    def axes(self) -> dict[str, list[Any]]:
        """Every option's values in the space, in first-seen order (for reports)."""
        out: dict[str, list[Any]] = {}
        for c in self.candidates:
            for k, v in c.options.items():
                values = out.setdefault(k, [])
                if v not in values:
                    values.append(v)
        return out

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "size": len(self),
                "axes": self.axes(), "candidates": self.specs}


SPACES: Registry[Callable[[], SearchSpace]] = Registry("search space")


def space_from_points(name: str, description: str, points: Sequence[dict[str, Any]],
                      model: str = "convnet") -> SearchSpace:
    """A space from option dicts; duplicates are an error (they would bias the ranking)."""
    return _space(name, description, [(model, opts) for opts in points],
                  f"search space {name!r}: candidate ")


def _space(name: str, description: str, points: Sequence[tuple[str, dict[str, Any]]],
           where: str) -> SearchSpace:
    """A space from (model, options) pairs; a duplicate fails as ``<where><spec> appears twice``."""
    cands, seen = [], set()
    for i, (model, opts) in enumerate(points):
        c = Candidate(i, model, dict(opts))
        if c.spec in seen:
            raise DcbenchError(f"{where}{c.spec} appears twice")
        seen.add(c.spec)
        cands.append(c)
    if not cands:
        raise DcbenchError(f"search space {name!r} has no candidates")
    return SearchSpace(name, description, tuple(cands))


@SPACES.register("convnet-grid")
def convnet_grid() -> SearchSpace:
    return space_from_points(
        "convnet-grid",
        "the DC paper's NAS space: ConvNet width {32,64,128,256} x depth {1,2,3,4} x "
        "activation {relu,sigmoid,leakyrelu} x norm {none,batch,layer,instance,group} x "
        "pooling {none,max,avg} = 720 architectures",
        list(iter_convnet_grid(CONVNET_GRID)),
    )


#: The CPU-sized subset, (width, depth, act, norm, pool). Designed, not sampled:
#: * every value of every axis appears: each norm 3x, each activation 5x, each pooling 5x,
#:   depth 1/2/3/4 = 5/4/3/3x, width 32/64/128/256 = 4/5/4/2x;
#: * it mixes architectures that train well (ReLU + instance/batch norm + pooling, including
#:   the paper's default ConvNet, #11) with ones that train badly (deep sigmoid without
#:   normalisation), so a ranking has something to get right;
#: * the costly corners of the full grid (width >= 128 without pooling beyond depth 1, width 256
#:   beyond depth 1) are left out: width 256 appears at depth 1, which keeps the sum of the 15
#:   candidates' training costs near 50 ms per image on one CPU thread (see the NAS docs).
CONVNET_GRID_SMALL: tuple[tuple[int, int, str, str, str], ...] = (
    (32, 1, "relu", "none", "none"),
    (32, 2, "sigmoid", "batch", "max"),
    (32, 3, "leakyrelu", "layer", "avg"),
    (32, 4, "relu", "group", "none"),
    (64, 1, "leakyrelu", "instance", "none"),
    (64, 2, "relu", "none", "avg"),
    (64, 3, "sigmoid", "group", "max"),
    (64, 4, "leakyrelu", "batch", "avg"),
    (128, 1, "sigmoid", "layer", "none"),
    (128, 2, "leakyrelu", "group", "avg"),
    (128, 3, "relu", "instance", "avg"),
    (128, 4, "sigmoid", "none", "max"),
    (256, 1, "relu", "batch", "max"),
    (256, 1, "leakyrelu", "instance", "none"),
    (64, 2, "sigmoid", "layer", "max"),
)


@SPACES.register("convnet-grid-small")
def convnet_grid_small() -> SearchSpace:
    keys = ("width", "depth", "act", "norm", "pool")
    return space_from_points(
        "convnet-grid-small",
        "15 ConvNets of the paper's grid chosen to use every value of every axis (each norm 3x, "
        "each activation and pooling 5x) while staying CPU-sized: width 256 only at depth 1, "
        "no width >= 128 without pooling beyond depth 1; includes the paper's default ConvNet",
        [dict(zip(keys, p, strict=True)) for p in CONVNET_GRID_SMALL],
    )


def _as_list(value: Any, where: str) -> list[Any]:
    if isinstance(value, list | tuple) and value:
        return list(value)
    if isinstance(value, str | int) and not isinstance(value, bool):
        return [value]
    raise DcbenchError(f"{where}: must be a value or a non-empty list (got {value!r})")


def custom_space(value: dict[str, Any]) -> SearchSpace:
    """A space from a task file: ``{name, grid: {axis: [values]}}`` or ``{name, candidates}``.

    ``grid`` axes not given keep the model's default; ``model`` (default ``convnet``) names the
    registered model whose options the axes are.
    """
    allowed = ("name", "description", "model", "grid", "candidates")
    for key in value:
        if key not in allowed:
            raise DcbenchError(f"space.{key}: unknown key; known: {', '.join(allowed)}")
    name = str(value.get("name", "custom"))
    if ("grid" in value) == ("candidates" in value):
        raise DcbenchError("space: give exactly one of grid (axes) or candidates (model specs)")
    if "grid" in value:
        model = str(value.get("model", "convnet")).lower()
        allowed_opts = model_options(model)
        grid = value["grid"]
        if not isinstance(grid, dict) or not grid:
            raise DcbenchError("space.grid: must map option names to lists of values")
        axes: dict[str, list[Any]] = {}
        for key, values in grid.items():
            if key not in allowed_opts:
                raise DcbenchError(f"space.grid.{key}: {model} has no such option; options: "
                                   f"{', '.join(sorted(allowed_opts))}")
            axes[key] = _as_list(values, f"space.grid.{key}")
        size = math.prod(len(v) for v in axes.values())
        desc = value.get("description") or (
            f"custom grid of {model}: " + " x ".join(f"{k} {v}" for k, v in axes.items())
            + f" = {size}")
        return space_from_points(name, str(desc), list(iter_convnet_grid(axes)), model)
    specs = _as_list(value["candidates"], "space.candidates")
    desc = value.get("description") or f"{len(specs)} listed architectures"
    return _space(name, str(desc), [parse_model_spec(str(spec)) for spec in specs],
                  "space.candidates: ")


def resolve_space(value: str | dict[str, Any]) -> SearchSpace:
    """A registered space by name, or a custom one from a task file's mapping."""
    if isinstance(value, str):
        return SPACES.get(value)()
    if isinstance(value, dict):
        return custom_space(value)
    raise DcbenchError(f"space: must be a name ({', '.join(SPACES.names())}) or a mapping "
                       f"with grid or candidates (got {value!r})")


# ---------------------------------------------------------------------------- cost and checks

def _macs(model: nn.Module, shape: tuple[int, int, int]) -> int:
    """Multiply-accumulates of one forward pass (convolutions and linear layers only)."""
    total = 0

    def hook(m: nn.Module, inputs: Any, out: torch.Tensor) -> None:
        nonlocal total
        if isinstance(m, nn.Conv2d):
            k = m.kernel_size[0] * m.kernel_size[1]
            total += out.numel() * (m.in_channels // m.groups) * k
        elif isinstance(m, nn.Linear):
            total += out.numel() * m.in_features

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, nn.Conv2d | nn.Linear)]
    try:
        with torch.no_grad():
            model(torch.empty(1, *shape, device="meta"))
    finally:
        for h in handles:
            h.remove()
    return int(total)


def check_space(space: SearchSpace, channels: int, num_classes: int,
                image_size: tuple[int, int]) -> dict[str, dict[str, int]]:
    """Build every candidate (on the meta device: no memory, no compute) for this data shape.

    A candidate that cannot be built (bad option, no pixels left) fails here, before any
    training, with the model's one-line message. Returns ``{spec: {"params", "macs"}}``.
    """
    out = {}
    with torch.device("meta"):
        for c in space.candidates:
            try:
                model = build_model(c.model, channels, num_classes, image_size, **c.options)
            except DcbenchError as exc:
                raise DcbenchError(f"search space {space.name!r}, candidate {c.spec}: {exc}"
                                   ) from None
            params = sum(p.numel() for p in model.parameters())
            out[c.spec] = {"params": int(params),
                           "macs": _macs(model, (channels, *image_size))}
    return out
