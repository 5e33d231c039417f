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
    group_index,
    tie_safe_slices,
)
from govkit.checks.fairness.engines.interface import (
    UNKNOWN,
    CohortEngine,
    CohortSession,
    ColumnKind,
    ColumnProfile,
    Dataset,
    GroupClasses,
    GroupCounts,
    Grouping,
    GroupMoments,
    Profile,
    Target,
    Threshold,
    four_cells,
)
from govkit.datasets import load_frame

BATCH_ROWS = 1_000_000
OPERATORS = {">=": np.greater_equal, ">": np.greater, "<=": np.less_equal, "<": np.less}


def regression_quantities(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """The per-row quantities whose sums MOMENTS names, as one (rows, 8) array."""
    e = p - y
    e2 = e * e
    return np.column_stack([y, y * y, p, p * p, e, e2, np.abs(e), e2 * e2])


def grouped_sums(codes: np.ndarray, groups: int, quantities: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows per group and each quantity's sum per group: one bincount per column."""
    n = np.bincount(codes, minlength=groups)
    sums = np.column_stack([np.bincount(codes, weights=q, minlength=groups) for q in quantities.T])
    return n, sums


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
        self._index: dict[Grouping, tuple[tuple[tuple[str, ...], ...], np.ndarray]] = {}

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

    def _flags(self, column: str, positive: Any, threshold: Threshold | None = None) -> np.ndarray:
        """1 where the column holds its positive value (or passes the threshold); computed once for
        `counts` and `doubled_u`."""
        if threshold is not None:
            values = self.frame[column].to_numpy(dtype=float)
            return np.asarray(OPERATORS[threshold.operator](values, threshold.bound), dtype=np.int64)
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
        y = self._flags(target.label, target.positive_label, target.threshold)
        yhat = self._flags(target.prediction, target.positive_prediction, target.threshold)
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

    def numeric_invalid(self, columns: Sequence[str]) -> dict[str, tuple[ColumnKind, int]]:
        out: dict[str, tuple[ColumnKind, int]] = {}
        for name in columns:
            kind = column_kind(self.frame[name])
            invalid = int(self.frame[name].isna().sum())
            if kind in ("int", "float"):
                invalid = int((~np.isfinite(self.frame[name].to_numpy(dtype=float, na_value=np.nan))).sum())
            out[name] = (kind, invalid)
        return out

    def _group_index(self, grouping: Grouping) -> tuple[tuple[tuple[str, ...], ...], np.ndarray]:
        if not grouping:
            return ((),), np.zeros(len(self.frame), dtype=np.int64)
        if grouping not in self._index:
            self._index[grouping] = group_index([self._encode(n) for n in grouping])
        return self._index[grouping]

    def moments(self, label: str, prediction: str, groupings: Sequence[Grouping]) -> dict[Grouping, list[GroupMoments]]:
        y = self.frame[label].to_numpy(dtype=float)
        p = self.frame[prediction].to_numpy(dtype=float)
        quantities = regression_quantities(y, p)
        out: dict[Grouping, list[GroupMoments]] = {}
        for grouping in groupings:
            groups, codes = self._group_index(grouping)
            n, sums = grouped_sums(codes, len(groups), quantities)
            out[grouping] = [
                GroupMoments(key, int(n[i]), tuple(float(v) for v in sums[i])) for i, key in enumerate(groups)
            ]
        return out

    def class_counts(
        self,
        label: tuple[str, Sequence[Any]],
        prediction: tuple[str, Sequence[Any]],
        groupings: Sequence[Grouping],
    ) -> dict[Grouping, list[GroupClasses]]:
        k = len(label[1])
        cell = self._class_codes(*label) * k + self._class_codes(*prediction)
        out: dict[Grouping, list[GroupClasses]] = {}
        for grouping in groupings:
            groups, codes = self._group_index(grouping)
            cells = np.bincount(codes * k * k + cell, minlength=len(groups) * k * k).reshape(len(groups), k * k)
            out[grouping] = [GroupClasses(key, tuple(int(c) for c in cells[i])) for i, key in enumerate(groups)]
        return out

    def _class_codes(self, column: str, values: Sequence[Any]) -> np.ndarray:
        codes = np.full(len(self.frame), -1, dtype=np.int64)
        for k, value in enumerate(values):
            codes[(self.frame[column] == value).to_numpy(dtype=bool)] = k
        if (codes < 0).any():  # cohorts.py validated the columns first: a stray value here is a bug
            raise AssertionError(f"column {column!r} holds a value outside its class list")
        return codes

    def close(self) -> None:
        self._index.clear()
        self._tables.clear()
        self._encoded.clear()
        self._flag_cache.clear()


class PandasEngine(CohortEngine):
    name = "pandas"

    def open(self, dataset: Dataset, columns: Sequence[str]) -> CohortSession:
        return PandasSession(dataset, columns)
