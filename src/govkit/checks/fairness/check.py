"""The fairness check: measure per-cohort metrics once; rules judge gaps with their own thresholds."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from itertools import combinations
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer, model_validator

from govkit.checks.fairness.cohorts import CohortTable, measure_cohorts, positive_label_token
from govkit.checks.fairness.engines.interface import MOMENTS, CohortEngine
from govkit.checks.fairness.engines.registry import auto_engine, load_engine
from govkit.checks.fairness.metrics import (
    FN,
    FP,
    RATES,
    SUMMARIES,
    TN,
    TP,
    GapTest,
    Method,
    bootstrap_counts,
    divide,
    gap_significance,
    rate_parts,
    rates,
    summaries,
    wilson,
    z_for,
)
from govkit.checks.fairness.regression import MEAN_OF, mean_and_variance, welch
from govkit.checks.interface import Check, CheckContext, Measurement, Outcome, OutcomeStatus, RuleParams
from govkit.datasets import dataset_bytes
from govkit.errors import PolicyError

DEFAULT_MIN_GROUP_SIZE = 30
CONFIDENCE = 0.95
BOOTSTRAP_RESAMPLES = 1000
BOOTSTRAP_SEED = 20240601
GroupMetric = Literal[
    "selection_rate",
    "tpr",
    "fpr",
    "fnr",
    "precision",
    "accuracy",
    "auc",
    "scoring_rate",
    "mean_prediction",
    "mean_target",
    "mean_error",
    "mae",
    "rmse",
    "r2",
]


class FairnessParams(RuleParams):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, serialize_by_alias=True)

    sensitive_features: tuple[str, ...] | None = Field(
        default=None,
        json_schema_extra={"stricter": "superset-or-all"},
        description="features to judge; absent = every sensitive feature in the manifest",
    )
    intersectional: bool = Field(
        default=True,
        json_schema_extra={"stricter": [False, True]},
        description="judge intersections of the features too",
    )
    min_group_size: int = Field(
        default=DEFAULT_MIN_GROUP_SIZE,
        ge=1,
        json_schema_extra={"stricter": "lower"},
        description="smaller groups are reported but left out of the judgement",
    )
    require_significance: bool = Field(
        default=False,
        json_schema_extra={"stricter": [True, False]},
        description="a gap over the threshold fails only if significant",
    )
    alpha: float = Field(default=0.05, gt=0, lt=1, json_schema_extra={"stricter": "higher"})
    method: Literal["between_groups", "to_overall"] = "between_groups"
    class_: str | int | bool | None = Field(
        default=None,
        alias="class",
        description="multiclass: judge this class against the rest (absent: the favourable classes, else every class)",
    )

    @model_serializer(mode="wrap")
    def _without_absent_class(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """An absent `class` is left out of the resolved policy, so binary rules resolve (and digest) as before."""
        data: dict[str, Any] = handler(self)
        if data.get("class") is None:
            data.pop("class", None)
        return data


class MaxParams(FairnessParams):
    max: float = Field(ge=0, json_schema_extra={"stricter": "lower"})


class MinParams(FairnessParams):
    min: float = Field(ge=0, le=1, json_schema_extra={"stricter": "higher"})


class BoundedLossParams(FairnessParams):
    """fairlearn's bounded group loss: every group's loss at most `max` (regression)."""

    loss: Literal["mae", "mse", "rmse"] = "mae"
    max: float = Field(ge=0, json_schema_extra={"stricter": "lower"})


class GroupMetricParams(FairnessParams):
    metric: GroupMetric
    max_difference: float | None = Field(default=None, ge=0, json_schema_extra={"stricter": "lower"})
    min_ratio: float | None = Field(default=None, ge=0, le=1, json_schema_extra={"stricter": "higher"})

    @model_validator(mode="after")
    def _a_threshold(self) -> GroupMetricParams:
        if self.max_difference is None and self.min_ratio is None:
            raise ValueError("give max_difference or min_ratio")
        return self


def _floats(values: np.ndarray) -> list[float | None]:
    return [None if not np.isfinite(v) else float(v) for v in values]


def _groupings(features: tuple[str, ...]) -> list[tuple[str, ...]]:
    """Each feature alone, then every intersection of them."""
    return [combo for k in range(1, len(features) + 1) for combo in combinations(features, k)]


def _validate(ctx: CheckContext) -> None:
    manifest = ctx.manifest
    spec = manifest.spec
    ds = spec.datasets.evaluation
    if ds is None:
        raise manifest.error("required by the fairness rules but not declared", ("datasets", "evaluation"))
    if not spec.sensitive_features:
        raise manifest.error("fairness rules need at least one sensitive feature", ("sensitive_features",))
    for kind, params in ctx.params:
        assert isinstance(params, FairnessParams)
        unknown = set(params.sensitive_features or ()) - set(spec.sensitive_features)
        if unknown:
            raise PolicyError(
                f"rule {kind} judges {sorted(unknown)}, which the manifest's sensitive_features do not list",
                file=manifest.path,
                field="sensitive_features",
            )
    _check_classes(ctx)


def _engine(ctx: CheckContext) -> CohortEngine:
    engine = ctx.options.engine
    if engine == "auto":
        ds = ctx.manifest.spec.datasets.evaluation
        assert ds is not None
        engine = auto_engine(dataset_bytes(ctx.manifest.resolve(ds.path)), ctx.options.duckdb_above)
    return load_engine(engine)


def _check_classes(ctx: CheckContext) -> None:
    """A rule's `class` names a declared class of a multiclass model; `bounded_group_loss` needs a regression."""
    from govkit.manifest import class_tokens

    manifest = ctx.manifest
    task = manifest.spec.model.task
    for kind, params in ctx.params:
        assert isinstance(params, FairnessParams)
        if params.class_ is not None:
            if task != "multiclass-classification":
                raise PolicyError(
                    f"rule {kind} names a class, but model.task is {task}", file=manifest.path, field="model.task"
                )
            if _class_text(params.class_) not in class_tokens(manifest):
                raise PolicyError(
                    f"rule {kind} names class {params.class_!r}, which datasets.evaluation.classes does not list",
                    file=manifest.path,
                    field="datasets.evaluation.classes",
                )
        if kind == "fairness.bounded_group_loss" and task != "regression":
            raise PolicyError(
                f"rule {kind} judges a regression, but model.task is {task}", file=manifest.path, field="model.task"
            )


def _class_text(value: str | int | bool) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _table_json(table: CohortTable, z: float) -> dict[str, Any]:
    counts = table.counts
    n = counts.sum(axis=1)
    values = rates(counts)
    parts = rate_parts(counts)
    eligible = n >= DEFAULT_MIN_GROUP_SIZE
    sr = values["selection_rate"]
    top = np.nanmax(sr[eligible]) if eligible.any() and np.isfinite(sr[eligible]).any() else np.nan
    impact = divide(sr, np.full(len(sr), top if np.isfinite(top) else 0.0))  # undefined when no group selects
    extra: dict[str, np.ndarray] = {}
    if table.doubled_u is not None:
        extra["auc"] = divide(table.doubled_u, 2 * (counts[:, FN] + counts[:, TP]) * (counts[:, TN] + counts[:, FP]))
    if table.above_median is not None:
        extra["scoring_rate"] = divide(table.above_median, n)
    groups = []
    for i in range(len(table.groups)):
        entry: dict[str, Any] = {
            "group": table.label(i),
            "key": dict(zip(table.features, table.groups[i], strict=True)),
            "n": int(n[i]),
            "tn": int(counts[i, 0]),
            "fp": int(counts[i, 1]),
            "fn": int(counts[i, 2]),
            "tp": int(counts[i, 3]),
        }
        for name in RATES:
            lo, hi = wilson(parts[name][0][i], parts[name][1][i], z)
            entry[name] = _floats(values[name][i : i + 1])[0]
            entry[f"{name}_ci"] = _floats(np.array([lo, hi]))
        for name, arr in extra.items():
            entry[name] = _floats(arr[i : i + 1])[0]
        entry["impact_ratio"] = _floats(impact[i : i + 1])[0]
        entry["small"] = bool(not eligible[i])
        groups.append(entry)
    return {
        "feature": table.name,
        "features": list(table.features),
        "unknown_count": table.unknown_count,
        "groups": groups,
        "summary": _summary_json(table, DEFAULT_MIN_GROUP_SIZE),
    }


def _summary_json(table: CohortTable, min_group_size: int) -> dict[str, Any]:
    n = table.counts.sum(axis=1)
    keep = n >= min_group_size
    out: dict[str, Any] = {
        "method": "between_groups",
        "min_group_size": min_group_size,
        "excluded_groups": [table.label(int(i)) for i in np.flatnonzero(~keep)],
        "confidence": CONFIDENCE,
        "bootstrap_resamples": BOOTSTRAP_RESAMPLES,
    }
    if keep.sum() < 2:
        out["note"] = f"fewer than two groups with n >= {min_group_size}; no summary"
        return out
    counts = table.counts[keep]
    point = summaries(counts, "between_groups")
    boot = summaries(bootstrap_counts(counts, BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED), "between_groups")
    tail = (1 - CONFIDENCE) / 2 * 100
    for name in SUMMARIES:
        with np.errstate(all="ignore"):
            lo, hi = (
                np.nanpercentile(boot[name], [tail, 100 - tail]) if np.isfinite(boot[name]).any() else (np.nan, np.nan)
            )
        out[name] = {"value": _floats(np.atleast_1d(point[name]))[0], "ci": _floats(np.array([lo, hi]))}
    return out


@dataclass(frozen=True)
class Gap:
    value: float
    high: str
    high_value: float
    low: str
    low_value: float
    high_parts: tuple[int, int] | None
    low_parts: tuple[int, int] | None


def _gap(
    table: dict[str, Any],
    metric: str,
    kind: Literal["difference", "ratio"],
    method: Method,
    keep: list[dict[str, Any]],
    overall: dict[str, Any],
) -> Gap | None:
    """The summary value of `metric` over the kept groups, with the pair of groups that set it."""
    rows = [g for g in keep if g.get(metric) is not None]
    if len(rows) < 2:
        return None
    counted = metric in RATES

    def parts(g: dict[str, Any]) -> tuple[int, int] | None:
        if not counted:
            return None
        num, den = rate_parts(np.array([g["tn"], g["fp"], g["fn"], g["tp"]]))[metric]
        return int(num), int(den)

    if method == "between_groups":
        hi = max(rows, key=lambda g: g[metric])
        lo = min(rows, key=lambda g: g[metric])
        value = (
            hi[metric] - lo[metric]
            if kind == "difference"
            else (lo[metric] / hi[metric] if hi[metric] > 0 else float("nan"))
        )
        return Gap(value, hi["group"], hi[metric], lo["group"], lo[metric], parts(hi), parts(lo))
    base = overall[metric]
    if base is None:
        return None
    if kind == "difference":
        worst = max(rows, key=lambda g: abs(g[metric] - base))
        value = abs(worst[metric] - base)
    else:

        def r(g: dict[str, Any]) -> float:
            x = g[metric] / base if base > 0 else float("nan")
            return 1 / x if x > 1 else x

        worst = min(rows, key=r)
        value = r(worst)
    total = parts(overall)
    mine = parts(worst)
    rest = (total[0] - mine[0], total[1] - mine[1]) if total and mine else None
    return Gap(value, worst["group"], worst[metric], "overall", base, mine, rest)


def comparisons(groups: int, method: Method) -> int:
    """How many tests the reported pair was chosen from: every pair of groups, or every group against the rest.

    The pair that sets the gap is the most extreme of them, so its p-value is multiplied by this count
    (Bonferroni): unadjusted, chance alone makes the extreme pair of 20 or more intersectional groups
    "significant" in most samples, and require_significance would not stop noise failing a model.
    """
    return groups * (groups - 1) // 2 if method == "between_groups" else groups


RULE_METRIC: dict[str, tuple[tuple[str, ...], Literal["difference", "ratio"]]] = {
    "fairness.demographic_parity_difference": (("selection_rate",), "difference"),
    "fairness.demographic_parity_ratio": (("selection_rate",), "ratio"),
    "fairness.equalized_odds_difference": (("tpr", "fpr"), "difference"),
    "fairness.equal_opportunity_difference": (("tpr",), "difference"),
}


class FairnessCheck(Check):
    name = "fairness"
    title = "Cohort fairness"
    rule_kinds: ClassVar[dict[str, type[RuleParams]]] = {
        "fairness.demographic_parity_difference": MaxParams,
        "fairness.demographic_parity_ratio": MinParams,
        "fairness.equalized_odds_difference": MaxParams,
        "fairness.equal_opportunity_difference": MaxParams,
        "fairness.group_metric": GroupMetricParams,
        "fairness.bounded_group_loss": BoundedLossParams,
    }

    def measure(self, ctx: CheckContext) -> Measurement:
        _validate(ctx)
        groupings = _groupings(tuple(ctx.manifest.spec.sensitive_features))
        if ctx.manifest.spec.model.task != "binary-classification":
            from govkit.checks.fairness.task_json import measure_task

            return Measurement(self.name, measure_task(ctx.manifest, _engine(ctx), groupings))
        cohorts = measure_cohorts(_engine(ctx), ctx.manifest, groupings)
        z = z_for(CONFIDENCE)
        total = cohorts.overall
        overall = {name: _floats(np.atleast_1d(v))[0] for name, v in rates(total).items()}
        overall.update(
            {"n": int(total.sum()), "tn": int(total[0]), "fp": int(total[1]), "fn": int(total[2]), "tp": int(total[3])}
        )
        ds = ctx.manifest.spec.datasets.evaluation
        assert ds is not None
        return Measurement(
            self.name,
            {
                "rows": cohorts.rows,
                "engine": cohorts.engine,
                "label": ds.label,
                "prediction": ds.prediction,
                "score": ds.score,
                "median_score": cohorts.median,
                "positive_label": positive_label_token(ctx.manifest),
                "dialect": cohorts.dialect.as_json() if cohorts.dialect else None,
                "confidence": CONFIDENCE,
                "interval": "wilson",
                "overall": overall,
                "tables": [_table_json(t, z) for t in cohorts.tables],
            },
        )

    def judge(self, kind: str, params: RuleParams, measurement: Measurement) -> list[Outcome]:
        assert isinstance(params, FairnessParams)
        data = measurement.data
        task = data.get("task", "binary-classification")
        wanted = set(params.sensitive_features or ())
        outcomes = []
        for table in data["tables"]:
            features = set(table["features"])
            if (wanted and not features <= wanted) or (len(features) > 1 and not params.intersectional):
                continue
            if task == "multiclass-classification":
                outcomes += [
                    self._judge_table(kind, params, view, overall, task)
                    for view, overall in _class_views(params, table, data)
                ]
            elif isinstance(params, BoundedLossParams):
                outcomes.append(_bounded_loss(params, table))
            else:
                outcomes.append(self._judge_table(kind, params, table, data["overall"], task))
        return outcomes

    def locate(self, kind: str, subject: str) -> tuple[str | int, ...] | None:
        return ("sensitive_features",)

    def _judge_table(
        self,
        kind: str,
        p: FairnessParams,
        table: dict[str, Any],
        overall: dict[str, Any],
        task: str = "binary-classification",
    ) -> Outcome:
        keep = [g for g in table["groups"] if g["n"] >= p.min_group_size]
        small = len(table["groups"]) - len(keep)
        note = f"; {small} group(s) under n={p.min_group_size} left out" if small else ""
        checks: list[tuple[tuple[str, ...], Literal["difference", "ratio"], float]] = []
        if isinstance(p, GroupMetricParams):
            if p.max_difference is not None:
                checks.append(((p.metric,), "difference", p.max_difference))
            if p.min_ratio is not None:
                checks.append(((p.metric,), "ratio", p.min_ratio))
        else:
            metrics, how = RULE_METRIC[kind]
            assert isinstance(p, MaxParams | MinParams)
            checks.append((metrics, how, p.max if isinstance(p, MaxParams) else p.min))
        if task != "binary-classification":
            for metric in {m for metrics, _, _ in checks for m in metrics}:
                if all(g.get(metric) is None for g in table["groups"]):
                    return Outcome(
                        table["feature"],
                        "error",
                        f"{table['feature']}: {metric} is not measured for this {task} model"
                        + (" (declare datasets.evaluation.favourable_outcome)" if metric in RATES else ""),
                    )
        candidates = []
        for metrics, how, limit in checks:
            for metric in metrics:
                gap = _gap(table, metric, how, p.method, keep, overall)
                if gap is not None:
                    excess = gap.value - limit if how == "difference" else limit - gap.value
                    candidates.append((excess, gap, metric, how, limit))
        if not candidates:
            return Outcome(
                table["feature"],
                "warn",
                f"{table['feature']}: fewer than two groups with n >= {p.min_group_size} and a defined "
                f"value; nothing to compare{note}",
            )
        excess, gap, metric, how, limit = max(candidates, key=lambda c: c[0])
        bad = excess > 0
        op = ">" if how == "difference" else "<"
        ok_op = "<=" if how == "difference" else ">="
        pair = f"{metric} {gap.high} {gap.high_value:.4f} vs {gap.low} {gap.low_value:.4f}: {how} {gap.value:.4f}"
        threshold = {("max" if how == "difference" else "min"): limit, "metric": metric, "method": p.method}
        sig = ""
        significant = True
        test: GapTest | None = None
        if gap.high_parts and gap.low_parts:
            test = gap_significance(*gap.high_parts, *gap.low_parts)
        elif metric in MEAN_OF and "sums" in table["groups"][0]:
            test = _welch_gap(table, overall, gap, metric)
        elif p.require_significance:
            sig = f" (no significance test for {metric})"
        if test is not None:
            compared = comparisons(sum(1 for g in keep if g.get(metric) is not None), p.method)
            adjusted = min(1.0, test.p_value * compared)
            significant = adjusted < p.alpha
            sig = f" ({test.test} p={test.p_value:.3g})"
            if compared > 1:
                sig = f" ({test.test} p={test.p_value:.3g}; Bonferroni over {compared} comparisons: p={adjusted:.3g})"
        if not bad:
            return Outcome(
                table["feature"],
                "pass",
                f"{table['feature']}: {pair} {ok_op} {limit}{sig}{note}",
                measured=gap.value,
                threshold=threshold,
            )
        if p.require_significance and not significant:
            return Outcome(
                table["feature"],
                "warn",
                f"{table['feature']}: {pair} {op} {limit} but not significant at alpha={p.alpha}{sig}{note}",
                measured=gap.value,
                threshold=threshold,
            )
        return Outcome(
            table["feature"],
            "fail",
            f"{table['feature']}: {pair} {op} {limit}{sig}{note}",
            measured=gap.value,
            threshold=threshold,
        )


def _class_views(
    p: FairnessParams, table: dict[str, Any], data: Mapping[str, Any]
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """The binary tables a multiclass rule judges: its class, else the favourable classes, else every class."""
    if p.class_ is not None:
        chosen = [_class_text(p.class_)]
    elif "favourable" in table:
        view = {**table["favourable"], "feature": f"{table['feature']} [favourable]"}
        return [(view, data["overall"]["favourable"])]
    else:
        chosen = list(table["classes"])
    return [
        ({**table["classes"][c], "feature": f"{table['feature']} [class {c}]"}, data["overall"]["classes"][c])
        for c in chosen
    ]


def _group_stats(entry: dict[str, Any], metric: str) -> tuple[float, float, int]:
    """A group's mean and per-row variance of the quantity behind `metric`, from its recorded sums."""
    sums = np.array([[entry["sums"][m] for m in MOMENTS]])
    mean, variance = mean_and_variance(np.array([entry["n"]]), sums, metric)
    return float(mean[0]), float(variance[0]), int(entry["n"])


def _welch_gap(table: dict[str, Any], overall: dict[str, Any], gap: Gap, metric: str) -> GapTest | None:
    """Welch's t-test between the two groups that set the gap (a group against the rest for to_overall)."""
    by_name = {g["group"]: g for g in table["groups"]}
    high = by_name[gap.high]
    if gap.low == "overall":
        rest = {"n": overall["n"] - high["n"], "sums": {m: overall["sums"][m] - high["sums"][m] for m in MOMENTS}}
        low = rest
    else:
        low = by_name[gap.low]
    return welch(*_group_stats(high, metric), *_group_stats(low, metric))


def _bounded_loss(p: BoundedLossParams, table: dict[str, Any]) -> Outcome:
    """fairlearn's bounded group loss: the worst kept group's loss against the bound."""
    keep = [g for g in table["groups"] if g["n"] >= p.min_group_size]
    if not keep:
        return Outcome(table["feature"], "warn", f"{table['feature']}: no group with n >= {p.min_group_size}")

    def loss(g: dict[str, Any]) -> float:
        if p.loss == "mae":
            return float(g["mae"])
        mse = g["sums"]["e2"] / g["n"]
        return float(mse if p.loss == "mse" else np.sqrt(mse))

    worst = max(keep, key=loss)
    value = loss(worst)
    status: OutcomeStatus = "fail" if value > p.max else "pass"
    op = ">" if status == "fail" else "<="
    return Outcome(
        table["feature"],
        status,
        f"{table['feature']}: worst group loss {p.loss} {worst['group']} {value:.4f} {op} {p.max}",
        measured=value,
        threshold={"max": p.max, "loss": p.loss},
    )
