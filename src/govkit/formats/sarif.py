"""SARIF 2.1.0 for code-scanning dashboards (GitHub, GitLab, Azure DevOps).

Every evaluated rule is declared in tool.driver.rules; results are the findings that need
attention (fail, warn, error) plus waived ones as external suppressions, so a dashboard shows
the exception instead of losing it. Fingerprints are rule + model + subject: stable across runs.

Locations are relative to the repository root (GOVKIT_SARIF_ROOT, else the git work tree holding
the working directory, else the working directory) under `%SRCROOT%`, declared in
`originalUriBaseIds`; a file outside that root gets an absolute `file:` URI and no base id. User
text goes through `printable`, and a guideline becomes `helpUri` only percent-encoded.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

from govkit import __version__
from govkit.evaluation import Evaluation, Finding
from govkit.formats.common import SECURITY_SEVERITY, detail, order, printable
from govkit.formats.interface import Formatter
from govkit.vocab import REPORTED

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
SRCROOT = "%SRCROOT%"


def source_root() -> Path:
    """Where result paths are relative to: what code-scanning maps onto the checkout."""
    if os.environ.get("GOVKIT_SARIF_ROOT"):
        return Path(os.environ["GOVKIT_SARIF_ROOT"]).resolve()
    cwd = Path.cwd().resolve()
    return next((folder for folder in (cwd, *cwd.parents) if (folder / ".git").exists()), cwd)


def _artifact(file: str, root: Path) -> dict[str, str]:
    """A relative URI under %SRCROOT% when the file is inside `root`, else an absolute file: URI."""
    path = (Path.cwd() / file).resolve()  # locations are relative to the working directory, or absolute
    try:
        return {"uri": quote(path.relative_to(root).as_posix()), "uriBaseId": SRCROOT}
    except ValueError:
        return {"uri": path.as_uri()}


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
        "shortDescription": {"text": printable(f.title)},
        "fullDescription": {"text": printable(f"{f.title} (govkit check {f.check})")},
        "defaultConfiguration": {"level": LEVEL[f.severity]},
        "help": {"text": printable(f"{f.title}. See the guideline for how to fix it or request a waiver.")},
        "properties": {
            "security-severity": SECURITY_SEVERITY[f.severity],
            "tags": ["ml-governance", f.area, f.check, *map(printable, f.controls)],
            "precision": "very-high",
        },
    }
    if f.guideline:
        rule["helpUri"] = quote(f.guideline, safe=":/?#[]@!$&'()*+,;=%~")
    return rule


def _result(f: Finding, index: int, evaluation: Evaluation, digest: str, root: Path) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": f.rule_id,
        "ruleIndex": index,
        "level": _level(f),
        "message": {"text": printable(f"{f.title}: {detail(f)}")},
        "partialFingerprints": {"govkitFinding/v1": f.fingerprint},
        "properties": {
            "status": f.status,
            "severity": f.severity,
            "subject": printable(f.subject),
            "model": printable(evaluation.model["name"]),
            "evaluation_digest": digest,
        },
    }
    loc = f.location or {}
    if loc.get("file"):
        physical: dict[str, Any] = {"artifactLocation": _artifact(loc["file"], root)}
        if loc.get("line"):
            physical["region"] = {"startLine": loc["line"]}
        result["locations"] = [
            {"physicalLocation": physical, "logicalLocations": [{"name": printable(f.subject), "kind": "member"}]}
        ]
    if f.status == "waived":
        waiver = next((w for w in evaluation.waivers if w.id == f.waiver_id), None)
        justification = (
            f"{waiver.reason} (waiver {waiver.id}, ticket {waiver.ticket}, expires {waiver.expires})"
            if waiver
            else f"waiver {f.waiver_id}"
        )
        result["suppressions"] = [{"kind": "external", "status": "accepted", "justification": printable(justification)}]
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
        descriptors: list[dict[str, Any]] = []
        for f in sorted(evaluation.findings, key=lambda f: f.rule_id):
            if f.rule_id not in rules:
                rules[f.rule_id] = len(descriptors)
                descriptors.append(_rule(f))
        root = source_root()
        results = [
            _result(f, rules[f.rule_id], evaluation, digest, root)
            for f in sorted(evaluation.findings, key=order)
            if f.status in REPORTED
        ]
        model = evaluation.model
        run = {
            "tool": {
                "driver": {
                    "name": "govkit",
                    "semanticVersion": __version__,
                    "version": __version__,
                    "informationUri": "https://govkit.example.org",
                    "rules": descriptors,
                }
            },
            "automationDetails": {"id": printable(f"govkit/{model['name']}/{evaluation.team}/")},
            "results": results,
            "properties": {
                "verdict": evaluation.verdict,
                "evaluation_digest": digest,
                "policy": dict(evaluation.policy),
                "counts": evaluation.counts,
            },
        }
        if any(
            loc["physicalLocation"]["artifactLocation"].get("uriBaseId")
            for r in results
            for loc in r.get("locations", ())
        ):
            run["originalUriBaseIds"] = {SRCROOT: {"uri": root.as_uri().rstrip("/") + "/"}}
        doc = {"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}
        return json.dumps(doc, indent=2) + "\n"
