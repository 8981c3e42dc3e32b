"""The paper's ConvNet and, through its options, the NAS search space.

``depth`` blocks of conv3x3(width) -> norm -> activation -> pool, then one linear classifier on
the flattened features (Zhao et al., ICLR 2021, Sec. 4; the authors' ``networks.ConvNet``).
The 720 points of :data:`CONVNET_GRID` are the architectures ranked in the NAS experiment.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from typing import Any

from torch import nn

from dcbench.errors import DcbenchError
from dcbench.models.base import (
    MODELS,
    ZooModel,
    as_image_size,
    check_choice,
    check_int,
    conv_out,
    first_conv_padding,
)
from dcbench.models.layers import ACTS, NORMS, POOLS, make_act, make_norm

#: The NAS search space of the paper (Sec. 4.3): 4 * 4 * 3 * 5 * 3 = 720 ConvNets.
#: Every value is a valid ConvNet option, so a grid point is ``ConvNet(..., **point)``.
CONVNET_GRID: dict[str, tuple[Any, ...]] = {
    "width": (32, 64, 128, 256),
    "depth": (1, 2, 3, 4),
    "act": ("relu", "sigmoid", "leakyrelu"),
    "norm": ("none", "batch", "layer", "instance", "group"),
    "pool": ("none", "max", "avg"),
}


def iter_convnet_grid(grid: dict[str, Sequence[Any]] | None = None) -> Iterator[dict[str, Any]]:
    """Yield every point of ``grid`` (default :data:`CONVNET_GRID`) as a dict of options.

    The order is fixed (``itertools.product`` over the axes in the dict's order), so a NAS
    candidate can be identified by its index as well as by its options.
    """
    grid = CONVNET_GRID if grid is None else grid
    keys = list(grid)
    for values in itertools.product(*(grid[k] for k in keys)):
        yield dict(zip(keys, values, strict=True))


#: The paper's depth, used wherever the image is large enough for it.
PAPER_DEPTH = 3


def default_depth(image_size: tuple[int, int], pool: str = "avg") -> int:
    """The paper's depth, or less so that pooled features keep at least 2x2 pixels."""
    h, w = image_size
    pad = first_conv_padding((h, w), 1)
    side = min(conv_out(h, 3, pad), conv_out(w, 3, pad))
    if POOLS.get(pool) is None:
        return PAPER_DEPTH
    depth = PAPER_DEPTH
    while depth > 1 and side // 2**depth < 2:
        depth -= 1
    return depth


@MODELS.register("convnet")
class ConvNet(ZooModel):
    """ConvNet(width, depth, act, norm, pool) of the DC paper.

    Defaults are the paper's: width 128, depth 3, ReLU, instance norm, average pooling, which
    gives a 128*4*4 = 2048 feature on both 28x28x1 (padded to 32x32 by the first convolution)
    and 32x32x3 inputs. ``embed`` returns that feature, as distribution matching needs it.

    Unless ``depth`` is given, images too small for three poolings get fewer blocks (depth 2 on
    8x8, 1 on 4x4), so that the features keep at least 2x2 pixels: on 8x8 images the paper's
    depth pools to 1x1 and gradient matching diverged there (see dcbench/condense/divergence.py).
    """

    def __init__(
        self,
        channels: int,
        num_classes: int,
        image_size: tuple[int, int],
        width: int = 128,
        depth: int | None = None,
        act: str = "relu",
        norm: str = "instance",
        pool: str = "avg",
    ) -> None:
        super().__init__()
        width = check_int("convnet", "width", width, hint="the NAS grid uses 32, 64, 128, 256")
        act = check_choice("convnet", "act", act, tuple(ACTS))
        norm = check_choice("convnet", "norm", norm, tuple(NORMS))
        pool = check_choice("convnet", "pool", pool, tuple(POOLS))
        if norm == "group" and width % 4:
            raise DcbenchError(
                f"convnet: bad value {width!r} for option 'width' with norm=group; "
                "allowed: multiples of 4 (group norm uses 4 groups)"
            )
        h, w = as_image_size(image_size)
        if depth is None:
            depth = default_depth((h, w), pool)
        depth = check_int("convnet", "depth", depth, hint="the NAS grid uses 1, 2, 3, 4")
        self.options = {"width": width, "depth": depth, "act": act, "norm": norm, "pool": pool}

        layers: list[nn.Module] = []
        for d in range(depth):
            pad = first_conv_padding((h, w), 1) if d == 0 else 1
            layers.append(nn.Conv2d(width if d else channels, width, kernel_size=3, padding=pad))
            h, w = conv_out(h, 3, pad), conv_out(w, 3, pad)
            if norm != "none":
                layers.append(make_norm(norm, width, (h, w)))
            layers.append(make_act(act))
            pool_factory = POOLS[pool]
            if pool_factory is not None:
                layers.append(pool_factory())
                h, w = conv_out(h, 2, 0, 2), conv_out(w, 2, 0, 2)
            if h < 1 or w < 1:
                raise DcbenchError(
                    f"convnet: bad value {depth!r} for option 'depth' with pool={pool} on a "
                    f"{image_size} image (no pixels left after block {d + 1}); "
                    "allowed: a smaller depth or pool=none"
                )
        self.features = nn.Sequential(*layers)
        self.feature_dim = width * h * w
        self.classifier = nn.Linear(self.feature_dim, num_classes)
