"""The one mean ± standard deviation every result file reports, and the one "undefined" value.

Writers (evaluation metrics, continual summaries, NAS candidate tables) and the report all
aggregate with :func:`mean_std`, so a number in a run's files and the same number in a report
table cannot drift apart through two definitions of "std".
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from typing import Any


def mean_std(values: Iterable[float]) -> tuple[float, float]:
    """Mean and *sample* standard deviation (n - 1): 0 for one value, (nan, nan) for none.

    Sample std because the values are a few seeds or models drawn from many possible ones, as
    the paper reports them.
    """
    vals = list(values)
    if not vals:
        return float("nan"), float("nan")
    return statistics.fmean(vals), (statistics.stdev(vals) if len(vals) > 1 else 0.0)


def finite_or_none(value: Any) -> float | None:
    """``None`` for a missing or NaN value, else the value as a float.

    Result files store an undefined number (forgetting after one step, a correlation over
    constant accuracies) as JSON ``null``; readers turn NaN back into the same ``None``.
    """
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value
