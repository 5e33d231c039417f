"""Counting slices in memory: pandas reads the columns, numpy counts with one bincount per column.

The default engine, and the one that builds reference profiles. Keys are the cohort engine's key
texts (`key_text`), so categories and groups read the same as in DuckDB.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from govkit.checks.fairness.counts import encode, key_text
from govkit.checks.fairness.engines.pandas_engine import column_kind
from govkit.datasets import load_frame
from govkit.errors import DataError
from govkit.monitoring.slices import (
    CellFinder,
    NumericCounts,
    SliceKey,
    Slices,
    categorical_from_maps,
)
from govkit.monitoring.windows import REFERENCE, CountPlan, fit_plan, label_of, rows_starts, unit_of


def timestamps(series: pd.Series, column: str, file: Path) -> np.ndarray:
    """UTC datetime64 values; a missing or unparseable timestamp is bad input."""
    if pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype):
        raise DataError(f"timestamp column {column!r} holds {series.dtype} values, not timestamps", file=file)
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        ts = series.dt.tz_localize("UTC") if series.dt.tz is None else series.dt.tz_convert("UTC")
    else:
        ts = pd.to_datetime(series.astype("string"), utc=True, format="ISO8601", errors="coerce")
    bad = ts.isna()
    if bad.any():
        raw = series[bad]
        shown = raw.dropna()
        what = f"cannot be read as timestamps (e.g. {str(shown.iloc[0])!r})" if len(shown) else "are missing"
        raise DataError(f"{int(bad.sum())} values of timestamp column {column!r} {what}", file=file)
    times: np.ndarray = ts.dt.tz_convert(None).to_numpy(dtype="datetime64[ns]")
    return times


def window_codes(times: np.ndarray, plan: CountPlan) -> tuple[np.ndarray, list[str]]:
    unit = unit_of(plan.window)
    if unit == "rows":
        distinct, counts = np.unique(times, return_counts=True)
        starts = rows_starts(distinct, counts, plan.window.rows)  # type: ignore[union-attr]
        codes = np.searchsorted(starts, times, side="right") - 1
        return codes, [label_of("rows", pd.Timestamp(s).to_pydatetime()) for s in starts]
    series = pd.Series(times)
    if unit == "day":
        start = series.dt.floor("D")
    else:
        start = series.dt.to_period({"week": "W-SUN", "month": "M", "quarter": "Q"}[unit]).dt.start_time
    uniques, codes = np.unique(start.to_numpy(), return_inverse=True)
    return codes.astype(np.int64), [label_of(unit, pd.Timestamp(u).to_pydatetime()) for u in uniques]


def numeric_counts(
    values: np.ndarray, finder: CellFinder, slice_codes: np.ndarray, size: int, extremes: bool = True
) -> NumericCounts:
    """One column's counts per slice: `slice_codes` gives each row's slice (0..size-1). Without
    `extremes`, min and max are left NaN (an engine that aggregates them itself)."""
    missing = np.isnan(values)
    ok = ~missing
    v, codes = values[ok], slice_codes[ok]
    cells = 2 * len(finder.edges) + 1
    flat = codes * cells + finder(v)
    low = np.full(size, np.nan)
    high = np.full(size, np.nan)
    if len(v) and extremes:
        by_slice = pd.Series(v).groupby(codes).agg(["min", "max"])
        low[by_slice.index.to_numpy()] = by_slice["min"].to_numpy()
        high[by_slice.index.to_numpy()] = by_slice["max"].to_numpy()
    return NumericCounts(
        counts=np.bincount(flat, minlength=size * cells).reshape(size, cells),
        sums=np.bincount(flat, weights=v, minlength=size * cells).reshape(size, cells),
        sumsq=np.bincount(codes, weights=v * v, minlength=size),
        missing=np.bincount(slice_codes[missing], minlength=size),
        low=low,
        high=high,
    )


def _value_maps(texts: pd.Series, slice_codes: np.ndarray, size: int) -> tuple[list[dict[str, int]], np.ndarray]:
    missing = texts.isna().to_numpy()
    codes, uniques = pd.factorize(texts[~missing], sort=True)
    flat = np.bincount(slice_codes[~missing] * len(uniques) + codes, minlength=size * len(uniques))
    table = flat.reshape(size, len(uniques))
    maps = [{str(uniques[int(j)]): int(row[j]) for j in np.flatnonzero(row)} for row in table]
    return maps, np.bincount(slice_codes[missing], minlength=size)


def count_frame(frame: pd.DataFrame, plan: CountPlan, windows: tuple[np.ndarray, list[str]] | None = None) -> Slices:
    """Every slice's counts: each window whole, then each (window, cohort group)."""
    n = len(frame)
    w_codes, labels = windows if windows is not None else (np.zeros(n, dtype=np.int64), [REFERENCE])
    keys: list[SliceKey] = []
    parts: list[tuple[np.ndarray, int, np.ndarray]] = []  # (slice code per row, size, kept slices)
    groupings: list[tuple[str | None, list[str], np.ndarray]] = [(None, [""], np.zeros(n, dtype=np.int64))]
    for cohort in plan.cohorts:
        enc = encode(cohort, frame[cohort])
        groupings.append((cohort, list(enc.labels), enc.codes))
    for feature, groups, g_codes in groupings:
        codes = w_codes * len(groups) + g_codes
        size = len(labels) * len(groups)
        present = np.flatnonzero(np.bincount(codes, minlength=size))
        parts.append((codes, size, present))
        keys += [
            SliceKey(labels[i // len(groups)], feature, None if feature is None else groups[i % len(groups)])
            for i in present
        ]
    rows = np.concatenate([np.bincount(c, minlength=s)[p] for c, s, p in parts])
    out = Slices(keys=keys, rows=rows, engine="pandas")
    for column, edges in plan.numeric.items():
        values = frame[column].to_numpy(dtype=float, na_value=np.nan)
        finder = CellFinder(edges)
        counted = [numeric_counts(values, finder, c, s) for c, s, _ in parts]
        out.numeric[column] = NumericCounts(
            *(
                np.concatenate([getattr(x, f)[p] for x, (_, _, p) in zip(counted, parts, strict=True)])
                for f in ("counts", "sums", "sumsq", "missing", "low", "high")
            )
        )
    for column, (categories, complete) in plan.categorical.items():
        texts = key_text(frame[column])
        maps: list[dict[str, int]] = []
        missing: list[np.ndarray] = []
        for c, s, p in parts:
            m, miss = _value_maps(texts, c, s)
            maps += [m[i] for i in p]
            missing.append(miss[p])
        out.categorical[column] = categorical_from_maps(maps, np.concatenate(missing), categories, complete)
    if plan.label and plan.prediction:
        y_text, p_text = key_text(frame[plan.label]), key_text(frame[plan.prediction])
        labelled = (y_text.notna() & p_text.notna()).to_numpy()
        y = (y_text == plan.positive_label).fillna(False).to_numpy(dtype=np.int64)
        yhat = (p_text == plan.positive_label).fillna(False).to_numpy(dtype=np.int64)
        cells = [
            np.bincount(c[labelled] * 4 + y[labelled] * 2 + yhat[labelled], minlength=s * 4).reshape(s, 4)[p]
            for c, s, p in parts
        ]
        out.cells = np.concatenate(cells)
    return out


def kind_of(series: pd.Series) -> str:
    """The cohort engines' column kind; a Parquet dictionary column is text, as DuckDB reads it."""
    return "text" if isinstance(series.dtype, pd.CategoricalDtype) else column_kind(series)


def count_dataset(path: Path, plan: CountPlan, present: Sequence[str]) -> tuple[Slices, dict[str, str]]:
    """Slices of the production data at `path`, and the kind of every counted column."""
    frame = load_frame(path, [c for c in plan.columns if c in present])
    kinds = {str(c): kind_of(frame[c]) for c in frame.columns}
    fitted = fit_plan(plan, kinds)
    assert plan.timestamp is not None
    windows = window_codes(timestamps(frame[plan.timestamp], plan.timestamp, path), fitted)
    return count_frame(frame, fitted, windows), kinds
