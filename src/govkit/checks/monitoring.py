"""The monitoring check: production data, window by window, against a reference profile.

Rules of this check run under `govkit monitor` (purpose "monitor"), not under `govkit check`.
Each window with fewer than `monitoring.min_rows` rows gets one `warn` outcome per rule saying
why it was not judged: a skipped window is never a silent pass. Passing windows get one summary
outcome; each failing (window, column) gets its own, so a waiver can name exactly one.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar, Literal, cast

import numpy as np
from pydantic import Field, model_validator

from govkit.checks.fairness.metrics import summaries
from govkit.checks.interface import Check, CheckContext, Measurement, Outcome, OutcomeStatus, RuleParams
from govkit.errors import PolicyError
from govkit.evaluation import AREA_TITLES
from govkit.monitoring.drift import DEFAULT_THRESHOLDS, P_VALUE_MEASURES, drifted
from govkit.monitoring.measurement import ColumnComparison, MonitoringMeasurement, Schema, Window

Measure = Literal["auto", "psi", "ks", "wasserstein", "jensenshannon", "chisquare"]
NUMERIC_ONLY = frozenset({"ks", "wasserstein"})
LOWER_IS_BETTER = frozenset({"fpr", "fnr"})
FAIRNESS_METRICS = (
    "demographic_parity_difference",
    "demographic_parity_ratio",
    "equalized_odds_difference",
    "equalized_odds_ratio",
    "equal_opportunity_difference",
    "equal_opportunity_ratio",
)


class DriftParams(RuleParams):
    measure: Measure = Field(
        default="auto",
        description="auto: by column type and reference size "
        "(docs/monitoring.md); ks and wasserstein apply to numeric columns only",
    )
    max_distance: float | None = Field(
        default=None,
        ge=0,
        json_schema_extra={"stricter": "lower"},
        description="drift above this for psi, wasserstein, jensenshannon",
    )
    min_p_value: float | None = Field(
        default=None,
        gt=0,
        lt=1,
        json_schema_extra={"stricter": "higher"},
        description="drift below this p-value for ks and chisquare",
    )
    cohorts: bool = Field(
        default=False,
        json_schema_extra={"stricter": [False, True]},
        description="also compare each cohort with the same cohort of the reference",
    )

    def threshold(self, measure: str) -> float:
        given = self.min_p_value if measure in P_VALUE_MEASURES else self.max_distance
        return given if given is not None else DEFAULT_THRESHOLDS[measure]


class FeatureDriftParams(DriftParams):
    features: tuple[str, ...] | None = Field(
        default=None, json_schema_extra={"stricter": "superset-or-all"}, description="absent: every watched feature"
    )


class DatasetDriftParams(FeatureDriftParams):
    max_share: float = Field(
        default=0.5,
        ge=0,
        le=1,
        json_schema_extra={"stricter": "lower"},
        description="a window fails when more than this share of features drifted",
    )


class PredictionDriftParams(DriftParams):
    column: Literal["auto", "score", "prediction"] = "auto"


class SchemaParams(RuleParams):
    missing: Literal["warn", "fail"] = Field(default="fail", json_schema_extra={"stricter": ["warn", "fail"]})
    new: Literal["ignore", "warn", "fail"] = Field(
        default="warn", json_schema_extra={"stricter": ["ignore", "warn", "fail"]}
    )
    type_change: Literal["warn", "fail"] = Field(default="fail", json_schema_extra={"stricter": ["warn", "fail"]})


class DataQualityParams(RuleParams):
    features: tuple[str, ...] | None = Field(default=None, json_schema_extra={"stricter": "superset-or-all"})
    max_missing_increase: float = Field(
        default=0.05,
        ge=0,
        le=1,
        json_schema_extra={"stricter": "lower"},
        description="missing rate may rise at most this much over the reference",
    )
    max_out_of_range: float = Field(
        default=0.05,
        ge=0,
        le=1,
        json_schema_extra={"stricter": "lower"},
        description="share of numeric values outside the reference [min, max]",
    )
    max_unseen: float = Field(
        default=0.01,
        ge=0,
        le=1,
        json_schema_extra={"stricter": "lower"},
        description="share of categorical values the reference never had",
    )


class PerformanceParams(RuleParams):
    metric: Literal["accuracy", "tpr", "fpr", "fnr", "precision", "selection_rate"]
    min: float | None = Field(default=None, ge=0, le=1, json_schema_extra={"stricter": "higher"})
    max: float | None = Field(default=None, ge=0, le=1, json_schema_extra={"stricter": "lower"})
    max_drop: float | None = Field(
        default=None,
        ge=0,
        le=1,
        json_schema_extra={"stricter": "lower"},
        description="largest worsening from the reference's value",
    )
    cohorts: bool = Field(default=True, json_schema_extra={"stricter": [False, True]})
    min_group_size: int = Field(
        default=30,
        ge=1,
        json_schema_extra={"stricter": "lower"},
        description="fewer labelled rows: reported, not judged",
    )

    @model_validator(mode="after")
    def _a_threshold(self) -> PerformanceParams:
        if self.min is None and self.max is None and self.max_drop is None:
            raise ValueError("give min, max or max_drop")
        return self


class FairnessParams(RuleParams):
    metric: Literal[FAIRNESS_METRICS]  # type: ignore[valid-type]
    max: float | None = Field(default=None, ge=0, json_schema_extra={"stricter": "lower"})
    min: float | None = Field(default=None, ge=0, le=1, json_schema_extra={"stricter": "higher"})
    sensitive_features: tuple[str, ...] | None = Field(default=None, json_schema_extra={"stricter": "superset-or-all"})
    min_group_size: int = Field(default=30, ge=1, json_schema_extra={"stricter": "lower"})

    @model_validator(mode="after")
    def _a_threshold(self) -> FairnessParams:
        if (self.max is None) == (self.min is None):
            raise ValueError("give max (differences) or min (ratios)")
        return self


def _fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.4g}"


def cohort_fairness(window: Window, feature: str, min_group_size: int) -> tuple[dict[str, float | None], int] | None:
    """The fairness summaries of one window between the groups of `feature` with enough labelled rows
    (None when fewer than two): what `monitoring.fairness` judges and what the report draws."""
    groups = [
        c
        for c in window["cohorts"]
        if c["feature"] == feature and c["performance"] and c["performance"]["labelled"] >= min_group_size
    ]
    if len(groups) < 2:
        return None
    counts = np.array([g["performance"]["cells"] for g in groups if g["performance"]], dtype=np.int64)
    values = {k: float(v) if np.isfinite(v) else None for k, v in summaries(counts, "between_groups").items()}
    return values, len(groups)


def _judged(data: MonitoringMeasurement) -> Iterator[tuple[Window, Outcome | None]]:
    """Each window, or a warn outcome for a window that was skipped."""
    for w in data["windows"]:
        if w["skipped"]:
            yield (
                w,
                Outcome(
                    w["window"],
                    "warn",
                    f"{w['window']}: not judged ({w['skipped']})",
                    measured=w["rows"],
                    threshold={"min_rows": data["min_rows"]},
                ),
            )
        else:
            yield w, None


def _performance_problems(p: PerformanceParams, value: float | None, base: float | None) -> list[str]:
    """How a performance value breaks the rule's limits (none when it is missing)."""
    if value is None:
        return []
    problems = []
    if p.min is not None and value < p.min:
        problems.append(f"< min {p.min}")
    if p.max is not None and value > p.max:
        problems.append(f"> max {p.max}")
    if p.max_drop is not None and base is not None:
        worse = (value - base) if p.metric in LOWER_IS_BETTER else (base - value)
        if worse > p.max_drop:
            problems.append(f"worse than the reference {base:.4f} by {worse:.4f} > {p.max_drop}")
    return problems


def _closeness(result: tuple[str, str, float | None, float, bool | None]) -> float:
    """How near a judged (column, measure, value, threshold, drifted) result came to drifting."""
    value = result[2]
    assert value is not None  # judged results have a value
    return -value if result[1] in P_VALUE_MEASURES else value


class MonitoringCheck(Check):
    name = "monitoring"
    title = AREA_TITLES["monitoring"]
    purpose = "monitor"
    rule_kinds: ClassVar[dict[str, type[RuleParams]]] = {
        "drift.feature": FeatureDriftParams,
        "drift.dataset": DatasetDriftParams,
        "drift.prediction": PredictionDriftParams,
        "monitoring.schema": SchemaParams,
        "monitoring.data_quality": DataQualityParams,
        "monitoring.performance": PerformanceParams,
        "monitoring.fairness": FairnessParams,
    }

    def measure(self, ctx: CheckContext) -> Measurement:
        from govkit.monitoring.measure import build_measurement, count_production, load_reference

        task = ctx.manifest.spec.model.task
        for kind, _ in ctx.params:
            if kind in ("monitoring.performance", "monitoring.fairness") and task != "binary-classification":
                raise PolicyError(
                    f"rule {kind} judges a binary classifier's confusion counts; model.task is {task} "
                    "(watch drift.prediction and drift.feature instead)",
                    file=ctx.manifest.path,
                    field="model.task",
                )
        trusted = ctx.options.extra.get("monitoring.trusted_profiles")
        ref = load_reference(ctx.manifest, trusted)
        slices, kinds, columns = count_production(ctx.manifest, ref, ctx.options.engine, ctx.options.duckdb_above)
        cohort_drift = any(isinstance(p, DriftParams) and p.cohorts for _, p in ctx.params)
        return Measurement(self.name, build_measurement(ctx.manifest, ref, slices, kinds, columns, cohort_drift))

    def locate(self, kind: str, subject: str) -> tuple[str | int, ...] | None:
        return ("monitoring",)

    def judge(self, kind: str, params: RuleParams, measurement: Measurement) -> list[Outcome]:
        data = cast(MonitoringMeasurement, measurement.data)
        if kind == "monitoring.schema":
            assert isinstance(params, SchemaParams)
            return [self._schema(params, data["schema"])]
        out: list[Outcome] = []
        for window, skipped in _judged(data):
            if skipped is not None:
                out.append(skipped)
            elif kind in ("drift.feature", "drift.dataset", "drift.prediction"):
                assert isinstance(params, DriftParams)
                out += self._drift(kind, params, data, window)
            elif kind == "monitoring.data_quality":
                assert isinstance(params, DataQualityParams)
                out += self._quality(params, data, window)
            elif kind == "monitoring.performance":
                assert isinstance(params, PerformanceParams)
                out += self._performance(params, data, window)
            else:
                assert isinstance(params, FairnessParams)
                out += self._fairness(params, window)
        return out

    # --- schema -------------------------------------------------------------------------------
    def _schema(self, p: SchemaParams, schema: Schema) -> Outcome:
        problems: list[tuple[str, str]] = []
        if schema["missing"]:
            problems.append((p.missing, f"missing column(s) {', '.join(schema['missing'])}"))
        for change in schema["type_changes"]:
            problems.append(
                (p.type_change, f"{change['column']} changed type from {change['reference']} to {change['production']}")
            )
        if schema["new"] and p.new != "ignore":
            problems.append((p.new, f"new column(s) {', '.join(schema['new'])}"))
        if not problems:
            return Outcome("schema", "pass", "production columns and types match the reference", measured=schema)
        status: OutcomeStatus = "fail" if any(s == "fail" for s, _ in problems) else "warn"
        return Outcome("schema", status, "; ".join(m for _, m in problems), measured=schema)

    # --- drift --------------------------------------------------------------------------------
    def _columns(self, kind: str, p: DriftParams, data: MonitoringMeasurement) -> list[str]:
        ref = data["reference"]["columns"]
        roles = data["roles"]
        if kind == "drift.prediction":
            assert isinstance(p, PredictionDriftParams)
            order = {"auto": ("score", "prediction"), "score": ("score",), "prediction": ("prediction",)}[p.column]
            return [roles[r] for r in order if roles.get(r) in ref][:1]
        assert isinstance(p, FeatureDriftParams)
        return [c for c in (p.features or roles["features"]) if c in ref]

    def _measure_of(self, p: DriftParams, column: dict[str, Any]) -> str:
        if p.measure == "auto" or (p.measure in NUMERIC_ONLY and column["type"] != "numeric"):
            return str(column["default_measure"])
        return p.measure

    def _one(
        self, p: DriftParams, data: MonitoringMeasurement, name: str, compared: ColumnComparison | None
    ) -> tuple[str, float | None, float, bool | None]:
        measure = self._measure_of(p, data["reference"]["columns"][name])
        value = compared["measures"].get(measure) if compared else None
        threshold = p.threshold(measure)
        return measure, value, threshold, drifted(measure, value, threshold)

    def _drift(self, kind: str, p: DriftParams, data: MonitoringMeasurement, w: Window) -> list[Outcome]:
        names = self._columns(kind, p, data)
        if not names:
            return [Outcome(w["window"], "warn", f"{w['window']}: no column to compare (not in the reference)")]
        scopes = [(w["window"], w["columns"])]
        if p.cohorts:
            scopes += [
                (f"{w['window']} {c['feature']}={c['group']}", c["columns"]) for c in w["cohorts"] if "columns" in c
            ]
        out: list[Outcome] = []
        for scope, columns in scopes:
            results = [(n, *self._one(p, data, n, columns.get(n))) for n in names]
            bad = [r for r in results if r[4]]
            judged = [r for r in results if r[4] is not None]
            if kind == "drift.dataset":
                assert isinstance(p, DatasetDriftParams)
                share = len(bad) / len(judged) if judged else 0.0
                listed = ", ".join(f"{n} ({m} {_fmt(v)})" for n, m, v, _, _ in bad) or "none"
                status: OutcomeStatus = "fail" if share > p.max_share else "pass"
                out.append(
                    Outcome(
                        scope,
                        status,
                        f"{scope}: {len(bad)} of {len(judged)} features drifted "
                        f"(share {share:.2f}, max {p.max_share}): {listed}",
                        measured=share,
                        threshold={"max_share": p.max_share},
                    )
                )
                continue
            for n, m, v, t, _ in bad:
                op = "<" if m in P_VALUE_MEASURES else ">"
                out.append(
                    Outcome(
                        f"{scope} {n}",
                        "fail",
                        f"{scope}: {n} drifted: {m} {_fmt(v)} {op} {t}",
                        measured=v,
                        threshold={"measure": m, "threshold": t},
                    )
                )
            if not bad:
                worst = max(judged, key=_closeness, default=None)
                detail = f"; closest: {worst[0]} {worst[1]} {_fmt(worst[2])}" if worst else ""
                out.append(
                    Outcome(
                        scope,
                        "pass",
                        f"{scope}: {len(judged)} column(s), none drifted{detail}",
                        threshold={m: t for _, m, _, t, _ in results},
                    )
                )
        return out

    # --- data quality -------------------------------------------------------------------------
    def _quality(self, p: DataQualityParams, data: MonitoringMeasurement, w: Window) -> list[Outcome]:
        names = [c for c in (p.features or data["roles"]["features"]) if c in w["columns"]]
        out = []
        for n in names:
            col = w["columns"][n]
            if col is None:
                continue
            issues = []
            if (col["missing_increase"] or 0) > p.max_missing_increase:
                issues.append(
                    f"missing rate {col['missing_rate']:.3f} rose by {col['missing_increase']:.3f} "
                    f"(max {p.max_missing_increase})"
                )
            if (col.get("out_of_range") or 0) > p.max_out_of_range:
                issues.append(
                    f"{col['out_of_range']:.3f} of values outside the reference range (max {p.max_out_of_range})"
                )
            if (col.get("unseen") or 0) > p.max_unseen:
                shown = ", ".join(list(col["unseen_values"])[:5])
                issues.append(
                    f"{col['unseen']:.3f} of values are categories the reference never had ({shown}; "
                    f"max {p.max_unseen})"
                )
            if issues:
                out.append(
                    Outcome(
                        f"{w['window']} {n}",
                        "fail",
                        f"{w['window']}: {n}: " + "; ".join(issues),
                        measured={k: col.get(k) for k in ("missing_rate", "out_of_range", "unseen")},
                    )
                )
        if not out:
            out.append(
                Outcome(w["window"], "pass", f"{w['window']}: {len(names)} column(s) within the data quality limits")
            )
        return out

    # --- performance --------------------------------------------------------------------------
    def _performance(self, p: PerformanceParams, data: MonitoringMeasurement, w: Window) -> list[Outcome]:
        ref_perf = data["reference"]["performance"] or {}
        scopes = [(w["window"], "overall", w.get("performance"), data["min_rows"])]
        if p.cohorts:
            scopes += [
                (
                    f"{w['window']} {c['feature']}={c['group']}",
                    f"{c['feature']}={c['group']}",
                    c["performance"],
                    p.min_group_size,
                )
                for c in w["cohorts"]
            ]
        threshold = {
            **{k: getattr(p, k) for k in ("min", "max", "max_drop") if getattr(p, k) is not None},
            "metric": p.metric,
        }
        fails, passes, notes = [], [], []
        for subject, ref_key, perf, needed in scopes:
            if perf is None:
                return [Outcome(subject, "warn", f"{subject}: no label and prediction columns; not judged")]
            if perf["labelled"] < needed:
                if ref_key == "overall":
                    return [
                        Outcome(
                            subject,
                            "warn",
                            f"{subject}: {perf['labelled']} labelled rows < {needed}; "
                            "not judged (labels may not have arrived yet)",
                        )
                    ]
                notes.append(ref_key)
                continue
            value = perf[p.metric]
            base = (ref_perf.get(ref_key) or {}).get(p.metric)
            problems = _performance_problems(p, value, base)
            message = f"{subject}: {p.metric} {_fmt(value)} on {perf['labelled']} labelled rows"
            if base is not None:
                message += f" (reference {base:.4f})"
            if problems:
                fails.append(
                    Outcome(subject, "fail", message + ": " + "; ".join(problems), measured=value, threshold=threshold)
                )
            else:
                passes.append((ref_key, value))
        if fails:
            return fails
        overall = next((v for k, v in passes if k == "overall"), None)
        small = f"; {len(notes)} cohort(s) under {p.min_group_size} labelled rows not judged" if notes else ""
        return [
            Outcome(
                w["window"],
                "pass",
                f"{w['window']}: {p.metric} {_fmt(overall)}; {len(passes) - 1} cohort(s) within the limits{small}",
                measured=overall,
                threshold=threshold,
            )
        ]

    # --- fairness -----------------------------------------------------------------------------
    def _fairness(self, p: FairnessParams, w: Window) -> list[Outcome]:
        features = sorted({c["feature"] for c in w["cohorts"]})
        out = []
        for feature in features:
            if p.sensitive_features and feature not in p.sensitive_features:
                continue
            subject = f"{w['window']} {feature}"
            judged = cohort_fairness(w, feature, p.min_group_size)
            if judged is None:
                out.append(
                    Outcome(
                        subject,
                        "warn",
                        f"{subject}: fewer than two groups with {p.min_group_size} labelled rows; not judged",
                    )
                )
                continue
            values, n_groups = judged
            v = values[p.metric]
            limit = p.max if p.max is not None else p.min
            bad = v is not None and ((p.max is not None and v > p.max) or (p.min is not None and v < p.min))
            op = (">" if p.max is not None else "<") if bad else ("<=" if p.max is not None else ">=")
            out.append(
                Outcome(
                    subject,
                    "fail" if bad else "pass",
                    f"{subject}: {p.metric} {_fmt(v)} {op} {limit} over {n_groups} groups",
                    measured=v,
                    threshold={"max" if p.max is not None else "min": limit, "metric": p.metric},
                )
            )
        return out
