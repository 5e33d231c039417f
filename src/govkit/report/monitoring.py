"""The report's monitoring section: the trend over the windows of a `govkit monitor` evaluation.

Everything drawn comes from the recorded evaluation: measured values from the monitoring
measurement, thresholds, metrics and failed windows from the findings the rules produced. The
one value computed here, fairness per window when the policy has no `monitoring.fairness` rule,
uses the rule's own function with its default group size, and the section says it is not judged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from markupsafe import Markup

from govkit.report.charts import PALETTE, Series, line_chart

DRIFT_KINDS = frozenset({"drift.feature", "drift.dataset", "drift.prediction"})
FAILED = frozenset({"fail", "error"})
TABLE_WINDOWS = 10  # window columns per table row block, so a year of months still fits the page
SHOWN_FAIRNESS = ("demographic_parity_difference", "equalized_odds_difference")
P_VALUES = frozenset({"ks", "chisquare"})


def _window_of(subject: str, names: set[str]) -> str | None:
    head = subject.split(" ", 1)[0]
    return head if head in names else None


def _chunks(names: Sequence[str]) -> list[range]:
    return [range(i, min(i + TABLE_WINDOWS, len(names))) for i in range(0, len(names), TABLE_WINDOWS)]


def _fmt(v: float | None) -> str:
    return "—" if v is None else f"{v:.3g}" if abs(v) < 1e-3 and v else f"{v:.3f}"


def _failed_windows(findings: Iterable[Mapping[str, Any]], names: Sequence[str]) -> list[bool]:
    bad = {_window_of(f["subject"], set(names)) for f in findings if f["status"] in FAILED}
    return [n in bad for n in names]


def _drift(data: Mapping[str, Any], findings: list[Mapping[str, Any]], names: list[str]) -> dict[str, Any]:
    ref = data["reference"]["columns"]
    roles = data["roles"]
    judged_score = any(f["check"] == "drift.prediction" for f in findings)
    columns = [
        c
        for c in [*roles["features"], *([roles.get("score") or roles.get("prediction")] if judged_score else [])]
        if c in ref
    ]
    thresholds: dict[str, set[float]] = {}
    measure_of: dict[str, str] = {}
    failed_cells: set[tuple[str, str]] = set()
    for f in findings:
        t = f["threshold"] or {}
        if "measure" in t:
            thresholds.setdefault(t["measure"], set()).add(t["threshold"])
            window, column = f["subject"].split(" ", 1)[0], f["subject"].rsplit(" ", 1)[-1]
            measure_of[column] = t["measure"]
            if f["status"] in FAILED and f["subject"] == f"{window} {column}":
                failed_cells.add((window, column))
        elif f["status"] == "pass" and f["check"] != "drift.dataset":  # {measure: threshold} of the rule
            for measure, value in t.items():
                thresholds.setdefault(measure, set()).add(value)
    windows = data["windows"]
    rows = []
    for c in columns:
        measure = measure_of.get(c, ref[c]["default_measure"])
        values = [(((w.get("columns") or {}).get(c) or {}).get("measures") or {}).get(measure) for w in windows]
        limit = thresholds.get(measure, set())
        rows.append(
            {
                "column": c,
                "measure": measure,
                "threshold": _fmt(min(limit)) if len(limit) == 1 else "—",
                "values": values,
                "cells": [{"text": _fmt(v), "failed": (names[i], c) in failed_cells} for i, v in enumerate(values)],
            }
        )
    failed = _failed_windows(findings, names)
    charts = []
    for measure in sorted({r["measure"] for r in rows}):
        mine = [r for r in rows if r["measure"] == measure]

        def worst(r: Mapping[str, Any], m: str = measure) -> float:
            seen = [v for v in r["values"] if v is not None]
            return -min(seen, default=1.0) if m in P_VALUES else max(seen, default=0.0)

        mine.sort(key=lambda r: (not any(cell["failed"] for cell in r["cells"]), -worst(r)))
        limit = thresholds.get(measure, set())
        single = min(limit) if len(limit) == 1 else None
        charts.append(
            line_chart(
                names,
                [Series(r["column"], r["values"]) for r in mine],
                title=f"Drift per feature: {measure}{' p-value (lower = more drift)' if measure in P_VALUES else ''}",
                failed=failed,
                threshold=single,
                threshold_label=f"threshold {_fmt(single)}",
                scale_max=1.0 if measure in P_VALUES else None,
            )
        )
        if len(mine) > len(PALETTE):
            charts.append(
                Markup(
                    '<p class="note">The chart shows the {} features that drifted most; the table lists every one.</p>'
                ).format(len(PALETTE))
            )
    return {"rows": rows, "charts": charts, "blocks": _chunks(names)}


def _performance(data: Mapping[str, Any], findings: list[Mapping[str, Any]], names: list[str]) -> dict[str, Any]:
    metric = next((f["threshold"]["metric"] for f in findings if (f["threshold"] or {}).get("metric")), "accuracy")
    bad_cells = {
        (f["subject"].split(" ", 1)[0], f["subject"].split(" ", 1)[1] if " " in f["subject"] else "overall")
        for f in findings
        if f["status"] in FAILED
    }
    windows = data["windows"]
    reference = data["reference"].get("performance") or {}

    def row(key: str, perfs: list[Mapping[str, Any] | None]) -> dict[str, Any]:
        values = [p[metric] if p else None for p in perfs]
        return {
            "group": key,
            "values": values,
            "reference": _fmt((reference.get(key) or {}).get(metric)),
            "cells": [
                {"text": _fmt(v), "n": p["labelled"] if p else 0, "failed": (names[i], key) in bad_cells}
                for i, (v, p) in enumerate(zip(values, perfs, strict=True))
            ],
        }

    overall = row("overall", [w.get("performance") for w in windows])
    charts, rows = [], [overall]
    for feature in data["roles"].get("cohorts") or []:
        groups = sorted({c["group"] for w in windows for c in w["cohorts"] if c["feature"] == feature})
        mine = []
        for g in groups:
            perfs = [
                next((c["performance"] for c in w["cohorts"] if c["feature"] == feature and c["group"] == g), None)
                for w in windows
            ]
            mine.append(row(f"{feature}={g}", perfs))
        rows += mine
        own = [
            f for f in findings if " " not in f["subject"] or f["subject"].split(" ", 1)[1].startswith(f"{feature}=")
        ]
        charts.append(
            line_chart(
                names,
                [Series("overall", overall["values"])]
                + [Series(r["group"].split("=", 1)[1], r["values"]) for r in mine],
                title=f"{metric} per window by {feature}",
                failed=_failed_windows(own, names),
                scale_max=1.0,
            )
        )
    if overall["values"] and all(v is None for v in overall["values"]):
        return {"metric": metric, "rows": [], "charts": [], "blocks": []}
    return {"metric": metric, "rows": rows, "charts": charts, "blocks": _chunks(names)}


def _fairness(data: Mapping[str, Any], findings: list[Mapping[str, Any]], names: list[str]) -> dict[str, Any]:
    from govkit.checks.monitoring import FairnessParams, cohort_fairness

    features = list(data["roles"].get("cohorts") or [])
    windows = data["windows"]
    judged = bool(findings)
    if judged:  # the rule's own values, metric and limit
        metrics = sorted({str(f["threshold"]["metric"]) for f in findings if (f["threshold"] or {}).get("metric")})
        values = {
            tuple(f["subject"].split(" ", 1)): f["measured"]
            for f in findings
            if (f["threshold"] or {}).get("metric") and " " in f["subject"]
        }
        charts = []
        for metric in metrics:
            mine = [f for f in findings if (f["threshold"] or {}).get("metric") == metric]
            limits = {v for f in mine for k, v in f["threshold"].items() if k in ("max", "min")}
            limit = min(limits) if len(limits) == 1 else None
            charts.append(
                line_chart(
                    names,
                    [Series(feat, [values.get((n, feat)) for n in names]) for feat in features],
                    title=f"{metric} per window",
                    failed=_failed_windows(mine, names),
                    threshold=limit,
                    threshold_label=f"limit {_fmt(limit)}",
                )
            )
        return {"judged": True, "charts": charts, "min_group_size": None}
    size = FairnessParams.model_fields["min_group_size"].default
    per = {(w["window"], feat): cohort_fairness(w, feat, size) for w in windows for feat in features}
    charts = [
        line_chart(
            names,
            [Series(feat, [(per[(n, feat)] or ({}, 0))[0].get(metric) for n in names]) for feat in features],
            title=f"{metric} per window (not judged)",
        )
        for metric in SHOWN_FAIRNESS
    ]
    return {"judged": False, "charts": charts, "min_group_size": size}


def monitoring_section(evaluation: Mapping[str, Any]) -> dict[str, Any] | None:
    """The section's values, or None when the evaluation holds no monitoring measurement."""
    data = evaluation["measurements"].get("monitoring")
    if not data or not data.get("windows"):
        return None
    from govkit.checks.monitoring import MonitoringCheck

    names = [w["window"] for w in data["windows"]]
    mine = [f for f in evaluation["findings"] if f["check"] in MonitoringCheck.rule_kinds]
    of = {kind: [f for f in mine if f["check"] == kind] for kind in MonitoringCheck.rule_kinds}
    failing = sorted((f for f in mine if f["status"] in FAILED), key=lambda f: (f["subject"], f["rule_id"]))
    by_window: dict[str, list[str]] = {}
    for f in failing:
        window = _window_of(f["subject"], set(names))
        if window:
            by_window.setdefault(window, [])
            if f["rule_id"] not in by_window[window]:
                by_window[window].append(f["rule_id"])
    overview = [
        {
            "window": w["window"],
            "rows": w["rows"],
            "labelled": (w.get("performance") or {}).get("labelled", "—"),
            "state": "skipped" if w["skipped"] else "failed" if w["window"] in by_window else "passed",
            "reason": w["skipped"] or ", ".join(by_window.get(w["window"], [])),
        }
        for w in data["windows"]
    ]
    return {
        "data": data,
        "overview": overview,
        "failing": failing,
        "failed_count": sum(1 for o in overview if o["state"] == "failed"),
        "windows": names,
        "drift": _drift(data, [f for f in mine if f["check"] in DRIFT_KINDS], names),
        "performance": _performance(data, of["monitoring.performance"], names),
        "fairness": _fairness(data, of["monitoring.fairness"], names),
    }
