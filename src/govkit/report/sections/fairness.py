"""Fairness chapter (findings, charts, the groups that matter) and its appendix (every group).

The body keeps to the groups an officer must see: the highest and lowest of each judged rate among
the groups large enough to judge, and the smallest groups; every group of every table is in the
appendix, so 200 intersections never push the findings off the first pages.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from markupsafe import Markup

from govkit.report.charts import Bar, bar_chart
from govkit.report.rules import RulesInForce
from govkit.report.sections.common import area_findings, has_area
from govkit.report.sections.interface import ReportSection

CHART_MAX_GROUPS = 16
BODY_MAX_GROUPS = 8  # a table with more groups shows a selection in the body and all of them in the appendix
FOUR_FIFTHS = 0.8
SHOWN_RATES = ("selection_rate", "tpr", "fpr")
SUMMARY_LABELS = {
    "demographic_parity_difference": "Demographic parity difference",
    "demographic_parity_ratio": "Demographic parity ratio",
    "equalized_odds_difference": "Equalized odds difference",
    "equalized_odds_ratio": "Equalized odds ratio",
    "equal_opportunity_difference": "Equal opportunity difference",
    "equal_opportunity_ratio": "Equal opportunity ratio",
}


def num(v: Any, digits: int = 3) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def interval(ci: Sequence[float | None] | None) -> str:
    if not ci or ci[0] is None or ci[1] is None:
        return ""
    return f"[{ci[0]:.3f}, {ci[1]:.3f}]"


def group_row(g: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "group": g["group"],
        "n": g["n"],
        "small": g["small"],
        "selection_rate": num(g["selection_rate"]),
        "selection_rate_ci": interval(g["selection_rate_ci"]),
        "tpr": num(g["tpr"]),
        "tpr_ci": interval(g["tpr_ci"]),
        "fpr": num(g["fpr"]),
        "fpr_ci": interval(g["fpr_ci"]),
        "accuracy": num(g["accuracy"]),
        "impact_ratio": num(g["impact_ratio"]),
        "auc": num(g.get("auc")),
    }


def groups_that_matter(groups: Sequence[Mapping[str, Any]], limit: int = BODY_MAX_GROUPS) -> list[Mapping[str, Any]]:
    """The extremes of each shown rate among judged groups, then the smallest groups, in table order."""
    if len(groups) <= limit:
        return list(groups)
    judged = [g for g in groups if not g["small"]]
    picked: list[str] = []
    for metric in SHOWN_RATES:
        rated = [g for g in judged if g.get(metric) is not None]
        if rated:
            picked += [min(rated, key=lambda g: g[metric])["group"], max(rated, key=lambda g: g[metric])["group"]]
    picked += [g["group"] for g in sorted(groups, key=lambda g: g["n"])[:2]]
    chosen = set(list(dict.fromkeys(picked))[:limit])
    return [g for g in groups if g["group"] in chosen]


def _bar(g: Mapping[str, Any]) -> Bar:
    low, high = g["selection_rate_ci"] or (None, None)
    return Bar(g["group"], g["selection_rate"], low, high, muted=g["small"])


def _chart(table: Mapping[str, Any]) -> Markup | None:
    groups = table["groups"]
    if len(groups) > CHART_MAX_GROUPS:
        return None
    eligible = [g["selection_rate"] for g in groups if not g["small"] and g["selection_rate"] is not None]
    top = max(eligible) if eligible else None
    return bar_chart(
        [_bar(g) for g in groups],
        title=f"Selection rate by {table['feature']} (95% interval)",
        reference=top * FOUR_FIFTHS if top else None,
        reference_label="four-fifths of the highest rate",
        scale_max=1.0,
    )


def _min_group_size(m: Mapping[str, Any] | None) -> int | None:
    tables = (m or {}).get("tables") or [{}]
    size = tables[0].get("summary", {}).get("min_group_size")
    return int(size) if size is not None else None


class FairnessSection(ReportSection):
    id = "fairness"
    title = "Cohort fairness"
    order = 300
    template = "sections/fairness.html.j2"
    areas = frozenset({"fairness"})

    def applies(self, evaluation: Mapping[str, Any]) -> bool:
        return has_area(evaluation, "fairness")

    def context(self, evaluation: Mapping[str, Any], rules: RulesInForce) -> Mapping[str, Any]:
        m = evaluation["measurements"].get("fairness")
        tables = []
        for table in (m or {}).get("tables", []):
            summary = table.get("summary", {})
            shown = groups_that_matter(table["groups"])
            tables.append(
                {
                    "feature": table["feature"],
                    "unknown_count": table["unknown_count"],
                    "chart": _chart(table),
                    "summary": [
                        {"label": label, "value": num(summary[key]["value"]), "ci": interval(summary[key]["ci"])}
                        for key, label in SUMMARY_LABELS.items()
                        if key in summary
                    ],
                    "total": len(table["groups"]),
                    "groups": [group_row(g) for g in shown],
                }
            )
        return {
            "findings": area_findings(evaluation, "fairness", rules),
            "meta": m,
            "min_group_size": _min_group_size(m),
            "tables": tables,
        }


class FairnessGroupsAppendix(ReportSection):
    id = "fairness-groups"
    title = "Every cohort group"
    order = 300
    part = "appendix"
    template = "sections/fairness_groups.html.j2"

    def applies(self, evaluation: Mapping[str, Any]) -> bool:
        m = evaluation["measurements"].get("fairness") or {}
        return any(len(t["groups"]) > BODY_MAX_GROUPS for t in m.get("tables", []))

    def context(self, evaluation: Mapping[str, Any], rules: RulesInForce) -> Mapping[str, Any]:
        m = evaluation["measurements"]["fairness"]
        return {
            "tables": [
                {"feature": t["feature"], "groups": [group_row(g) for g in t["groups"]]}
                for t in m["tables"]
                if len(t["groups"]) > BODY_MAX_GROUPS
            ]
        }
