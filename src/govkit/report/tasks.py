"""Report context for the fairness tables of regressions and multiclass models (template fairness_tasks.html.j2).

Binary models keep their own section (context._fairness); these tables show what the other tasks
measure: per group the regression metrics and an error-distribution chart (mean error with a band of
one standard deviation either side, from the group's sums), or per class the one-vs-rest rates, the
confusion matrix of each group and the macro summaries.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from markupsafe import Markup

from govkit.report.charts import SMALL_RED

CHART_MAX_GROUPS = 16
REGRESSION_COLUMNS = ("mean_prediction", "mean_target", "mean_error", "mae", "rmse", "r2")
REGRESSION_SUMMARY = {
    "mean_prediction_difference": "Mean prediction difference",
    "mean_error_difference": "Mean error (bias) difference",
    "mae_difference": "MAE difference",
    "mae_ratio": "MAE ratio",
    "rmse_difference": "RMSE difference",
    "rmse_ratio": "RMSE ratio",
    "r2_difference": "R² difference",
}


def _num(v: Any, digits: int = 3) -> str:
    return "—" if v is None else f"{v:.{digits}f}" if isinstance(v, float) else str(v)


def _interval(ci: Sequence[float | None] | None, digits: int = 3) -> str:
    if not ci or ci[0] is None or ci[1] is None:
        return ""
    return f"[{ci[0]:.{digits}f}, {ci[1]:.{digits}f}]"


def error_spread(group: Mapping[str, Any]) -> tuple[float, float]:
    """The group's mean error and the standard deviation of its errors, from its recorded sums."""
    n, sums = group["n"], group["sums"]
    mean = sums["e"] / n
    return mean, math.sqrt(max(sums["e2"] / n - mean * mean, 0.0))


def error_chart(groups: Sequence[Mapping[str, Any]], title: str, width: int = 620) -> Markup:
    """Per group: the mean error (dot) and mean ± 1 SD of the error (bar) around a zero line."""
    row, left, right, top = 20, 170, 30, 26
    plot = width - left - right
    spreads = [error_spread(g) for g in groups]
    reach = max([abs(m) + s for m, s in spreads] + [1e-9])

    def x(v: float) -> float:
        return left + plot * (v + reach) / (2 * reach)

    height = top + row * len(groups) + 24
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
        f'<text x="0" y="14" font-size="10" font-weight="bold" font-family="DejaVu Sans">{escape(title)}</text>',
    ]
    for i, (group, (mean, sd)) in enumerate(zip(groups, spreads, strict=True)):
        y = top + i * row
        fill = "#b8c2cc" if group["small"] else "#9fb8d0"
        parts.append(
            f'<text x="{left - 6}" y="{y + 13}" text-anchor="end" font-size="8" font-family="DejaVu Sans">'
            f"{escape(group['group'][:28])}</text>"
            f'<rect x="{x(mean - sd):.2f}" y="{y + 5}" width="{x(mean + sd) - x(mean - sd):.2f}" '
            f'height="{row - 10}" fill="{fill}"/>'
            f'<circle cx="{x(mean):.2f}" cy="{y + row / 2}" r="3" fill="#2f5d8a"/>'
            f'<text x="{x(mean + sd) + 4:.2f}" y="{y + 13}" font-size="8" font-family="DejaVu Sans">{mean:+.1f}</text>'
        )
    bottom = top + row * len(groups)
    parts.append(
        f'<line x1="{x(0):.2f}" y1="{top - 4}" x2="{x(0):.2f}" y2="{bottom + 2}" stroke="#b3261e" '
        f'stroke-dasharray="4 3" stroke-width="1.2"/>'
        f'<text x="{x(0):.2f}" y="{bottom + 16}" text-anchor="middle" {SMALL_RED}>no error</text></svg>'
    )
    return Markup("".join(parts))  # noqa: S704 - every piece of text above is escaped


def _regression_table(table: Mapping[str, Any]) -> dict[str, Any]:
    groups = table["groups"]
    summary = table.get("regression_summary", {})
    return {
        "feature": table["feature"],
        "unknown_count": table["unknown_count"],
        "chart": error_chart(groups, f"Prediction error by {table['feature']} (mean, ±1 SD)")
        if len(groups) <= CHART_MAX_GROUPS
        else None,
        "summary": [
            {"label": label, "value": _num(summary[key]["value"]), "ci": _interval(summary[key]["ci"])}
            for key, label in REGRESSION_SUMMARY.items()
            if key in summary
        ],
        "columns": REGRESSION_COLUMNS,
        "groups": [
            {
                "group": g["group"],
                "n": g["n"],
                "small": g["small"],
                "values": [_num(g[c]) for c in REGRESSION_COLUMNS],
                "selection_rate": _num(g.get("selection_rate")),
                "scoring_rate": _num(g.get("scoring_rate")),
            }
            for g in groups
        ],
    }


def _class_rates(table: Mapping[str, Any], group: str, classes: Sequence[str]) -> list[dict[str, str]]:
    """One group's one-vs-rest selection rate, TPR and FPR for each class, in class order."""
    out = []
    for cls in classes:
        entry = next(x for x in table["classes"][cls]["groups"] if x["group"] == group)
        out.append({name: _num(entry[name]) for name in ("selection_rate", "tpr", "fpr")})
    return out


def _multiclass_table(table: Mapping[str, Any], classes: Sequence[str]) -> dict[str, Any]:
    return {
        "feature": table["feature"],
        "unknown_count": table["unknown_count"],
        "macro": [(key.replace("_", " "), _num(v)) for key, v in table["macro"].items()],
        "groups": [
            {
                "group": g["group"],
                "n": g["n"],
                "small": g["small"],
                "accuracy": _num(g["accuracy"]),
                "confusion": g["confusion"],
                "per_class": _class_rates(table, g["group"], classes),
            }
            for g in table["groups"]
        ],
    }


def task_fairness(measurement: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The template's values for a regression's or a multiclass model's fairness tables; None for binary models."""
    if not measurement or measurement.get("task") not in ("regression", "multiclass-classification"):
        return None
    if measurement["task"] == "regression":
        return {
            "task": "regression",
            "meta": measurement,
            "tables": [_regression_table(t) for t in measurement["tables"]],
        }
    classes = list(measurement["classes"])
    return {
        "task": "multiclass-classification",
        "meta": measurement,
        "classes": classes,
        "tables": [_multiclass_table(t, classes) for t in measurement["tables"]],
    }


def class_attributions(measurement: Mapping[str, Any] | None, top: int = 5) -> list[dict[str, Any]] | None:
    """A multiclass model's top features per class by share of |SHAP| (template explainability_classes.html.j2)."""
    if not measurement or "classes" not in measurement:
        return None
    return [
        {
            "class": c["class"],
            "features": [(i["feature"], _num(i["share"])) for i in c["importance"][:top]],
        }
        for c in measurement["classes"]
    ]
