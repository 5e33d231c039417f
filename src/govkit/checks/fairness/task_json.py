"""The fairness measurement of a regression or a multiclass model, as the evaluation records it.

Regression groups keep the binary fields the LL144 summary and the report read (n, scoring_rate,
and with a favourable_outcome the confusion cells, rates and impact ratio), plus the regression
metrics and the group's sufficient statistics (`sums`), so anyone holding the evaluation can
recompute every number. Multiclass tables hold each group's confusion matrix and, per class, the
binary table of that class against the rest (the same JSON as a binary model's table).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from govkit.checks.fairness.check import (
    BOOTSTRAP_RESAMPLES,
    BOOTSTRAP_SEED,
    CONFIDENCE,
    DEFAULT_MIN_GROUP_SIZE,
    _floats,
    _table_json,
)
from govkit.checks.fairness.cohorts import CohortTable
from govkit.checks.fairness.engines.interface import MOMENTS, CohortEngine, Grouping
from govkit.checks.fairness.metrics import RATES, SUMMARIES, divide, rates, z_for
from govkit.checks.fairness.regression import (
    RATIO_METRICS,
    REGRESSION_METRICS,
    bootstrap_means,
    regression_values,
    spread,
)
from govkit.checks.fairness.tasks import (
    MulticlassCohorts,
    MulticlassTable,
    RegressionTable,
    measure_multiclass,
    measure_regression,
)
from govkit.manifest import LoadedManifest

BINARY_ONLY = ("tn", "fp", "fn", "tp", "impact_ratio", *RATES, *(f"{r}_ci" for r in RATES))


def _one(value: Any) -> float | None:
    return _floats(np.atleast_1d(np.asarray(value, dtype=float)))[0]


def _interval(draws: np.ndarray) -> list[float | None]:
    tail = (1 - CONFIDENCE) / 2 * 100
    finite = draws[np.isfinite(draws)]
    if not len(finite):
        return [None, None]
    return _floats(np.percentile(finite, [tail, 100 - tail]))


def regression_summary(n: np.ndarray, sums: np.ndarray, labels: Sequence[str], min_group_size: int) -> dict[str, Any]:
    """Between-group differences (ratios too, for losses) with parametric-bootstrap intervals; the worst loss."""
    keep = n >= min_group_size
    out: dict[str, Any] = {
        "method": "between_groups",
        "min_group_size": min_group_size,
        "excluded_groups": [labels[int(i)] for i in np.flatnonzero(~keep)],
        "confidence": CONFIDENCE,
        "bootstrap_resamples": BOOTSTRAP_RESAMPLES,
        "bootstrap": "parametric: each group's mean drawn from Normal(mean, variance / n)",
    }
    if keep.sum() < 2:
        out["note"] = f"fewer than two groups with n >= {min_group_size}; no summary"
        return out
    n, sums = n[keep], sums[keep]
    values = regression_values(n, sums)
    boot = bootstrap_means(n, sums, BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED)
    for metric in REGRESSION_METRICS:
        for kind in ("difference", "ratio") if metric in RATIO_METRICS else ("difference",):
            entry: dict[str, Any] = {"value": _one(spread(values[metric], kind))}
            entry["ci"] = _interval(spread(boot[metric], kind)) if metric in boot else [None, None]
            out[f"{metric}_{kind}"] = entry
    mse = divide(sums[:, MOMENTS.index("e2")], n)
    out["worst_group_mae"] = _one(np.nanmax(values["mae"]))
    out["worst_group_mse"] = _one(np.nanmax(mse))
    return out


def _regression_table(table: RegressionTable, thresholded: bool, z: float) -> dict[str, Any]:
    """The binary table JSON of the threshold's cells (rates only with a threshold), plus the regression metrics
    and sums of every group and the between-group regression summary."""
    cohort = CohortTable(table.features, table.groups, table.counts, table.unknown_count, None, table.above_median)
    entry = _table_json(cohort, z)
    values = regression_values(table.n, table.sums)
    for i, group in enumerate(entry["groups"]):
        if not thresholded:
            for key in BINARY_ONLY:
                group.pop(key, None)
        for metric in REGRESSION_METRICS:
            group[metric] = _floats(values[metric][i : i + 1])[0]
        group["sums"] = {m: float(v) for m, v in zip(MOMENTS, table.sums[i], strict=True)}
    if not thresholded:
        del entry["summary"]
    labels = [table.label(i) for i in range(len(table.groups))]
    entry["regression_summary"] = regression_summary(table.n, table.sums, labels, DEFAULT_MIN_GROUP_SIZE)
    return entry


def _regression_json(manifest: LoadedManifest, engine: CohortEngine, groupings: Sequence[Grouping]) -> dict[str, Any]:
    cohorts = measure_regression(engine, manifest, groupings)
    ds = manifest.spec.datasets.evaluation
    assert ds is not None
    z = z_for(CONFIDENCE)
    thresholded = cohorts.threshold is not None
    overall = _regression_table(cohorts.overall, thresholded, z)["groups"][0]
    for key in ("group", "key", "small", "impact_ratio", *(f"{r}_ci" for r in RATES)):
        overall.pop(key, None)
    return {
        "task": "regression",
        "rows": cohorts.rows,
        "engine": cohorts.engine,
        "label": ds.label,
        "prediction": ds.prediction,
        "score": ds.prediction,  # the LL144 scoring rate ranks the predicted value
        "median_score": cohorts.median,
        "favourable_outcome": (
            {"operator": cohorts.threshold.operator, "value": cohorts.threshold.bound} if cohorts.threshold else None
        ),
        "dialect": cohorts.dialect.as_json() if cohorts.dialect else None,
        "confidence": CONFIDENCE,
        "interval": "wilson",
        "overall": overall,
        "tables": [_regression_table(t, thresholded, z) for t in cohorts.tables],
    }


def _overall_binary(table: CohortTable) -> dict[str, Any]:
    total = table.counts.sum(axis=0)
    out: dict[str, Any] = {name: _one(v) for name, v in rates(total).items()}
    out.update(
        {"n": int(total.sum()), "tn": int(total[0]), "fp": int(total[1]), "fn": int(total[2]), "tp": int(total[3])}
    )
    return out


def _views(cohorts: MulticlassCohorts, table: MulticlassTable) -> dict[str, CohortTable]:
    return {label: table.one_vs_rest([k]) for k, label in enumerate(cohorts.classes)}


def _multiclass_table(cohorts: MulticlassCohorts, table: MulticlassTable, z: float) -> dict[str, Any]:
    n = table.matrices.sum(axis=(1, 2))
    correct = np.trace(table.matrices, axis1=1, axis2=2)
    accuracy = divide(correct, n)
    per_class = {label: _table_json(view, z) for label, view in _views(cohorts, table).items()}
    macro = {}
    for name in SUMMARIES:
        values = [c["summary"].get(name, {}).get("value") for c in per_class.values()]
        defined = [v for v in values if v is not None]
        macro[name] = float(np.mean(defined)) if defined else None
    out: dict[str, Any] = {
        "feature": " & ".join(table.features),
        "features": list(table.features),
        "unknown_count": table.unknown_count,
        "groups": [
            {
                "group": " & ".join(key),
                "key": dict(zip(table.features, key, strict=True)),
                "n": int(n[i]),
                "confusion": table.matrices[i].tolist(),
                "accuracy": _floats(accuracy[i : i + 1])[0],
                "small": bool(n[i] < DEFAULT_MIN_GROUP_SIZE),
            }
            for i, key in enumerate(table.groups)
        ],
        "classes": per_class,
        "macro": macro,
    }
    if cohorts.favourable:
        out["favourable"] = _table_json(table.one_vs_rest(cohorts.favourable), z)
    return out


def _multiclass_json(manifest: LoadedManifest, engine: CohortEngine, groupings: Sequence[Grouping]) -> dict[str, Any]:
    cohorts = measure_multiclass(engine, manifest, groupings)
    ds = manifest.spec.datasets.evaluation
    assert ds is not None
    z = z_for(CONFIDENCE)
    overall_views = _views(cohorts, cohorts.overall)
    overall: dict[str, Any] = {
        "n": int(cohorts.overall.matrices.sum()),
        "confusion": cohorts.overall.matrices[0].tolist(),
        "accuracy": _one(divide(np.trace(cohorts.overall.matrices[0]), cohorts.overall.matrices.sum())),
        "classes": {label: _overall_binary(view) for label, view in overall_views.items()},
    }
    if cohorts.favourable:
        overall["favourable"] = _overall_binary(cohorts.overall.one_vs_rest(cohorts.favourable))
    return {
        "task": "multiclass-classification",
        "rows": cohorts.rows,
        "engine": cohorts.engine,
        "label": ds.label,
        "prediction": ds.prediction,
        "score": None,
        "classes": list(cohorts.classes),
        "favourable_classes": [cohorts.classes[k] for k in cohorts.favourable],
        "dialect": cohorts.dialect.as_json() if cohorts.dialect else None,
        "confidence": CONFIDENCE,
        "interval": "wilson",
        "overall": overall,
        "tables": [_multiclass_table(cohorts, t, z) for t in cohorts.tables],
    }


def measure_task(manifest: LoadedManifest, engine: CohortEngine, groupings: Sequence[Grouping]) -> dict[str, Any]:
    if manifest.spec.model.task == "regression":
        return _regression_json(manifest, engine, groupings)
    return _multiclass_json(manifest, engine, groupings)
