"""The explainability check: attributions measured once, limits judged by rules."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, cast

import numpy as np
from pydantic import Field

from govkit.checks.explainability.explain import explain, importance, stratified_sample
from govkit.checks.explainability.loading import load_model
from govkit.checks.explainability.measurement import (
    ClassImportance,
    CohortShares,
    ExplainabilityMeasurement,
    FeatureImportance,
    GroupShares,
    Stability,
)
from govkit.checks.interface import Check, CheckContext, Measurement, Outcome, OutcomeStatus, RuleParams
from govkit.checks.proxies import proxy_scores
from govkit.datasets import dataset_dialect, load_frame
from govkit.evaluation import AREA_TITLES

SAMPLE_ROWS = 5000
TIME_BUDGET_S = 120.0
TARGET_S = 15.0
SEED = 20240601
TOP_K = 5


class RequiredParams(RuleParams):
    sample_rows: int = Field(default=SAMPLE_ROWS, ge=50, json_schema_extra={"stricter": "higher"})
    time_budget_s: float = Field(
        default=TIME_BUDGET_S,
        gt=0,
        json_schema_extra={"stricter": "higher"},
        description="hard limit: past it the check reports error",
    )
    target_s: float = Field(
        default=TARGET_S,
        gt=0,
        json_schema_extra={"stricter": "higher"},
        description="soft limit: explain fewer rows when all of them would take longer",
    )


class ProtectedShareParams(RuleParams):
    max: float = Field(default=0.1, ge=0, le=1, json_schema_extra={"stricter": "lower"})
    proxy_threshold: float = Field(
        default=0.5,
        ge=0,
        le=1,
        json_schema_extra={"stricter": "lower"},
        description="features at least this associated with a sensitive attribute count",
    )
    proxies: tuple[str, ...] = Field(default=(), json_schema_extra={"stricter": "superset"})


class SingleFeatureParams(RuleParams):
    max: float = Field(default=0.5, ge=0, le=1, json_schema_extra={"stricter": "lower"})


class StabilityParams(RuleParams):
    min_tau: float = Field(default=0.6, ge=-1, le=1, json_schema_extra={"stricter": "higher"})


def _budget(ctx: CheckContext) -> tuple[int, float, float]:
    chosen = [p for _, p in ctx.params if isinstance(p, RequiredParams)]
    rows = max((p.sample_rows for p in chosen), default=SAMPLE_ROWS)
    budget = max((p.time_budget_s for p in chosen), default=TIME_BUDGET_S)
    target = max((p.target_s for p in chosen), default=TARGET_S)
    return rows, budget, target


def _check_features(manifest: Any, model: Any, features: list[str]) -> list[str]:
    """The model's own feature order; a mismatch with the manifest is the user's error (exit 2)."""
    names = getattr(model, "feature_names_in_", None)
    if names is None and hasattr(model, "feature_name"):  # a LightGBM Booster
        given = [str(n) for n in model.feature_name()]
        names = None if given == [f"Column_{i}" for i in range(len(given))] else given
        if names is None and len(given) != len(features):
            raise manifest.error(
                f"the model takes {len(given)} features, the manifest lists {len(features)}",
                ("datasets", "evaluation", "features"),
            )
    if names is not None:
        names = [str(n) for n in names]
        if set(names) != set(features):
            extra, missing = sorted(set(features) - set(names)), sorted(set(names) - set(features))
            raise manifest.error(
                f"features do not match the model (model lacks {extra}, manifest lacks {missing})",
                ("datasets", "evaluation", "features"),
            )
        return names
    expected = getattr(model, "n_features_in_", None)
    if expected is not None and expected != len(features):
        raise manifest.error(
            f"the model takes {expected} features, the manifest lists {len(features)}",
            ("datasets", "evaluation", "features"),
        )
    return features


def _shares(imp: np.ndarray) -> np.ndarray:
    """Each feature's share of the total mean |SHAP|."""
    total = imp.sum()
    return imp / total if total > 0 else imp


def _per_class(model: Any, values: np.ndarray, features: list[str]) -> list[ClassImportance]:
    """Each class's mean |SHAP| and shares (values: rows x features x classes, in the model's class order)."""
    labels = [str(c) for c in getattr(model, "classes_", range(values.shape[2]))]
    out: list[ClassImportance] = []
    for k, label in enumerate(labels[: values.shape[2]]):
        mean_abs = importance(values[:, :, k])
        shares = _shares(mean_abs)
        order = np.argsort(-shares, kind="stable")
        out.append(
            {
                "class": label,
                "importance": [
                    {"feature": features[i], "mean_abs_shap": float(mean_abs[i]), "share": float(shares[i])}
                    for i in order
                ],
            }
        )
    return out


class ExplainabilityCheck(Check):
    name = "explainability"
    title = AREA_TITLES["explainability"]
    rule_kinds: ClassVar[dict[str, type[RuleParams]]] = {
        "explainability.required": RequiredParams,
        "explainability.protected_attribution_share": ProtectedShareParams,
        "explainability.max_single_feature_share": SingleFeatureParams,
        "explainability.stability": StabilityParams,
    }

    def measure(self, ctx: CheckContext) -> Measurement:
        manifest = ctx.manifest
        spec = manifest.spec
        ds = spec.datasets.evaluation
        if ds is None:
            raise manifest.error("explainability needs the evaluation dataset", ("datasets", "evaluation"))
        loaded = load_model(manifest, trust_model=ctx.options.trust_model)
        features = _check_features(manifest, loaded.model, list(ds.features))
        sensitive = list(spec.sensitive_features)
        rows, budget, target = _budget(ctx)
        path = manifest.resolve(ds.path)
        frame = load_frame(
            path, [*features, *[s for s in sensitive if s not in features]], dataset_dialect(path, ds.format)
        )
        # Many models refuse NaN (and SHAP's masker passes it on): explain the complete rows, and say how many were not.
        incomplete = frame[features].isna().any(axis=1)
        if incomplete.all():
            raise manifest.error(
                f"every row of {Path(ds.path).name} misses a feature value; nothing to explain",
                ("datasets", "evaluation", "features"),
            )
        everything, frame = frame, frame[~incomplete]
        # shuffled, so that the rows explained first are a random part of the stratified sample
        sample = stratified_sample(frame, sensitive, rows, SEED).sample(frac=1.0, random_state=SEED)
        multiclass = spec.model.task == "multiclass-classification"
        try:
            attributions = explain(
                loaded.model, sample[features], budget_s=budget, target_s=target, every_class=multiclass
            )
        except (ValueError, TypeError, AttributeError) as exc:
            raise manifest.error(
                f"cannot explain this model ({type(loaded.model).__name__}): {exc}", ("model", "artifact")
            ) from None
        done = sample.iloc[: attributions.rows_done]
        values = attributions.values
        mean_abs = importance(values)
        shares = _shares(mean_abs)
        order = np.argsort(-shares, kind="stable")
        data: ExplainabilityMeasurement = {
            "model": {
                "class": type(loaded.model).__name__,
                "loaded_with": loaded.loaded_with,
                "trusted_by_flag": loaded.trusted_by_flag,
                "explainer": attributions.explainer,
            },
            "rows_with_missing_features": int(incomplete.sum()),
            "rows_requested": len(sample),
            "rows_planned": attributions.rows_planned,
            "rows_explained": attributions.rows_done,
            "seconds": round(attributions.seconds, 3),
            "target_s": target,
            "time_budget_s": budget,
            "complete": attributions.complete,
            "features": features,
            "importance": [
                {"feature": features[i], "mean_abs_shap": float(mean_abs[i]), "share": float(shares[i])} for i in order
            ],
            "top_k": [features[i] for i in order[:TOP_K]],
            "sensitive_in_model": [f for f in features if f in sensitive],
            "cohorts": self._cohorts(done, values, features, sensitive),
            "stability": self._stability(values, features),
            "associations": proxy_scores(manifest, everything),
        }
        if multiclass:
            data["classes"] = _per_class(loaded.model, values, features)
        return Measurement(self.name, data)

    @staticmethod
    def _cohorts(frame: Any, values: np.ndarray, features: list[str], sensitive: list[str]) -> list[CohortShares]:
        out: list[CohortShares] = []
        for attr in sensitive:
            keys = frame[attr].astype("string").fillna("Unknown").to_numpy()
            groups: list[GroupShares] = []
            for group in sorted(set(keys)):
                mask = keys == group
                shares = _shares(importance(values[mask]))
                groups.append(
                    {
                        "group": group,
                        "n": int(mask.sum()),
                        "shares": {f: round(float(s), 6) for f, s in zip(features, shares, strict=True)},
                    }
                )
            out.append({"feature": attr, "groups": groups})
        return out

    @staticmethod
    def _stability(values: np.ndarray, features: list[str]) -> Stability:
        """Rank agreement of feature importance between two random halves of the explained rows."""
        from scipy.stats import kendalltau

        if len(values) < 20:
            return {"kendall_tau": None, "top_k_overlap": None, "k": TOP_K}
        order = np.random.default_rng(SEED).permutation(len(values))
        a, b = importance(values[order[::2]]), importance(values[order[1::2]])
        tau = kendalltau(a, b).statistic if len(features) > 1 else 1.0
        k = min(TOP_K, len(features))
        top_a, top_b = set(np.argsort(-a)[:k]), set(np.argsort(-b)[:k])
        return {
            "kendall_tau": None if np.isnan(tau) else round(float(tau), 6),
            "top_k_overlap": len(top_a & top_b) / k,
            "k": k,
        }

    def locate(self, kind: str, subject: str) -> tuple[str | int, ...] | None:
        return ("model", "artifact")

    def judge(self, kind: str, params: RuleParams, measurement: Measurement) -> list[Outcome]:
        data = cast(ExplainabilityMeasurement, measurement.data)
        subject = f"model:{data['model']['class']}"
        if not data["complete"]:
            partial = ", ".join(data["top_k"])
            return [
                Outcome(
                    subject,
                    "error",
                    f"time budget of {data['time_budget_s']:.0f} s ran out after {data['rows_explained']:,} "
                    f"of {data['rows_requested']:,} rows ({data['model']['explainer']} explainer); "
                    f"partial top features: {partial}",
                )
            ]
        if isinstance(params, ProtectedShareParams | SingleFeatureParams) and "classes" in data:
            views = [(subject, data["importance"])]
            views += [(f"{subject} [class {c['class']}]", c["importance"]) for c in data["classes"]]
            return [self._judge_shares(params, data, view, importance) for view, importance in views]
        if isinstance(params, RequiredParams):
            reduced = (
                f" (of {data['rows_requested']:,} sampled: reduced to fit the {data['target_s']:.0f} s target)"
                if data["rows_planned"] < data["rows_requested"]
                else ""
            )
            return [
                Outcome(
                    subject,
                    "pass",
                    f"{data['model']['explainer']} explainer on {data['rows_explained']:,} rows{reduced} in "
                    f"{data['seconds']:.1f} s; top features: {', '.join(data['top_k'])}",
                    measured=data["rows_explained"],
                )
            ]
        if isinstance(params, ProtectedShareParams | SingleFeatureParams):
            return [self._judge_shares(params, data, subject, data["importance"])]
        assert isinstance(params, StabilityParams)
        stab = data["stability"]
        if stab["kendall_tau"] is None:
            return [Outcome(subject, "warn", "too few rows to measure stability")]
        status: OutcomeStatus = "fail" if stab["kendall_tau"] < params.min_tau else "pass"
        return [
            Outcome(
                subject,
                status,
                f"importance ranks of two halves of the sample: Kendall tau "
                f"{stab['kendall_tau']:.3f}, top-{stab['k']} overlap {stab['top_k_overlap']:.0%}",
                measured=stab["kendall_tau"],
                threshold=params.min_tau,
            )
        ]

    @staticmethod
    def _judge_shares(
        params: ProtectedShareParams | SingleFeatureParams,
        data: Mapping[str, Any],
        subject: str,
        ranked: list[FeatureImportance],
    ) -> Outcome:
        """A share limit on one importance list: the model's overall, or one class's of a multiclass model."""
        shares = {i["feature"]: i["share"] for i in ranked}
        if isinstance(params, ProtectedShareParams):
            proxies = {a["feature"] for a in data["associations"] if a["score"] >= params.proxy_threshold}
            counted = sorted(
                set(data["sensitive_in_model"]) | proxies | (set(params.proxies) & set(shares)),
                key=lambda f: -shares[f],
            )
            total = sum(shares[f] for f in counted)
            listed = ", ".join(f"{f} {shares[f]:.1%}" for f in counted) or "none"
            status: OutcomeStatus = "fail" if total > params.max else "pass"
            return Outcome(
                subject,
                status,
                f"share of |SHAP| on protected and proxy features {total:.1%} ({listed})",
                measured=round(total, 6),
                threshold={"max": params.max, "proxy_threshold": params.proxy_threshold},
            )
        top = ranked[0]
        status = "fail" if top["share"] > params.max else "pass"
        return Outcome(
            subject,
            status,
            f"largest single-feature share: {top['feature']} {top['share']:.1%}",
            measured=round(top["share"], 6),
            threshold=params.max,
        )
