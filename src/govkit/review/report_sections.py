"""The review chapters of the compliance report, through the report-section seam
(`govkit.report.sections.interface`): change since the last approval, regulatory coverage and the
EU AI Act Annex IV appendix. What needs the audit log (approvals, sign-offs) is read by
`review_sections` when the workflow builds the report, since a section's `context` gets only the
evaluation and the rules in force."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from govkit.audit.log import AuditLog
from govkit.controls.catalogue import Catalogues, load_catalogues
from govkit.report.context import SignoffBlock
from govkit.report.rules import RulesInForce
from govkit.report.sections.interface import ReportSection

TEMPLATES = Path(__file__).resolve().parent / "templates"


def _cites(evaluation: Mapping[str, Any], prefix: str = "") -> bool:
    return any(ref.startswith(prefix) for f in evaluation["findings"] for ref in f.get("controls", ()))


class ChangeSection(ReportSection):
    """Only when the log holds an earlier approved evaluation of the same model and team."""

    id = "changes"
    title = "Changed since the last approval"
    order = 50  # before the area chapters: it is what a re-approving officer reads first
    template = "change.html.j2"
    template_dir = TEMPLATES
    summary_template = "change_summary.html.j2"

    def __init__(self, change: Mapping[str, Any] | None) -> None:
        self.change = change

    def applies(self, evaluation: Mapping[str, Any]) -> bool:
        return self.change is not None

    def context(self, evaluation: Mapping[str, Any], rules: RulesInForce) -> Mapping[str, Any]:
        assert self.change is not None
        return self.change


class CoverageSection(ReportSection):
    id = "coverage"
    title = "Regulatory coverage"
    order = 950  # after the area chapters whose evidence it points to
    template = "coverage.html.j2"
    template_dir = TEMPLATES

    def __init__(self, digest: str, catalogues: Catalogues) -> None:
        self.digest = digest
        self.catalogues = catalogues

    def applies(self, evaluation: Mapping[str, Any]) -> bool:
        return _cites(evaluation)

    def context(self, evaluation: Mapping[str, Any], rules: RulesInForce) -> Mapping[str, Any]:
        from govkit.report.sections.registry import select
        from govkit.review.coverage_view import coverage_context

        chapters = {area: (s.id, s.title) for s in select(evaluation) if s.part == "body" for area in s.areas}
        return coverage_context(evaluation, self.digest, rules, chapters=chapters, catalogues=self.catalogues)


class AnnexIVSection(ReportSection):
    """When any rule cites the EU AI Act or the manifest cites documents."""

    id = "annex-iv"
    title = "EU AI Act Annex IV technical documentation"
    order = 950
    part = "appendix"
    template = "annex_iv.html.j2"
    template_dir = TEMPLATES

    def __init__(
        self,
        digest: str,
        catalogues: Catalogues,
        signoffs: Sequence[Mapping[str, Any]],
        trail: Sequence[Mapping[str, Any]],
    ) -> None:
        self.digest = digest
        self.catalogues = catalogues
        self.signoffs = signoffs
        self.trail = trail

    def applies(self, evaluation: Mapping[str, Any]) -> bool:
        files = evaluation["inputs"].get("files", {})
        return _cites(evaluation, "eu-ai-act:") or any(name.startswith("document:") for name in files)

    def context(self, evaluation: Mapping[str, Any], rules: RulesInForce) -> Mapping[str, Any]:
        from govkit.review.annex_iv import annex_iv
        from govkit.review.coverage_view import report_coverage

        catalogues = self.catalogues
        matrix, _ = report_coverage(evaluation, self.digest, rules, catalogues)
        rules_of = {row.control: row.rules for row in matrix.rows}
        points = annex_iv(
            evaluation, self.digest, signoffs=self.signoffs, trail=self.trail, rules_of=rules_of, catalogues=catalogues
        )
        needed = sum(1 for p in points if p["status"] == "needs a document")
        return {"points": points, "needed": needed, "documented": len(points) - needed}


def review_sections(
    log: AuditLog,
    evaluation: Mapping[str, Any],
    digest: str,
    trail: Sequence[Mapping[str, Any]],
    *,
    signing: SignoffBlock | None = None,
) -> tuple[ReportSection, ...]:
    """The three chapters for a report rendered from the log (one registration in report/workflow.py).

    `signing` is the decision this rendering is made to carry (the first sign-off re-renders the
    report before signing it, and the signature is logged only after): the appendix lists it too.
    """
    from govkit.review.approval import signoffs_by_evaluation
    from govkit.review.change_view import change_context

    catalogues = load_catalogues()  # once: parsing the catalogues is the costly part of these chapters
    signoffs = [asdict(s) for s in signoffs_by_evaluation(log, str(evaluation["model"]["name"])).get(digest, [])]
    if signing is not None:
        signer, role, decision = signing.signer, signing.role, signing.decision
        signoffs.append({"signer": signer, "role": role, "decision": decision, "time": signing.time, "seq": None})
    return (
        ChangeSection(change_context(log, evaluation, digest)),
        CoverageSection(digest, catalogues),
        AnnexIVSection(digest, catalogues, signoffs, trail),
    )
