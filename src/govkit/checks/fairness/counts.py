"""Per-group confusion counts: the only pass over the rows that fairness needs.

Each sensitive column is factorised once (missing values become an explicit `Unknown` group);
an intersection's group code is a mixed-radix combination of its columns' codes; one
`np.bincount` over `code * 4 + y * 2 + yhat` gives every group's (tn, fp, fn, tp) at C speed.
Every rate, ratio, difference and bootstrap replicate derives from these counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd

UNKNOWN = "Unknown"
JOIN = " & "


@dataclass(frozen=True)
class Encoded:
    """One sensitive column as integer codes plus the label of each code."""

    name: str
    codes: np.ndarray  # int64, one per row
    labels: tuple[str, ...]
    unknown_count: int


@dataclass(frozen=True)
class CountTable:
    """Confusion counts per observed group of one feature or intersection."""

    features: tuple[str, ...]
    groups: tuple[tuple[str, ...], ...]  # one label per feature, per group
    counts: np.ndarray  # shape (G, 4): tn, fp, fn, tp
    codes: np.ndarray  # the group index of each row (for score-based metrics)
    unknown_count: int  # rows with a missing value in any of the features

    @property
    def name(self) -> str:
        return JOIN.join(self.features)

    def label(self, i: int) -> str:
        return JOIN.join(self.groups[i])


def encode(name: str, values: pd.Series) -> Encoded:
    missing = values.isna().to_numpy()
    as_text = values.astype("string").fillna(UNKNOWN) if missing.any() else values.astype("string")
    codes, uniques = pd.factorize(as_text, sort=True)
    return Encoded(name=name, codes=codes.astype(np.int64), labels=tuple(str(u) for u in uniques),
                   unknown_count=int(missing.sum()))


def count_table(columns: Sequence[Encoded], y: np.ndarray, yhat: np.ndarray) -> CountTable:
    """Counts for the intersection of `columns` (one column = a plain sensitive feature)."""
    combined = np.zeros(len(y), dtype=np.int64)
    radix = 1
    for col in reversed(columns):
        combined += col.codes * radix
        radix *= len(col.labels)
    cells = np.bincount(combined * 4 + y * 2 + yhat, minlength=radix * 4).reshape(radix, 4)
    present = np.flatnonzero(cells.sum(axis=1))  # empty intersections are not groups
    remap = np.full(radix, -1, dtype=np.int64)
    remap[present] = np.arange(len(present))
    groups = []
    for code in present:
        labels, rest = [], int(code)
        for col in reversed(columns):
            rest, digit = divmod(rest, len(col.labels))
            labels.append(col.labels[digit])
        groups.append(tuple(reversed(labels)))
    unknown_rows = np.zeros(len(y), dtype=bool)
    for col in columns:
        if col.unknown_count:
            unknown_rows |= col.codes == col.labels.index(UNKNOWN)
    return CountTable(features=tuple(c.name for c in columns), groups=tuple(groups), counts=cells[present],
                      codes=remap[combined], unknown_count=int(unknown_rows.sum()))


def all_tables(encoded: Sequence[Encoded], y: np.ndarray, yhat: np.ndarray, *, max_order: int | None = None,
               ) -> list[CountTable]:
    """Each feature alone, then every intersection up to `max_order` columns (default: all)."""
    top = len(encoded) if max_order is None else min(max_order, len(encoded))
    return [count_table(combo, y, yhat) for k in range(1, top + 1) for combo in combinations(encoded, k)]
