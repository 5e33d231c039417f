"""Reading evaluation and training data: cheap header reads up front, frames only on demand.

A dataset path is one file, a folder of Parquet files, or a glob (`eval/part-*.parquet`):
the shape data takes once it outgrows one file. `dataset_files` expands all three the same
way for every reader (pandas, DuckDB, Spark), so they all see the same rows.
"""

from __future__ import annotations

import codecs
import csv
import functools
import hashlib
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

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


def read_columns(path: Path, declared: CsvFormat | None = None) -> list[str]:
    """Column names without loading the data (CSV header line or Parquet schema of the first file)."""
    first = dataset_files(path)[0]
    fmt = data_format(first)
    try:
        if fmt == "csv":
            dialect = csv_dialect(first, declared)
            with _open_text(first, dialect.encoding) as fh:
                header = next(csv.reader(fh, **dialect.csv_module_options()), None)
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
        raise DataError(f"cannot read {fmt} data: {one_line(exc)}", file=first) from None


def one_line(exc: BaseException, limit: int = 300) -> str:
    """The first line of an engine's error, bounded: DuckDB and Spark explain over many paragraphs."""
    text = next((line.strip() for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
    return text if len(text) <= limit else text[:limit] + "..."


class CsvFormat(Protocol):
    """What a manifest may declare about a CSV (`datasets.*.format`); None = detect it."""

    @property
    def delimiter(self) -> str | None: ...
    @property
    def quote(self) -> str | None: ...
    @property
    def escape(self) -> str | None: ...
    @property
    def decimal(self) -> str | None: ...
    @property
    def encoding(self) -> str | None: ...
    @property
    def missing(self) -> tuple[str, ...] | None: ...


SAMPLE_BYTES = 1 << 16
DELIMITERS = (",", ";", "\t", "|")
ENCODINGS = ("utf-8", "latin-1")
DEFAULT_MISSING = ("",)
_DECIMAL_COMMA = re.compile(r"[+-]?\d+,\d+")
_DECIMAL_POINT = re.compile(r"[+-]?\d*\.\d+")


@dataclass(frozen=True)
class Dialect:
    """How one CSV dataset is read, by every reader alike (pandas, pyarrow, DuckDB, Spark).

    Detected once from the first file (`csv_dialect`) or declared in the manifest; each field says
    which in `declared`. Only a field's own value counts as missing: `missing` lists them (the empty
    field by default), so "NA" is a value unless declared missing, the same in every engine."""

    delimiter: str = ","
    quote: str = '"'
    escape: str = '"'  # the quote itself: RFC 4180 doubled quotes ("a ""b"" c")
    decimal: str = "."
    encoding: str = "utf-8"  # or "latin-1"
    bom: bool = False
    newline: str = "\n"  # "\r\n" for CRLF files (informative: every reader takes both)
    missing: tuple[str, ...] = DEFAULT_MISSING
    declared: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "delimiter": self.delimiter,
            "quote": self.quote,
            "escape": self.escape,
            "decimal": self.decimal,
            "encoding": self.encoding,
            "bom": self.bom,
            "newline": self.newline,
            "missing": list(self.missing),
            "declared": list(self.declared),
        }

    @property
    def python_encoding(self) -> str:
        return "utf-8-sig" if self.bom else self.encoding

    def csv_module_options(self) -> dict[str, Any]:
        return {
            "delimiter": self.delimiter,
            "quotechar": self.quote,
            "doublequote": self.escape == self.quote,
            "escapechar": None if self.escape == self.quote else self.escape,
        }

    def pandas_options(self) -> dict[str, Any]:
        return {
            "sep": self.delimiter,
            "quotechar": self.quote,
            "doublequote": self.escape == self.quote,
            "escapechar": None if self.escape == self.quote else self.escape,
            "decimal": self.decimal,
            "encoding": self.python_encoding,
            "keep_default_na": False,
            "na_values": list(self.missing),
        }

    def arrow_options(self) -> tuple[Any, Any, Any]:
        """(ReadOptions, ParseOptions, ConvertOptions) for `pyarrow.csv`: the same reading as pandas."""
        from pyarrow import csv as pacsv

        read = pacsv.ReadOptions(encoding="latin1" if self.encoding == "latin-1" else "utf8")
        parse = pacsv.ParseOptions(
            delimiter=self.delimiter,
            quote_char=self.quote,
            double_quote=self.escape == self.quote,
            escape_char=False if self.escape == self.quote else self.escape,
            newlines_in_values=True,
        )
        convert = pacsv.ConvertOptions(
            decimal_point=self.decimal,
            null_values=list(self.missing),
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        )
        return read, parse, convert

    def duckdb_options(self) -> dict[str, Any]:
        """Bound parameters for DuckDB's `read_csv` (see engines/duckdb_engine.py): nothing left to its sniffer
        but the column types."""
        return {
            "sep": self.delimiter,
            "quote": self.quote,
            "escape": self.escape,
            "decimal_separator": self.decimal,
            "encoding": self.encoding,
            "nullstr": list(self.missing),
        }

    def spark_options(self) -> dict[str, str]:
        """Options for `spark.read.csv`. Spark reads no decimal comma and one missing token: refused here."""
        if self.decimal != ".":
            raise DataError("the spark engine cannot read decimal commas; use --engine pandas or duckdb")
        if len([m for m in self.missing if m]) > 1:
            raise DataError(
                "the spark engine reads one missing-value token besides the empty field; use --engine pandas or duckdb"
            )
        token = next((m for m in self.missing if m), "")
        return {
            "sep": self.delimiter,
            "quote": self.quote,
            "escape": self.escape,
            "encoding": "ISO-8859-1" if self.encoding == "latin-1" else "UTF-8",
            "multiLine": "true",
            "nullValue": token,
            "header": "true",
        }


def _open_text(path: Path, encoding: str) -> Any:
    import gzip

    opener = gzip.open if path.name.lower().endswith(".gz") else open
    return opener(path, "rt", encoding="utf-8-sig" if encoding == "utf-8" else encoding, newline="")


def _open_bytes(path: Path) -> Any:
    import gzip

    return gzip.open(path, "rb") if path.name.lower().endswith(".gz") else path.open("rb")


def _is_utf8(path: Path) -> bool:
    """The whole file decodes as UTF-8 (a Latin-1 byte may sit far past any sample); streamed, bounded memory.
    Remembered per file version: the manifest, fairness and privacy each ask."""
    stat = path.stat()
    return _is_utf8_version(str(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=64)
def _is_utf8_version(name: str, mtime_ns: int, size: int) -> bool:
    path = Path(name)
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with _open_bytes(path) as fh:
            while chunk := fh.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _records(text: str, delimiter: str, quote: str) -> list[list[str]]:
    """The complete records of a sample (the last, maybe cut, one dropped)."""
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar=quote))
    except csv.Error:
        return []
    return rows[:-1] if len(rows) > 1 else rows


def _sniff_delimiter(text: str, quote: str) -> str:
    """The candidate giving every sampled record the header's number of fields (more than one); else ','."""
    best, best_width = ",", 1
    for candidate in DELIMITERS:
        rows = [r for r in _records(text, candidate, quote) if r]
        if rows and len(rows[0]) > best_width and all(len(r) == len(rows[0]) for r in rows):
            best, best_width = candidate, len(rows[0])
    return best


def csv_dialect(path: Path, declared: CsvFormat | None = None) -> Dialect:
    """The dialect of the CSV file `path`: what the manifest declares, the rest detected from the file."""
    fields = {
        k: getattr(declared, k)
        for k in ("delimiter", "quote", "escape", "decimal", "encoding", "missing")
        if declared is not None and getattr(declared, k) is not None
    }
    try:
        with _open_bytes(path) as fh:
            sample = fh.read(SAMPLE_BYTES)
        bom = sample.startswith(codecs.BOM_UTF8)
        encoding = fields.get("encoding") or ("utf-8" if _is_utf8(path) else "latin-1")
    except OSError as exc:
        raise DataError(f"cannot read csv data: {one_line(exc)}", file=path) from None
    text = codecs.getincrementaldecoder(encoding)(errors="replace").decode(sample[3:] if bom else sample)
    quote = fields.get("quote", '"')
    delimiter = fields.get("delimiter") or (
        "\t" if path.name.lower().endswith(".tsv") else _sniff_delimiter(text, quote)
    )
    decimal = fields.get("decimal")
    if decimal is None:
        cells = [c.strip() for r in _records(text, delimiter, quote)[1:] for c in r]
        decimal = (
            ","
            if (
                delimiter != ","
                and any(_DECIMAL_COMMA.fullmatch(c) for c in cells)
                and not any(_DECIMAL_POINT.fullmatch(c) for c in cells)
            )
            else "."
        )
    end = text.find("\n")
    return Dialect(
        delimiter=delimiter,
        quote=quote,
        escape=fields.get("escape", quote),
        decimal=decimal,
        encoding=encoding,
        bom=bom,
        newline="\r\n" if end > 0 and text[end - 1] == "\r" else "\n",
        missing=tuple(fields.get("missing", DEFAULT_MISSING)),
        declared=tuple(sorted(fields)),
    )


def dataset_dialect(path: Path, declared: CsvFormat | None = None) -> Dialect | None:
    """The dialect of a CSV dataset (from its first file), None for Parquet."""
    first = dataset_files(path)[0]
    return csv_dialect(first, declared) if data_format(first) == "csv" else None


def load_frame(path: Path, columns: Sequence[str] | None = None, dialect: Dialect | None = None) -> pd.DataFrame:
    """Load the named columns of a dataset (every file of it) into pandas; a CSV as `dialect` says (detected
    from the first file when not given)."""
    import pandas as pd

    files = dataset_files(path)
    fmt = data_format(files[0])
    cols = list(dict.fromkeys(columns)) if columns is not None else None
    try:
        if fmt == "csv":
            options = (dialect or csv_dialect(files[0])).pandas_options()
            parts = [pd.read_csv(f, usecols=cols, low_memory=False, **options) for f in files]
            frame: pd.DataFrame = parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)
        else:
            import pyarrow.dataset as pads

            frame = pads.dataset([str(f) for f in files], format="parquet").to_table(columns=cols).to_pandas()
    except DataError:
        raise
    except Exception as exc:  # OSError, ValueError, UnicodeDecodeError, and pyarrow's own error family
        raise DataError(f"cannot read {fmt} data: {one_line(exc)}", file=path) from None
    if frame.empty:
        raise DataError("dataset has no rows", file=path)
    return frame
