"""The cohort-engine seam: per-group counts computed where the data lives.

Fairness needs no rows, only counts. Per group: the confusion cells (tn, fp, fn, tp); with a
score, also twice the Mann-Whitney U of positives over negatives (an integer: AUC = 2U / 2PN)
and how many rows score above the sample median (the LL144 scoring rate). An engine computes
those with its own GROUP BY; everything after them (rates, intervals, bootstrap, judging) is
shared, and every number an engine returns is an exact integer, so all engines agree exactly.

Regressions and multiclass models use the same seam: per group the sums of a few powers of the
target, the prediction and the error (`moments`), or a K x K confusion matrix (`class_counts`).

Label mapping, validation messages and the median's definition live in `cohorts.py`, once; an
engine only answers the few primitive questions below. Group keys are text, written the same way
by every engine: booleans as True/False, integral floats as integers (1.0 -> "1", so an integer
column with gaps reads the same from CSV and Parquet), NaN and NULL as "Unknown".
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

if TYPE_CHECKING:
    from govkit.datasets import Dialect

UNKNOWN = "Unknown"
ColumnKind = Literal["bool", "int", "float", "text", "other"]
Grouping = tuple[str, ...]  # the sensitive features of one table; () is the whole sample


@dataclass(frozen=True)
class Dataset:
    """The files of one dataset (see `govkit.datasets.dataset_files`) and the path the manifest gave."""

    path: Path
    files: tuple[Path, ...]
    format: str  # "csv" or "parquet"
    dialect: Dialect | None = None  # how every engine reads a CSV: detected once, or declared in the manifest

    def csv_dialect(self) -> Dialect:
        """The dialect every engine reads this CSV with (detected from the first file when none was given)."""
        from govkit.datasets import csv_dialect

        return self.dialect or csv_dialect(self.files[0])


@dataclass(frozen=True)
class ColumnProfile:
    """What validation needs to know about a label or prediction column."""

    missing: int
    values: tuple[Any, ...]  # distinct non-missing values, at most `limit` of them
    more: bool  # there are more distinct values than `values` holds


@dataclass(frozen=True)
class Profile:
    rows: int
    label: ColumnProfile
    prediction: ColumnProfile
    score_kind: ColumnKind | None
    score_invalid: int  # missing, NaN, infinite or outside [0, 1]


@dataclass(frozen=True)
class Threshold:
    """A regression value counts as the favourable outcome when `value <operator> bound` (e.g. >= 5000)."""

    operator: Literal[">=", ">", "<=", "<"]
    bound: float


# Per-group sufficient statistics of a regression, in this order (e = prediction - target): every
# regression metric, its spread and its parametric bootstrap derive from them.
MOMENTS = ("y", "y2", "p", "p2", "e", "e2", "abs_e", "e4")


@dataclass(frozen=True)
class GroupMoments:
    key: tuple[str, ...]
    n: int
    sums: tuple[float, ...]  # one sum per name in MOMENTS


@dataclass(frozen=True)
class GroupClasses:
    key: tuple[str, ...]
    cells: tuple[int, ...]  # K x K confusion matrix, row-major: [true class][predicted class]


@dataclass(frozen=True)
class Target:
    """What to count. `positive_*` are the columns' own values that mean "positive" (None: no row is)."""

    label: str
    prediction: str
    positive_label: Any
    positive_prediction: Any
    score: str | None
    groupings: tuple[Grouping, ...]
    threshold: Threshold | None = None  # regression: a row is "positive" where its value passes it

    @property
    def features(self) -> list[str]:
        return features_of(self.groupings)


def features_of(groupings: Sequence[Grouping]) -> list[str]:
    """Every feature the groupings use, once, in order of first use."""
    return list(dict.fromkeys(f for g in groupings for f in g))


@dataclass(frozen=True)
class GroupCounts:
    key: tuple[str, ...]  # one text value per feature of the grouping; missing values are UNKNOWN
    cells: tuple[int, int, int, int]  # tn, fp, fn, tp
    above_median: int = 0


def four_cells(values: Iterable[Any]) -> tuple[int, int, int, int]:
    """A confusion table as GroupCounts holds it (tn, fp, fn, tp); anything but four values is a bug."""
    tn, fp, fn, tp = (int(v) for v in values)
    return tn, fp, fn, tp


class CohortSession(ABC):
    """One open dataset. Every method is one pass (or one query) over the rows."""

    @abstractmethod
    def profile(self, label: str, prediction: str, score: str | None, limit: int) -> Profile: ...

    @abstractmethod
    def groups(self, column: str, limit: int) -> tuple[int, tuple[Any, ...]]:
        """How many distinct non-missing values the column holds, and up to `limit` of them."""

    @abstractmethod
    def order_statistics(self, column: str, ranks: Sequence[int]) -> tuple[float, ...]:
        """The values at 0-based positions `ranks` of the column sorted ascending."""

    @abstractmethod
    def counts(self, target: Target, median: float | None) -> dict[Grouping, list[GroupCounts]]:
        """Confusion cells per group of every grouping; with a median, how many rows score above it."""

    @abstractmethod
    def doubled_u(self, target: Target) -> dict[Grouping, dict[tuple[str, ...], int]]:
        """For every non-empty grouping, per group: the sum over its positives of
        (2 x its negatives scoring lower + its negatives scoring the same)."""

    @abstractmethod
    def numeric_invalid(self, columns: Sequence[str]) -> dict[str, tuple[ColumnKind, int]]:
        """Each column's kind and how many of its values are missing, NaN or infinite (regression columns)."""

    @abstractmethod
    def moments(self, label: str, prediction: str, groupings: Sequence[Grouping]) -> dict[Grouping, list[GroupMoments]]:
        """Per group of every grouping: row count and the sums named in MOMENTS (floats: engines agree
        to rounding, not bit for bit; see docs/your-data.md)."""

    @abstractmethod
    def class_counts(
        self,
        label: tuple[str, Sequence[Any]],
        prediction: tuple[str, Sequence[Any]],
        groupings: Sequence[Grouping],
    ) -> dict[Grouping, list[GroupClasses]]:
        """Per group, the K x K confusion matrix; class k is the k-th value of each column's list
        (every non-missing value of both columns is in its list: cohorts.py checks that first)."""

    @abstractmethod
    def close(self) -> None:
        """Release what `open` took (connections, temporary files, views)."""

    def __enter__(self) -> CohortSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class CohortEngine(ABC):
    name: ClassVar[str]

    @abstractmethod
    def open(self, dataset: Dataset, columns: Sequence[str]) -> CohortSession:
        """Open `dataset` for queries over `columns` (the only ones a session may read)."""
