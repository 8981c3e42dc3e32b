"""The DC authors' small AlexNet: five convolutions of widths 128, 192, 256, 192, 192."""

from __future__ import annotations

import torch
from torch import nn

from dcbench.models.base import MODELS, ZooModel, as_image_size, conv_out, first_conv_padding
from dcbench.models.layers import conv_relu


@MODELS.register("alexnet")
class AlexNet(ZooModel):
    """conv128 5x5 / pool / conv192 5x5 / pool / conv256, conv192, conv192 3x3 / pool / fc.

    The first convolution pads a 28x28 input by 4 instead of 2 (the authors' trick), so both
    28x28 and 32x32 inputs end in a 192*4*4 feature.
    """

    def __init__(self, channels: int, num_classes: int, image_size: tuple[int, int]) -> None:
        super().__init__()
        h, w = as_image_size(image_size)
        pad = first_conv_padding((h, w), 2)
        self.features = nn.Sequential(
            *conv_relu(channels, 128, 5, pad, pool=True),
            *conv_relu(128, 192, 5, 2, pool=True),
            *conv_relu(192, 256, 3, 1),
            *conv_relu(256, 192, 3, 1),
            *conv_relu(192, 192, 3, 1, pool=True),
        )
        # The 5x5 and 3x3 convolutions keep the size (given their padding); the pools halve it.
        h, w = conv_out(h, 5, pad), conv_out(w, 5, pad)
        h, w = h // 8, w // 8
        self.feature_dim = 192 * h * w
        self.fc = nn.Linear(self.feature_dim, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.embed(x))
