"""Explainability chapter (findings, the chart, the top features) and its appendix (every feature)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from govkit.report.charts import Bar, bar_chart
from govkit.report.rules import RulesInForce
from govkit.report.sections.common import area_findings, has_area
from govkit.report.sections.fairness import num
from govkit.report.sections.interface import ReportSection

CHART_FEATURES = 16
BODY_FEATURES = 10
COHORT_FEATURES = 5  # columns of the per-group attribution table


def _importance(m: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        {"feature": i["feature"], "mean_abs_shap": num(i["mean_abs_shap"], 4), "share": num(i["share"])}
        for i in m.get("importance") or []
    ]


class ExplainabilitySection(ReportSection):
    id = "explainability"
    title = "Explainability"
    order = 400
    template = "sections/explainability.html.j2"
    areas = frozenset({"explainability"})

    def applies(self, evaluation: Mapping[str, Any]) -> bool:
        return has_area(evaluation, "explainability")

    def context(self, evaluation: Mapping[str, Any], rules: RulesInForce) -> Mapping[str, Any]:
        m = evaluation["measurements"].get("explainability") or {}
        top = (m.get("importance") or [])[:CHART_FEATURES]
        return {
            "findings": area_findings(evaluation, "explainability", rules),
            "meta": m if top else None,
            "chart": bar_chart(
                [Bar(i["feature"], i["share"]) for i in top],
                title="Share of mean |SHAP| per feature",
                scale_max=max(i["share"] for i in top) or 1.0,
            )
            if top
            else None,
            "importance": _importance(m)[:BODY_FEATURES],
            "total": len(m.get("importance") or []),
        }


class FeaturesAppendix(ReportSection):
    id = "features"
    title = "Every feature's attribution"
    order = 400
    part = "appendix"
    template = "sections/features.html.j2"

    def applies(self, evaluation: Mapping[str, Any]) -> bool:
        return bool((evaluation["measurements"].get("explainability") or {}).get("importance"))

    def context(self, evaluation: Mapping[str, Any], rules: RulesInForce) -> Mapping[str, Any]:
        m = evaluation["measurements"]["explainability"]
        features = [i["feature"] for i in m["importance"][:COHORT_FEATURES]]
        return {
            "importance": _importance(m),
            "cohort_features": features,
            "cohorts": [
                {
                    "feature": c["feature"],
                    "groups": [
                        {"group": g["group"], "n": g["n"], "shares": [num(g["shares"].get(f)) for f in features]}
                        for g in c["groups"]
                    ],
                }
                for c in m.get("cohorts", [])
            ],
        }
