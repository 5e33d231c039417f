"""Reading evaluation and training data: cheap header reads up front, frames only on demand.

A dataset path is one file, a folder of Parquet files, or a glob (`eval/part-*.parquet`):
the shape data takes once it outgrows one file. `dataset_files` expands all three the same
way for every reader (pandas, DuckDB, Spark), so they all see the same rows.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from govkit.canonical import file_sha256
from govkit.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

CSV_SUFFIXES = (".csv", ".csv.gz", ".tsv")
PARQUET_SUFFIXES = (".parquet", ".pq")


GLOB_CHARACTERS = frozenset("*?[")


def is_pattern(path: Path) -> bool:
    return any(ch in GLOB_CHARACTERS for ch in str(path))


def pattern_root(path: Path) -> Path:
    """The deepest folder of `path` with no glob characters in it."""
    root = path.parent
    while is_pattern(root):
        root = root.parent
    return root


def dataset_files(path: Path) -> list[Path]:
    """The files behind a dataset path, sorted: the file itself, a folder's Parquet files, or a glob's matches."""
    if is_pattern(path):
        root = pattern_root(path)
        files = sorted(p for p in root.glob(str(path.relative_to(root))) if p.is_file())
        if not files:
            raise DataError("no files match this pattern", file=path)
    elif path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.name.lower().endswith(PARQUET_SUFFIXES))
        if not files:
            raise DataError("folder holds no Parquet files", file=path)
    elif path.is_file():
        return [path]
    else:
        raise DataError("file not found", file=path)
    formats = {data_format(f) for f in files}
    if len(formats) > 1:
        raise DataError(f"mixes {' and '.join(sorted(formats))} files; use one format", file=path)
    return files


def dataset_sha256(path: Path) -> str:
    """One file's sha256; for many files, the sha256 of their `<sha256>  <relative path>` list."""
    files = dataset_files(path)
    if len(files) == 1 and files[0] == path:
        return file_sha256(path)
    base = path if path.is_dir() else pattern_root(path)
    lines = "".join(f"{file_sha256(f)}  {f.relative_to(base).as_posix()}\n" for f in files)
    return hashlib.sha256(lines.encode()).hexdigest()


def dataset_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in dataset_files(path))


def data_format(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(CSV_SUFFIXES):
        return "csv"
    if name.endswith(PARQUET_SUFFIXES):
        return "parquet"
    raise DataError(
        f"unsupported data format (expected {', '.join(CSV_SUFFIXES + PARQUET_SUFFIXES)})",
        file=path,
    )


def read_columns(path: Path) -> list[str]:
    """Column names without loading the data (CSV header line or Parquet schema of the first file)."""
    first = dataset_files(path)[0]
    fmt = data_format(first)
    try:
        if fmt == "csv":
            import gzip

            opener = gzip.open if first.name.lower().endswith(".gz") else open
            with opener(first, "rt", encoding="utf-8", newline="") as fh:
                header = next(csv.reader(fh, delimiter=csv_delimiter(first)), None)
            if not header:
                raise DataError("empty file: no header row", file=first)
            return [h.strip() for h in header]
        import pyarrow.parquet as pq

        return list(pq.read_schema(first).names)
    except DataError:
        raise
    except FileNotFoundError:
        raise DataError("file not found", file=first) from None
    except Exception as exc:  # OSError, UnicodeDecodeError, ValueError, and pyarrow's own error family
        raise DataError(f"cannot read {fmt} data: {exc}", file=first) from None


def csv_delimiter(path: Path) -> str:
    return "\t" if path.name.lower().endswith(".tsv") else ","


def load_frame(path: Path, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Load the named columns of a dataset (every file of it) into pandas."""
    import pandas as pd

    files = dataset_files(path)
    fmt = data_format(files[0])
    cols = list(dict.fromkeys(columns)) if columns is not None else None
    try:
        if fmt == "csv":
            parts = [pd.read_csv(f, usecols=cols, sep=csv_delimiter(f), low_memory=False) for f in files]
            frame = parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)
        else:
            import pyarrow.dataset as pads

            frame = pads.dataset([str(f) for f in files], format="parquet").to_table(columns=cols).to_pandas()
    except Exception as exc:  # OSError, ValueError, UnicodeDecodeError, and pyarrow's own error family
        raise DataError(f"cannot read {fmt} data: {exc}", file=path) from None
    if frame.empty:
        raise DataError("dataset has no rows", file=path)
    return frame
