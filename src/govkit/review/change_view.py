"""The report's "Changed since the last approval" section: shown only when the log holds an
earlier approved evaluation of the same model (see `review.approval`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from govkit.audit.log import AuditLog
from govkit.review.approval import last_approved
from govkit.review.diff import compare
from govkit.review.render import headline

SHOWN = 12  # the body lists the largest changes; `govkit diff` has them all
RATE_NAMES = {"selection_rate": "selection rate", "tpr": "true positive rate", "fpr": "false positive rate"}


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{v:.1%}"


def _measured(before: Any, after: Any) -> str:
    def short(v: Any) -> str:
        return f"{v:.3g}" if isinstance(v, float) else str(v) if isinstance(v, int) else "—"

    if not isinstance(before, int | float) and not isinstance(after, int | float):
        return ""
    return f"{short(before)} → {short(after)}"


def change_context(log: AuditLog, evaluation: Mapping[str, Any], digest: str) -> dict[str, Any] | None:
    approved = last_approved(log, evaluation, digest)
    if approved is None:
        return None
    cmp = compare(approved.evaluation, approved.digest, evaluation, digest)
    significant = sorted(cmp.significant_rates, key=lambda r: -abs(r.delta or 0.0))
    return {
        "approved": {
            "digest": approved.digest,
            "version": approved.evaluation["model"]["version"],
            "created_at": approved.evaluation["created_at"],
            "verdict": approved.evaluation["verdict"],
            "signoffs": list(  # one line per signer, role and decision (a report may be signed again)
                {
                    (s.signer, s.role, s.decision): {"signer": s.signer, "role": s.role, "decision": s.decision}
                    for s in approved.signoffs
                }.values()
            ),
        },
        "headline": headline(cmp),
        "verdict_changed": cmp.verdict_changed,
        "findings": [
            {
                "kind": f.kind,
                "rule_id": f.rule_id,
                "subject": f.subject,
                "before": f.before,
                "after": f.after,
                "measured": _measured(f.measured_before, f.measured_after),
            }
            for f in cmp.findings[:SHOWN]
        ],
        "more_findings": max(0, len(cmp.findings) - SHOWN),
        "rates": [
            {
                "cohort": f"{r.feature}: {r.group}",
                "metric": RATE_NAMES.get(r.metric, r.metric),
                "before": _pct(r.before),
                "after": _pct(r.after),
                "delta": f"{(r.delta or 0) * 100:+.1f} pp",
                "p": f"{r.p_value:.2g}" if r.p_value is not None else "—",
                "test": r.test or "—",
            }
            for r in significant[:SHOWN]
        ],
        "more_rates": max(0, len(significant) - SHOWN),
        "rates_tested": len(cmp.rates),
        "settings": [
            {"what": c.what, "before": str(c.before), "after": str(c.after)} for c in (*cmp.policy, *cmp.inputs)
        ],
    }
