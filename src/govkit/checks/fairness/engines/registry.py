"""Which engine counts the cohorts: chosen by name, or by the dataset's size on disk."""

from __future__ import annotations

import importlib
import importlib.util
import re

from govkit.checks.fairness.engines.interface import CohortEngine
from govkit.errors import GovkitError

ENGINES = {
    "pandas": "govkit.checks.fairness.engines.pandas_engine:PandasEngine",
    "duckdb": "govkit.checks.fairness.engines.duckdb_engine:DuckDBEngine",
    "spark": "govkit.checks.fairness.engines.spark_engine:SparkEngine",
}
ENGINE_CHOICES = ("auto", *ENGINES)
# pandas holds the needed columns in memory, several times their compressed size on disk
DEFAULT_DUCKDB_ABOVE = "1GB"
_UNITS = {
    "": 1,
    "B": 1,
    "KB": 10**3,
    "MB": 10**6,
    "GB": 10**9,
    "TB": 10**12,
    "KIB": 2**10,
    "MIB": 2**20,
    "GIB": 2**30,
    "TIB": 2**40,
}


def parse_size(text: str) -> int:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*", text)
    unit = match.group(2).upper() if match else ""
    if not match or unit not in _UNITS:
        raise GovkitError(f"{text!r} is not a size (e.g. 500MB, 2GB, 1.5GiB)", field="--duckdb-above")
    return int(float(match.group(1)) * _UNITS[unit])


def auto_engine(dataset_bytes: int, duckdb_above: int) -> str:
    """pandas, or DuckDB for data larger than `duckdb_above` bytes on disk when it is installed."""
    if dataset_bytes > duckdb_above and importlib.util.find_spec("duckdb") is not None:
        return "duckdb"
    return "pandas"


def load_engine(name: str) -> CohortEngine:
    module, _, attr = ENGINES[name].partition(":")
    engine: CohortEngine = getattr(importlib.import_module(module), attr)()
    return engine
