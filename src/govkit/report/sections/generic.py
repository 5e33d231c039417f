"""Chapters every report can have: findings of an area no section claims, the raw rule parameters,
and measurements no section shows (a plug-in check without its own chapter still gets its evidence
printed)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from govkit.evaluation import AREA_TITLES
from govkit.formats.common import value as fmt_value
from govkit.report.rules import RulesInForce
from govkit.report.sections.common import area_findings
from govkit.report.sections.interface import ReportSection


class AreaFindingsSection(ReportSection):
    """The findings of one area, for an area (e.g. a plug-in check's) that has no chapter of its own."""

    title = "Findings"
    order = 900
    template = "sections/findings.html.j2"

    def __init__(self, area: str) -> None:
        self.area = area
        self.id = f"area-{area}"
        self.title = AREA_TITLES.get(area, area.replace("_", " ").title())
        self.areas = frozenset({area})

    def applies(self, evaluation: Mapping[str, Any]) -> bool:
        return any(f["area"] == self.area for f in evaluation["findings"])

    def context(self, evaluation: Mapping[str, Any], rules: RulesInForce) -> Mapping[str, Any]:
        return {"findings": area_findings(evaluation, self.area, rules)}


class RuleParametersAppendix(ReportSection):
    """Each finding's measured value and the raw rule parameters it was judged with."""

    id = "rule-parameters"
    title = "Rule parameters and measured values"
    order = 100
    part = "appendix"
    template = "sections/rule_parameters.html.j2"

    def applies(self, evaluation: Mapping[str, Any]) -> bool:
        return bool(evaluation["findings"])

    def context(self, evaluation: Mapping[str, Any], rules: RulesInForce) -> Mapping[str, Any]:
        return {
            "findings": [
                {**f, "measured_text": fmt_value(f["measured"]), "threshold_text": fmt_value(f["threshold"])}
                for f in evaluation["findings"]
            ],
            "rules": [
                {"id": rid, "check": r["check"], "params": fmt_value(dict(r["params"]))}
                for rid, r in sorted(rules.rules.items())
                if r.get("enabled", True)
            ],
            "confirmed": rules.confirmed,
            "why": rules.why,
        }


class OtherMeasurementsAppendix(ReportSection):
    id = "measurements"
    title = "Other measurements"
    order = 900
    part = "appendix"
    template = "sections/measurements.html.j2"

    def __init__(self, shown: frozenset[str] = frozenset()) -> None:
        self.shown = shown  # measurements some chapter already shows

    def applies(self, evaluation: Mapping[str, Any]) -> bool:
        return any(k not in self.shown for k in evaluation["measurements"])

    def context(self, evaluation: Mapping[str, Any], rules: RulesInForce) -> Mapping[str, Any]:
        return {"measurements": {k: v for k, v in evaluation["measurements"].items() if k not in self.shown}}
