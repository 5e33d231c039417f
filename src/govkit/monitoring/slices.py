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

MAX_UNSEEN = 20  # unseen category values kept per slice (the count is always complete)


@dataclass(frozen=True)
class SliceKey:
    window: str
    feature: str | None = None  # None: the whole window
    group: str | None = None


@dataclass
class NumericCounts:
    counts: np.ndarray  # (S, C) int64
    sums: np.ndarray  # (S, C) float64: sum of the values in each cell
    sumsq: np.ndarray  # (S,) float64
    missing: np.ndarray  # (S,) int64: NULL or NaN
    low: np.ndarray  # (S,) float64, NaN when the slice has no value
    high: np.ndarray

    def add(self, other: NumericCounts) -> None:
        """Fold in the counts of more rows of the same slices (another batch)."""
        self.counts += other.counts
        self.sums += other.sums
        self.sumsq += other.sumsq
        self.missing += other.missing
        self.low = np.fmin(self.low, other.low)
        self.high = np.fmax(self.high, other.high)


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


BUCKETS_PER_EDGE = 16


class CellFinder:
    """`searchsorted(left) + searchsorted(right)` over fixed edges, about 5x faster on many values.

    A binary search per value misses the cache at every step. Instead, values fall into
    16 uniform buckets per edge over [e_0, e_k-1]; the bucket function is monotone, so a bucket
    that holds no edge lies inside one open cell, known in advance. Only values in the few
    buckets that hold an edge (about 1/16 of them) are searched. The result is the same array.
    """

    def __init__(self, edges: np.ndarray) -> None:
        self.edges = edges
        self.size = BUCKETS_PER_EDGE * len(edges)
        self.lo, self.hi = (float(edges[0]), float(edges[-1])) if len(edges) else (0.0, 0.0)
        with np.errstate(divide="ignore", over="ignore"):
            self.scale = self.size / (self.hi - self.lo) if len(edges) > 1 else np.inf
        self.bucketed = len(edges) > 1 and bool(np.isfinite(self.scale))
        if self.bucketed:
            edge_buckets = self._bucket(edges)
            self.base = 2 * np.searchsorted(edge_buckets, np.arange(self.size), "left")
            self.split = np.zeros(self.size, dtype=bool)
            self.split[edge_buckets] = True

    def _bucket(self, x: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", over="ignore"):
            return np.minimum(np.floor((x - self.lo) * self.scale), self.size - 1).astype(np.int64)

    def _search(self, x: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.edges, x, "left") + np.searchsorted(self.edges, x, "right")

    def __call__(self, values: np.ndarray) -> np.ndarray:
        if not self.bucketed or len(values) < 4 * len(self.edges):
            return self._search(values)
        inside = (values >= self.lo) & (values <= self.hi)
        b = self._bucket(np.where(inside, values, self.lo))
        out = np.where(inside, self.base[b], np.where(values < self.lo, 0, 2 * len(self.edges)))
        searched = inside & self.split[b]
        out[searched] = self._search(values[searched])
        return out


def cell_of(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    return CellFinder(edges)(values)


def cell_starts(edges: np.ndarray) -> np.ndarray:
    """The lowest value of each cell (below e_0: minus infinity)."""
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


def categorical_from_maps(
    maps: list[dict[str, int]], missing: np.ndarray, categories: list[str], complete: bool
) -> CategoricalCounts:
    rows, unseen, unseen_rows = [], [], []
    for values in maps:
        counts, new = fold_categories(values, categories, complete)
        rows.append(counts)
        top = sorted(new.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_UNSEEN]
        unseen.append(dict(top))
        unseen_rows.append(sum(new.values()))
    return CategoricalCounts(
        counts=np.array(rows, dtype=np.int64).reshape(len(maps), len(categories) + 1),
        missing=missing,
        unseen=unseen,
        unseen_rows=np.array(unseen_rows, dtype=np.int64),
    )
