"""Turn a recorded evaluation into the plain values the report template shows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from markupsafe import Markup

from govkit.evaluation import AREA_TITLES, STATUSES
from govkit.formats.common import value as fmt_value
from govkit.report.charts import Bar, bar_chart
from govkit.report.monitoring import monitoring_section
from govkit.report.tasks import class_attributions, task_fairness

SUMMARY_LABELS = {
    "demographic_parity_difference": "Demographic parity difference",
    "demographic_parity_ratio": "Demographic parity ratio",
    "equalized_odds_difference": "Equalized odds difference",
    "equalized_odds_ratio": "Equalized odds ratio",
    "equal_opportunity_difference": "Equal opportunity difference",
    "equal_opportunity_ratio": "Equal opportunity ratio",
}
CHART_MAX_GROUPS = 16
FOUR_FIFTHS = 0.8


@dataclass(frozen=True)
class SignoffBlock:
    """What a compliance officer decided, shown on the sign-off page."""

    signer: str
    role: str
    decision: str
    conditions: str
    time: str
    entry_seq: int
    checkpoint_size: int
    checkpoint_root: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


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


def _findings_by_area(findings: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    areas: dict[str, list[Mapping[str, Any]]] = {}
    for f in findings:
        areas.setdefault(f["area"], []).append(f)
    out = []
    for area, items in areas.items():
        items = sorted(items, key=lambda f: (not f["blocking"], STATUSES.index(f["status"]), f["rule_id"]))
        out.append(
            {
                "area": area,
                "title": AREA_TITLES.get(area, area.title()),
                "findings": [
                    {**f, "measured_text": fmt_value(f["measured"]), "threshold_text": fmt_value(f["threshold"])}
                    for f in items
                ],
            }
        )
    return out


def _rate_bar(group: Mapping[str, Any]) -> Bar:
    low, high = group["selection_rate_ci"] or (None, None)
    return Bar(group["group"], group["selection_rate"], low, high, muted=group["small"])


def _fairness(measurement: Mapping[str, Any]) -> list[dict[str, Any]]:
    tables = []
    for table in measurement["tables"]:
        groups = table["groups"]
        chart: Markup | None = None
        if len(groups) <= CHART_MAX_GROUPS:
            eligible = [g["selection_rate"] for g in groups if not g["small"] and g["selection_rate"] is not None]
            top = max(eligible) if eligible else None
            chart = bar_chart(
                [_rate_bar(g) for g in groups],
                title=f"Selection rate by {table['feature']} (95% interval)",
                reference=top * FOUR_FIFTHS if top else None,
                reference_label="four-fifths of the highest rate",
                scale_max=1.0,
            )
        summary = table.get("summary", {})
        tables.append(
            {
                "feature": table["feature"],
                "unknown_count": table["unknown_count"],
                "intersection": len(table["features"]) > 1,
                "chart": chart,
                "summary": [
                    {"label": label, "value": num(summary[key]["value"]), "ci": interval(summary[key]["ci"])}
                    for key, label in SUMMARY_LABELS.items()
                    if key in summary
                ],
                "excluded": summary.get("excluded_groups", []),
                "min_group_size": summary.get("min_group_size"),
                "groups": [
                    {
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
                        "scoring_rate": num(g.get("scoring_rate")),
                    }
                    for g in groups
                ],
            }
        )
    return tables


def _explainability(m: Mapping[str, Any]) -> dict[str, Any]:
    top = m["importance"][:CHART_MAX_GROUPS]
    features = [i["feature"] for i in top[:5]]  # the full list is in the importance table
    return {
        "meta": m,
        "chart": bar_chart(
            [Bar(i["feature"], i["share"]) for i in top],
            title="Share of mean |SHAP| per feature",
            scale_max=max(i["share"] for i in top) or 1.0,
        ),
        "importance": [
            {"feature": i["feature"], "mean_abs_shap": num(i["mean_abs_shap"], 4), "share": num(i["share"])}
            for i in m["importance"]
        ],
        "cohort_features": features,
        "cohorts": [
            {
                "feature": c["feature"],
                "groups": [
                    {"group": g["group"], "n": g["n"], "shares": [num(g["shares"].get(f)) for f in features]}
                    for g in c["groups"]
                ],
            }
            for c in m["cohorts"]
        ],
    }


def _privacy(m: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for name, info in m.get("datasets", {}).items():
        for c in info["columns"]:
            if c["share"] >= 0.2 or c["free_text_share"] >= 0.05 or c["column"] in info["declared"]:
                kind = c["best"] if c["share"] >= c["free_text_share"] else f"free text ({', '.join(c['embedded'])})"
                rows.append(
                    {
                        "dataset": name,
                        "column": c["column"],
                        "type": kind or "—",
                        "share": f"{max(c['share'], c['free_text_share']):.0%}",
                        "scanned": c["scanned"],
                        "declared": c["column"] in info["declared"],
                        "examples": ", ".join(c["examples"]),
                    }
                )
    return rows


def build_context(
    evaluation: Mapping[str, Any],
    digest: str,
    *,
    trail: Sequence[Mapping[str, Any]],
    checkpoint: Mapping[str, Any] | None,
    signoff: SignoffBlock | None,
    paper: str,
) -> dict[str, Any]:
    findings = evaluation["findings"]
    measurements = evaluation["measurements"]
    blocking = [f for f in findings if f["blocking"]]
    attention = [f for f in findings if f["status"] in ("fail", "warn", "error") and not f["blocking"]]
    monitoring = monitoring_section(evaluation)
    known = {"license", "fairness", "explainability", "privacy", *(["monitoring"] if monitoring else [])}
    return {
        "paper": paper,
        "ev": evaluation,
        "digest": digest,
        "model": evaluation["model"],
        "verdict": evaluation["verdict"],
        "counts": [(status, n) for status, n in evaluation["counts"].items() if n],
        "blocking": blocking,
        "attention": attention,
        "waivers": evaluation["waivers"],
        "areas": _findings_by_area(findings),
        "fairness": _fairness(measurements["fairness"])
        if "fairness" in measurements and "task" not in measurements["fairness"]
        else None,
        "fairness_task": task_fairness(measurements.get("fairness")),
        "explain_classes": class_attributions(measurements.get("explainability")),
        "fairness_meta": measurements.get("fairness"),
        "licences": measurements.get("license", {}).get("components"),
        "explainability": _explainability(measurements["explainability"])
        if measurements.get("explainability", {}).get("importance")
        else None,
        "privacy": _privacy(measurements["privacy"]) if "privacy" in measurements else None,
        "privacy_meta": measurements.get("privacy"),
        "monitoring": monitoring,
        "other_measurements": {k: v for k, v in measurements.items() if k not in known},
        "policy": evaluation["policy"],
        "inputs": evaluation["inputs"],
        "trail": trail,
        "checkpoint": checkpoint,
        "signoff": signoff,
        "notices": evaluation.get("notices", []),
    }
