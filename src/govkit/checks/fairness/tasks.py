"""Cohort tables of regressions and multiclass models, measured through the same engines as binary ones.

Regression: per group, n and the sums of a few powers of the target, the prediction and the
error (the engines' `moments`), from which `regression.py` derives every metric; with a
`favourable_outcome` threshold the engines also count confusion cells of "prediction passes the
threshold" against "target passes it", so selection rates and the binary rules apply. The
prediction doubles as the score of the LL144 scoring rate (share above the sample median).

Multiclass: per group, the K x K confusion matrix; class k against the rest is a binary table
(tn, fp, fn, tp), so each class gets the binary metrics, intervals and summaries unchanged, and
the favourable classes together form one more binary table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from govkit.checks.fairness.cohorts import (
    MAX_GROUPS,
    CohortTable,
    check_groups,
    evaluation_dataset,
    means,
    shown,
)
from govkit.checks.fairness.engines.interface import (
    MOMENTS,
    UNKNOWN,
    CohortEngine,
    ColumnProfile,
    Grouping,
    Target,
    Threshold,
)
from govkit.datasets import Dialect
from govkit.manifest import LoadedManifest, class_tokens

MAX_CLASSES = MAX_GROUPS
FAVOURABLE = "favourable"


@dataclass(frozen=True)
class RegressionTable:
    features: tuple[str, ...]
    groups: tuple[tuple[str, ...], ...]
    n: np.ndarray  # (G,)
    sums: np.ndarray  # (G, len(MOMENTS))
    unknown_count: int
    counts: np.ndarray  # (G, 4) cells of "passes the threshold" (all tn without one)
    above_median: np.ndarray  # (G,) predictions above the sample median

    @property
    def name(self) -> str:
        return " & ".join(self.features)

    def label(self, i: int) -> str:
        return " & ".join(self.groups[i])


@dataclass(frozen=True)
class RegressionCohorts:
    engine: str
    rows: int
    dialect: Dialect | None
    overall: RegressionTable  # one group, ()
    median: float
    threshold: Threshold | None
    tables: tuple[RegressionTable, ...]


def _unknown(groups: Sequence[tuple[str, ...]], n: np.ndarray) -> int:
    return int(sum(int(n[i]) for i, key in enumerate(groups) if UNKNOWN in key))


def measure_regression(
    engine: CohortEngine, manifest: LoadedManifest, groupings: Sequence[Grouping]
) -> RegressionCohorts:
    ds = manifest.spec.datasets.evaluation
    assert ds is not None
    dataset = evaluation_dataset(manifest)
    file = dataset.path.name
    features = list(dict.fromkeys(f for g in groupings for f in g))
    threshold = (
        Threshold(ds.favourable_outcome.operator, ds.favourable_outcome.value) if ds.favourable_outcome else None
    )
    with engine.open(dataset, [ds.label, ds.prediction, *features]) as session:
        numeric = session.numeric_invalid([ds.label, ds.prediction])
        for key, column in (("label", ds.label), ("prediction", ds.prediction)):
            kind, invalid = numeric[column]
            where = ("datasets", "evaluation", key)
            if kind not in ("int", "float"):
                raise manifest.error(f"column {column!r} of {file} is not numeric (a regression needs numbers)", where)
            if invalid:
                raise manifest.error(f"{invalid} values of {column!r} in {file} are missing, NaN or infinite", where)
        check_groups(session, manifest, features, file)
        all_groupings = ((), *groupings)
        moments = session.moments(ds.label, ds.prediction, all_groupings)
        rows = moments[()][0].n if moments[()] else 0
        if rows == 0:
            raise manifest.error(f"no rows in {file}", ("datasets", "evaluation", "path"))
        low, high = session.order_statistics(ds.prediction, ((rows - 1) // 2, rows // 2))
        median = (low + high) / 2
        target = Target(
            label=ds.label,
            prediction=ds.prediction,
            positive_label=None,
            positive_prediction=None,
            score=ds.prediction,
            groupings=all_groupings,
            threshold=threshold,
        )
        counted = session.counts(target, median)

    def table(grouping: Grouping) -> RegressionTable:
        stats = sorted(moments[grouping], key=lambda g: g.key)
        cells = {g.key: g for g in counted[grouping]}
        n = np.array([g.n for g in stats], dtype=np.int64)
        keys = tuple(g.key for g in stats)
        return RegressionTable(
            features=grouping,
            groups=keys,
            n=n,
            sums=np.array([g.sums for g in stats], dtype=float).reshape(-1, len(MOMENTS)),
            unknown_count=_unknown(keys, n),
            counts=np.array([cells[k].cells for k in keys], dtype=np.int64).reshape(-1, 4),
            above_median=np.array([cells[k].above_median for k in keys], dtype=np.int64),
        )

    return RegressionCohorts(
        engine=engine.name,
        rows=rows,
        dialect=dataset.dialect,
        overall=table(()),
        median=median,
        threshold=threshold,
        tables=tuple(table(g) for g in groupings),
    )


@dataclass(frozen=True)
class MulticlassTable:
    features: tuple[str, ...]
    groups: tuple[tuple[str, ...], ...]
    matrices: np.ndarray  # (G, K, K): [true class][predicted class]
    unknown_count: int

    def one_vs_rest(self, classes: Sequence[int]) -> CohortTable:
        """The binary table of "in `classes`" against the rest: the tn, fp, fn, tp of every group."""
        inside = np.zeros(self.matrices.shape[1], dtype=bool)
        inside[list(classes)] = True
        m = self.matrices
        tp = m[:, inside][:, :, inside].sum(axis=(1, 2))
        fn = m[:, inside][:, :, ~inside].sum(axis=(1, 2))
        fp = m[:, ~inside][:, :, inside].sum(axis=(1, 2))
        tn = m[:, ~inside][:, :, ~inside].sum(axis=(1, 2))
        return CohortTable(
            features=self.features,
            groups=self.groups,
            counts=np.stack([tn, fp, fn, tp], axis=1).astype(np.int64),
            unknown_count=self.unknown_count,
            doubled_u=None,
            above_median=None,
        )


@dataclass(frozen=True)
class MulticlassCohorts:
    engine: str
    rows: int
    dialect: Dialect | None
    classes: tuple[str, ...]  # as written in the manifest
    favourable: tuple[int, ...]  # indexes into classes
    overall: MulticlassTable
    tables: tuple[MulticlassTable, ...]


def _class_values(
    profile: ColumnProfile, tokens: Sequence[str], manifest: LoadedManifest, key: str, column: str, file: str
) -> list[Any]:
    """Per declared class, the column's own value that means it (None: it never occurs); refuses strays."""
    where = ("datasets", "evaluation", key)
    if profile.missing:
        raise manifest.error(f"{profile.missing} missing values in column {column!r} of {file}", where)
    if profile.more:
        raise manifest.error(f"column {column!r} of {file} holds more than {MAX_CLASSES} distinct values", where)
    matched: list[Any] = [None] * len(tokens)
    for value in profile.values:
        hits = [i for i, token in enumerate(tokens) if means(value, token)]
        if not hits:
            raise manifest.error(
                f"column {column!r} of {file} holds {value!r}, which is not a declared class "
                f"(classes: {', '.join(tokens)})",
                where,
            )
        matched[hits[0]] = value
    return matched


def measure_multiclass(
    engine: CohortEngine, manifest: LoadedManifest, groupings: Sequence[Grouping]
) -> MulticlassCohorts:
    ds = manifest.spec.datasets.evaluation
    assert ds is not None
    dataset = evaluation_dataset(manifest)
    file = dataset.path.name
    features = list(dict.fromkeys(f for g in groupings for f in g))
    tokens = class_tokens(manifest)
    with engine.open(dataset, [ds.label, ds.prediction, *features]) as session:
        profile = session.profile(ds.label, ds.prediction, None, MAX_CLASSES)
        if profile.rows == 0:
            raise manifest.error(f"no rows in {file}", ("datasets", "evaluation", "path"))
        label_values = _class_values(profile.label, tokens, manifest, "label", ds.label, file)
        prediction_values = _class_values(profile.prediction, tokens, manifest, "prediction", ds.prediction, file)
        if sum(v is not None for v in label_values) < 2:
            raise manifest.error(
                f"column {ds.label!r} of {file} holds one class ({shown([v for v in label_values if v is not None])})"
                "; rates per group need at least two",
                ("datasets", "evaluation", "label"),
            )
        check_groups(session, manifest, features, file)
        counted = session.class_counts((ds.label, label_values), (ds.prediction, prediction_values), ((), *groupings))
    k = len(tokens)

    def table(grouping: Grouping) -> MulticlassTable:
        groups = sorted(counted[grouping], key=lambda g: g.key)
        keys = tuple(g.key for g in groups)
        matrices = np.array([g.cells for g in groups], dtype=np.int64).reshape(-1, k, k)
        return MulticlassTable(grouping, keys, matrices, _unknown(keys, matrices.sum(axis=(1, 2))))

    favourable = set(class_tokens(manifest, "favourable_classes"))
    return MulticlassCohorts(
        engine=engine.name,
        rows=profile.rows,
        dialect=dataset.dialect,
        classes=tuple(tokens),
        favourable=tuple(i for i, t in enumerate(tokens) if t in favourable),
        overall=table(()),
        tables=tuple(table(g) for g in groupings),
    )
