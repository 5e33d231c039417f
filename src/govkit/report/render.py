"""Render a recorded evaluation to HTML (jinja2 sandbox, autoescaped) and to PDF/A-3b (weasyprint)."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from govkit.canonical import canonical_bytes, file_sha256
from govkit.report.context import SignoffBlock, build_context
from govkit.report.rules import RulesInForce, recover
from govkit.report.sections.interface import ReportSection
from govkit.report.sections.registry import select
from govkit.report.template import ReportTemplate

PAPERS = {"a4": "A4", "letter": "letter"}
# The self-contained HTML may show only what it carries: no script, no fetch, no form.
CSP = (
    '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
    "style-src 'unsafe-inline' data:; img-src data:; font-src data:\">"
)


@dataclass(frozen=True)
class ReportInputs:
    evaluation: Mapping[str, Any]
    digest: str
    trail: Sequence[Mapping[str, Any]] = ()
    checkpoint_note: str | None = None
    checkpoint: Mapping[str, Any] | None = None  # {"size", "root"}
    signoff: SignoffBlock | None = None
    paper: str = "a4"
    rules: RulesInForce | None = None  # None: recovered from the recorded policy folder (rules.py)
    sections: tuple[ReportSection, ...] = ()  # chapters beyond the built-ins and the checks' own
    template: Path | None = None  # an organisation's template folder


def templates_sha256(inputs: ReportInputs) -> str:
    """One digest over every file the rendering could read (layout, partials, assets; govkit's default
    template, the organisation's folder, the chapters' own): the sign-off re-renders the report, and
    must refuse if what the officer reviewed would no longer be what gets signed."""
    template = ReportTemplate(inputs.template, select(inputs.evaluation, inputs.sections))
    digest = hashlib.sha256()
    for number, root in enumerate(template.roots):
        for path in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
            name = f"{number}/{path.relative_to(root).as_posix()}"
            digest.update(f"{len(name)}:{name}:{file_sha256(path)}\n".encode())
    return digest.hexdigest()


def _html(inputs: ReportInputs, *, inline: bool) -> tuple[str, ReportTemplate]:
    rules = inputs.rules if inputs.rules is not None else recover(inputs.evaluation)
    sections = select(inputs.evaluation, inputs.sections)
    template = ReportTemplate(inputs.template, sections)
    env = template.environment()
    layout = template.load(env)
    context = build_context(
        inputs.evaluation,
        inputs.digest,
        trail=inputs.trail,
        checkpoint=inputs.checkpoint,
        signoff=inputs.signoff,
        paper=PAPERS[inputs.paper],
        sections=sections,
        rules=rules,
    )
    context["asset"] = lambda name: template.asset_url(str(name), inline=inline)
    context["output"] = "html" if inline else "pdf"
    return template.render(layout, context), template


def render_html(inputs: ReportInputs) -> str:
    """The report as one self-contained HTML page: CSS and images inline, nothing fetched."""
    html, _ = _html(inputs, inline=True)
    head = html.find("<head>")
    return html if head < 0 else html[: head + 6] + "\n" + CSP + html[head + 6 :]


def render_pdf(inputs: ReportInputs, *, fetcher: Any = None) -> bytes:
    """PDF/A-3b with the evaluation (RFC 8785 bytes, so its SHA-256 is the digest) and checkpoint attached.

    Everything that varies between renderings is pinned to the evaluation: creation dates come
    from its timestamp and the PDF identifier from its digest, so the same inputs give the same file.
    """
    from weasyprint import HTML, Attachment

    from govkit.report.fetcher import AssetOnlyFetcher

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    html, template = _html(inputs, inline=False)
    fetcher = fetcher or AssetOnlyFetcher(template.roots)
    created = datetime.fromisoformat(str(inputs.evaluation["created_at"]).replace("Z", "+00:00"))
    attachments = [
        Attachment(
            string=canonical_bytes(inputs.evaluation),
            name="evaluation.json",
            description=f"govkit evaluation {inputs.digest} (RFC 8785 JSON)",
            created=created,
            modified=created,
            relationship="Data",
        )
    ]
    if inputs.checkpoint_note:
        attachments.append(
            Attachment(
                string=inputs.checkpoint_note.encode(),
                name="checkpoint.txt",
                description="Signed audit-log checkpoint at render time",
                created=created,
                modified=created,
                relationship="Supplement",
            )
        )
    document = HTML(string=html, base_url=template.default.as_uri() + "/", url_fetcher=fetcher)
    pdf: bytes = document.write_pdf(
        finisher=_without_object_streams,
        pdf_variant="pdf/a-3b",
        pdf_tags=True,  # structure tree: headings, lists, tables with header cells, figures with alt text
        attachments=attachments,
        pdf_identifier=bytes.fromhex(inputs.digest)[:16],
    )
    return pdf


def _without_object_streams(_document: Any, pdf: Any) -> None:
    """Write every object on its own with a classic xref table, content streams still compressed.

    pydyf packs every small object of a tagged PDF (thousands of structure elements) into one object
    stream, and pyHanko re-reads that stream's header for each object it fetches: validating a signed
    demo report took over three minutes. Separate objects cost a few per cent of file size."""
    write = pdf.write
    pdf.write = lambda output, version, identifier, _compress: write(output, version, identifier, False)
