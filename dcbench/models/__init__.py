"""Model zoo: the paper's ConvNet (and NAS grid), MLP, LeNet, AlexNet, VGG11, ResNet18.

Models are looked up by name in :data:`MODELS` or built from a spec string::

    model_from_spec("convnet:depth=2:width=32:norm=batch", 3, 10, (32, 32))

Every model takes ``(channels, num_classes, image_size, **options)``, accepts 28x28x1 and
32x32x3 images, exposes ``embed(x)`` (features before the classifier) and ``feature_dim``.
"""

# Importing the model modules registers them in MODELS.
from dcbench.models.alexnet import AlexNet
from dcbench.models.base import MODELS, has_batchnorm
from dcbench.models.convnet import CONVNET_GRID, ConvNet, iter_convnet_grid
from dcbench.models.lenet import LeNet
from dcbench.models.mlp import MLP
from dcbench.models.resnet import ResNet18
from dcbench.models.spec import (
    build_model,
    format_model_spec,
    model_from_spec,
    model_options,
    parse_model_spec,
)
from dcbench.models.vgg import VGG11

__all__ = [
    "CONVNET_GRID",
    "MLP",
    "MODELS",
    "AlexNet",
    "ConvNet",
    "LeNet",
    "ResNet18",
    "VGG11",
    "build_model",
    "format_model_spec",
    "has_batchnorm",
    "iter_convnet_grid",
    "model_from_spec",
    "model_options",
    "parse_model_spec",
]
