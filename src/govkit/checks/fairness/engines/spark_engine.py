"""Spark: the counts run as Spark SQL, for evaluation sets that live on a cluster.

govkit joins the active SparkSession when there is one (under `spark-submit` or in a notebook),
else starts one with master `GOVKIT_SPARK_MASTER` (default `local[*]`). The dataset's files must
be readable by the driver and executors at the path the manifest gives (a shared mount).
Only counts come back to the driver.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from govkit.checks.fairness.engines.interface import CohortEngine, CohortSession, ColumnKind, Dataset
from govkit.checks.fairness.engines.sql import SOURCE, Dialect, SqlSession
from govkit.datasets import one_line
from govkit.errors import CheckError, DataError, GovkitError

SPARK_KINDS: dict[str, ColumnKind] = {
    "boolean": "bool",
    "byte": "int",
    "short": "int",
    "integer": "int",
    "long": "int",
    "float": "float",
    "double": "float",
    "string": "text",
}


QUIET_LOGGING = Path(__file__).with_name("spark-log4j2.properties")


def spark_session() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # pyspark's note on pandas versions: we use no pandas API
        try:
            from pyspark.sql import SparkSession
        except ImportError:
            raise GovkitError(
                "the spark engine needs pyspark and a Java runtime: pip install 'govkit[spark]'", field="--engine"
            ) from None
        active = SparkSession.getActiveSession()
        if active is not None:
            return active
        from pyspark.errors import PySparkException

        builder = (
            SparkSession.builder.appName("govkit")
            .master(os.environ.get("GOVKIT_SPARK_MASTER", "local[*]"))
            .config("spark.driver.memory", os.environ.get("GOVKIT_SPARK_DRIVER_MEMORY", "2g"))
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", os.environ.get("GOVKIT_SPARK_PARTITIONS", "8"))
            .config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile={QUIET_LOGGING.as_uri()}")
        )
        try:
            spark = builder.getOrCreate()
        except PySparkException as exc:  # no Java, or no reachable master
            raise GovkitError(
                f"cannot start Spark ({exc.getErrorClass() or exc}); it needs Java 17+ on the PATH "
                "and a reachable GOVKIT_SPARK_MASTER",
                field="--engine",
            ) from None
    spark.sparkContext.setLogLevel("ERROR")
    return spark


class SparkCohortSession(SqlSession):
    dialect = Dialect(text_type="STRING", quote="`", param_prefix=":")

    def __init__(self, dataset: Dataset, columns: Sequence[str]) -> None:
        from pyspark.errors import PySparkException

        self._error = PySparkException
        self.spark = spark_session()
        files = [str(f) for f in dataset.files]
        try:
            if dataset.format == "csv":
                options = dataset.csv_dialect().spark_options()
                frame = self.spark.read.options(**options).csv(files, inferSchema=True)
            else:
                frame = self.spark.read.parquet(*files)
            frame = frame.select(*[self.dialect.ident(c) for c in dict.fromkeys(columns)])
        except PySparkException as exc:
            raise DataError(f"cannot read {dataset.format} data: {one_line(exc)}", file=dataset.path) from None
        except DataError as exc:
            raise DataError(exc.message, file=dataset.path) from None
        frame.createOrReplaceTempView(SOURCE)
        self._kinds = {f.name: SPARK_KINDS.get(f.dataType.typeName(), "other") for f in frame.schema.fields}

    def query(self, sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        try:
            return [tuple(row) for row in self.spark.sql(sql, args=params or None).collect()]
        except self._error as exc:
            raise CheckError(f"spark query failed: {one_line(exc)}") from None

    def column_kinds(self) -> dict[str, ColumnKind]:
        return self._kinds

    def close(self) -> None:
        self.spark.catalog.dropTempView(SOURCE)


class SparkEngine(CohortEngine):
    name = "spark"

    def open(self, dataset: Dataset, columns: Sequence[str]) -> CohortSession:
        return SparkCohortSession(dataset, columns)
