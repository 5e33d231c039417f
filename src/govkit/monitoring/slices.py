"""Per-slice counts: the one shape every engine returns and every measure reads.

A slice is a window, or one cohort (sensitive feature = group) inside a window; the reference
profile is the same thing with a single window. Numeric columns are counted in the reference's
cells: with sorted edges e_0..e_k-1, cell 2i+1 holds values equal to e_i and cell 2i+2 the values
strictly between e_i and e_i+1 (cell 0: below e_0; cell 2k: above e_k-1). So a cell index is
`searchsorted(left) + searchsorted(right)`, counts are exact integers in every engine, and both
"<= e" and "< e" are known at every edge (what an exact KS statistic needs).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

UNKNOWN = "Unknown"
MAX_UNSEEN = 20  # unseen category values kept per slice (the count is always complete)


@dataclass(frozen=True)
class SliceKey:
    window: str
    feature: str | None = None  # None: the whole window
    group: str | None = None

    @property
    def name(self) -> str:
        return self.window if self.feature is None else f"{self.window} {self.feature}={self.group}"


@dataclass
class NumericCounts:
    counts: np.ndarray  # (S, C) int64
    sums: np.ndarray  # (S, C) float64: sum of the values in each cell
    sumsq: np.ndarray  # (S,) float64
    missing: np.ndarray  # (S,) int64: NULL or NaN
    low: np.ndarray  # (S,) float64, NaN when the slice has no value
    high: np.ndarray


@dataclass
class CategoricalCounts:
    counts: np.ndarray  # (S, K + 1): the reference's categories, then every other value
    missing: np.ndarray  # (S,)
    unseen: list[dict[str, int]]  # per slice: values the reference never had (only when it listed them all)
    unseen_rows: np.ndarray  # (S,)


@dataclass
class Slices:
    keys: list[SliceKey]
    rows: np.ndarray  # (S,)
    numeric: dict[str, NumericCounts] = field(default_factory=dict)
    categorical: dict[str, CategoricalCounts] = field(default_factory=dict)
    cells: np.ndarray | None = None  # (S, 4) tn, fp, fn, tp over rows with label and prediction
    engine: str = "pandas"

    def index(self) -> dict[SliceKey, int]:
        return {k: i for i, k in enumerate(self.keys)}


def cell_of(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    return np.searchsorted(edges, values, "left") + np.searchsorted(edges, values, "right")


def cell_starts(edges: np.ndarray) -> np.ndarray:
    """The lowest value of each cell, for engines that find cells with a sorted (ASOF) join."""
    starts = np.empty(2 * len(edges) + 1)
    starts[0] = -np.inf
    starts[1::2] = edges
    starts[2::2] = np.nextafter(edges, np.inf)
    return starts


def fold_categories(values: dict[str, int], categories: list[str], complete: bool) -> tuple[list[int], dict[str, int]]:
    """Counts per reference category plus one "other" count, and the values the reference never saw."""
    index = {c: i for i, c in enumerate(categories)}
    counts = [0] * (len(categories) + 1)
    unseen: dict[str, int] = {}
    for value, n in values.items():
        i = index.get(value)
        if i is None:
            counts[-1] += n
            if complete:
                unseen[value] = n
        else:
            counts[i] += n
    return counts, unseen


def categorical_from_maps(maps: list[dict[str, int]], missing: np.ndarray, categories: list[str],
                          complete: bool) -> CategoricalCounts:
    rows, unseen, unseen_rows = [], [], []
    for values in maps:
        counts, new = fold_categories(values, categories, complete)
        rows.append(counts)
        top = sorted(new.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_UNSEEN]
        unseen.append(dict(top))
        unseen_rows.append(sum(new.values()))
    return CategoricalCounts(counts=np.array(rows, dtype=np.int64).reshape(len(maps), len(categories) + 1),
                             missing=missing, unseen=unseen, unseen_rows=np.array(unseen_rows, dtype=np.int64))
