"""Windows over production data: calendar periods (UTC) or runs of at least N rows in time order.

Timestamps are read as ISO 8601 (an offset converts to UTC; no offset means UTC). A calendar
window is named by its start: `2026-03-05` (day), `2026-W10` (ISO week, Monday to Sunday),
`2026-03` (month), `2026-Q1` (quarter). A rows window closes at the first new timestamp after N
rows, so rows with one timestamp never straddle two windows and every engine cuts the same
windows without needing a row order; it is named by its first timestamp.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime

import numpy as np

from govkit.manifest import WindowRows

REFERENCE = "reference"


@dataclass(frozen=True)
class CountPlan:
    """What to count: the reference's numeric edges and categories, cohorts, performance columns, windows."""

    numeric: dict[str, np.ndarray]  # column -> sorted edges
    categorical: dict[str, tuple[list[str], bool]]  # column -> (categories, all of them were listed)
    cohorts: tuple[str, ...] = ()
    label: str | None = None
    prediction: str | None = None
    positive_label: str = "1"  # compared with the label's and prediction's key text
    timestamp: str | None = None  # None: one window named "reference"
    window: str | WindowRows = "month"

    @property
    def columns(self) -> list[str]:
        cols = [
            *self.numeric,
            *self.categorical,
            *self.cohorts,
            *(c for c in (self.label, self.prediction, self.timestamp) if c),
        ]
        return list(dict.fromkeys(cols))


def label_of(unit: str, start: datetime) -> str:
    if unit == "day":
        return start.date().isoformat()
    if unit == "week":
        year, week, _ = start.date().isocalendar()
        return f"{year}-W{week:02d}"
    if unit == "month":
        return f"{start.year}-{start.month:02d}"
    if unit == "quarter":
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    return start.isoformat()


def rows_starts(times: np.ndarray, counts: np.ndarray, size: int) -> np.ndarray:
    """Window starts over sorted distinct timestamps with their row counts: close after `size` rows."""
    starts, run = [], size
    for t, n in zip(times, counts, strict=True):
        if run >= size:
            starts.append(t)
            run = 0
        run += int(n)
    return np.array(starts, dtype=times.dtype)


def unit_of(window: str | WindowRows) -> str:
    return "rows" if isinstance(window, WindowRows) else window


def as_datetime(value: object) -> datetime:
    if isinstance(value, np.datetime64):
        return datetime.fromisoformat(str(value.astype("datetime64[us]")))
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    return datetime.fromisoformat(str(value))


LOGICAL = {"int": "numeric", "float": "numeric", "bool": "categorical", "text": "categorical"}


def fit_plan(plan: CountPlan, kinds: Mapping[str, str]) -> CountPlan:
    """The plan restricted to what production data can be counted as: a missing column or a numeric
    column that turned into text is left out here and reported by the schema measures instead."""
    return replace(
        plan,
        numeric={c: e for c, e in plan.numeric.items() if LOGICAL.get(kinds.get(c, "")) == "numeric"},
        categorical={c: v for c, v in plan.categorical.items() if kinds.get(c, "other") != "other"},
        cohorts=tuple(c for c in plan.cohorts if c in kinds),
        label=plan.label if plan.label in kinds and plan.prediction in kinds else None,
        prediction=plan.prediction if plan.label in kinds and plan.prediction in kinds else None,
    )
