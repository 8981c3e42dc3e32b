"""The one mean ± std of every result file, and the one "undefined" value."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dcbench.evaluation import protocol
from dcbench.results.stats import finite_or_none, mean_std


def test_mean_std_is_the_sample_std() -> None:
    assert mean_std([1.0, 2.0, 3.0, 4.0]) == pytest.approx((2.5, math.sqrt(5 / 3)))
    assert mean_std((90, 92)) == pytest.approx((91.0, math.sqrt(2)))  # n - 1
    assert mean_std(iter([7.5])) == (7.5, 0.0)  # one value: no spread, not NaN
    assert all(math.isnan(v) for v in mean_std([]))


def test_the_evaluation_protocol_reports_the_same_function() -> None:
    assert protocol.mean_std is mean_std


def test_finite_or_none() -> None:
    assert finite_or_none(None) is None
    assert finite_or_none(math.nan) is None and finite_or_none(np.float64("nan")) is None
    assert finite_or_none(3) == 3.0 and isinstance(finite_or_none(3), float)
    assert finite_or_none(np.float32(0.5)) == 0.5
    assert finite_or_none(math.inf) == math.inf
