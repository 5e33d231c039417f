"""Stream a dataset column by column without loading it whole.

Sampling is a bottom-k sample: every row gets a pseudo-random key from its row number
(splitmix64), and each column keeps the non-null values with the k smallest keys. That is a
uniform sample without replacement, the same on every run and whatever the batch sizes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from govkit.datasets import CsvFormat, csv_dialect, data_format, dataset_files, read_columns
from govkit.errors import DataError

BATCH_BYTES = 1 << 24
DEFAULT_SAMPLE = 10_000
SEED = 0x5EED


def row_keys(start: int, count: int, seed: int = SEED) -> np.ndarray:
    """splitmix64 of the row numbers: a fixed pseudo-random key per row."""
    with np.errstate(over="ignore"):
        z = np.arange(start, start + count, dtype=np.uint64) + np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def column_labels(header: Sequence[str]) -> list[str]:
    """One label per column even where a header repeats a name (COMPAS has `decile_score` twice: ` (2)`) or
    leaves it empty (a trailing comma: `column 5`), so that every column is scanned and reported."""
    labels, seen = [], Counter[str]()
    for position, name in enumerate(header, 1):
        base = name or f"column {position}"
        seen[base] += 1
        labels.append(base if seen[base] == 1 else f"{base} ({seen[base]})")
    return labels


def batches(path: Path, columns: Sequence[str], declared: CsvFormat | None = None) -> Iterator[Any]:
    """Record batches of `columns` (labels from column_labels) as strings (CSV streamed by pyarrow, Parquet by
    row group), file by file. A CSV is read in the dialect every engine uses (`datasets.csv_dialect`)."""
    import pyarrow as pa

    for file in dataset_files(path):
        try:
            if data_format(file) == "csv":
                from pyarrow import csv

                read, parse, convert = csv_dialect(file, declared).arrow_options()
                reader = csv.open_csv(
                    file,
                    read_options=csv.ReadOptions(
                        block_size=BATCH_BYTES,
                        skip_rows=0,  # skip_rows counts lines: a quoted header name holding a newline spans two
                        encoding=read.encoding,
                        column_names=column_labels(read_columns(file, declared)),
                    ),
                    parse_options=parse,
                    convert_options=csv.ConvertOptions(
                        column_types=dict.fromkeys(columns, pa.string()),
                        include_columns=list(columns),
                        strings_can_be_null=True,
                        null_values=convert.null_values,
                        quoted_strings_can_be_null=False,
                    ),
                )
                header = True
                for batch in reader:  # the header row is read as data (every column is a string): drop it
                    yield batch.slice(1) if header else batch
                    header = False
            else:
                import pyarrow.parquet as pq

                for batch in pq.ParquetFile(file).iter_batches(columns=list(columns), batch_size=256_000):
                    yield pa.RecordBatch.from_arrays(
                        [batch.column(c).cast(pa.string()) for c in columns], names=list(columns)
                    )
        except (OSError, pa.ArrowInvalid) as exc:
            raise DataError(f"cannot read data: {exc}", file=file) from None


@dataclass
class Scan:
    rows: int
    bytes: int
    non_null: dict[str, int]


def scan(
    path: Path,
    columns: Sequence[str],
    feeders: dict[str, Any],
    *,
    sample: int | None,
    declared: CsvFormat | None = None,
) -> Scan:
    """Feed each column's values to its scanner: a bottom-k sample of `sample`, or all (None)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    rows = 0
    non_null = dict.fromkeys(columns, 0)
    kept: dict[str, tuple[np.ndarray, list[Any]]] = {c: (np.empty(0, np.uint64), []) for c in columns}
    for batch in batches(path, columns, declared):
        keys = row_keys(rows, batch.num_rows)
        rows += batch.num_rows
        for name in columns:
            values = batch.column(name)
            # a null cell makes not_equal null too; and_kleene(False, null) is False, but fill_null keeps the
            # mask a plain boolean array even where every cell is null (numpy would get objects otherwise)
            blank = pc.equal(pc.utf8_trim_whitespace(values), "")
            valid = pc.and_kleene(pc.is_valid(values), pc.invert(blank)).fill_null(False)
            present = values.filter(valid)
            non_null[name] += len(present)
            if sample is None:
                feeders[name].feed(present)
                continue
            old_keys, old_chunks = kept[name]
            all_keys = np.concatenate([old_keys, keys[valid.to_numpy(zero_copy_only=False)]])
            chunks = [*old_chunks, present]
            if len(all_keys) > sample:
                merged = pa.concat_arrays(chunks)
                best = np.argpartition(all_keys, sample)[:sample]
                best.sort()
                kept[name] = (all_keys[best], [merged.take(pa.array(best))])
            else:
                kept[name] = (all_keys, chunks)
    if rows == 0:
        raise DataError("dataset has no rows", file=path)
    if sample is not None:
        for name in columns:
            keys_, chunks = kept[name]
            if chunks:
                merged = pa.concat_arrays(chunks)
                feeders[name].feed(merged.take(pa.array(np.argsort(keys_, kind="stable"))))
    return Scan(rows=rows, bytes=path.stat().st_size if path.is_file() else 0, non_null=non_null)
