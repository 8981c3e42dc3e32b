"""The DC authors' LeNet (LeNet-5 with ReLU and max pooling)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from dcbench.models.base import MODELS, as_image_size, conv_out, first_conv_padding
from dcbench.models.layers import conv_relu


@MODELS.register("lenet")
class LeNet(nn.Module):
    """conv6 5x5 -> ReLU -> maxpool -> conv16 5x5 -> ReLU -> maxpool -> fc120 -> fc84 -> fc.

    A 28x28 input gets padding 2 in the first convolution (as the authors do), so both 28x28
    and 32x32 inputs end in a 16*5*5 feature.
    """

    def __init__(self, channels: int, num_classes: int, image_size: tuple[int, int]) -> None:
        super().__init__()
        h, w = as_image_size(image_size)
        pad = first_conv_padding((h, w), 0)
        self.features = nn.Sequential(
            *conv_relu(channels, 6, 5, pad, pool=True),
            *conv_relu(6, 16, 5, pool=True),
        )
        for k, p, s in ((5, pad, 1), (2, 0, 2), (5, 0, 1), (2, 0, 2)):
            h, w = conv_out(h, k, p, s), conv_out(w, k, p, s)
        self.fc_1 = nn.Linear(16 * h * w, 120)
        self.fc_2 = nn.Linear(120, 84)
        self.fc_3 = nn.Linear(84, num_classes)
        self.feature_dim = 84

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Output of the fc84 layer, shape (N, 84)."""
        out = self.features(x).flatten(1)
        out = F.relu(self.fc_1(out))
        return F.relu(self.fc_2(out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc_3(self.embed(x))
