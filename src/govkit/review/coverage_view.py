"""The report's "Regulatory coverage" section: control -> rule -> result -> where the evidence is.

The rules come from the policy the evaluation used, reloaded from its recorded folder when the
files still resolve to the recorded policy digest, so the section matches
`govkit controls coverage` for the same log; otherwise from the controls each finding carries
(a rule with no finding then does not show), and the section says which.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from govkit.controls.catalogue import Catalogues, load_catalogues
from govkit.controls.coverage import Coverage, build, build_from_rules, evaluated
from govkit.errors import GovkitError
from govkit.evaluation import AREA_TITLES


@dataclass(frozen=True)
class ReportCoverage:
    coverage: Coverage
    source: str  # "policy" (reloaded, digest matches) or "findings"
    catalogues: Catalogues


def _reloaded_policy(evaluation: Mapping[str, Any]) -> Any | None:
    from govkit.policy.loader import load_policy

    recorded = evaluation["policy"]
    root = Path(str(evaluation["inputs"].get("policy_root") or ""))
    if not root.is_dir():
        return None
    try:
        policy = load_policy(root, team=evaluation["team"], policy_set=recorded["name"])
    except GovkitError:
        return None
    return policy if policy.digest == recorded["digest"] else None


def report_coverage(evaluation: Mapping[str, Any], digest: str, catalogues: Catalogues | None = None) -> ReportCoverage:
    catalogues = catalogues or load_catalogues()
    column = evaluated(evaluation, digest)
    policy = _reloaded_policy(evaluation)
    if policy is not None:
        return ReportCoverage(build(policy, catalogues, [column]), "policy", catalogues)
    rules = [(f["rule_id"], tuple(f.get("controls", ()))) for f in evaluation["findings"]]
    name = f"{evaluation['policy']['name']} {evaluation['policy']['version']}"
    matrix = build_from_rules(name, evaluation["team"], rules, catalogues, [column])
    return ReportCoverage(matrix, "findings", catalogues)


def coverage_context(
    evaluation: Mapping[str, Any], digest: str, catalogues: Catalogues | None = None
) -> dict[str, Any]:
    """Plain values for the template: the covered controls with their rules, results and sections,
    and per framework the controls no rule cites (listed compactly: the full matrix is in the
    evidence bundle and `govkit controls coverage`)."""
    found = report_coverage(evaluation, digest, catalogues)
    cov = found.coverage
    areas = {f["rule_id"]: f["area"] for f in evaluation["findings"]}
    rows = []
    for row in cov.rows:
        if not row.rules:
            continue
        rules = [
            {
                "id": rule,
                "section": f"area-{areas[rule]}" if rule in areas else None,
                "section_title": AREA_TITLES.get(areas[rule], areas[rule].title()) if rule in areas else None,
            }
            for rule in row.rules
        ]
        rows.append({"control": row.control, "title": row.title, "rules": rules, "result": row.results[0]})
    frameworks = []
    for name in cov.frameworks:
        in_framework = [r for r in cov.rows if r.control.startswith(name + ":")]
        frameworks.append(
            {
                "framework": name,
                "title": found.catalogues.frameworks[name].spec.title,
                "controls": len(in_framework),
                "covered": sum(1 for r in in_framework if r.rules),
                "uncovered": [r.control.split(":", 1)[1] for r in in_framework if not r.rules],
            }
        )
    return {"source": found.source, "policy": cov.policy, "rows": rows, "frameworks": frameworks, "matrix": cov}
