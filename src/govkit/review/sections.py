"""The values of the report's review sections: change since the last approval, regulatory
coverage and the EU AI Act Annex IV appendix (templates in report/templates/review/)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

from govkit.audit.log import AuditLog
from govkit.controls.catalogue import load_catalogues
from govkit.review.annex_iv import annex_iv
from govkit.review.approval import signoffs_by_evaluation
from govkit.review.change_view import change_context
from govkit.review.coverage_view import coverage_context


def review_context(
    evaluation: Mapping[str, Any], digest: str, *, log: AuditLog | None, trail: Sequence[Mapping[str, Any]] = ()
) -> dict[str, Any]:
    """Without a log (a rendering from a file) there is no approval history and no sign-off to show."""
    catalogues = load_catalogues()
    coverage = coverage_context(evaluation, digest, catalogues)
    signoffs = []
    if log is not None:
        recorded = signoffs_by_evaluation(log, str(evaluation["model"]["name"])).get(digest, [])
        signoffs = [asdict(s) for s in recorded]
    rules_of = {row.control: row.rules for row in coverage["matrix"].rows}
    return {
        "change": change_context(log, evaluation, digest) if log is not None else None,
        "coverage": coverage,
        "annex_iv": annex_iv(
            evaluation, digest, signoffs=signoffs, trail=trail, rules_of=rules_of, catalogues=catalogues
        )
        if "eu-ai-act" in catalogues.frameworks
        else [],
    }
