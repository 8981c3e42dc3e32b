"""VGG11 as in the DC authors' code: instance norm by default, batch norm as an option."""

from __future__ import annotations

from torch import nn

from dcbench.models.base import (
    MODELS,
    ZooModel,
    as_image_size,
    check_choice,
    conv_out,
    first_conv_padding,
)
from dcbench.models.layers import DEEP_NORMS, make_norm

#: Convolution widths of VGG11; "M" is a 2x2 max pooling.
VGG11_CFG: tuple[int | str, ...] = (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M")


@MODELS.register("vgg11")
class VGG11(ZooModel):
    """Eight conv3x3 -> norm -> ReLU layers with five max poolings, then one linear layer.

    A 28x28 input gets padding 3 in the first convolution (the authors' trick). An adaptive
    average pooling to 1x1 precedes the classifier; on 28x28 and 32x32 inputs the maps are
    already 1x1 there, so it only matters for other sizes.
    """

    def __init__(
        self,
        channels: int,
        num_classes: int,
        image_size: tuple[int, int],
        norm: str = "instance",
    ) -> None:
        super().__init__()
        norm = check_choice("vgg11", "norm", norm, DEEP_NORMS)
        size = as_image_size(image_size)
        h, w = size
        layers: list[nn.Module] = []
        in_ch = channels
        for i, item in enumerate(VGG11_CFG):
            if item == "M":
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
                h, w = conv_out(h, 2, 0, 2), conv_out(w, 2, 0, 2)
                continue
            assert isinstance(item, int)
            pad = first_conv_padding(size, 1) if i == 0 else 1
            h, w = conv_out(h, 3, pad), conv_out(w, 3, pad)
            layers += [
                nn.Conv2d(in_ch, item, kernel_size=3, padding=pad),
                make_norm(norm, item, (h, w)),
                nn.ReLU(),
            ]
            in_ch = item
        layers.append(nn.AdaptiveAvgPool2d(1))
        self.features = nn.Sequential(*layers)
        self.feature_dim = in_ch
        self.classifier = nn.Linear(in_ch, num_classes)
