"""Measuring cohorts through an engine: validate the columns, map labels, gather the tables.

This is the engine-independent half: which value of a column means "positive", what counts as
a bad label or score, how the median is defined (numpy's: the mean of the two middle values),
and how groups are ordered. Engines only count, so every engine's tables come out identical.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from govkit.checks.fairness.engines.interface import (
    UNKNOWN,
    CohortEngine,
    ColumnProfile,
    Dataset,
    GroupCounts,
    Grouping,
    Target,
    features_of,
)
from govkit.datasets import data_format, dataset_files
from govkit.manifest import LoadedManifest

JOIN = " & "
SHOWN_VALUES = 5


@dataclass(frozen=True)
class CohortTable:
    """One feature or intersection: per observed group, the confusion cells and the score counts."""

    features: tuple[str, ...]
    groups: tuple[tuple[str, ...], ...]
    counts: np.ndarray  # (G, 4): tn, fp, fn, tp
    unknown_count: int  # rows with a missing value in any of the features
    doubled_u: np.ndarray | None  # (G,) 2U per group, with a score
    above_median: np.ndarray | None  # (G,) rows scoring above the sample median, with a score

    @property
    def name(self) -> str:
        return JOIN.join(self.features)

    def label(self, i: int) -> str:
        return JOIN.join(self.groups[i])


@dataclass(frozen=True)
class Cohorts:
    engine: str
    rows: int
    overall: np.ndarray  # (4,) cells of the whole sample
    median: float | None
    tables: tuple[CohortTable, ...]


def positive_value(profile: ColumnProfile, positive: Any, manifest: LoadedManifest, key: str, column: str,
                   file: str) -> Any:
    """The column's own value that equals the manifest's positive label (e.g. 1 for `1`, "yes" for `yes`)."""
    where = ("datasets", "evaluation", key)
    if profile.missing:
        raise manifest.error(f"{profile.missing} missing values in column {column!r} of {file}", where)
    if len(profile.values) > 2:
        shown = ", ".join(map(str, sorted(profile.values, key=str)))
        count = f"more than {len(profile.values)}" if profile.more else str(len(profile.values))
        raise manifest.error(f"column {column!r} of {file} is not binary ({count} values: {shown})", where)
    for match in (lambda v: v == positive, lambda v: str(v) == str(positive)):
        for value in profile.values:
            if match(value):
                return value
    return None  # no row is positive


def _table(grouping: Grouping, groups: list[GroupCounts], u2: dict[tuple[str, ...], int] | None,
           scored: bool) -> CohortTable:
    groups = sorted(groups, key=lambda g: g.key)
    return CohortTable(
        features=grouping,
        groups=tuple(g.key for g in groups),
        counts=np.array([g.cells for g in groups], dtype=np.int64).reshape(-1, 4),
        unknown_count=sum(int(sum(g.cells)) for g in groups if UNKNOWN in g.key),
        doubled_u=np.array([u2[g.key] for g in groups], dtype=np.int64) if u2 is not None else None,
        above_median=np.array([g.above_median for g in groups], dtype=np.int64) if scored else None,
    )


def measure_cohorts(engine: CohortEngine, manifest: LoadedManifest, groupings: Sequence[Grouping]) -> Cohorts:
    ds = manifest.spec.datasets.evaluation
    assert ds is not None
    path = manifest.resolve(ds.path)
    files = tuple(dataset_files(path))
    dataset = Dataset(path=path, files=files, format=data_format(files[0]))
    features = features_of(groupings)
    columns = [ds.label, ds.prediction, *([ds.score] if ds.score else []), *features]
    with engine.open(dataset, columns) as session:
        profile = session.profile(ds.label, ds.prediction, ds.score, SHOWN_VALUES)
        if profile.rows == 0:
            raise manifest.error(f"no rows in {path.name}", ("datasets", "evaluation", "path"))
        target = Target(
            label=ds.label, prediction=ds.prediction, score=ds.score, groupings=((), *groupings),
            positive_label=positive_value(profile.label, ds.positive_label, manifest, "label", ds.label, path.name),
            positive_prediction=positive_value(profile.prediction, ds.positive_label, manifest, "prediction",
                                               ds.prediction, path.name),
        )
        median = None
        if ds.score:
            where = ("datasets", "evaluation", "score")
            if profile.score_kind not in ("int", "float"):
                raise manifest.error(f"column {ds.score!r} of {path.name} is not numeric", where)
            if profile.score_invalid:
                raise manifest.error(f"{profile.score_invalid} values of {ds.score!r} in {path.name} are missing or "
                                     "outside [0, 1]", where)
            low, high = session.order_statistics(ds.score, ((profile.rows - 1) // 2, profile.rows // 2))
            median = (low + high) / 2
        counted = session.counts(target, median)
        u2 = session.doubled_u(target) if ds.score else {}
    return Cohorts(
        engine=engine.name,
        rows=profile.rows,
        overall=np.array(counted[()][0].cells, dtype=np.int64),
        median=median,
        tables=tuple(_table(g, counted[g], u2.get(g), ds.score is not None) for g in groupings),
    )
