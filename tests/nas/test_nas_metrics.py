"""Ranking metrics against scipy and by hand, ties included."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from dcbench.errors import DcbenchError
from dcbench.nas.metrics import (
    kendall,
    precision_at_k,
    ranking_metrics,
    ranking_order,
    spearman,
    top_k,
)

TRUTH = [90.0, 85.5, 85.5, 70.0, 60.2, 60.2, 40.0, 10.0]
PROXY = [50.0, 55.0, 48.0, 48.0, 30.0, 31.0, 20.0, 20.0]


@pytest.mark.parametrize("a, b", [
    (TRUTH, PROXY),
    ([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]),
    ([1, 1, 2, 2], [1, 2, 1, 2]),
    ([3.0, 1.0, 2.0], [1.0, 2.0, 3.0]),
])
def test_correlations_equal_scipy(a, b) -> None:
    assert spearman(a, b) == pytest.approx(stats.spearmanr(a, b).statistic, abs=1e-12)
    assert kendall(a, b) == pytest.approx(stats.kendalltau(a, b).statistic, abs=1e-12)


def test_correlations_by_hand() -> None:
    assert spearman([1, 2, 3], [10, 20, 30]) == pytest.approx(1.0)
    assert kendall([1, 2, 3], [30, 20, 10]) == pytest.approx(-1.0)
    # ties: average ranks (1.5, 1.5, 3) vs (1, 2, 3) -> Pearson of ranks = sqrt(3)/2
    assert spearman([1, 1, 2], [1, 2, 3]) == pytest.approx(math.sqrt(3) / 2)
    # tau-b with one tie in x: (C - D) / sqrt((n0 - n1) n0) = 2 / sqrt(2 * 3)
    assert kendall([1, 1, 2], [1, 2, 3]) == pytest.approx(2 / math.sqrt(6))


def test_undefined_correlations_are_nan() -> None:
    assert math.isnan(spearman([1, 1, 1], [1, 2, 3]))
    assert math.isnan(kendall([1, 2, 3], [5, 5, 5]))
    assert math.isnan(spearman([1], [2]))
    with pytest.raises(ValueError):
        spearman([1, 2], [1, 2, 3])


def test_top_k_breaks_ties_by_index_and_puts_nan_last() -> None:
    assert top_k(TRUTH, 3).tolist() == [0, 1, 2]
    assert top_k([5, 7, 7, 1], 2).tolist() == [1, 2]
    assert ranking_order([1.0, float("nan"), 3.0]).tolist() == [2, 0, 1]
    with pytest.raises(DcbenchError, match="larger than the search space"):
        top_k(TRUTH, 9)
    with pytest.raises(DcbenchError, match="positive"):
        top_k(TRUTH, 0)


def test_precision_at_k() -> None:
    # truth top-3: {0, 1, 2}; proxy top-3: 1 (55), 0 (50), then 2 vs 3 tie at 48 -> 2
    assert precision_at_k(TRUTH, PROXY, 3) == 1.0
    # truth top-2 {0, 1} vs proxy top-2 {1, 0}
    assert precision_at_k(TRUTH, PROXY, 2) == 1.0
    assert precision_at_k([4, 3, 2, 1], [1, 2, 3, 4], 2) == 0.0
    assert precision_at_k([4, 3, 2, 1], [1, 2, 3, 4], 4) == 1.0


def test_ranking_metrics_selected_architecture_and_regret() -> None:
    m = ranking_metrics(TRUTH, PROXY, 4)
    top = [0, 1, 2, 3]
    t, p = np.array(TRUTH), np.array(PROXY)
    assert m["k"] == 4 and m["top_k_by_truth"] == top
    assert m["spearman_top_k"] == pytest.approx(stats.spearmanr(t[top], p[top]).statistic)
    assert m["kendall_top_k"] == pytest.approx(stats.kendalltau(t[top], p[top]).statistic)
    assert m["spearman_all"] == pytest.approx(stats.spearmanr(t, p).statistic)
    assert m["selected_index"] == 1  # the proxy's best
    assert m["selected_accuracy"] == 85.5 and m["best_accuracy"] == 90.0
    assert m["regret"] == pytest.approx(4.5)
    assert m["selected_truth_rank"] == 2  # candidate 2 ties it; rank = 1 + strictly better
    perfect = ranking_metrics(TRUTH, TRUTH, 3)
    assert perfect["regret"] == 0 and perfect["precision_at_k"] == 1.0
    assert perfect["spearman_all"] == pytest.approx(1.0)
