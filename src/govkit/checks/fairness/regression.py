"""Regression metrics per group from sufficient statistics (counts and sums of powers), fairlearn's definitions.

An engine returns, per group, n and the sums named in `MOMENTS` (target y, prediction p, error
e = p - y). Everything else is arithmetic on those sums: mean prediction, mean target, mean error
(bias), MAE, RMSE and R² as scikit-learn defines them (R² = 1 - SS_res / SS_tot, undefined when
a group's target is constant, where scikit-learn reports 0 or 1), their spread for Welch's t-test,
and a parametric bootstrap: a group's mean of a per-row quantity is drawn from the normal law the
central limit theorem gives it (mean, variance / n), since the rows never leave the engine.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np

from govkit.checks.fairness.engines.interface import MOMENTS
from govkit.checks.fairness.metrics import GapTest, divide

REGRESSION_METRICS = ("mean_prediction", "mean_target", "mean_error", "mae", "rmse", "r2")
# metric -> (the per-row quantity it averages, the sum of its square); RMSE averages e² then takes a root
MEAN_OF: dict[str, tuple[str, str]] = {
    "mean_prediction": ("p", "p2"),
    "mean_target": ("y", "y2"),
    "mean_error": ("e", "e2"),
    "mae": ("abs_e", "e2"),
    "rmse": ("e2", "e4"),
}
# a ratio min/max means something only for metrics that are never negative
RATIO_METRICS = ("mae", "rmse")
RegressionSummaryKind = Literal["difference", "ratio"]


def _column(sums: np.ndarray, name: str) -> np.ndarray:
    column: np.ndarray = sums[..., MOMENTS.index(name)]
    return column


def regression_values(n: np.ndarray, sums: np.ndarray) -> dict[str, np.ndarray]:
    """Each metric per group (or per resample x group: works on (..., G) n and (..., G, 8) sums)."""
    n = np.asarray(n, dtype=float)
    sy, syy = _column(sums, "y"), _column(sums, "y2")
    with np.errstate(all="ignore"):
        ss_tot = syy - divide(sy * sy, n)
        ss_res = _column(sums, "e2")
        r2 = np.where(ss_tot > 0, 1 - ss_res / np.where(ss_tot > 0, ss_tot, 1.0), np.nan)
        return {
            "mean_prediction": divide(_column(sums, "p"), n),
            "mean_target": divide(sy, n),
            "mean_error": divide(_column(sums, "e"), n),
            "mae": divide(_column(sums, "abs_e"), n),
            "rmse": np.sqrt(divide(ss_res, n)),
            "r2": np.where(n > 0, r2, np.nan),
        }


def mean_and_variance(n: np.ndarray, sums: np.ndarray, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """The mean of the per-row quantity behind `metric` and its (population) variance per row."""
    first, second = MEAN_OF[metric]
    mean = divide(_column(sums, first), n)
    with np.errstate(all="ignore"):
        variance = np.maximum(divide(_column(sums, second), n) - mean * mean, 0.0)
    return mean, variance


def bootstrap_means(n: np.ndarray, sums: np.ndarray, resamples: int, seed: int) -> dict[str, np.ndarray]:
    """(resamples, G) draws of each metric in MEAN_OF: each group's mean ~ Normal(mean, variance / n)."""
    rng = np.random.default_rng(seed)
    out = {}
    safe_n = np.where(n > 0, n, 1).astype(float)
    for metric in MEAN_OF:
        mean, variance = mean_and_variance(n, sums, metric)
        draws = rng.normal(np.nan_to_num(mean), np.sqrt(variance / safe_n), size=(resamples, len(n)))
        draws[:, ~np.isfinite(mean)] = np.nan
        out[metric] = np.sqrt(np.maximum(draws, 0.0)) if metric == "rmse" else draws
    return out


def spread(values: np.ndarray, kind: RegressionSummaryKind) -> np.ndarray:
    """Between groups over the last axis, ignoring undefined values: max - min, or min / max."""
    with np.errstate(all="ignore"):
        most = np.fmax.reduce(values, axis=-1)
        least = np.fmin.reduce(values, axis=-1)
        if kind == "difference":
            gap: np.ndarray = most - least
            return gap
        return divide(least, most)


def welch(mean1: float, var1: float, n1: int, mean2: float, var2: float, n2: int) -> GapTest | None:
    """Welch's t-test that two groups' means differ (unequal variances), from their summary statistics."""
    if n1 < 2 or n2 < 2:
        return None
    from scipy.stats import ttest_ind_from_stats

    # sample standard deviations from population variances
    s1, s2 = math.sqrt(var1 * n1 / (n1 - 1)), math.sqrt(var2 * n2 / (n2 - 1))
    if s1 == 0 and s2 == 0:
        return GapTest(0.0 if mean1 != mean2 else 1.0, "welch")
    result = ttest_ind_from_stats(mean1, s1, n1, mean2, s2, n2, equal_var=False)
    return GapTest(float(result.pvalue), "welch")
