"""Spec strings and build_model: parsing, round trips and the user-facing errors."""

from __future__ import annotations

import pytest

from dcbench.errors import DcbenchError, UnknownNameError
from dcbench.models import (
    ConvNet,
    build_model,
    format_model_spec,
    has_batchnorm,
    model_from_spec,
    model_options,
    parse_model_spec,
)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("convnet", ("convnet", {})),
        (
            "convnet:depth=2:width=32:norm=batch",
            ("convnet", {"depth": 2, "width": 32, "norm": "batch"}),
        ),
        (" ConvNet : depth = 2 ", ("convnet", {"depth": 2})),
        (
            "x:a=-1:b=+3:c=2.5:d=1e3:e=0x10",
            ("x", {"a": -1, "b": 3, "c": "2.5", "d": "1e3", "e": "0x10"}),
        ),
    ],
)
def test_parse(spec: str, expected: tuple) -> None:
    assert parse_model_spec(spec) == expected


@pytest.mark.parametrize(
    "spec",
    [
        "",
        "   ",
        ":depth=2",
        "convnet:depth",
        "convnet:=2",
        "convnet:depth=",
        "convnet:",
        "convnet:depth=2:depth=3",
    ],
)
def test_parse_errors(spec: str) -> None:
    with pytest.raises(DcbenchError) as info:
        parse_model_spec(spec)
    assert "\n" not in str(info.value)


def test_format_round_trip() -> None:
    spec = format_model_spec("convnet", {"width": 32, "norm": "batch", "depth": 2})
    assert spec == "convnet:depth=2:norm=batch:width=32"
    assert parse_model_spec(spec) == ("convnet", {"depth": 2, "norm": "batch", "width": 32})
    assert format_model_spec("mlp") == "mlp"


def test_model_from_spec() -> None:
    model = model_from_spec("convnet:depth=2:width=32:norm=batch", 3, 10, (32, 32))
    assert isinstance(model, ConvNet)
    assert model.options == {"width": 32, "depth": 2, "act": "relu", "norm": "batch", "pool": "avg"}
    assert model.feature_dim == 32 * 8 * 8
    assert has_batchnorm(model)
    assert model_from_spec("CONVNET:Norm=Instance:width=8", 1, 10, 28).options["norm"] == "instance"


def test_model_options() -> None:
    assert model_options("convnet") == {
        "width": 128,
        "depth": None,  # the paper's 3, fewer on images too small for three poolings
        "act": "relu",
        "norm": "instance",
        "pool": "avg",
    }
    assert model_options("mlp") == {}
    assert model_options("vgg11") == {"norm": "instance"}


def test_unknown_name_lists_known_models() -> None:
    with pytest.raises(UnknownNameError) as info:
        model_from_spec("convnett:depth=2", 3, 10, (32, 32))
    message = str(info.value)
    assert isinstance(info.value, DcbenchError)
    assert "convnett" in message
    for name in ("alexnet", "convnet", "lenet", "mlp", "resnet18", "vgg11"):
        assert name in message


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("convnet:foo=1", ["'foo'", "width", "depth", "act", "norm", "pool"]),
        ("mlp:width=3", ["'width'", "no options"]),
        ("convnet:norm=foo", ["'norm'", "none", "batch", "layer", "instance", "group"]),
        ("convnet:depth=0", ["'depth'", ">= 1"]),
        ("convnet:depth=two", ["'depth'", ">= 1"]),
        ("vgg11:norm=group", ["'norm'", "instance", "batch"]),
        ("resnet18:norm=none", ["'norm'", "instance", "batch"]),
    ],
)
def test_bad_option_errors(spec: str, words: list[str]) -> None:
    with pytest.raises(DcbenchError) as info:
        model_from_spec(spec, 3, 10, (32, 32))
    message = str(info.value)
    assert "\n" not in message
    for word in words:
        assert word in message


def test_build_model_keyword_options() -> None:
    model = build_model("convnet", 1, 4, [28, 28], width=8, depth=1, pool="max")
    assert model.feature_dim == 8 * 16 * 16
    with pytest.raises(DcbenchError):
        build_model("convnet", 1, 4, (28, 28), widht=8)
