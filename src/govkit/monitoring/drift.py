"""Drift measures from counts: PSI, Kolmogorov-Smirnov, normalised Wasserstein, Jensen-Shannon, chi-square.

Every measure reads the reference's and a window's counts in the reference's cells (slices.py),
never rows, so a month of production data is compared in microseconds whichever engine counted it.

- PSI = sum (c - r) ln(c / r) over proportions in COARSE_BINS reference-quantile bins (categories:
  each category and "other"). An empty bin's proportion becomes EPSILON = 1e-4 on either side,
  Evidently's rule, so PSI stays finite; the outer bins reach to minus and plus infinity.
- KS: the statistic is max |F_ref - F_cur| over every edge, read just below and at the edge. When
  the edges are every distinct reference value (`exact`), that is the supremum over all reals, so
  it equals `scipy.stats.ks_2samp` on the raw values; the p-value is then scipy's own: its exact
  method on the same counts (rebuilt as values) up to 10,000 rows a side, else `kstwo.sf(D, round(nm/(n+m)))`,
  scipy's asymptotic formula. With quantile edges the statistic is a lower bound (within one cell).
- Wasserstein: `scipy.stats.wasserstein_distance` between the two cell histograms, each cell at the
  mean of its values (so with exact edges only values between two reference values are pooled),
  divided by the reference standard deviation (population, floored at 0.001: Evidently's norm).
- Jensen-Shannon distance: `scipy.spatial.distance.jensenshannon(base=2)` on the coarse bins.
- chi-square: the p-value of `scipy.stats.chi2_contingency` on the 2 x bins table (empty bins dropped).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from govkit.monitoring.slices import cell_starts

COARSE_BINS = 10
EPSILON = 1e-4
STD_FLOOR = 0.001
EXACT_P_LIMIT = 10_000  # scipy's ks_2samp switches from its exact to its asymptotic p-value above this
SMALL_REFERENCE = 1000  # Evidently's switch from tests (p-values) to distances
LOW_CARDINALITY = 5
P_VALUE_MEASURES = frozenset({"ks", "chisquare"})
MEASURES = ("psi", "ks", "wasserstein", "jensenshannon", "chisquare")
DEFAULT_THRESHOLDS = {"psi": 0.1, "ks": 0.05, "wasserstein": 0.1, "jensenshannon": 0.1, "chisquare": 0.05}


def default_measure(kind: str, reference_rows: int, distinct: int) -> str:
    """Evidently's switch: tests up to 1,000 reference rows, distances above; low-cardinality numbers are categories."""
    categorical = kind == "categorical" or distinct <= LOW_CARDINALITY
    if reference_rows <= SMALL_REFERENCE:
        return "chisquare" if categorical else "ks"
    return "jensenshannon" if categorical else "wasserstein"


def drifted(measure: str, value: float | None, threshold: float) -> bool | None:
    if value is None or not math.isfinite(value):
        return None
    return value < threshold if measure in P_VALUE_MEASURES else value > threshold


def coarse_cuts(ref_counts: np.ndarray, bins: int = COARSE_BINS) -> np.ndarray:
    """Cell indices where coarse bins start: at reference quantiles, on cell boundaries, merged when equal."""
    total = ref_counts.sum()
    if total == 0:
        return np.array([0])
    cum = np.cumsum(ref_counts)
    cuts = np.searchsorted(cum, total * np.arange(1, bins) / bins, side="right") + 1
    return np.unique(np.r_[0, cuts[cuts < len(ref_counts)]])


def coarse(counts: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    return np.add.reduceat(counts, cuts)


def psi(ref: np.ndarray, cur: np.ndarray) -> float:
    p = ref / ref.sum()
    q = cur / cur.sum()
    p = np.where(p == 0, EPSILON, p)
    q = np.where(q == 0, EPSILON, q)
    return float(np.sum((q - p) * np.log(q / p)))


def jensenshannon(ref: np.ndarray, cur: np.ndarray) -> float:
    from scipy.spatial.distance import jensenshannon as js

    return float(js(ref / ref.sum(), cur / cur.sum(), base=2))


def chisquare(ref: np.ndarray, cur: np.ndarray) -> float:
    from scipy.stats import chi2_contingency

    keep = (ref + cur) > 0
    if keep.sum() < 2:
        return 1.0  # one category on both sides: nothing can differ
    return float(chi2_contingency(np.vstack([ref[keep], cur[keep]])).pvalue)


def _values(counts: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Values with the same empirical CDF at every edge (below, at, between) as the counted ones."""
    points = cell_starts(edges)  # each cell's lowest value; below e_0, the float just below it
    points[0] = np.nextafter(edges[0], -np.inf)
    return np.repeat(points, counts)


def ks(ref: np.ndarray, cur: np.ndarray, edges: np.ndarray) -> tuple[float, float]:
    """(statistic, p-value) from cell counts; see the module docstring for when it is exact."""
    from scipy.stats import distributions, ks_2samp

    n, m = int(ref.sum()), int(cur.sum())
    d = float(np.max(np.abs(np.cumsum(ref) / n - np.cumsum(cur) / m)))
    if max(n, m) <= EXACT_P_LIMIT:
        result = ks_2samp(_values(ref, edges), _values(cur, edges))
        return float(result.statistic), float(result.pvalue)
    big, small = sorted([float(n), float(m)], reverse=True)
    en = big * small / (big + small)
    return d, float(np.clip(distributions.kstwo.sf(d, np.round(en)), 0, 1))


def wasserstein(ref: np.ndarray, ref_sums: np.ndarray, cur: np.ndarray, cur_sums: np.ndarray, std: float) -> float:
    from scipy.stats import wasserstein_distance

    r, c = ref > 0, cur > 0
    distance = wasserstein_distance(ref_sums[r] / ref[r], cur_sums[c] / cur[c], ref[r], cur[c])
    return float(distance / max(std, STD_FLOOR))


def std_of(n: int, total: float, sumsq: float) -> float:
    if n == 0:
        return math.nan
    mean = total / n
    return math.sqrt(max(sumsq / n - mean * mean, 0.0))


def numeric_measures(edges: np.ndarray, ref: dict[str, Any], cur: dict[str, Any]) -> dict[str, float | None]:
    """Every measure for one numeric column; `ref`/`cur` hold counts, sums, sumsq as arrays."""
    rc, cc = ref["counts"], cur["counts"]
    if rc.sum() == 0 or cc.sum() == 0:
        return dict.fromkeys(MEASURES)
    cuts = coarse_cuts(rc)
    rb, cb = coarse(rc, cuts), coarse(cc, cuts)
    statistic, p_value = ks(rc, cc, edges)
    std = std_of(int(rc.sum()), float(ref["sums"].sum()), float(ref["sumsq"]))
    return {
        "psi": psi(rb, cb),
        "ks": p_value,
        "ks_statistic": statistic,
        "wasserstein": wasserstein(rc, ref["sums"], cc, cur["sums"], std),
        "jensenshannon": jensenshannon(rb, cb),
        "chisquare": chisquare(rb, cb),
    }


def categorical_measures(ref: np.ndarray, cur: np.ndarray) -> dict[str, float | None]:
    if ref.sum() == 0 or cur.sum() == 0:
        return dict.fromkeys(MEASURES)
    return {
        "psi": psi(ref, cur),
        "jensenshannon": jensenshannon(ref, cur),
        "chisquare": chisquare(ref, cur),
        "ks": None,
        "wasserstein": None,
    }
