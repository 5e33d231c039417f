"""Render a recorded evaluation to HTML (jinja2, autoescaped) and to PDF/A-3b (weasyprint)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from govkit.canonical import canonical_bytes
from govkit.report.context import SignoffBlock, build_context
from govkit.report.fetcher import ASSETS, AssetOnlyFetcher

PAPERS = {"a4": "A4", "letter": "letter"}


@dataclass(frozen=True)
class ReportInputs:
    evaluation: Mapping[str, Any]
    digest: str
    trail: Sequence[Mapping[str, Any]] = ()
    checkpoint_note: str | None = None
    checkpoint: Mapping[str, Any] | None = None  # {"size", "root"}
    signoff: SignoffBlock | None = None
    paper: str = "a4"


def render_html(inputs: ReportInputs) -> str:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(
        loader=FileSystemLoader(ASSETS),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    context = build_context(
        inputs.evaluation,
        inputs.digest,
        trail=inputs.trail,
        checkpoint=inputs.checkpoint,
        signoff=inputs.signoff,
        paper=PAPERS[inputs.paper],
    )
    return env.get_template("report.html.j2").render(**context)


def render_pdf(inputs: ReportInputs, *, fetcher: AssetOnlyFetcher | None = None) -> bytes:
    """PDF/A-3b with the evaluation (RFC 8785 bytes, so its SHA-256 is the digest) and checkpoint attached.

    Everything that varies between renderings is pinned to the evaluation: creation dates come
    from its timestamp and the PDF identifier from its digest, so the same inputs give the same file.
    """
    from weasyprint import HTML, Attachment

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    fetcher = fetcher or AssetOnlyFetcher()
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
    document = HTML(string=render_html(inputs), base_url=ASSETS.as_uri() + "/", url_fetcher=fetcher)
    pdf: bytes = document.write_pdf(
        pdf_variant="pdf/a-3b", attachments=attachments, pdf_identifier=bytes.fromhex(inputs.digest)[:16]
    )
    return pdf
