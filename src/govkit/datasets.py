"""Reading evaluation and training data: cheap header reads up front, frames only on demand."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from govkit.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

CSV_SUFFIXES = (".csv", ".csv.gz", ".tsv")
PARQUET_SUFFIXES = (".parquet", ".pq")


def data_format(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(CSV_SUFFIXES):
        return "csv"
    if name.endswith(PARQUET_SUFFIXES) or path.is_dir():
        return "parquet"
    raise DataError(
        f"unsupported data format (expected {', '.join(CSV_SUFFIXES + PARQUET_SUFFIXES)})",
        file=path,
    )


def read_columns(path: Path) -> list[str]:
    """Column names without loading the data (CSV header line or Parquet schema)."""
    fmt = data_format(path)
    try:
        if fmt == "csv":
            import gzip

            opener = gzip.open if path.name.lower().endswith(".gz") else open
            with opener(path, "rt", encoding="utf-8", newline="") as fh:
                delimiter = "\t" if path.name.lower().endswith(".tsv") else ","
                header = next(csv.reader(fh, delimiter=delimiter), None)
            if not header:
                raise DataError("empty file: no header row", file=path)
            return [h.strip() for h in header]
        import pyarrow.parquet as pq

        return list(pq.read_schema(path).names)
    except DataError:
        raise
    except FileNotFoundError:
        raise DataError("file not found", file=path) from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise DataError(f"cannot read {fmt} data: {exc}", file=path) from None
    except Exception as exc:  # pyarrow raises its own error family
        raise DataError(f"cannot read {fmt} data: {exc}", file=path) from None


def load_frame(path: Path, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Load the named columns of a dataset into pandas."""
    import pandas as pd

    fmt = data_format(path)
    cols = list(dict.fromkeys(columns)) if columns is not None else None
    try:
        if fmt == "csv":
            sep = "\t" if path.name.lower().endswith(".tsv") else ","
            frame = pd.read_csv(path, usecols=cols, sep=sep, low_memory=False)
        else:
            frame = pd.read_parquet(path, columns=cols)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read {fmt} data: {exc}", file=path) from None
    if frame.empty:
        raise DataError("dataset has no rows", file=path)
    return frame
