"""SARIF 2.1.0 for code-scanning dashboards (GitHub, GitLab, Azure DevOps).

Every evaluated rule is declared in tool.driver.rules; results are the findings that need
attention (fail, warn, error) plus waived ones as external suppressions, so a dashboard shows
the exception instead of losing it. Fingerprints are rule + model + subject: stable across runs.
"""

from __future__ import annotations

import json
from typing import Any

from govkit import __version__
from govkit.evaluation import Evaluation, Finding
from govkit.formats.common import REPORTED, SECURITY_SEVERITY, detail, order
from govkit.formats.interface import Formatter

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}


def _level(f: Finding) -> str:
    if f.status == "error" or f.blocking:
        return "error"
    if f.status == "warn":
        return "warning"
    return LEVEL[f.severity]


def _rule(f: Finding) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "id": f.rule_id,
        "name": "".join(part.capitalize() for part in f.check.replace(".", "_").split("_")),
        "shortDescription": {"text": f.title},
        "fullDescription": {"text": f"{f.title} (govkit check {f.check})"},
        "defaultConfiguration": {"level": LEVEL[f.severity]},
        "help": {"text": f"{f.title}. See the guideline for how to fix it or request a waiver."},
        "properties": {"security-severity": SECURITY_SEVERITY[f.severity],
                       "tags": ["ml-governance", f.area, f.check], "precision": "very-high"},
    }
    if f.guideline:
        rule["helpUri"] = f.guideline
    return rule


def _result(f: Finding, index: int, evaluation: Evaluation, digest: str) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": f.rule_id,
        "ruleIndex": index,
        "level": _level(f),
        "message": {"text": f"{f.title}: {detail(f)}"},
        "partialFingerprints": {"govkitFinding/v1": f.fingerprint},
        "properties": {"status": f.status, "severity": f.severity, "subject": f.subject,
                       "model": evaluation.model["name"], "evaluation_digest": digest},
    }
    loc = f.location or {}
    if loc.get("file"):
        physical: dict[str, Any] = {"artifactLocation": {"uri": loc["file"], "uriBaseId": "%SRCROOT%"}}
        if loc.get("line"):
            physical["region"] = {"startLine": loc["line"]}
        result["locations"] = [{"physicalLocation": physical,
                                "logicalLocations": [{"name": f.subject, "kind": "member"}]}]
    if f.status == "waived":
        waiver = next((w for w in evaluation.waivers if w.id == f.waiver_id), None)
        justification = f"{waiver.reason} (waiver {waiver.id}, ticket {waiver.ticket}, expires {waiver.expires})" \
            if waiver else f"waiver {f.waiver_id}"
        result["suppressions"] = [{"kind": "external", "status": "accepted", "justification": justification}]
    if f.status == "baselined":
        result["baselineState"] = "unchanged"
    elif evaluation.inputs.get("baseline"):
        result["baselineState"] = "new"
    return result


class SarifFormatter(Formatter):
    name = "sarif"
    suffix = ".sarif"

    def render(self, evaluation: Evaluation, *, digest: str | None = None, color: bool = False) -> str:
        digest = digest or evaluation.digest
        rules: dict[str, int] = {}
        descriptors = []
        for f in sorted(evaluation.findings, key=lambda f: f.rule_id):
            if f.rule_id not in rules:
                rules[f.rule_id] = len(descriptors)
                descriptors.append(_rule(f))
        results = [_result(f, rules[f.rule_id], evaluation, digest)
                   for f in sorted(evaluation.findings, key=order) if f.status in REPORTED]
        model = evaluation.model
        run = {
            "tool": {"driver": {"name": "govkit", "semanticVersion": __version__, "version": __version__,
                                "informationUri": "https://govkit.example.org", "rules": descriptors}},
            "automationDetails": {"id": f"govkit/{model['name']}/{evaluation.team}/"},
            "results": results,
            "properties": {"verdict": evaluation.verdict, "evaluation_digest": digest,
                           "policy": dict(evaluation.policy), "counts": evaluation.counts},
        }
        doc = {"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}
        return json.dumps(doc, indent=2) + "\n"
