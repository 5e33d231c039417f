"""The cohort queries in SQL, shared by the DuckDB and Spark engines.

Both speak the same SQL for what we need (GROUPING SETS, window sums, CASE); a `Dialect`
holds the few spellings that differ. Column names are quoted identifiers and every value
(positive labels, the median) is a bound parameter: no input is formatted into the SQL.

The counts take one scan: GROUPING SETS give every table's (group x y x yhat) cells at once.
2U takes one query per table: rows collapse to (group, score) blocks of positives and
negatives, and a running sum of negatives in score order gives, for each block, the negatives
scoring lower: first within (group, score bucket), then over each group's buckets. It is exact
(a lower score never lands in a higher bucket) and needs no ranks of individual rows. (DuckDB
replaces this with one sorted stream shared by all tables: see duckdb_engine.py.)
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from govkit.checks.fairness.engines.interface import (
    MOMENTS,
    UNKNOWN,
    CohortSession,
    ColumnKind,
    ColumnProfile,
    GroupClasses,
    GroupCounts,
    Grouping,
    GroupMoments,
    Profile,
    Target,
    Threshold,
    four_cells,
)

SOURCE = "govkit_cohort_source"
HISTOGRAM_BINS = 4096
# A group's running sum runs inside (group, score bucket) partitions, then over the group's buckets:
# many small partitions that a cluster sorts in parallel, where one partition per group would not.
SCORE_BUCKETS = 1024
LARGEST_DOUBLE = "1.7976931348623157e308"


@dataclass(frozen=True)
class Dialect:
    text_type: str  # VARCHAR / STRING
    quote: str  # identifier quote: " / `
    param_prefix: str  # $name / :name

    def ident(self, name: str) -> str:
        return f"{self.quote}{name.replace(self.quote, self.quote * 2)}{self.quote}"

    def param(self, name: str) -> str:
        return f"{self.param_prefix}{name}"


class SqlSession(CohortSession):
    """A session over a view named SOURCE; subclasses run queries and say what type each column is."""

    dialect: ClassVar[Dialect]

    @abstractmethod
    def query(self, sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]: ...

    @abstractmethod
    def column_kinds(self) -> dict[str, ColumnKind]: ...

    def _raw(self, column: str, kind: ColumnKind) -> str:
        """The column as grouped: its own values, NaN folded into NULL (both are a missing value)."""
        c = self.dialect.ident(column)
        return f"CASE WHEN isnan({c}) THEN NULL ELSE {c} END" if kind == "float" else c

    def _key(self, raw: str, kind: ColumnKind) -> str:
        """The group key text of a value: applied after grouping where it can be, so to few rows."""
        text = self.dialect.text_type
        if kind == "bool":
            expr = f"CASE WHEN {raw} THEN 'True' WHEN NOT {raw} THEN 'False' END"
        elif kind == "float":
            expr = (
                f"CASE WHEN {raw} = floor({raw}) AND abs({raw}) < 1e15 "
                f"THEN CAST(CAST({raw} AS BIGINT) AS {text}) ELSE CAST({raw} AS {text}) END"
            )
        else:
            expr = f"CAST({raw} AS {text})"
        return f"COALESCE({expr}, '{UNKNOWN}')"

    def _flag(
        self, column: str, positive: Any, param: str, params: dict[str, Any], threshold: Threshold | None = None
    ) -> str:
        if threshold is not None:  # the operator is one of four literals (the manifest's schema), never user text
            assert threshold.operator in (">=", ">", "<=", "<")
            params["bound"] = threshold.bound
            return (
                f"CASE WHEN CAST({self.dialect.ident(column)} AS DOUBLE) {threshold.operator} "
                f"{self.dialect.param('bound')} THEN 1 ELSE 0 END"
            )
        if positive is None:
            return "0"
        params[param] = positive
        return f"CASE WHEN {self.dialect.ident(column)} = {self.dialect.param(param)} THEN 1 ELSE 0 END"

    def _distinct(self, column: str, missing: int, limit: int) -> ColumnProfile:
        c = self.dialect.ident(column)
        values = [
            row[0]
            for row in self.query(f"SELECT DISTINCT {c} FROM {SOURCE} WHERE {c} IS NOT NULL LIMIT {int(limit) + 1}")
        ]
        return ColumnProfile(missing=int(missing), values=tuple(values[:limit]), more=len(values) > limit)

    def profile(self, label: str, prediction: str, score: str | None, limit: int) -> Profile:
        ident = self.dialect.ident
        parts = ["count(*)", f"count(*) - count({ident(label)})", f"count(*) - count({ident(prediction)})"]
        kind = self.column_kinds()[score] if score is not None else None
        if score is not None and kind in ("int", "float"):
            s = f"CAST({ident(score)} AS DOUBLE)"
            parts.append(f"sum(CASE WHEN {s} IS NULL OR isnan({s}) OR {s} < 0 OR {s} > 1 THEN 1 ELSE 0 END)")
        rows, label_missing, prediction_missing, *invalid = self.query(f"SELECT {', '.join(parts)} FROM {SOURCE}")[0]
        return Profile(
            rows=int(rows),
            label=self._distinct(label, label_missing, limit),
            prediction=self._distinct(prediction, prediction_missing, limit),
            score_kind=kind,
            score_invalid=int(invalid[0] or 0) if invalid else 0,
        )

    def groups(self, column: str, limit: int) -> tuple[int, tuple[Any, ...]]:
        raw = self._raw(column, self.column_kinds()[column])
        ((count,),) = self.query(f"SELECT count(DISTINCT {raw}) FROM {SOURCE}")
        values = self.query(f"SELECT DISTINCT {raw} AS v FROM {SOURCE} WHERE {raw} IS NOT NULL LIMIT {int(limit)}")
        return int(count), tuple(v for (v,) in values)

    def order_statistics(self, column: str, ranks: Sequence[int]) -> tuple[float, ...]:
        """Exact, without sorting every row: a histogram of HISTOGRAM_BINS bins over [min, max] finds each
        rank's bin, then only that bin's distinct values are sorted (a top-N with a 25M-row offset is
        what ran Spark out of heap)."""
        c = f"CAST({self.dialect.ident(column)} AS DOUBLE)"
        low, high = (float(v) for v in self.query(f"SELECT min({c}), max({c}) FROM {SOURCE}")[0])
        if low == high:
            return tuple(low for _ in ranks)
        params = {"low": low, "width": (high - low) / HISTOGRAM_BINS}
        low_p, width_p = self.dialect.param("low"), self.dialect.param("width")
        bin_of = f"least(floor(({c} - {low_p}) / {width_p}), {HISTOGRAM_BINS - 1})"
        bins = sorted(
            (int(b), int(n)) for b, n in self.query(f"SELECT {bin_of} AS b, count(*) FROM {SOURCE} GROUP BY b", params)
        )
        starts = np.cumsum([0, *(n for _, n in bins)])
        out = []
        for rank in ranks:
            i = int(np.searchsorted(starts, rank, side="right")) - 1
            values = self.query(
                f"SELECT {c} AS v, count(*) FROM {SOURCE} WHERE {bin_of} = {self.dialect.param('bin')} "
                f"GROUP BY v ORDER BY v",
                {**params, "bin": bins[i][0]},
            )
            ends = np.cumsum([n for _, n in values])
            out.append(float(values[int(np.searchsorted(ends, rank - starts[i], side="right"))][0]))
        return tuple(out)

    def _raws(self, features: Sequence[str]) -> str:
        kinds = self.column_kinds()
        return "".join(f"{self._raw(f, kinds[f])} AS k{i}, " for i, f in enumerate(features))

    def _keys(self, features: Sequence[str]) -> str:
        kinds = self.column_kinds()
        return "".join(f"{self._key(f'k{i}', kinds[f])}, " for i, f in enumerate(features))

    def counts(self, target: Target, median: float | None) -> dict[Grouping, list[GroupCounts]]:
        features = target.features
        params: dict[str, Any] = {}
        y = self._flag(target.label, target.positive_label, "positive_label", params, target.threshold)
        yhat = self._flag(
            target.prediction, target.positive_prediction, "positive_prediction", params, target.threshold
        )
        above = "0"
        if median is not None and target.score is not None:
            params["median"] = median
            above = (
                f"CASE WHEN CAST({self.dialect.ident(target.score)} AS DOUBLE) > {self.dialect.param('median')} "
                "THEN 1 ELSE 0 END"
            )
        index = {f: i for i, f in enumerate(features)}
        sets = ", ".join("(" + ", ".join([*(f"k{index[f]}" for f in g), "y", "yhat"]) + ")" for g in target.groupings)
        flags = "".join(f"grouping(k{i}) AS g{i}, " for i in range(len(features)))
        keys = "".join(f"k{i}, " for i in range(len(features)))
        rows = self.query(
            f"WITH t AS (SELECT {self._raws(features)}{y} AS y, {yhat} AS yhat, {above} AS above FROM {SOURCE}), "
            f"c AS (SELECT {flags}{keys}y, yhat, count(*) AS n, sum(above) AS top FROM t "
            f"GROUP BY GROUPING SETS ({sets})) "
            f"SELECT {''.join(f'g{i}, ' for i in range(len(features)))}{self._keys(features)}y, yhat, n, top FROM c",
            params,
        )
        by_set = {frozenset(g): g for g in target.groupings}
        cells: dict[Grouping, dict[tuple[str, ...], list[int]]] = {g: {} for g in target.groupings}
        width = len(features)
        for row in rows:
            present = [f for i, f in enumerate(features) if row[i] == 0]
            grouping = by_set[frozenset(present)]
            key = tuple(row[width + index[f]] for f in grouping)
            tally = cells[grouping].setdefault(key, [0, 0, 0, 0, 0])
            tally[int(row[2 * width]) * 2 + int(row[2 * width + 1])] += int(row[2 * width + 2])
            tally[4] += int(row[2 * width + 3] or 0)
        return {g: [GroupCounts(k, four_cells(v[:4]), v[4]) for k, v in groups.items()] for g, groups in cells.items()}

    def doubled_u(self, target: Target) -> dict[Grouping, dict[tuple[str, ...], int]]:
        return {g: self._doubled_u(target, g) for g in target.groupings if g}

    def numeric_invalid(self, columns: Sequence[str]) -> dict[str, tuple[ColumnKind, int]]:
        kinds = self.column_kinds()
        parts = []
        for name in columns:
            c = self.dialect.ident(name)
            if kinds[name] in ("int", "float"):
                d = f"CAST({c} AS DOUBLE)"
                bad = f"{d} IS NULL OR isnan({d}) OR abs({d}) > {LARGEST_DOUBLE}"  # Spark has no isinf
                parts.append(f"sum(CASE WHEN {bad} THEN 1 ELSE 0 END)")
            else:
                parts.append(f"count(*) - count({c})")
        (row,) = self.query(f"SELECT {', '.join(parts)} FROM {SOURCE}")
        return {name: (kinds[name], int(v or 0)) for name, v in zip(columns, row, strict=True)}

    def _grouped(
        self,
        groupings: Sequence[Grouping],
        columns: dict[str, str],
        by: Sequence[str],
        aggregates: Sequence[str],
        params: dict[str, Any],
    ) -> list[tuple[Grouping, tuple[str, ...], tuple[Any, ...], tuple[Any, ...]]]:
        """One scan, GROUPING SETS over every grouping x `by`: rows of (grouping, key texts, by values,
        aggregates). `columns` are named row expressions the aggregates and `by` refer to. Raw values with
        one key text (a missing value and a literal "Unknown") come back as separate rows of one key."""
        features = list(dict.fromkeys(f for g in groupings for f in g))
        index = {f: i for i, f in enumerate(features)}
        sets = ", ".join(
            "(" + ", ".join([*(f"k{index[f]}" for f in g), *by]) + ")" if (g or by) else "()" for g in groupings
        )
        flags = "".join(f"grouping(k{i}) AS g{i}, " for i in range(len(features)))
        keys = "".join(f"k{i}, " for i in range(len(features)))
        named = "".join(f"{expr} AS {name}, " for name, expr in columns.items())
        rows = self.query(
            f"WITH t AS (SELECT {self._raws(features)}{named}1 AS one FROM {SOURCE}), "
            f"c AS (SELECT {flags}{keys}{''.join(f'{b}, ' for b in by)}"
            f"{', '.join(f'{a} AS a{i}' for i, a in enumerate(aggregates))} FROM t GROUP BY GROUPING SETS ({sets})) "
            f"SELECT {''.join(f'g{i}, ' for i in range(len(features)))}{self._keys(features)}"
            f"{''.join(f'{b}, ' for b in by)}{', '.join(f'a{i}' for i in range(len(aggregates)))} FROM c",
            params,
        )
        by_set = {frozenset(g): g for g in groupings}
        width = len(features)
        out = []
        for row in rows:
            grouping = by_set[frozenset(f for i, f in enumerate(features) if row[i] == 0)]
            key = tuple(row[width + index[f]] for f in grouping)
            out.append((grouping, key, row[2 * width : 2 * width + len(by)], row[2 * width + len(by) :]))
        return out

    def moments(self, label: str, prediction: str, groupings: Sequence[Grouping]) -> dict[Grouping, list[GroupMoments]]:
        y = f"CAST({self.dialect.ident(label)} AS DOUBLE)"
        p = f"CAST({self.dialect.ident(prediction)} AS DOUBLE)"
        columns = {"ry": y, "rp": p, "re": f"{p} - {y}"}
        terms = dict(
            zip(
                MOMENTS,
                ("ry", "ry * ry", "rp", "rp * rp", "re", "re * re", "abs(re)", "re * re * re * re"),
                strict=True,
            )
        )
        aggregates = ["count(*)", *(f"sum({terms[m]})" for m in MOMENTS)]
        sums: dict[Grouping, dict[tuple[str, ...], list[float]]] = {g: {} for g in groupings}
        for grouping, key, _, values in self._grouped(groupings, columns, (), aggregates, {}):
            tally = sums[grouping].setdefault(key, [0.0] * (len(MOMENTS) + 1))
            for i, v in enumerate(values):
                tally[i] += float(v or 0)
        return {
            g: [GroupMoments(k, int(v[0]), tuple(v[1:])) for k, v in sorted(groups.items())]
            for g, groups in sums.items()
        }

    def class_counts(
        self,
        label: tuple[str, Sequence[Any]],
        prediction: tuple[str, Sequence[Any]],
        groupings: Sequence[Grouping],
    ) -> dict[Grouping, list[GroupClasses]]:
        params: dict[str, Any] = {}

        def code(column: str, values: Sequence[Any], prefix: str) -> str:
            c = self.dialect.ident(column)
            whens = []
            for k, value in enumerate(values):
                params[f"{prefix}{k}"] = value
                whens.append(f"WHEN {c} = {self.dialect.param(f'{prefix}{k}')} THEN {k}")
            return f"CASE {' '.join(whens)} END"

        k = len(label[1])
        columns = {"yc": code(*label, "lc"), "pc": code(*prediction, "pc")}
        cells: dict[Grouping, dict[tuple[str, ...], list[int]]] = {g: {} for g in groupings}
        for grouping, key, (yc, pc), (n,) in self._grouped(groupings, columns, ("yc", "pc"), ["count(*)"], params):
            tally = cells[grouping].setdefault(key, [0] * (k * k))
            tally[int(yc) * k + int(pc)] += int(n)
        return {g: [GroupClasses(key, tuple(v)) for key, v in sorted(groups.items())] for g, groups in cells.items()}

    def _doubled_u(self, target: Target, grouping: Grouping) -> dict[tuple[str, ...], int]:
        """One windowed query per table, grouped by key text (so "Unknown" merges missing and NaN)."""
        assert target.score is not None
        params: dict[str, Any] = {}
        y = self._flag(target.label, target.positive_label, "positive_label", params)
        kinds = self.column_kinds()
        texts = "".join(f"{self._key(self._raw(f, kinds[f]), kinds[f])} AS k{i}, " for i, f in enumerate(grouping))
        keys = ", ".join(f"k{i}" for i in range(len(grouping)))
        bucket = f"least(floor(s * {SCORE_BUCKETS}), {SCORE_BUCKETS - 1})"  # scores lie in [0, 1]
        rows = self.query(
            f"WITH t AS (SELECT {texts}{self.dialect.ident(target.score)} AS s, {y} AS y FROM {SOURCE}), "
            f"b AS (SELECT {keys}, s, sum(y) AS pos, count(*) - sum(y) AS neg FROM t GROUP BY {keys}, s), "
            f"w AS (SELECT {keys}, {bucket} AS bucket, pos, neg, sum(neg) OVER (PARTITION BY {keys}, {bucket} "
            f"ORDER BY s ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) - neg AS below FROM b), "
            f"p AS (SELECT {keys}, bucket, sum(pos * (2 * below + neg)) AS inside, sum(pos) AS pos, sum(neg) AS neg "
            f"FROM w GROUP BY {keys}, bucket), "
            f"x AS (SELECT {keys}, inside + 2 * pos * (sum(neg) OVER (PARTITION BY {keys} ORDER BY bucket "
            f"ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) - neg) AS u2 FROM p) "
            f"SELECT {keys}, sum(u2) FROM x GROUP BY {keys}",
            params,
        )
        width = len(grouping)
        return {tuple(row[:width]): int(row[width]) for row in rows}
