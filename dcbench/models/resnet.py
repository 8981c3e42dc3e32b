"""ResNet18 as in the DC authors' code (CIFAR-style stem), instance norm by default."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from dcbench.models.base import MODELS, ZooModel, as_image_size, check_choice, conv_out
from dcbench.models.layers import DEEP_NORMS, MapSize, make_norm


class BasicBlock(nn.Module):
    """Two conv3x3 -> norm layers with a residual connection (1x1 projection when shapes change).

    ``size`` is the input's map size; ``out_size`` the block's (halved by a stride of 2).
    """

    def __init__(self, in_planes: int, planes: int, stride: int, norm: str,
                 size: MapSize) -> None:
        super().__init__()
        self.out_size = (conv_out(size[0], 3, 1, stride), conv_out(size[1], 3, 1, stride))
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = make_norm(norm, planes, self.out_size)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = make_norm(norm, planes, self.out_size)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, planes, kernel_size=1, stride=stride, bias=False),
                make_norm(norm, planes, self.out_size),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


@MODELS.register("resnet18")
class ResNet18(ZooModel):
    """conv3x3(64) stem, four stages of two BasicBlocks (64, 128, 256, 512), pooling, linear.

    The stem keeps the resolution (no 7x7 conv or max pooling), as in CIFAR ResNets. The authors
    end with ``avg_pool2d(4)``; an adaptive average pooling gives the same result on 32x32
    (4x4 maps) and 28x28 (4x4 maps too, after the strided stages) and works for any size.
    """

    def __init__(
        self,
        channels: int,
        num_classes: int,
        image_size: tuple[int, int],
        norm: str = "instance",
    ) -> None:
        super().__init__()
        norm = check_choice("resnet18", "norm", norm, DEEP_NORMS)
        size = as_image_size(image_size)  # the stem keeps it
        self.conv1 = nn.Conv2d(channels, 64, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn1 = make_norm(norm, 64, size)
        stages = []
        for in_planes, planes, stride in ((64, 64, 1), (64, 128, 2), (128, 256, 2), (256, 512, 2)):
            first = BasicBlock(in_planes, planes, stride, norm, size)
            size = first.out_size
            stages.append(nn.Sequential(first, BasicBlock(planes, planes, 1, norm, size)))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.feature_dim = planes
        self.classifier = nn.Linear(planes, num_classes)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled features before the classifier, shape (N, 512)."""
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer4(self.layer3(self.layer2(self.layer1(out))))
        return self.pool(out).flatten(1)
