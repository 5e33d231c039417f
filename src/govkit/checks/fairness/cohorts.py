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
    CohortSession,
    ColumnProfile,
    Dataset,
    GroupCounts,
    Grouping,
    Target,
    features_of,
)
from govkit.datasets import Dialect, data_format, dataset_dialect, dataset_files
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
    dialect: Dialect | None  # how a CSV was read (None: Parquet)
    overall: np.ndarray  # (4,) cells of the whole sample
    median: float | None
    tables: tuple[CohortTable, ...]


TRUE_WORDS = frozenset({"true", "yes", "y", "on", "1"})
FALSE_WORDS = frozenset({"false", "no", "n", "off", "0"})
MAX_GROUPS = 50


def value_key(value: Any) -> tuple[str, bool | float | str]:
    """A value as the data holds it, comparable across types: 1 and 1.0 are one number, True is not 1."""
    if isinstance(value, bool | np.bool_):
        return "bool", bool(value)
    if isinstance(value, int | float | np.number):
        return "number", float(value)
    return "text", str(value)


def means(value: Any, token: str) -> bool:
    """Whether the manifest's token, as written in the YAML (`yes`, `1.0`, `"1"`), names this value of the data."""
    kind, held = value_key(value)
    if kind == "bool":
        return token.strip().lower() in (TRUE_WORDS if held else FALSE_WORDS)
    if kind == "number":
        try:
            return float(token) == held
        except ValueError:
            return False
    return held == token


def shown(values: Sequence[Any], more: bool = False) -> str:
    return ", ".join(repr(v) for v in sorted(values, key=str)) + (", ..." if more else "")


def positive_label_token(manifest: LoadedManifest) -> str:
    """The positive label as written in the manifest: YAML reads `yes` as True, the data holds "yes"."""
    ds = manifest.spec.datasets.evaluation
    assert ds is not None
    written = manifest.doc.texts.get(("datasets", "evaluation", "positive_label"))
    return written if written is not None else str(ds.positive_label)


def _binary(profile: ColumnProfile, manifest: LoadedManifest, key: str, column: str, file: str) -> None:
    where = ("datasets", "evaluation", key)
    if profile.missing:
        raise manifest.error(f"{profile.missing} missing values in column {column!r} of {file}", where)
    if len(profile.values) > 2:
        count = f"more than {len(profile.values)}" if profile.more else str(len(profile.values))
        raise manifest.error(
            f"column {column!r} of {file} is not binary ({count} values: {shown(profile.values, profile.more)})", where
        )


def positive_values(
    label: ColumnProfile,
    prediction: ColumnProfile,
    token: str,
    manifest: LoadedManifest,
    columns: tuple[str, str],
    file: str,
) -> tuple[Any, Any]:
    """The label's and the prediction's own values that mean positive; refuses what would make every row one class.

    A label must hold both classes and the positive one; predictions must hold only label values (a model
    that never predicts positive is allowed: its prediction value is then None)."""
    _binary(label, manifest, "label", columns[0], file)
    _binary(prediction, manifest, "prediction", columns[1], file)
    where = ("datasets", "evaluation", "label")
    positive = next((v for v in label.values if means(v, token)), None)
    if positive is None:
        raise manifest.error(
            f"positive_label {token!r} does not occur in column {columns[0]!r} of {file} "
            f"(values: {shown(label.values)})",
            ("datasets", "evaluation", "positive_label"),
        )
    if len(label.values) < 2:
        raise manifest.error(
            f"column {columns[0]!r} of {file} holds one class ({shown(label.values)}); rates per group need both",
            where,
        )
    keys = {value_key(v) for v in label.values}
    stray = [v for v in prediction.values if value_key(v) not in keys]
    if stray:
        raise manifest.error(
            f"column {columns[1]!r} of {file} holds {shown(stray)}, not among the label's values "
            f"({shown(label.values)})",
            ("datasets", "evaluation", "prediction"),
        )
    return positive, next((v for v in prediction.values if value_key(v) == value_key(positive)), None)


def check_groups(session: CohortSession, manifest: LoadedManifest, features: Sequence[str], file: str) -> None:
    """At least two groups to compare, and not so many that the column cannot be a cohort (an id or a number)."""
    for feature in features:
        count, values = session.groups(feature, SHOWN_VALUES)
        where = ("sensitive_features", list(manifest.spec.sensitive_features).index(feature))
        if count < 2:
            raise manifest.error(
                f"sensitive feature {feature!r} of {file} has {count} group(s) besides missing "
                f"values ({shown(values)}); fairness compares at least two",
                where,
            )
        if count > MAX_GROUPS:
            raise manifest.error(
                f"sensitive feature {feature!r} of {file} has {count} groups (more than "
                f"{MAX_GROUPS}; e.g. {shown(values, True)}): a number or an identifier? bin it into "
                "a few bands first (e.g. age -> age_band)",
                where,
            )


def _table(
    grouping: Grouping, groups: list[GroupCounts], u2: dict[tuple[str, ...], int] | None, scored: bool
) -> CohortTable:
    groups = sorted(groups, key=lambda g: g.key)
    return CohortTable(
        features=grouping,
        groups=tuple(g.key for g in groups),
        counts=np.array([g.cells for g in groups], dtype=np.int64).reshape(-1, 4),
        unknown_count=sum(int(sum(g.cells)) for g in groups if UNKNOWN in g.key),
        doubled_u=np.array([u2[g.key] for g in groups], dtype=np.int64) if u2 is not None else None,
        above_median=np.array([g.above_median for g in groups], dtype=np.int64) if scored else None,
    )


def evaluation_dataset(manifest: LoadedManifest) -> Dataset:
    """The manifest's evaluation dataset as an engine opens it."""
    ds = manifest.spec.datasets.evaluation
    assert ds is not None
    path = manifest.resolve(ds.path)
    files = tuple(dataset_files(path))
    return Dataset(path=path, files=files, format=data_format(files[0]), dialect=dataset_dialect(path, ds.format))


def measure_cohorts(engine: CohortEngine, manifest: LoadedManifest, groupings: Sequence[Grouping]) -> Cohorts:
    ds = manifest.spec.datasets.evaluation
    assert ds is not None
    dataset = evaluation_dataset(manifest)
    path = dataset.path
    features = features_of(groupings)
    columns = [ds.label, ds.prediction, *([ds.score] if ds.score else []), *features]
    with engine.open(dataset, columns) as session:
        profile = session.profile(ds.label, ds.prediction, ds.score, SHOWN_VALUES)
        if profile.rows == 0:
            raise manifest.error(f"no rows in {path.name}", ("datasets", "evaluation", "path"))
        positive_label, positive_prediction = positive_values(
            profile.label,
            profile.prediction,
            positive_label_token(manifest),
            manifest,
            (ds.label, ds.prediction),
            path.name,
        )
        check_groups(session, manifest, features, path.name)
        target = Target(
            label=ds.label,
            prediction=ds.prediction,
            score=ds.score,
            groupings=((), *groupings),
            positive_label=positive_label,
            positive_prediction=positive_prediction,
        )
        median = None
        if ds.score:
            where = ("datasets", "evaluation", "score")
            if profile.score_kind not in ("int", "float"):
                raise manifest.error(f"column {ds.score!r} of {path.name} is not numeric", where)
            if profile.score_invalid:
                raise manifest.error(
                    f"{profile.score_invalid} values of {ds.score!r} in {path.name} are missing or outside [0, 1]",
                    where,
                )
            low, high = session.order_statistics(ds.score, ((profile.rows - 1) // 2, profile.rows // 2))
            median = (low + high) / 2
        counted = session.counts(target, median)
        u2 = session.doubled_u(target) if ds.score else {}
    return Cohorts(
        engine=engine.name,
        rows=profile.rows,
        dialect=dataset.dialect,
        overall=np.array(counted[()][0].cells, dtype=np.int64),
        median=median,
        tables=tuple(_table(g, counted[g], u2.get(g), ds.score is not None) for g in groupings),
    )
