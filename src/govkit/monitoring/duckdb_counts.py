"""Counting slices in DuckDB, where the data lies: one aggregate query per column, no rows in Python.

Windows and cohort keys are computed in a view over the cohort engine's DuckDB session (same key
texts, same quoting, every value a bound parameter). Categories, confusion cells and row counts are
GROUP BY queries (GROUPING SETS count the whole window and each cohort in the same scan). Numeric
cells need a binary search over up to 1,000 edges, which SQL lacks: an ASOF join took 3 s per
column per million rows here and a Python UDF 4 s, so all numeric columns stream out of one scan
in Arrow batches and numpy counts them with the pandas engine's own code.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from govkit.checks.fairness.engines.duckdb_engine import DuckDBSession
from govkit.checks.fairness.engines.interface import Dataset
from govkit.datasets import data_format, dataset_files
from govkit.errors import CheckError, DataError
from govkit.monitoring.pandas_counts import numeric_counts
from govkit.monitoring.slices import CellFinder, NumericCounts, SliceKey, Slices, categorical_from_maps
from govkit.monitoring.windows import CountPlan, as_datetime, fit_plan, label_of, rows_starts, unit_of

ROWS = "gk_rows"
STREAM_BATCH = 1_000_000
EPOCH = datetime(1970, 1, 1)


class _Counter:
    def __init__(self, session: DuckDBSession, plan: CountPlan, file: Path) -> None:
        self.s, self.plan, self.file = session, plan, file
        self.ident = session.dialect.ident
        self.kinds = session.column_kinds()
        n = len(plan.cohorts)
        self.keys = "".join(f"k{i}, " for i in range(n))
        self.flags = "".join(f"grouping(k{i}) AS g{i}, " for i in range(n))
        self.n = n

    def key_or_null(self, column: str) -> str:
        """The cohort engines' key text of a value, but NULL (not "Unknown") when it is missing."""
        raw = self.s._raw(column, self.kinds[column])
        return f"CASE WHEN {raw} IS NULL THEN NULL ELSE {self.s._key(raw, self.kinds[column])} END"

    def sets(self, extra: str) -> str:
        tail = f", {extra}" if extra else ""
        return ", ".join(["(gk_w" + tail + ")", *(f"(gk_w, k{i}{tail})" for i in range(self.n))])

    def slice_of(self, row: Sequence[Any]) -> tuple[Any, int | None, str | None]:
        """(window start, cohort index or None, group) of a result row that starts with flags, gk_w, keys."""
        n = self.n
        flags, w, keys = row[:n], row[n], row[n + 1 : 2 * n + 1]
        for i in range(n):
            if flags[i] == 0:
                return w, i, keys[i]
        return w, None, None

    def timestamp_expr(self) -> str:
        ts = self.plan.timestamp
        assert ts is not None
        kind = self.kinds.get(ts)
        if kind is None:
            raise DataError(f"timestamp column {ts!r} is not in the data", file=self.file)
        if kind in ("int", "float", "bool"):
            raise DataError(f"timestamp column {ts!r} holds {kind} values, not timestamps", file=self.file)
        c = self.ident(ts)
        rows = self.s.query(f"SELECT typeof({c}) FROM govkit_cohort_source LIMIT 1")
        typed = rows and (rows[0][0] == "DATE" or (rows[0][0].startswith("TIMESTAMP") and "ZONE" not in rows[0][0]))
        # text is parsed as ISO 8601 (an offset converts to UTC); typed naive timestamps are UTC already
        t = f"CAST({c} AS TIMESTAMP)" if typed else f"CAST(TRY_CAST({c} AS TIMESTAMPTZ) AS TIMESTAMP)"
        rows, parsed = self.s.query(f"SELECT count(*), count({t}) FROM govkit_cohort_source")[0]
        if parsed < rows:
            example = self.s.query(
                f"SELECT CAST({c} AS VARCHAR) FROM govkit_cohort_source WHERE {c} IS NOT NULL AND {t} IS NULL LIMIT 1"
            )
            what = f"cannot be read as timestamps (e.g. {example[0][0]!r})" if example else "are missing"
            raise DataError(f"{rows - parsed} values of timestamp column {ts!r} {what}", file=self.file)
        return t

    def create_view(self) -> None:
        t = self.timestamp_expr()
        unit = unit_of(self.plan.window)
        cohort_keys = "".join(
            f"coalesce({self.s._key(self.s._raw(f, self.kinds[f]), self.kinds[f])}, 'Unknown') AS k{i}, "
            for i, f in enumerate(self.plan.cohorts)
        )
        if unit == "rows":
            counted = self.s.query(f"SELECT {t} AS t, count(*) FROM govkit_cohort_source GROUP BY t ORDER BY t")
            times = np.array([r[0] for r in counted], dtype="datetime64[us]")
            starts = rows_starts(times, np.array([r[1] for r in counted]), self.plan.window.rows)  # type: ignore
            self.s.con.execute(
                "CREATE OR REPLACE TEMP TABLE gk_windows AS SELECT unnest($s) AS gk_start",
                {"s": [as_datetime(x) for x in starts]},
            )
            source = (
                f"(SELECT {t} AS gk_t, * FROM govkit_cohort_source) s ASOF JOIN gk_windows b ON s.gk_t >= b.gk_start"
            )
            window = "b.gk_start"
        else:
            source, window = "govkit_cohort_source", f"date_trunc('{unit}', {t})"
        self.s.con.execute(
            f"CREATE OR REPLACE TEMP VIEW {ROWS} AS SELECT {window} AS gk_w, {cohort_keys}* FROM {source}"
        )

    def slices(self) -> tuple[list[SliceKey], np.ndarray, dict[tuple[Any, int | None, str | None], int]]:
        rows = self.s.query(
            f"SELECT {self.flags}gk_w, {self.keys}count(*) FROM {ROWS} GROUP BY GROUPING SETS ({self.sets('')})"
        )
        found = {self.slice_of(r): int(r[-1]) for r in rows}
        order = sorted(found, key=lambda k: (-1 if k[1] is None else k[1], k[0], k[2] or ""))
        unit = unit_of(self.plan.window)
        keys = [
            SliceKey(label_of(unit, as_datetime(w)), None if f is None else self.plan.cohorts[f], g)
            for w, f, g in order
        ]
        return keys, np.array([found[k] for k in order], dtype=np.int64), {k: i for i, k in enumerate(order)}

    def numeric(self, index: dict[Any, int]) -> dict[str, NumericCounts]:
        """Every numeric column in one streamed scan: DuckDB reads, filters and computes windows and cohort
        keys; each batch's cells come from the same numpy code as the pandas engine (`numeric_counts`), so
        the counts are identical by construction. Memory stays at one batch (STREAM_BATCH rows)."""
        plan, size = self.plan, len(index)
        windows = sorted({w for w, _, _ in index})
        epochs = np.array([(w - EPOCH) // timedelta(microseconds=1) for w in windows], dtype=np.int64)
        groups = [sorted({g for _, f, g in index if f == i}) for i in range(self.n)]
        tables = [np.full(len(windows), -1, dtype=np.int64)]
        tables += [np.full((len(windows), len(g)), -1, dtype=np.int64) for g in groups]
        for (w, f, g), i in index.items():
            if f is None:
                tables[0][windows.index(w)] = i
            else:
                tables[f + 1][windows.index(w), groups[f].index(g)] = i
        params: dict[str, Any] = {f"g{i}": g for i, g in enumerate(groups)}
        codes = "".join(f", list_position($g{i}, k{i}) - 1" for i in range(self.n))
        values = "".join(f", CAST({self.ident(c)} AS DOUBLE)" for c in plan.numeric)
        out = {
            c: NumericCounts(
                np.zeros((size, 2 * len(e) + 1), dtype=np.int64),
                np.zeros((size, 2 * len(e) + 1)),
                np.zeros(size),
                np.zeros(size, dtype=np.int64),
                np.full(size, np.nan),
                np.full(size, np.nan),
            )
            for c, e in plan.numeric.items()
        }
        try:
            reader = self.s.con.sql(f"SELECT epoch_us(gk_w){codes}{values} FROM {ROWS}", params=params).to_arrow_reader(
                STREAM_BATCH
            )
            finders = {c: CellFinder(e) for c, e in plan.numeric.items()}
            for batch in reader:
                columns = [batch.column(j).to_numpy(zero_copy_only=False) for j in range(batch.num_columns)]
                w = np.searchsorted(epochs, columns[0].astype(np.int64))
                slice_codes = [
                    tables[0][w],
                    *(tables[i + 1][w, columns[i + 1].astype(np.int64)] for i in range(self.n)),
                ]
                for j, column in enumerate(plan.numeric):
                    x = columns[1 + self.n + j].astype(float)
                    for codes_ in slice_codes:
                        out[column].add(numeric_counts(x, finders[column], codes_, size, extremes=False))
        except self.s._error as exc:
            raise CheckError(f"duckdb query failed: {exc}") from None
        xs = [f"CAST({self.ident(c)} AS DOUBLE)" for c in plan.numeric]
        extremes = "".join(
            f", min({x}) FILTER (WHERE NOT isnan({x})), max({x}) FILTER (WHERE NOT isnan({x}))" for x in xs
        )
        for row in self.s.query(
            f"SELECT {self.flags}gk_w, {self.keys}count(*){extremes} FROM {ROWS} "
            f"GROUP BY GROUPING SETS ({self.sets('')})"
        ):
            i = index[self.slice_of(row)]
            tail = row[2 * self.n + 2 :]
            for j, column in enumerate(plan.numeric):
                low, high = tail[2 * j], tail[2 * j + 1]
                out[column].low[i] = np.nan if low is None else low
                out[column].high[i] = np.nan if high is None else high
        return out

    def categorical(self, column: str, categories: list[str], complete: bool, index: dict[Any, int]) -> Any:
        value = self.key_or_null(column)
        maps: list[dict[str, int]] = [{} for _ in index]
        missing = np.zeros(len(index), dtype=np.int64)
        for row in self.s.query(
            f"SELECT {self.flags}gk_w, {self.keys}gk_v, count(*) FROM (SELECT gk_w, {self.keys}"
            f"{value} AS gk_v FROM {ROWS}) GROUP BY GROUPING SETS ({self.sets('gk_v')})"
        ):
            i = index[self.slice_of(row)]
            if row[-2] is None:
                missing[i] += int(row[-1])
            else:
                maps[i][str(row[-2])] = int(row[-1])
        return categorical_from_maps(maps, missing, categories, complete)

    def cells(self, index: dict[Any, int]) -> np.ndarray:
        plan = self.plan
        assert plan.label and plan.prediction
        out = np.zeros((len(index), 4), dtype=np.int64)
        y, p = self.key_or_null(plan.label), self.key_or_null(plan.prediction)
        for row in self.s.query(
            f"SELECT {self.flags}gk_w, {self.keys}gk_y, gk_p, count(*) FROM (SELECT gk_w, {self.keys}"
            f"CASE WHEN {y} = $pos THEN 1 ELSE 0 END AS gk_y, CASE WHEN {p} = $pos THEN 1 ELSE 0 END AS gk_p "
            f"FROM {ROWS} WHERE {y} IS NOT NULL AND {p} IS NOT NULL) "
            f"GROUP BY GROUPING SETS ({self.sets('gk_y, gk_p')})",
            {"pos": plan.positive_label},
        ):
            out[index[self.slice_of(row)], int(row[-3]) * 2 + int(row[-2])] += int(row[-1])
        return out


def open_session(path: Path, columns: list[str]) -> DuckDBSession:
    files = tuple(dataset_files(path))
    return DuckDBSession(Dataset(path=path, files=files, format=data_format(files[0])), columns)


def count_dataset(path: Path, plan: CountPlan, present: Sequence[str]) -> tuple[Slices, dict[str, str]]:
    """Slices of the production data at `path`, and the kind of every counted column."""
    wanted = [c for c in plan.columns if c in present]
    session = open_session(path, wanted)
    try:
        session.con.execute("SET TimeZone = 'UTC'")
        kinds: dict[str, str] = dict(session.column_kinds())
        fitted = fit_plan(plan, kinds)
        counter = _Counter(session, fitted, path)
        counter.create_view()
        keys, rows, index = counter.slices()
        out = Slices(keys=keys, rows=rows, engine="duckdb")
        if fitted.numeric:
            out.numeric = counter.numeric(index)
        for column, (categories, complete) in fitted.categorical.items():
            out.categorical[column] = counter.categorical(column, categories, complete, index)
        if fitted.label and fitted.prediction:
            out.cells = counter.cells(index)
    finally:
        session.close()
    return out, kinds
