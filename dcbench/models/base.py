"""Shared pieces of the model zoo: the registry, option checks and shape arithmetic.

Every model is one class registered in :data:`MODELS`; its constructor takes
``(channels, num_classes, image_size, **options)`` and checks its own options, so a bad value
fails with the same one-line :class:`~dcbench.errors.DcbenchError` whether the model came from
a spec string, a YAML task or direct Python code.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from torch import Tensor, nn

from dcbench.errors import DcbenchError
from dcbench.registry import Registry

ImageSize = tuple[int, int]

MODELS: Registry[Callable[..., nn.Module]] = Registry("model")

#: Normalisation layers that mix samples of a batch. Their presence means the condensation
#: engine must not put several classes into one forward pass (each class's statistics would
#: leak into the others) and that ``torch.func.vmap`` cannot update their running statistics.
_BATCH_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm)


def has_batchnorm(model: nn.Module) -> bool:
    """True if any sub-module normalises across the batch (a BatchNorm of any kind)."""
    return any(isinstance(m, _BATCH_NORMS) for m in model.modules())


class ZooModel(nn.Module):
    """A zoo network whose ``forward`` is ``classifier(embed(x))``.

    The default ``embed`` flattens the output of a ``features`` module. Models computing their
    feature otherwise override ``embed``; AlexNet, whose last layer is ``fc``, overrides
    ``forward`` (renaming the layer would change its ``state_dict`` keys).
    """

    def embed(self, x: Tensor) -> Tensor:
        """Flattened features before the classifier, shape (N, feature_dim)."""
        return self.features(x).flatten(1)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.embed(x))


def check_choice(model: str, option: str, value: object, allowed: Sequence[str]) -> str:
    """Return ``value`` lower-cased if it is one of ``allowed``, else raise a one-line error."""
    if isinstance(value, str) and value.strip().lower() in allowed:
        return value.strip().lower()
    raise DcbenchError(
        f"{model}: bad value {value!r} for option {option!r}; allowed: {', '.join(allowed)}"
    )


def check_int(model: str, option: str, value: object, minimum: int = 1, hint: str = "") -> int:
    """Return ``value`` if it is an int >= ``minimum``; spec strings reach here already parsed."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= minimum:
        return value
    allowed = f"integers >= {minimum}" + (f" ({hint})" if hint else "")
    raise DcbenchError(f"{model}: bad value {value!r} for option {option!r}; allowed: {allowed}")


def as_image_size(image_size: int | Sequence[int]) -> ImageSize:
    """Normalise ``28`` or ``[28, 28]`` to ``(28, 28)``; datasets give sizes in either form."""
    if isinstance(image_size, int):
        return (image_size, image_size)
    h, w = (int(s) for s in image_size)
    return (h, w)


def first_conv_padding(image_size: ImageSize, base: int) -> int:
    """Padding of a network's first convolution.

    The DC authors grow 28x28 (MNIST-like) inputs to 32x32 inside the first convolution by
    adding 2 pixels of padding, so every network sees the CIFAR geometry and has the same
    feature size on both kinds of data (e.g. ConvNet's 128*4*4). We key this on the image size,
    not on the channel count as their code does, so a 28x28 colour or 32x32 grey image works too.
    """
    return base + 2 if tuple(image_size) == (28, 28) else base


def conv_out(size: int, kernel: int, padding: int = 0, stride: int = 1) -> int:
    """Output length of a convolution or pooling along one axis (floor mode)."""
    return (size + 2 * padding - kernel) // stride + 1
