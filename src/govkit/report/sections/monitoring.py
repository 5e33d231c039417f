"""Post-market monitoring chapter: the trend over the windows (values from report/monitoring.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from govkit.report.monitoring import monitoring_section
from govkit.report.rules import RulesInForce
from govkit.report.sections.interface import ReportSection


class MonitoringSection(ReportSection):
    id = "monitoring"
    title = "Post-market monitoring: the trend"
    order = 500
    template = "sections/monitoring.html.j2"
    areas = frozenset({"monitoring", "drift"})

    def applies(self, evaluation: Mapping[str, Any]) -> bool:
        return bool((evaluation["measurements"].get("monitoring") or {}).get("windows"))

    def context(self, evaluation: Mapping[str, Any], rules: RulesInForce) -> Mapping[str, Any]:
        section = monitoring_section(evaluation)
        assert section is not None
        return section
