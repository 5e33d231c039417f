"""The default engine: load the needed columns into pandas and count with numpy.

Fastest when the data fits in memory (no query planning, one `np.bincount` per table);
above a few GB on disk, DuckDB streams the same counts without holding the rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from govkit.checks.fairness.counts import (
    CountTable,
    Encoded,
    RunningU,
    count_table,
    encode,
    tie_safe_slices,
)
from govkit.checks.fairness.engines.interface import (
    UNKNOWN,
    CohortEngine,
    CohortSession,
    ColumnKind,
    ColumnProfile,
    Dataset,
    GroupCounts,
    Grouping,
    Profile,
    Target,
    four_cells,
)
from govkit.datasets import load_frame

BATCH_ROWS = 1_000_000


def column_kind(values: pd.Series) -> ColumnKind:
    dtype = values.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_integer_dtype(dtype):
        return "int"
    if pd.api.types.is_float_dtype(dtype):
        return "float"
    if pd.api.types.is_string_dtype(dtype):
        return "text"
    return "other"


def _python(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


class PandasSession(CohortSession):
    def __init__(self, dataset: Dataset, columns: Sequence[str]) -> None:
        self.frame = load_frame(dataset.path, columns, dataset.dialect)
        self._encoded: dict[str, Encoded] = {}
        self._tables: dict[Grouping, CountTable] = {}
        self._flag_cache: dict[tuple[str, Any], np.ndarray] = {}

    def _column(self, name: str, limit: int) -> ColumnProfile:
        values = self.frame[name]
        distinct = values.dropna().unique()
        return ColumnProfile(
            missing=int(values.isna().sum()),
            values=tuple(_python(v) for v in distinct[:limit]),
            more=len(distinct) > limit,
        )

    def profile(self, label: str, prediction: str, score: str | None, limit: int) -> Profile:
        kind, invalid = None, 0
        if score is not None:
            kind = column_kind(self.frame[score])
            if kind in ("int", "float"):
                numbers = self.frame[score].to_numpy(dtype=float, na_value=np.nan)
                with np.errstate(invalid="ignore"):
                    invalid = int((~np.isfinite(numbers) | (numbers < 0) | (numbers > 1)).sum())
        return Profile(
            rows=len(self.frame),
            label=self._column(label, limit),
            prediction=self._column(prediction, limit),
            score_kind=kind,
            score_invalid=invalid,
        )

    def _encode(self, name: str) -> Encoded:
        """A sensitive column's group codes, computed once for the group check and every table."""
        if name not in self._encoded:
            self._encoded[name] = encode(name, self.frame[name])
        return self._encoded[name]

    def groups(self, column: str, limit: int) -> tuple[int, tuple[Any, ...]]:
        encoded = self._encode(column)
        distinct = [label for label in encoded.labels if not (encoded.unknown_count and label == UNKNOWN)]
        return len(distinct), tuple(distinct[:limit])

    def order_statistics(self, column: str, ranks: Sequence[int]) -> tuple[float, ...]:
        values = np.partition(self.frame[column].to_numpy(dtype=float), list(ranks))
        return tuple(float(values[k]) for k in ranks)

    def _flags(self, column: str, positive: Any) -> np.ndarray:
        """1 where the column holds its positive value; computed once for `counts` and `doubled_u`."""
        if (column, positive) not in self._flag_cache:
            self._flag_cache[column, positive] = (
                np.zeros(len(self.frame), dtype=np.int64)
                if positive is None
                else (self.frame[column] == positive).to_numpy(dtype=np.int64)
            )
        return self._flag_cache[column, positive]

    def _table(self, grouping: Grouping, y: np.ndarray, yhat: np.ndarray) -> CountTable:
        if grouping not in self._tables:
            self._tables[grouping] = count_table([self._encode(n) for n in grouping], y, yhat)
        return self._tables[grouping]

    def counts(self, target: Target, median: float | None) -> dict[Grouping, list[GroupCounts]]:
        y = self._flags(target.label, target.positive_label)
        yhat = self._flags(target.prediction, target.positive_prediction)
        above = None
        if median is not None and target.score is not None:
            above = (self.frame[target.score].to_numpy(dtype=float) > median).astype(np.int64)
        out: dict[Grouping, list[GroupCounts]] = {}
        for grouping in target.groupings:
            if not grouping:
                cells = np.bincount(y * 2 + yhat, minlength=4)
                out[grouping] = [GroupCounts((), four_cells(cells), int(above.sum()) if above is not None else 0)]
                continue
            table = self._table(grouping, y, yhat)
            tops = (
                np.bincount(table.codes, weights=above, minlength=len(table.groups))
                if above is not None
                else np.zeros(len(table.groups))
            )
            out[grouping] = [
                GroupCounts(key, four_cells(cells), int(top))
                for key, cells, top in zip(table.groups, table.counts, tops, strict=True)
            ]
        return out

    def doubled_u(self, target: Target) -> dict[Grouping, dict[tuple[str, ...], int]]:
        assert target.score is not None
        y = self._flags(target.label, target.positive_label)
        yhat = self._flags(target.prediction, target.positive_prediction)
        scores = self.frame[target.score].to_numpy(dtype=float)
        by_score = np.argsort(scores, kind="stable")  # one sort, shared by every table
        scores, pos = scores[by_score], y[by_score]
        out = {}
        for grouping in target.groupings:
            if grouping:
                table = self._table(grouping, y, yhat)
                running = RunningU(len(table.groups))
                codes = table.codes[by_score]
                for part in tie_safe_slices(scores, BATCH_ROWS):
                    running.add(codes[part], scores[part], pos[part], 1 - pos[part])
                out[grouping] = {key: int(v) for key, v in zip(table.groups, running.doubled_u, strict=True)}
        return out

    def close(self) -> None:
        self._tables.clear()
        self._encoded.clear()
        self._flag_cache.clear()


class PandasEngine(CohortEngine):
    name = "pandas"

    def open(self, dataset: Dataset, columns: Sequence[str]) -> CohortSession:
        return PandasSession(dataset, columns)
