"""Search spaces: the paper's 720 ConvNets, the CPU-sized subset, custom grids."""

from __future__ import annotations

import pytest
import torch

from dcbench.errors import DcbenchError
from dcbench.models import CONVNET_GRID, format_model_spec, iter_convnet_grid, model_from_spec
from dcbench.nas import SPACES, resolve_space
from dcbench.nas.spaces import check_space


def test_registered_spaces() -> None:
    assert {"convnet-grid", "convnet-grid-small"} <= set(SPACES.names())


def test_full_grid_is_the_papers_720_convnets() -> None:
    # tests/models builds and runs every grid point on 28x28x1 and 32x32x3; here we check that
    # the space yields exactly those 720 specs, in the grid's order.
    space = resolve_space("convnet-grid")
    assert len(space) == 720
    assert space.specs == [format_model_spec("convnet", p) for p in iter_convnet_grid()]
    assert len(set(space.specs)) == 720
    assert [c.index for c in space.candidates] == list(range(720))
    assert space.axes() == {k: list(v) for k, v in CONVNET_GRID.items()}


def test_small_grid_spans_every_axis_value_of_the_full_grid() -> None:
    small, full = resolve_space("convnet-grid-small"), resolve_space("convnet-grid")
    assert 12 <= len(small) <= 16
    assert set(small.specs) <= set(full.specs)
    axes = small.axes()
    for axis, values in CONVNET_GRID.items():
        assert sorted(map(str, axes[axis])) == sorted(map(str, values)), axis
    # the paper's default ConvNet is in it
    assert format_model_spec("convnet", {"width": 128, "depth": 3, "act": "relu",
                                         "norm": "instance", "pool": "avg"}) in small.specs


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32)])
def test_small_grid_builds_and_runs(shape: tuple[int, int, int]) -> None:
    space = resolve_space("convnet-grid-small")
    x = torch.randn(2, *shape)
    for spec in space.specs:
        torch.manual_seed(0)
        model = model_from_spec(spec, shape[0], 10, shape[1:]).eval()
        with torch.no_grad():
            assert model(x).shape == (2, 10), spec


def test_check_space_counts_params_and_macs() -> None:
    space = resolve_space("convnet-grid-small")
    costs = check_space(space, 1, 10, (28, 28))
    spec = space.specs[0]  # width 32, depth 1, no norm, no pooling
    model = model_from_spec(spec, 1, 10, (28, 28))
    assert costs[spec]["params"] == sum(p.numel() for p in model.parameters())
    # conv 1->32 3x3 on 32x32 outputs + linear 32*32*32 -> 10
    assert costs[spec]["macs"] == 32 * 32 * 32 * 9 + 32 * 32 * 32 * 10


def test_custom_grid_and_candidate_list() -> None:
    grid = resolve_space({"name": "g", "grid": {"width": [16, 32], "depth": [1, 2, 3]}})
    assert len(grid) == 6 and grid.name == "g"
    assert grid.specs[0] == "convnet:depth=1:width=16"
    listed = resolve_space({"candidates": ["convnet:width=16", "convnet:depth=2:norm=batch"]})
    assert listed.specs == ["convnet:width=16", "convnet:depth=2:norm=batch"]


@pytest.mark.parametrize("value, words", [
    ("no-such-space", "unknown search space 'no-such-space'; known: convnet-grid"),
    ({"grid": {"colour": [1]}}, "space.grid.colour"),
    ({"grid": {"width": []}}, "space.grid.width"),
    ({"grid": {"width": [8]}, "candidates": ["convnet"]}, "exactly one of"),
    ({"candidates": ["convnet:width=8", "convnet:width=8"]}, "appears twice"),
    ({"grid": {"width": [8]}, "shape": 1}, "space.shape: unknown key"),
    (42, "must be a name"),
])
def test_bad_spaces_fail_in_one_line(value, words) -> None:
    with pytest.raises(DcbenchError, match=None) as info:
        resolve_space(value)
    assert words in str(info.value) and "\n" not in str(info.value)


def test_unbuildable_candidate_fails_before_training() -> None:
    space = resolve_space({"grid": {"depth": [6], "pool": ["max"]}})
    with pytest.raises(DcbenchError, match="no pixels left"):
        check_space(space, 1, 10, (16, 16))
