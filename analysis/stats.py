"""Small statistics helpers: means with Student-t confidence intervals, and proportion intervals.

Every table in :mod:`analysis` reports a mean with a 95% confidence interval. For means of
continuous quantities (regret, coverage) the interval is Student-t over independent units (episodes
or seeds): ``mean +- t_{n-1, 0.975} * sd / sqrt(n)`` with the sample standard deviation (ddof=1).
For shares of a categorical outcome (frequency-bias classes, the knowing-doing table) it is the
Wilson score interval, which stays inside [0, 1] and does not collapse to a point at 0% or 100%.

With fewer than two units a t interval is undefined: both bounds are NaN (not the mean), so a table
never shows a spurious zero-width interval.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import pandas as pd
from scipy import stats as _scipy_stats

__all__ = ["mean_ci", "grouped_mean_ci", "wilson_interval"]


def _check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence!r}")


def mean_ci(values: Iterable[float], confidence: float = 0.95) -> tuple[float, float, float]:
    """Return ``(mean, ci_low, ci_high)`` of ``values`` with a Student-t interval.

    NaN values are dropped first. An empty input gives three NaNs; a single value gives the value and
    NaN bounds (one unit carries no information about spread).

    Example:
        >>> mean_ci([1.0, 2.0, 3.0])  # t_{2,0.975} = 4.303, sd = 1, half-width = 4.303 / sqrt(3)
        (2.0, -0.484..., 4.484...)
    """
    _check_confidence(confidence)
    arr = np.asarray(list(values), dtype=float)  # (n,)
    arr = arr[~np.isnan(arr)]
    n = arr.size
    if n == 0:
        return (math.nan, math.nan, math.nan)
    mean = float(arr.mean())
    if n < 2:
        return (mean, math.nan, math.nan)
    sem = float(arr.std(ddof=1)) / math.sqrt(n)
    half = float(_scipy_stats.t.ppf(0.5 + confidence / 2.0, df=n - 1)) * sem
    return (mean, mean - half, mean + half)


def grouped_mean_ci(
    frame: pd.DataFrame, by: list[str], value: str, confidence: float = 0.95
) -> pd.DataFrame:
    """Mean, t interval and count of column ``value`` per group of ``by``.

    Returns a DataFrame with the ``by`` columns then ``mean, ci_low, ci_high, n`` (``n`` counts the
    non-NaN values), one row per group, sorted by the group keys.
    """
    missing = [c for c in [*by, value] if c not in frame.columns]
    if missing:
        raise ValueError(f"grouped_mean_ci: missing columns {missing}; frame has {list(frame.columns)}")
    rows = []
    for key, group in frame.groupby(by, sort=True, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        mean, low, high = mean_ci(group[value].to_numpy(dtype=float), confidence)
        rows.append((*key, mean, low, high, int(group[value].notna().sum())))
    return pd.DataFrame(rows, columns=[*by, "mean", "ci_low", "ci_high", "n"])


def wilson_interval(successes: float, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval ``(low, high)`` for a proportion ``successes / n``.

    ``successes`` may be fractional (shares of sampled answers). ``n == 0`` gives ``(nan, nan)``.
    """
    _check_confidence(confidence)
    if n < 0 or successes < 0 or successes > n:
        raise ValueError(f"wilson_interval needs 0 <= successes <= n, got successes={successes}, n={n}")
    if n == 0:
        return (math.nan, math.nan)
    z = float(_scipy_stats.norm.ppf(0.5 + confidence / 2.0))
    p = successes / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))
