"""DuckDB: embedded and out-of-core. Reads Parquet and CSV where they lie and streams the counts.

Nothing is loaded into pandas: DuckDB scans only the named columns, aggregates in parallel and
spills to a temporary folder when a sort outgrows its memory limit (`GOVKIT_DUCKDB_MEMORY`,
e.g. "8GB"; DuckDB's default is 80% of RAM).

AUC needs every table's groups in score order. Rather than one windowed sort per table (about
1 us per row per table here), DuckDB aggregates the rows to (finest cell, score) blocks, sorts
them once and streams them in batches; `RunningU` folds each batch into every table at once.
Memory stays at one batch plus DuckDB's own sort, which spills.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from govkit.checks.fairness.counts import RunningU, mixed_radix, radix_digits
from govkit.checks.fairness.engines.interface import (
    UNKNOWN,
    CohortEngine,
    CohortSession,
    ColumnKind,
    Dataset,
    Grouping,
    Target,
)
from govkit.checks.fairness.engines.sql import SOURCE, Dialect, SqlSession
from govkit.datasets import one_line
from govkit.errors import CheckError, DataError, GovkitError

CSV_TYPES = ["BIGINT", "DOUBLE", "VARCHAR"]
STREAMABLE = frozenset({"bool", "int", "float", "text"})  # kinds whose values bind as a list parameter
MAX_STREAMED_CELLS = 1_000_000  # finest-cell codes per table array; beyond it, one windowed query per table
STREAM_BATCH = 1_000_000
INTEGER_TYPES = frozenset(
    {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT"}
)


def duckdb_kind(type_name: str) -> ColumnKind:
    if type_name == "BOOLEAN":
        return "bool"
    if type_name in INTEGER_TYPES:
        return "int"
    if type_name in ("FLOAT", "DOUBLE"):
        return "float"
    if type_name == "VARCHAR":
        return "text"
    return "other"


class DuckDBSession(SqlSession):
    dialect = Dialect(text_type="VARCHAR", quote='"', param_prefix="$")

    def __init__(self, dataset: Dataset, columns: Sequence[str]) -> None:
        try:
            import duckdb
        except ImportError:
            raise GovkitError(
                "the duckdb engine needs the duckdb package: pip install 'govkit[duckdb]'", field="--engine"
            ) from None
        self._error = duckdb.Error
        self._spill = tempfile.mkdtemp(prefix="govkit-duckdb-")
        self.con = duckdb.connect(config={"temp_directory": self._spill})
        if memory := os.environ.get("GOVKIT_DUCKDB_MEMORY"):
            self.con.execute("SET memory_limit = $limit", {"limit": memory})
        files = [str(f) for f in dataset.files]
        wanted = list(dict.fromkeys(columns))
        try:
            if dataset.format == "csv":
                options = dataset.csv_dialect().duckdb_options()
                relation = self.con.sql(  # every option explicit and bound: the sniffer only types the columns
                    "SELECT * FROM read_csv($files, header = true, "
                    + ", ".join(f"{name} = ${name}" for name in options)
                    + ", auto_type_candidates = $types)",
                    params={"files": files, "types": CSV_TYPES, **options},
                )
                relation = relation.project(", ".join(self._csv_column(relation, c) for c in wanted))
            else:
                relation = self.con.read_parquet(files).project(", ".join(self.dialect.ident(c) for c in wanted))
            relation.create_view(SOURCE)
            self._kinds = {name: duckdb_kind(str(t)) for name, t in zip(relation.columns, relation.types, strict=True)}
        except duckdb.Error as exc:
            self.close()
            raise DataError(f"cannot read {dataset.format} data: {one_line(exc)}", file=dataset.path) from None

    def _csv_column(self, relation: Any, column: str) -> str:
        """Read true/false text (any case) as booleans, as pandas and Spark do; DuckDB's sniffer would also
        take yes/no and t/f, which they read as text."""
        c = self.dialect.ident(column)
        if str(relation.types[relation.columns.index(column)]) != "VARCHAR":
            return c
        ((booleans,),) = relation.aggregate(f"count({c}) > 0 AND bool_and(lower({c}) IN ('true', 'false'))").fetchall()
        return f"CASE lower({c}) WHEN 'true' THEN TRUE WHEN 'false' THEN FALSE END AS {c}" if booleans else c

    def doubled_u(self, target: Target) -> dict[Grouping, dict[tuple[str, ...], int]]:
        features = target.features
        kinds = self.column_kinds()
        if any(kinds[f] not in STREAMABLE for f in features):
            return super().doubled_u(target)
        cells = [self._cells(f, kinds[f]) for f in features]
        if math.prod(len(texts) for _, texts in cells) > MAX_STREAMED_CELLS:
            return super().doubled_u(target)
        assert target.score is not None
        params: dict[str, Any] = {f"values{i}": values for i, (values, _) in enumerate(cells)}
        y = self._flag(target.label, target.positive_label, "positive_label", params)
        codes = "".join(
            f"coalesce(list_position($values{i}, {self._raw(f, kinds[f])}), 0) AS c{i}, "
            for i, f in enumerate(features)
        )
        groups = ", ".join(f"c{i}" for i in range(len(features)))
        stream = self.con.sql(
            f"WITH t AS (SELECT {codes}CAST({self.dialect.ident(target.score)} AS DOUBLE) AS s, {y} AS y "
            f"FROM {SOURCE}) SELECT {groups}, s, CAST(sum(y) AS BIGINT) AS pos, "
            f"CAST(count(*) - sum(y) AS BIGINT) AS neg FROM t GROUP BY {groups}, s ORDER BY s",
            params=params,
        )
        tables = {g: _StreamedTable(g, features, cells) for g in target.groupings if g}
        for batch in _whole_scores(stream.to_arrow_reader(STREAM_BATCH)):
            columns = [batch[i] for i in range(len(features))]
            for table in tables.values():
                table.add(columns, batch[-3], batch[-2], batch[-1])
        return {g: table.result() for g, table in tables.items()}

    def _cells(self, feature: str, kind: ColumnKind) -> tuple[list[Any], list[str]]:
        """The feature's distinct values (list_position codes 1..n) and the key text of codes 0..n."""
        raw = self._raw(feature, kind)
        rows = self.query(f"SELECT DISTINCT {raw} AS v, {self._key('v', kind)} FROM {SOURCE} WHERE {raw} IS NOT NULL")
        return [v for v, _ in rows], [UNKNOWN, *(text for _, text in rows)]

    def query(self, sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        try:
            return self.con.execute(sql, params or {}).fetchall()
        except self._error as exc:
            raise CheckError(f"duckdb query failed: {one_line(exc)}") from None

    def column_kinds(self) -> dict[str, ColumnKind]:
        return self._kinds

    def close(self) -> None:
        if hasattr(self, "con"):  # absent when __init__ failed, or closed already
            self.con.close()
            del self.con
        shutil.rmtree(self._spill, ignore_errors=True)


def _whole_scores(reader: Any) -> Iterator[list[np.ndarray]]:
    """Batches as numpy columns, cut so that the rows of one score never span two batches."""
    held: list[np.ndarray] | None = None
    for record_batch in reader:
        batch = [column.to_numpy(zero_copy_only=False) for column in record_batch.columns]
        if held is not None:
            batch = [np.concatenate([h, b]) for h, b in zip(held, batch, strict=True)]
        scores = batch[-3]
        cut = int(np.searchsorted(scores, scores[-1], side="left")) if len(scores) else 0
        held = [column[cut:] for column in batch]
        yield [column[:cut] for column in batch]
    if held is not None:
        yield held


class _StreamedTable:
    """One table's RunningU, fed from the finest-cell stream through a mixed-radix group code."""

    def __init__(self, grouping: Grouping, features: list[str], cells: list[tuple[list[Any], list[str]]]) -> None:
        self.positions = [features.index(f) for f in grouping]
        # codes whose key texts coincide (a literal "Unknown" and a missing value) are one group
        self.texts, self.unify = [], []
        for i in self.positions:
            texts, inverse = np.unique(np.array(cells[i][1], dtype=object), return_inverse=True)
            self.texts.append([str(x) for x in texts])
            self.unify.append(inverse.astype(np.int64))
        self.radices = [len(t) for t in self.texts]
        self.running = RunningU(math.prod(self.radices))

    def add(self, columns: list[np.ndarray], scores: np.ndarray, pos: np.ndarray, neg: np.ndarray) -> None:
        digits = [unify[columns[i].astype(np.int64)] for i, unify in zip(self.positions, self.unify, strict=True)]
        self.running.add(mixed_radix(digits, self.radices), scores, pos, neg)

    def result(self) -> dict[tuple[str, ...], int]:
        return {
            tuple(texts[d] for texts, d in zip(self.texts, radix_digits(int(code), self.radices), strict=True)): int(
                self.running.doubled_u[code]
            )
            for code in np.flatnonzero(self.running.rows_seen)
        }


class DuckDBEngine(CohortEngine):
    name = "duckdb"

    def open(self, dataset: Dataset, columns: Sequence[str]) -> CohortSession:
        return DuckDBSession(dataset, columns)
