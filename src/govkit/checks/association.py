"""How strongly a feature predicts a sensitive attribute (so it could stand in for it)."""

from __future__ import annotations

import numpy as np
import pandas as pd

MAX_CATEGORIES = 50


def cramers_v(a: pd.Series, b: pd.Series) -> float:
    """Bias-corrected Cramér's V (Bergsma 2013) between two categorical columns, 0..1."""
    from scipy.stats.contingency import crosstab

    table = crosstab(a.astype(str).to_numpy(), b.astype(str).to_numpy()).count
    n = table.sum()
    if n == 0 or min(table.shape) < 2:
        return 0.0
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / n
    chi2 = float(((table - expected) ** 2 / np.where(expected > 0, expected, 1)).sum())
    r, k = table.shape
    phi2 = max(0.0, chi2 / n - (k - 1) * (r - 1) / (n - 1))
    r_c = r - (r - 1) ** 2 / (n - 1)
    k_c = k - (k - 1) ** 2 / (n - 1)
    denom = min(k_c - 1, r_c - 1)
    return float(np.sqrt(phi2 / denom)) if denom > 0 else 0.0


def correlation_ratio(values: pd.Series, groups: pd.Series) -> float:
    """Correlation ratio eta between a numeric feature and a categorical attribute, 0..1."""
    numeric = pd.to_numeric(values, errors="coerce")
    keep = numeric.notna()
    x, g = numeric[keep].to_numpy(dtype=float), groups[keep].astype(str)
    if len(x) < 2:
        return 0.0
    total = ((x - x.mean()) ** 2).sum()
    if total == 0:
        return 0.0
    stats = pd.DataFrame({"x": x, "g": g.to_numpy()}).groupby("g")["x"].agg(["count", "mean"])
    between = float((stats["count"] * (stats["mean"] - x.mean()) ** 2).sum())
    return float(np.sqrt(between / total))


def is_categorical(series: pd.Series) -> bool:
    if not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        return True
    return series.nunique(dropna=True) <= 10


def _labels(series: pd.Series, missing: str) -> pd.Series:
    """Missing values as one more category; cast first, since a float column cannot hold the label."""
    return series.astype(object).where(series.notna(), missing)


def association(feature: pd.Series, sensitive: pd.Series) -> tuple[float, str]:
    """(score, method): Cramér's V for categorical features, correlation ratio for numeric ones."""
    if is_categorical(feature):
        if feature.nunique(dropna=True) > MAX_CATEGORIES:
            top = feature.value_counts().index[:MAX_CATEGORIES]
            feature = feature.astype(object).where(feature.isin(top) | feature.isna(), "other")
        return cramers_v(_labels(feature, "missing"), _labels(sensitive, "Unknown")), "cramers_v"
    return correlation_ratio(feature, _labels(sensitive, "Unknown")), "correlation_ratio"
