"""A hand-built Evaluation for the output-format seam: every status, waivers used and refused, notices,
and user strings that try to forge output. Format tests render it directly, so they need no trained
model and no policy run (the pip-audit `_TEST_VULN_DATA` pattern). Shaped like the demo's evaluation."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from govkit.baseline import fingerprint
from govkit.evaluation import STATUSES, Evaluation, Finding, Status, WaiverUse

MODEL = {"name": "credit-scorer", "version": "2.1.0", "risk_tier": "high", "sha256": "ab" * 32}
# In a subject and a waiver reason: a Markdown heading and link, raw HTML, a GitHub workflow command,
# rich markup, a terminal escape and a form feed. No "http" (the Markdown summary is checked link-free).
HOSTILE = (
    "x\n::warning file=a::forged\n### Forged <img src=x onerror=alert(1)> [/bold][red]PASS[/red] | *em* "
    "[link](javascript:alert(1)) `code` \x1b[31mred\x1b[0m \x0c"
)
TITLE = {"GK-LIC-002": "Training and evaluation data may be used commercially"}
LINE = {"GK-LIC-002": 9, "GK-LIC-001": 4, "GK-PRV-001": 12, "GK-FAIR-001": 20, "GK-XAI-002": 30}


def _finding(
    rule_id: str,
    check: str,
    severity: str,
    status: Status,
    subject: str,
    message: str,
    *,
    blocking: bool = False,
    waiver_id: str | None = None,
    measured: Any = None,
    threshold: Any = None,
) -> Finding:
    line = LINE.get(rule_id)
    return Finding(
        rule_id=rule_id,
        title=TITLE.get(rule_id, f"Rule {rule_id}"),
        check=check,
        severity=severity,
        status=status,
        message=message,
        subject=subject,
        measured=measured,
        threshold=threshold,
        guideline="https://wiki.example.org/guidelines#" + rule_id.lower(),
        waiver_id=waiver_id,
        blocking=blocking,
        fingerprint=fingerprint(rule_id, MODEL["name"], subject),
        location={"file": "govkit.yaml", "line": line} if line else None,
    )


FINDINGS = (
    _finding(
        "GK-LIC-002",
        "license.dataset_allowed",
        "critical",
        "fail",
        "dataset:training",
        "dataset:training: CC-BY-NC-4.0 does not allow commercial use",
        blocking=True,
        measured="CC-BY-NC-4.0",
        threshold={"commercial": True},
    ),
    _finding(
        "GK-LIC-002",
        "license.dataset_allowed",
        "critical",
        "waived",
        "dataset:evaluation",
        "dataset:evaluation: CC-BY-NC-4.0 does not allow commercial use [waived by WVR-2026-021 until 2027-04-01]",
        waiver_id="WVR-2026-021",
    ),
    _finding(
        "GK-FAIR-001",
        "fairness.demographic_parity_ratio",
        "medium",
        "fail",
        "sex",
        "selection-rate ratio 0.71 across sex",
        measured=0.71,
        threshold=0.8,
    ),
    _finding(
        "GK-PRV-001",
        "privacy.no_pii",
        "high",
        "error",
        HOSTILE,
        "check privacy could not run: cannot read " + HOSTILE,
        blocking=True,
    ),
    _finding(
        "GK-XAI-002",
        "explainability.max_single_feature",
        "low",
        "warn",
        "model",
        "largest single-feature share: income 41.0%",
        measured=0.41,
        threshold=0.4,
    ),
    _finding(
        "GK-FAIR-002",
        "fairness.equal_opportunity_difference",
        "medium",
        "baselined",
        "age_band",
        "TPR difference 0.12 across age_band [baselined]",
        measured=0.12,
        threshold=0.1,
    ),
    _finding("GK-LIC-001", "license.model_allowed", "critical", "pass", "model", "model licence Apache-2.0 allowed"),
    _finding(
        "GK-XAI-001",
        "explainability.protected_share",
        "medium",
        "skipped",
        "model",
        "skipped: no explainability data in the manifest",
    ),
)
WAIVERS = (
    WaiverUse(
        id="WVR-2026-021",
        rule="GK-LIC-002",
        status="used",
        detail="waives dataset:evaluation",
        expires="2027-04-01",
        expiring_soon=True,
        reason="vendor renegotiation " + HOSTILE,
        ticket="LEGAL-1302",
        approved_by=("dana@example.org",),
    ),
    WaiverUse(
        id="WVR-2026-014",
        rule="GK-LIC-002",
        status="expired",
        detail="expired on 2026-01-31",
        expires="2026-01-31",
        reason="pilot",
        ticket="LEGAL-1200",
    ),
    WaiverUse(
        id="WVR-2026-030",
        rule="GK-XAI-001",
        status="unused",
        detail="matched no finding",
        expires="2027-01-01",
        reason="spare",
        ticket="ML-7",
    ),
)


def sample_evaluation(**changes: Any) -> Evaluation:
    """The sample, with any field replaced (`fail_on=...`, `findings=...`)."""
    evaluation = Evaluation(
        govkit_version="0.0.0-test",
        created_at="2026-12-01T12:00:00Z",
        as_of="2026-12-01",
        model=MODEL,
        team="lending",
        policy={"name": "baseline", "version": "1.2.0", "digest": "cd" * 32, "layers": []},
        inputs={"manifest": {"path": "govkit.yaml", "sha256": "ef" * 32}},
        options={"full_scan": False},
        fail_on="high",
        findings=FINDINGS,
        measurements={"license": {"components": []}},
        waivers=WAIVERS,
        notices=("1 baseline entry no longer fails " + HOSTILE,),
    )
    assert {f.status for f in evaluation.findings} == set(STATUSES)  # the sample keeps covering every status
    return replace(evaluation, **changes)
