"""Counting slices in DuckDB, where the data lies: one aggregate query per column, no rows in Python.

Windows and cohort keys are computed in a view over the cohort engine's DuckDB session (same key
texts, same quoting, every value a bound parameter). Numeric cells come from an ASOF join with the
table of cell starts (`slices.cell_starts`): DuckDB's sorted join is the SQL searchsorted, so
cells are the ones numpy finds. GROUPING SETS count the whole window and each cohort in the same scan.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from govkit.checks.fairness.engines.duckdb_engine import DuckDBSession
from govkit.checks.fairness.engines.interface import Dataset
from govkit.datasets import data_format, dataset_files
from govkit.errors import DataError
from govkit.monitoring.slices import NumericCounts, SliceKey, Slices, categorical_from_maps, cell_starts
from govkit.monitoring.windows import CountPlan, as_datetime, fit_plan, label_of, rows_starts, unit_of

ROWS = "gk_rows"


class _Counter:
    def __init__(self, session: DuckDBSession, plan: CountPlan, file: Path) -> None:
        self.s, self.plan, self.file = session, plan, file
        self.ident = session.dialect.ident
        self.kinds = session.column_kinds()
        n = len(plan.cohorts)
        self.keys = "".join(f"k{i}, " for i in range(n))
        self.flags = "".join(f"grouping(k{i}) AS g{i}, " for i in range(n))
        self.n = n

    def sets(self, extra: str) -> str:
        tail = f", {extra}" if extra else ""
        return ", ".join(["(gk_w" + tail + ")", *(f"(gk_w, k{i}{tail})" for i in range(self.n))])

    def slice_of(self, row: Sequence[Any]) -> tuple[Any, int | None, str | None]:
        """(window start, cohort index or None, group) of a result row that starts with flags, gk_w, keys."""
        n = self.n
        flags, w, keys = row[:n], row[n], row[n + 1:2 * n + 1]
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
        t = f"CAST(TRY_CAST({c} AS TIMESTAMPTZ) AS TIMESTAMP)"
        rows, parsed = self.s.query(f"SELECT count(*), count({t}) FROM govkit_cohort_source")[0]
        if parsed < rows:
            example = self.s.query(f"SELECT CAST({c} AS VARCHAR) FROM govkit_cohort_source WHERE {c} IS NOT NULL "
                                   f"AND {t} IS NULL LIMIT 1")
            what = f"cannot be read as timestamps (e.g. {example[0][0]!r})" if example else "are missing"
            raise DataError(f"{rows - parsed} values of timestamp column {ts!r} {what}", file=self.file)
        return t

    def create_view(self) -> None:
        t = self.timestamp_expr()
        unit = unit_of(self.plan.window)
        cohort_keys = "".join(
            f"coalesce({self.s._key(self.s._raw(f, self.kinds[f]), self.kinds[f])}, 'Unknown') AS k{i}, "
            for i, f in enumerate(self.plan.cohorts))
        if unit == "rows":
            counted = self.s.query(f"SELECT {t} AS t, count(*) FROM govkit_cohort_source GROUP BY t ORDER BY t")
            times = np.array([r[0] for r in counted], dtype="datetime64[us]")
            starts = rows_starts(times, np.array([r[1] for r in counted]), self.plan.window.rows)  # type: ignore
            self.s.con.execute("CREATE OR REPLACE TEMP TABLE gk_windows AS SELECT unnest($s) AS gk_start",
                               {"s": [as_datetime(x) for x in starts]})
            source = (f"(SELECT {t} AS gk_t, * FROM govkit_cohort_source) s "
                      "ASOF JOIN gk_windows b ON s.gk_t >= b.gk_start")
            window = "b.gk_start"
        else:
            source, window = "govkit_cohort_source", f"date_trunc('{unit}', {t})"
        self.s.con.execute(f"CREATE OR REPLACE TEMP VIEW {ROWS} AS SELECT {window} AS gk_w, {cohort_keys}* "
                           f"FROM {source}")

    def slices(self) -> tuple[list[SliceKey], np.ndarray, dict[tuple[Any, int | None, str | None], int]]:
        rows = self.s.query(f"SELECT {self.flags}gk_w, {self.keys}count(*) FROM {ROWS} "
                            f"GROUP BY GROUPING SETS ({self.sets('')})")
        found = {self.slice_of(r): int(r[-1]) for r in rows}
        order = sorted(found, key=lambda k: (-1 if k[1] is None else k[1], k[0], k[2] or ""))
        unit = unit_of(self.plan.window)
        keys = [SliceKey(label_of(unit, as_datetime(w)), None if f is None else self.plan.cohorts[f], g)
                for w, f, g in order]
        return keys, np.array([found[k] for k in order], dtype=np.int64), {k: i for i, k in enumerate(order)}

    def numeric(self, column: str, edges: np.ndarray, index: dict[Any, int]) -> NumericCounts:
        size, cells = len(index), 2 * len(edges) + 1
        counts = np.zeros((size, cells), dtype=np.int64)
        sums = np.zeros((size, cells))
        x = f"CAST({self.ident(column)} AS DOUBLE)"
        self.s.con.execute("CREATE OR REPLACE TEMP TABLE gk_cells AS SELECT unnest($starts) AS gk_start, "
                           "unnest($ids) AS gk_cell",
                           {"starts": cell_starts(edges).tolist(), "ids": list(range(cells))})
        if len(edges):
            for row in self.s.query(
                    f"SELECT {self.flags}gk_w, {self.keys}gk_cell, count(*), sum(gk_x) FROM "
                    f"(SELECT gk_w, {self.keys}{x} AS gk_x FROM {ROWS} WHERE {x} IS NOT NULL AND NOT isnan({x})) r "
                    f"ASOF JOIN gk_cells c ON r.gk_x >= c.gk_start GROUP BY GROUPING SETS ({self.sets('gk_cell')})"):
                i, cell = index[self.slice_of(row)], int(row[-3])
                counts[i, cell], sums[i, cell] = int(row[-2]), float(row[-1])
        missing = np.zeros(size, dtype=np.int64)
        sumsq, low, high = np.zeros(size), np.full(size, np.nan), np.full(size, np.nan)
        ok = f"{x} IS NOT NULL AND NOT isnan({x})"
        for row in self.s.query(
                f"SELECT {self.flags}gk_w, {self.keys}count(*) FILTER (WHERE NOT ({ok})), "
                f"sum({x} * {x}) FILTER (WHERE {ok}), min({x}) FILTER (WHERE {ok}), max({x}) FILTER (WHERE {ok}) "
                f"FROM {ROWS} GROUP BY GROUPING SETS ({self.sets('')})"):
            i = index[self.slice_of(row)]
            missing[i] = int(row[-4])
            sumsq[i] = float(row[-3] or 0.0)
            low[i], high[i] = (np.nan if row[-2] is None else row[-2]), (np.nan if row[-1] is None else row[-1])
        return NumericCounts(counts=counts, sums=sums, sumsq=sumsq, missing=missing, low=low, high=high)

    def categorical(self, column: str, categories: list[str], complete: bool, index: dict[Any, int]) -> Any:
        kind = self.kinds[column]
        value = self.s._key(self.s._raw(column, kind), kind)
        maps: list[dict[str, int]] = [{} for _ in index]
        missing = np.zeros(len(index), dtype=np.int64)
        for row in self.s.query(f"SELECT {self.flags}gk_w, {self.keys}gk_v, count(*) FROM (SELECT gk_w, {self.keys}"
                                f"{value} AS gk_v FROM {ROWS}) GROUP BY GROUPING SETS ({self.sets('gk_v')})"):
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
        y = self.s._key(self.s._raw(plan.label, self.kinds[plan.label]), self.kinds[plan.label])
        p = self.s._key(self.s._raw(plan.prediction, self.kinds[plan.prediction]), self.kinds[plan.prediction])
        for row in self.s.query(
                f"SELECT {self.flags}gk_w, {self.keys}gk_y, gk_p, count(*) FROM (SELECT gk_w, {self.keys}"
                f"CASE WHEN {y} = $pos THEN 1 ELSE 0 END AS gk_y, CASE WHEN {p} = $pos THEN 1 ELSE 0 END AS gk_p "
                f"FROM {ROWS} WHERE {y} IS NOT NULL AND {p} IS NOT NULL) "
                f"GROUP BY GROUPING SETS ({self.sets('gk_y, gk_p')})", {"pos": plan.positive_label}):
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
        kinds = dict(session.column_kinds())
        fitted = fit_plan(plan, kinds)
        counter = _Counter(session, fitted, path)
        counter.create_view()
        keys, rows, index = counter.slices()
        out = Slices(keys=keys, rows=rows, engine="duckdb")
        for column, edges in fitted.numeric.items():
            out.numeric[column] = counter.numeric(column, edges, index)
        for column, (categories, complete) in fitted.categorical.items():
            out.categorical[column] = counter.categorical(column, categories, complete, index)
        if fitted.label and fitted.prediction:
            out.cells = counter.cells(index)
    finally:
        session.close()
    return out, kinds

