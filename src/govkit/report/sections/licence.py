"""Licence chapter: the licence findings and the component inventory."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from govkit.report.rules import RulesInForce
from govkit.report.sections.common import area_findings, has_area
from govkit.report.sections.interface import ReportSection


class LicenceSection(ReportSection):
    id = "licence"
    title = "Licences"
    order = 100
    template = "sections/licence.html.j2"
    areas = frozenset({"license"})

    def applies(self, evaluation: Mapping[str, Any]) -> bool:
        return has_area(evaluation, "license")

    def context(self, evaluation: Mapping[str, Any], rules: RulesInForce) -> Mapping[str, Any]:
        return {
            "findings": area_findings(evaluation, "license", rules),
            "components": evaluation["measurements"].get("license", {}).get("components") or [],
        }
