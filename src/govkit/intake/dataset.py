"""Propose a dataset's roles from its columns: label, prediction and score by name and type, protected
attributes by name, PII columns by the privacy check's own detectors on a sample of the values.

Proposals only: `govkit init` shows them, asks (or takes flags), and writes what is left open as a TODO.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from govkit.datasets import csv_dialect, data_format, dataset_files, one_line, read_columns
from govkit.errors import DataError

SAMPLE_ROWS = 10_000  # enough to tell a 0/1 column from a count, small enough for any file
PII_SAMPLE = 2_000  # a proposal, not the check: the privacy rules scan their own (larger) sample

LABEL_NAMES = {"label", "target", "y", "y_true", "outcome", "class", "ground_truth", "actual", "truth"}
PREDICTION_NAMES = {"prediction", "predicted", "pred", "yhat", "y_hat", "y_pred", "decision", "predicted_label"}
SCORE_NAMES = {"score", "scores", "proba", "probability", "prob", "y_score", "y_proba", "risk_score", "confidence"}


@dataclass(frozen=True)
class DatasetFacts:
    """What `govkit init` proposes for one dataset; None / empty where nothing fits."""

    path: Path
    columns: tuple[str, ...]
    label: str | None
    prediction: str | None
    score: str | None
    sensitive: tuple[str, ...]
    pii: tuple[str, ...]
    binary: dict[str, tuple[Any, ...]]  # columns with exactly two values in the sample, and the values

    def positive_label(self, column: str) -> str | int | bool | None:
        values = self.binary.get(column)
        return positive_of(list(values)) if values else None


def _head(path: Path, rows: int) -> Any:
    """The first `rows` rows of the dataset's first file, read as every engine reads it (the shared dialect)."""
    import pandas as pd

    first = dataset_files(path)[0]
    fmt = data_format(first)
    try:
        if fmt == "csv":
            return pd.read_csv(first, nrows=rows, low_memory=False, **csv_dialect(first).pandas_options())
        import pyarrow.parquet as pq

        batch = next(pq.ParquetFile(first).iter_batches(batch_size=rows), None)
        return batch.to_pandas() if batch is not None else pd.DataFrame()
    except DataError:
        raise
    except Exception as exc:  # OSError, ValueError, UnicodeDecodeError, pyarrow's errors
        raise DataError(f"cannot read {fmt} data: {one_line(exc)}", file=first) from None


def _words(column: str) -> set[str]:
    from govkit.checks.privacy.detectors import tokens

    return tokens(column) | {column.lower()}


def _pick(candidates: list[str], names: set[str]) -> str | None:
    return next((c for c in candidates if _words(c) & names), None)


def _is_score(series: Any) -> bool:
    import pandas as pd

    if not pd.api.types.is_float_dtype(series):
        return False
    values = series.dropna()
    return bool(len(values)) and float(values.min()) >= 0.0 and float(values.max()) <= 1.0


def positive_of(values: list[Any]) -> str | int | bool | None:
    """The favourable value of a two-valued column when its values say it (1, true, yes); else None."""
    as_text = {str(v).strip().lower() for v in values}
    for positive in ("1", "true", "yes", "y", "positive", "pos"):
        if positive in as_text:
            value = next(v for v in values if str(v).strip().lower() == positive)
            value = value.item() if hasattr(value, "item") else value  # numpy scalar -> Python
            if isinstance(value, bool):
                return value
            if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(float(value)):
                return int(value)
            return str(value)
    return None


def _pii_columns(path: Path, columns: list[str]) -> list[str]:
    """Columns the privacy check would flag with its default thresholds (on a smaller sample)."""
    from govkit.checks.privacy.check import PiiParams
    from govkit.checks.privacy.detectors import ColumnScanner
    from govkit.checks.privacy.sampling import column_labels, scan

    labels = column_labels(columns)
    scanners = {c: ColumnScanner(c, date.today()) for c in labels}
    scan(path, labels, scanners, sample=PII_SAMPLE)
    limits = PiiParams()
    found = []
    for label, column in zip(labels, columns, strict=True):
        evidence = scanners[label].evidence()
        _, share = evidence.best()
        if share >= limits.min_match_rate or evidence.free_text_share >= limits.min_free_text_rate:
            found.append(column)
    return found


def inspect_dataset(path: Path) -> DatasetFacts:
    from govkit.checks.privacy.detectors import protected_by_name

    columns = read_columns(path)
    frame = _head(path, SAMPLE_ROWS)
    if frame.empty:
        raise DataError("dataset has no rows", file=path)
    binary = {c: tuple(frame[c].dropna().unique()) for c in columns if c in frame and frame[c].dropna().nunique() == 2}
    label = _pick(list(binary), LABEL_NAMES)
    prediction = _pick([c for c in binary if c != label], PREDICTION_NAMES)
    scores = [c for c in columns if c in frame and _is_score(frame[c])]
    score = _pick(scores, SCORE_NAMES)
    return DatasetFacts(
        path=path,
        columns=tuple(columns),
        label=label,
        prediction=prediction,
        score=score,
        sensitive=tuple(c for c in columns if protected_by_name(c)),
        pii=tuple(_pii_columns(path, columns)),
        binary=binary,
    )
