"""The report's "Regulatory coverage" chapter: control -> rule -> result -> where the evidence is.

The rules are the policy's as the report recovered them (`report.rules.recover`: the recorded
policy folder, used only when it still resolves to the recorded digest), so the chapter matches
`govkit controls coverage` for the same log; without them, the controls each finding carries
(a rule with no finding then does not show), and the chapter says which.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from govkit.controls.catalogue import Catalogues, load_catalogues
from govkit.controls.coverage import Coverage, build_from_rules, evaluated
from govkit.report.rules import RulesInForce


def report_coverage(
    evaluation: Mapping[str, Any], digest: str, rules: RulesInForce, catalogues: Catalogues
) -> tuple[Coverage, str]:
    """The matrix for this one evaluation, and where its rules came from ("policy" or "findings")."""
    name = f"{evaluation['policy']['name']} {evaluation['policy']['version']}"
    if rules.confirmed:
        pairs = [(rid, tuple(r.get("controls", ()))) for rid, r in rules.rules.items() if r.get("enabled", True)]
        source = "policy"
    else:
        pairs = [(f["rule_id"], tuple(f.get("controls", ()))) for f in evaluation["findings"]]
        source = "findings"
    matrix = build_from_rules(name, evaluation["team"], pairs, catalogues, [evaluated(evaluation, digest)])
    return matrix, source


def coverage_context(
    evaluation: Mapping[str, Any],
    digest: str,
    rules: RulesInForce,
    *,
    chapters: Mapping[str, tuple[str, str]] | None = None,
    catalogues: Catalogues | None = None,
) -> dict[str, Any]:
    """Plain values for the partial: the covered controls with their rules, results and the chapter
    (`chapters`: area -> (section id, title)) holding each rule's evidence; per framework the
    controls no rule cites (compactly: the full matrix is in the evidence bundle)."""
    catalogues = catalogues or load_catalogues()
    cov, source = report_coverage(evaluation, digest, rules, catalogues)
    areas = {f["rule_id"]: f["area"] for f in evaluation["findings"]}
    chapters = chapters or {}
    rows = []
    for row in cov.rows:
        if not row.rules:
            continue
        cited = []
        for rule in row.rules:
            chapter = chapters.get(areas[rule], (f"area-{areas[rule]}", areas[rule])) if rule in areas else None
            cited.append(
                {
                    "id": rule,
                    "section": chapter[0] if chapter else None,
                    "section_title": chapter[1] if chapter else None,
                }
            )
        chapters_cited = list(
            {c["section"]: {"id": c["section"], "title": c["section_title"]} for c in cited if c["section"]}.values()
        )
        rows.append(
            {
                "control": row.control,
                "title": row.title,
                "rules": cited,
                "result": row.results[0],
                "chapters": chapters_cited,
            }
        )
    frameworks = []
    for name in cov.frameworks:
        in_framework = [r for r in cov.rows if r.control.startswith(name + ":")]
        frameworks.append(
            {
                "framework": name,
                "title": catalogues.frameworks[name].spec.title,
                "controls": len(in_framework),
                "covered": sum(1 for r in in_framework if r.rules),
                "uncovered": [r.control.split(":", 1)[1] for r in in_framework if not r.rules],
            }
        )
    return {"source": source, "policy": cov.policy, "rows": rows, "frameworks": frameworks, "matrix": cov}
