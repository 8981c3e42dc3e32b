"""The name registry behind datasets, models, methods, distances and augmentations."""

from __future__ import annotations

import pytest

from dcbench.condense import CONDENSERS, method_names
from dcbench.errors import DcbenchError, UnknownNameError
from dcbench.registry import Registry


def test_register_get_and_list() -> None:
    reg: Registry[int] = Registry("widget")

    @reg.register("Beta")
    def beta() -> int:
        return 2

    reg.register("alpha")(1)
    assert reg.get("beta") is beta and reg.get(" ALPHA ") == 1  # case and spaces ignored
    assert reg.names() == ["alpha", "beta"] and list(reg) == ["alpha", "beta"]
    assert "Alpha" in reg and "gamma" not in reg and 3 not in reg


def test_unknown_names_list_the_known_ones_on_one_line() -> None:
    reg: Registry[int] = Registry("widget")
    reg.register("b")(1)
    reg.register("a")(2)
    with pytest.raises(UnknownNameError) as info:
        reg.get("c")
    assert str(info.value) == "unknown widget 'c'; known: a, b"
    assert isinstance(info.value, DcbenchError) and isinstance(info.value, KeyError)


def test_duplicate_registration_is_a_programming_error() -> None:
    reg: Registry[int] = Registry("widget")
    reg.register("a")(1)
    with pytest.raises(ValueError, match="registered twice"):
        reg.register("A")(2)
    assert reg.get("a") == 1


def test_built_in_methods_are_registered() -> None:
    for name in ("dc", "random", "herding", "kcenter", "forgetting"):
        assert name in CONDENSERS
        cls = CONDENSERS.get(name)
        assert hasattr(cls, "Config") and callable(cls().run)
        for preset in ("quick", "paper"):
            cls.Config.preset(preset, 10)
    assert set(method_names()) >= {"dc", "random", "herding", "kcenter", "forgetting"}
    with pytest.raises(UnknownNameError, match="known: .*dc"):
        CONDENSERS.get("gradient-magic")
