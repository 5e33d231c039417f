"""Rates, intervals, fairlearn-style summaries, bootstrap and significance, all from counts.

Definitions follow fairlearn: difference between_groups = max - min; ratio = min / max;
to_overall compares each group with the whole sample; equalized odds = the worse of the TPR
and FPR gaps. One deliberate difference: a rate whose denominator is zero (a TPR for a group
with no positives) is undefined (None) here and left out of summaries, where fairlearn
reports 0.0 and lets it drive the gap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Literal

import numpy as np

TN, FP, FN, TP = 0, 1, 2, 3
RATES = ("selection_rate", "tpr", "fpr", "fnr", "precision", "accuracy")
Method = Literal["between_groups", "to_overall"]


def rate_parts(counts: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(numerator, denominator) of each rate; works on (..., 4) arrays, e.g. bootstrap stacks."""
    tn, fp, fn, tp = (counts[..., i] for i in range(4))
    n = tn + fp + fn + tp
    return {
        "selection_rate": (tp + fp, n),
        "tpr": (tp, tp + fn),
        "fpr": (fp, fp + tn),
        "fnr": (fn, tp + fn),
        "precision": (tp, tp + fp),
        "accuracy": (tp + tn, n),
    }


def divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    out = np.full(np.broadcast(num, den).shape, np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


def rates(counts: np.ndarray) -> dict[str, np.ndarray]:
    return {name: divide(num, den) for name, (num, den) in rate_parts(counts).items()}


def wilson(k: np.ndarray, n: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval: sound for small n and for rates near 0 or 1, unlike the Wald interval."""
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    safe = np.where(n > 0, n, 1.0)
    p = k / safe
    denom = 1 + z * z / safe
    centre = (p + z * z / (2 * safe)) / denom
    half = z * np.sqrt(p * (1 - p) / safe + z * z / (4 * safe * safe)) / denom
    lo = np.where(n > 0, np.clip(centre - half, 0, 1), np.nan)
    hi = np.where(n > 0, np.clip(centre + half, 0, 1), np.nan)
    return lo, hi


def z_for(confidence: float) -> float:
    """The normal quantile for a two-sided interval; the standard library's, so the gate never imports scipy.stats."""
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def _most(values: np.ndarray) -> np.ndarray:
    """Max over the last axis ignoring NaN; NaN (no warning, unlike np.nanmax) where every value is undefined."""
    most: np.ndarray = np.fmax.reduce(values, axis=-1)
    return most


def _least(values: np.ndarray) -> np.ndarray:
    least: np.ndarray = np.fmin.reduce(values, axis=-1)
    return least


def difference(values: np.ndarray, overall: np.ndarray | float, method: Method) -> np.ndarray:
    """Over the last axis (groups), ignoring undefined values."""
    with np.errstate(all="ignore"):
        if method == "between_groups":
            gap: np.ndarray = _most(values) - _least(values)
        else:
            gap = _most(np.abs(values - np.asarray(overall)[..., None]))
    return gap


def ratio(values: np.ndarray, overall: np.ndarray | float, method: Method) -> np.ndarray:
    with np.errstate(all="ignore"):
        if method == "between_groups":
            return divide(_least(values), _most(values))
        r = values / np.asarray(overall)[..., None]
        r = np.where(r > 1, 1 / r, r)
        return _least(r)


SUMMARIES = (
    "demographic_parity_difference",
    "demographic_parity_ratio",
    "equalized_odds_difference",
    "equalized_odds_ratio",
    "equal_opportunity_difference",
    "equal_opportunity_ratio",
)


def summaries(counts: np.ndarray, method: Method) -> dict[str, np.ndarray]:
    """fairlearn's summary metrics over the groups on the second-to-last axis of `counts`."""
    per = rates(counts)
    overall = rates(counts.sum(axis=-2))
    sr, tpr, fpr = per["selection_rate"], per["tpr"], per["fpr"]
    return {
        "demographic_parity_difference": difference(sr, overall["selection_rate"], method),
        "demographic_parity_ratio": ratio(sr, overall["selection_rate"], method),
        "equalized_odds_difference": np.fmax(
            difference(tpr, overall["tpr"], method), difference(fpr, overall["fpr"], method)
        ),
        "equalized_odds_ratio": np.fmin(ratio(tpr, overall["tpr"], method), ratio(fpr, overall["fpr"], method)),
        "equal_opportunity_difference": difference(tpr, overall["tpr"], method),
        "equal_opportunity_ratio": ratio(tpr, overall["tpr"], method),
    }


def bootstrap_counts(counts: np.ndarray, resamples: int, seed: int) -> np.ndarray:
    """Resample the count table: a multinomial over group x cell is a row bootstrap without the rows."""
    total = int(counts.sum())
    flat = counts.reshape(-1).astype(float)
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(total, flat / total, size=resamples)
    return draws.reshape(resamples, *counts.shape)


@dataclass(frozen=True)
class GapTest:
    p_value: float
    test: Literal["z-test", "fisher", "welch"]


def gap_significance(k1: int, n1: int, k2: int, n2: int) -> GapTest | None:
    """Two-sided test that two proportions differ; Fisher's exact test when a cell is small."""
    if n1 == 0 or n2 == 0:
        return None
    pooled = (k1 + k2) / (n1 + n2)
    expected = [n1 * pooled, n1 * (1 - pooled), n2 * pooled, n2 * (1 - pooled)]
    if min(expected) < 5:
        from scipy.stats import fisher_exact

        _, p = fisher_exact(np.array([[k1, n1 - k1], [k2, n2 - k2]]))
        return GapTest(float(p), "fisher")
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return GapTest(1.0, "z-test")
    z = (k1 / n1 - k2 / n2) / se
    return GapTest(math.erfc(abs(z) / math.sqrt(2)), "z-test")
