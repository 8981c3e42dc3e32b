"""The DC authors' MLP: two hidden layers of 128 units with ReLU on the flattened image."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from dcbench.models.base import MODELS, as_image_size


@MODELS.register("mlp")
class MLP(nn.Module):
    """Flatten -> fc128 -> ReLU -> fc128 -> ReLU -> fc(num_classes).

    The input size is channels * H * W (784 on 28x28x1, 3072 on 32x32x3), as in the authors'
    code, which derives it from the data rather than padding to 32x32.
    """

    def __init__(self, channels: int, num_classes: int, image_size: tuple[int, int]) -> None:
        super().__init__()
        h, w = as_image_size(image_size)
        self.fc_1 = nn.Linear(channels * h * w, 128)
        self.fc_2 = nn.Linear(128, 128)
        self.fc_3 = nn.Linear(128, num_classes)
        self.feature_dim = 128

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Output of the second hidden layer, shape (N, 128)."""
        out = F.relu(self.fc_1(x.flatten(1)))
        return F.relu(self.fc_2(out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc_3(self.embed(x))
