"""Privacy chapter: the privacy findings and the personal data the rules in force flag.

Which columns count as personal data is the `privacy.no_undeclared_pii` rule's call, made with the
thresholds of the policy the evaluation was judged against (a team overlay may have tightened
them), through the check's own test; declared columns are always listed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from govkit.report.rules import RulesInForce
from govkit.report.sections.common import area_findings, has_area
from govkit.report.sections.interface import ReportSection

PII_KIND = "privacy.no_undeclared_pii"


def personal_data(measurement: Mapping[str, Any], rules: RulesInForce) -> list[dict[str, Any]]:
    from govkit.checks.privacy.check import _flagged  # the rule's own test, so report and finding agree

    params = rules.params(PII_KIND)
    rows = []
    for name, info in measurement.get("datasets", {}).items():
        in_scope = [p for p in params if name in p.datasets]
        for c in info["columns"]:
            declared = c["column"] in info["declared"]
            if not declared and not any(_flagged(c, p) for p in in_scope):
                continue
            free_text = c["free_text_share"] > c["share"]
            rows.append(
                {
                    "dataset": name,
                    "column": c["column"],
                    "type": (f"free text ({', '.join(c['embedded'])})" if free_text else c["best"]) or "—",
                    "share": f"{max(c['share'], c['free_text_share']):.0%}",
                    "scanned": c["scanned"],
                    "declared": declared,
                    "examples": ", ".join(c["examples"]),
                }
            )
    return rows


class PrivacySection(ReportSection):
    id = "privacy"
    title = "Privacy"
    order = 200
    template = "sections/privacy.html.j2"
    areas = frozenset({"privacy"})

    def applies(self, evaluation: Mapping[str, Any]) -> bool:
        return has_area(evaluation, "privacy")

    def context(self, evaluation: Mapping[str, Any], rules: RulesInForce) -> Mapping[str, Any]:
        measurement = evaluation["measurements"].get("privacy") or {}
        return {
            "findings": area_findings(evaluation, "privacy", rules),
            "meta": measurement,
            "scanned": bool(measurement.get("datasets")),
            "rows": personal_data(measurement, rules),
            "thresholds": [
                {"min_match_rate": p.min_match_rate, "min_free_text_rate": p.min_free_text_rate}
                for p in rules.params(PII_KIND)
            ],
            "confirmed": rules.confirmed,
            "why": rules.why,
        }
