"""How well a proxy ranks architectures, judged against the ground truth (whole-data accuracy).

The measures NAS papers report (cf. NASLib's ``compute_scores``, NAS-Bench-201):

* Spearman's rho and Kendall's tau-b between proxy and ground-truth accuracies, over *all*
  candidates and over the *top-k candidates by ground truth* (the DC paper's Table 4 reports
  Spearman over the top 10); ties get average ranks (rho) / the tau-b correction, as in scipy;
* precision@k: the share of the ground-truth top-k that the proxy also puts in its top-k;
* the architecture the proxy selects (its best), that architecture's ground-truth accuracy,
  its ground-truth rank, and the regret (best ground truth minus the selected one's).

Rankings break ties by candidate index (lower first), so every number is deterministic.
A correlation over constant values is undefined and reported as NaN (null in JSON).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import stats

from dcbench.errors import DcbenchError


def _pair(a: Sequence[float], b: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"need two 1-D sequences of equal length, got {x.shape} and {y.shape}")
    return x, y


def _correlation(test: Any, a: Sequence[float], b: Sequence[float]) -> float:
    """``test``'s statistic; NaN when undefined (fewer than 2, constant or non-finite values)."""
    x, y = _pair(a, b)
    if len(x) < 2 or np.ptp(x) == 0 or np.ptp(y) == 0 or not (
            np.isfinite(x).all() and np.isfinite(y).all()):
        return math.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(test(x, y).statistic)


def spearman(a: Sequence[float], b: Sequence[float]) -> float:
    """Spearman's rank correlation (average ranks for ties); NaN when undefined."""
    return _correlation(stats.spearmanr, a, b)


def kendall(a: Sequence[float], b: Sequence[float]) -> float:
    """Kendall's tau-b (ties corrected); NaN when undefined."""
    return _correlation(stats.kendalltau, a, b)


def ranking_order(scores: Sequence[float]) -> np.ndarray:
    """Indices from best (highest score) to worst; ties by lower index; NaN ranks last."""
    s = np.asarray(scores, dtype=np.float64)
    s = np.where(np.isnan(s), -np.inf, s)
    return np.lexsort((np.arange(len(s)), -s))


def top_k(scores: Sequence[float], k: int) -> np.ndarray:
    """Indices of the ``k`` best scores, best first (ties by lower index)."""
    check_k(k, len(scores))
    return ranking_order(scores)[:k]


def check_k(k: int, n: int) -> None:
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise DcbenchError(f"top-k must be a positive integer (got {k!r})")
    if k > n:
        raise DcbenchError(f"top-k {k} is larger than the search space ({n} candidates)")


def precision_at_k(truth: Sequence[float], proxy: Sequence[float], k: int) -> float:
    """|top-k by truth ∩ top-k by proxy| / k."""
    t, p = _pair(truth, proxy)
    return len(set(top_k(t, k).tolist()) & set(top_k(p, k).tolist())) / k


def ranking_metrics(truth: Sequence[float], proxy: Sequence[float], k: int) -> dict[str, Any]:
    """All ranking measures of ``proxy`` against ``truth`` (one accuracy per candidate)."""
    t, p = _pair(truth, proxy)
    check_k(k, len(t))
    best_truth = top_k(t, k)
    selected = int(ranking_order(p)[0])
    gt_rank = 1 + int(np.sum(t > t[selected]))
    return {
        "k": k,
        "spearman_all": spearman(t, p),
        "kendall_all": kendall(t, p),
        "spearman_top_k": spearman(t[best_truth], p[best_truth]),
        "kendall_top_k": kendall(t[best_truth], p[best_truth]),
        "precision_at_k": precision_at_k(t, p, k),
        "top_k_by_truth": best_truth.tolist(),
        "top_k_by_proxy": top_k(p, k).tolist(),
        "selected_index": selected,
        "selected_proxy_accuracy": float(p[selected]),
        "selected_accuracy": float(t[selected]),
        "selected_truth_rank": gt_rank,
        "best_accuracy": float(np.max(t)),
        "regret": float(np.max(t) - t[selected]),
    }
