"""Which chapters a report has: the built-ins, the chapters checks contribute, and any the caller adds.

Built-in sections are listed here (not looked up through their checks) so rendering a report never
imports SHAP or pandas-heavy check code. A plug-in check contributes through
`Check.report_sections()`; it is asked only when the evaluation holds its area.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from govkit.errors import GovkitError
from govkit.report.sections.explainability import ExplainabilitySection, FeaturesAppendix
from govkit.report.sections.fairness import FairnessGroupsAppendix, FairnessSection
from govkit.report.sections.generic import AreaFindingsSection, OtherMeasurementsAppendix, RuleParametersAppendix
from govkit.report.sections.interface import ReportSection
from govkit.report.sections.licence import LicenceSection
from govkit.report.sections.monitoring import MonitoringSection
from govkit.report.sections.privacy import PrivacySection

BUILTIN: tuple[type[ReportSection], ...] = (
    LicenceSection,
    PrivacySection,
    FairnessSection,
    ExplainabilitySection,
    MonitoringSection,
    RuleParametersAppendix,
    FairnessGroupsAppendix,
    FeaturesAppendix,
)


def _areas(evaluation: Mapping[str, Any]) -> set[str]:
    return {f["area"] for f in evaluation["findings"]} | set(evaluation["measurements"])


def check_sections(evaluation: Mapping[str, Any]) -> list[ReportSection]:
    """Chapters from the plug-in checks whose areas this evaluation holds."""
    from govkit.checks.registry import BUILTIN as BUILTIN_CHECKS
    from govkit.checks.registry import available_checks

    plugin_areas = _areas(evaluation) - set(BUILTIN_CHECKS) - {"drift"}
    if not plugin_areas:
        return []
    return [
        section for name, cls in available_checks().items() if name in plugin_areas for section in cls.report_sections()
    ]


def select(evaluation: Mapping[str, Any], extra: Sequence[ReportSection] = ()) -> list[ReportSection]:
    """The chapters of this evaluation's report in reading order: body first, then appendices."""
    chosen = [s for s in [*(cls() for cls in BUILTIN), *check_sections(evaluation), *extra] if s.applies(evaluation)]
    shown = frozenset(a for s in chosen for a in s.areas)
    chosen += [AreaFindingsSection(area) for area in sorted({f["area"] for f in evaluation["findings"]} - shown)]
    others = OtherMeasurementsAppendix(shown)  # the generic chapters show findings only, not evidence
    if others.applies(evaluation):
        chosen.append(others)
    seen: dict[str, ReportSection] = {}
    for s in chosen:
        if s.id in seen:
            raise GovkitError(
                f"two report sections have the id {s.id!r} ({type(seen[s.id]).__name__}, {type(s).__name__})"
            )
        seen[s.id] = s
    return sorted(chosen, key=lambda s: (s.part != "body", s.order, s.id))
