"""Reports and sign-offs as audit-logged actions: render, sign, countersign, verify."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from govkit.audit.chain import Checkpoint
from govkit.audit.log import AuditLog
from govkit.audit.records import (
    REPORT_RENDERED,
    SIGNOFF_DECIDED,
    SIGNOFF_RECORDED,
    find_by_file_digest,
    find_evaluation,
    model_subject,
)
from govkit.errors import GovkitError
from govkit.report.context import SignoffBlock
from govkit.report.render import ReportInputs, render_html, render_pdf, templates_sha256
from govkit.report.rules import recover
from govkit.report.signoff import (
    Decision,
    appearance_font,
    certificate_sha256,
    check_signer,
    file_digest,
    sign_pdf,
    validate_signatures,
)
from govkit.review.report_sections import review_sections

TRAIL_LENGTH = 25
SIGNER = re.compile(r"^\s*(?P<name>[^<>]+?)\s*<(?P<email>[^<>@\s]+@[^<>\s]+)>\s*$")


def _inputs(
    log: AuditLog,
    evaluation: dict[str, Any],
    digest: str,
    checkpoint: Checkpoint,
    paper: str,
    signoff: SignoffBlock | None = None,
    template: Path | None = None,
) -> ReportInputs:
    name = evaluation["model"]["name"]
    trail = [e.to_dict() for e in log.entries(model=name)][-TRAIL_LENGTH:]
    return ReportInputs(
        evaluation=evaluation,
        digest=digest,
        trail=trail,
        checkpoint_note=checkpoint.note(),
        checkpoint={"size": checkpoint.size, "root": checkpoint.root},
        signoff=signoff,
        paper=paper,
        rules=recover(evaluation),
        template=template,
        sections=review_sections(log, evaluation, digest, trail, signing=signoff),
    )


def default_report_path(evaluation: dict[str, Any], digest: str, suffix: str = ".pdf") -> Path:
    model = evaluation["model"]
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", f"{model['name']}-{model['version']}")
    return Path("reports") / f"{safe}-{digest[:12]}{suffix}"


def render_report(
    log: AuditLog,
    *,
    digest: str | None,
    model: str | None,
    out: Path | None,
    paper: str,
    html: bool = False,
    template: Path | None = None,
    purpose: str = "gate",
) -> tuple[Path, str]:
    """Render the recorded evaluation; a PDF rendering is logged with its SHA-256 (and the template
    folder it used, so the sign-off re-renders with the same one)."""
    _, payload = find_evaluation(log, digest=digest, model=model, purpose=purpose)
    evaluation, ev_digest = payload["evaluation"], payload["evaluation_digest"]
    checkpoint = log.checkpoint()
    inputs = _inputs(log, evaluation, ev_digest, checkpoint, paper, template=template)
    out = out or default_report_path(evaluation, ev_digest, ".html" if html else ".pdf")
    out.parent.mkdir(parents=True, exist_ok=True)
    if html:
        out.write_text(render_html(inputs), encoding="utf-8")
        return out, file_digest(out.read_bytes())
    pdf = render_pdf(inputs)
    out.write_bytes(pdf)
    sha = file_digest(pdf)
    templates = templates_sha256(inputs)
    log.append(
        REPORT_RENDERED,
        model_subject(evaluation["model"]),
        {
            "evaluation_digest": ev_digest,
            "sha256": sha,
            "file": out.name,
            "path": str(out.resolve()),  # where `govkit export` looks first
            "bytes": len(pdf),
            "paper": paper,
            "checkpoint": {"size": checkpoint.size, "root": checkpoint.root},
            **({"template": str(template.resolve())} if template else {}),
            "templates_sha256": templates,
        },
    )
    return out, sha


@dataclass(frozen=True)
class SignoffRequest:
    signer: str
    role: str
    decision: Decision
    conditions: str
    key: Path
    cert: Path


def parse_signer(text: str) -> tuple[str, str]:
    match = SIGNER.match(text)
    if not match:
        raise GovkitError('expected "Full Name <email@example.org>"', field="--signer")
    return match["name"], match["email"]


def sign_off(log: AuditLog, pdf_path: Path, request: SignoffRequest, out: Path | None) -> tuple[Path, str, int]:
    """Sign a logged report (re-rendered with the decision filled in) or countersign a signed one."""
    try:
        original = pdf_path.read_bytes()
    except FileNotFoundError:
        raise GovkitError("report not found", file=pdf_path) from None
    if request.decision == "approve-with-conditions" and not request.conditions.strip():
        raise GovkitError("approve-with-conditions needs --conditions", field="--conditions")
    name, email = parse_signer(request.signer)
    check_signer(request.key, request.cert, name, email, datetime.now(UTC))  # before anything is logged
    appearance_font()
    sha = file_digest(original)
    found = find_by_file_digest(log, sha)
    if found is None:
        raise GovkitError(
            f"this file (sha256 {sha[:16]}...) is not a report rendering or sign-off recorded in "
            f"{log.location}; render it with `govkit report` first",
            file=pdf_path,
        )
    entry, payload = found
    ev_digest = payload["evaluation_digest"]
    _, recorded = find_evaluation(log, digest=ev_digest)
    evaluation = recorded["evaluation"]
    cert_sha = certificate_sha256(request.cert)
    countersign = entry.action == SIGNOFF_RECORDED
    template = Path(payload["template"]) if payload.get("template") else None
    if not countersign:  # the first sign-off re-renders: only from the templates the reviewed file came from
        same = ReportInputs(
            evaluation, ev_digest, template=template, sections=review_sections(log, evaluation, ev_digest, [])
        )
        if templates_sha256(same) != payload.get("templates_sha256"):
            raise GovkitError(
                "the report templates changed since this report was rendered (or an older govkit rendered it), so "
                "the signed copy would not be what was reviewed; render it again and review that",
                file=pdf_path,
            )
    now = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    subject = model_subject(evaluation["model"])
    decided = log.append(
        SIGNOFF_DECIDED,
        subject,
        {
            "evaluation_digest": ev_digest,
            "input_sha256": sha,
            "signer": name,
            "email": email,
            "role": request.role,
            "decision": request.decision,
            "conditions": request.conditions,
            "cert_sha256": cert_sha,
            "time": now,
        },
    )
    checkpoint = log.checkpoint()
    position = (payload.get("signatures", 0) if countersign else 0) + 1
    if countersign:
        base = original  # never re-render: earlier signatures must stay valid
    else:
        block = SignoffBlock(
            signer=f"{name} <{email}>",
            role=request.role,
            decision=request.decision,
            conditions=request.conditions,
            time=now,
            entry_seq=decided.seq,
            checkpoint_size=checkpoint.size,
            checkpoint_root=checkpoint.root,
        )
        inputs = _inputs(log, evaluation, ev_digest, checkpoint, payload.get("paper", "a4"), block, template)
        base = render_pdf(inputs)
    reason = f"{request.decision} ({request.role}); govkit log entry {decided.seq}"
    if request.conditions:
        reason += f"; conditions: {request.conditions}"
    appearance = (
        f"{request.decision} ({request.role})",
        f"{name} <{email}>",
        f"Conditions: {request.conditions or 'none'}",
        f"{now}, audit log entry #{decided.seq}",
    )
    signed = sign_pdf(
        base,
        key=request.key,
        cert=request.cert,
        field_name=f"govkit-signoff-{position}",
        reason=reason,
        location=f"evaluation {ev_digest[:16]}",
        contact=email,
        appearance=appearance,
        position=position,
    )
    out = out or pdf_path.with_name(f"{pdf_path.stem.removesuffix(f'-signed{position - 1}')}-signed{position}.pdf")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(signed)
    signed_sha = file_digest(signed)
    record = log.append(
        SIGNOFF_RECORDED,
        subject,
        {
            "evaluation_digest": ev_digest,
            "decided_seq": decided.seq,
            "input_sha256": sha,
            "signed_sha256": signed_sha,
            "signer": name,
            "email": email,
            "role": request.role,
            "decision": request.decision,
            "cert_sha256": cert_sha,
            "signatures": position,
            "field": f"govkit-signoff-{position}",
            "file": out.name,
            "path": str(out.resolve()),  # where `govkit export` looks first
            "paper": payload.get("paper", "a4"),
        },
    )
    log.checkpoint()
    return out, signed_sha, record.seq


@dataclass
class PdfVerification:
    sha256: str
    signatures: list[Any] = field(default_factory=list)
    log_entry: int | None = None
    log_action: str | None = None
    problems: list[str] = field(default_factory=list)
    unreadable: bool = False  # the PDF parser failed: "no signatures" would be a guess

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_pdf(path: Path, *, log: AuditLog | None, trust: list[Path], allow_unsigned: bool = False) -> PdfVerification:
    """Check signatures and the logged digest; no signature at all is a problem unless the caller
    accepts unsigned files, and never when it asked for trusted signers."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise GovkitError("PDF not found", file=path) from None
    result = PdfVerification(sha256=file_digest(data))
    try:
        result.signatures = validate_signatures(data, trust)
    except GovkitError:
        raise
    except Exception as exc:  # a damaged file makes the PDF parser itself fail
        first_line = (str(exc).strip().splitlines() or [""])[0][:200]
        result.unreadable = True
        result.problems.append(f"cannot read the PDF's signatures ({type(exc).__name__}: {first_line})")
    else:
        if not result.signatures and trust:
            result.problems.append("no signatures, and --trust asks for a trusted signer")
        elif not result.signatures and not allow_unsigned:
            result.problems.append("no signatures (pass --allow-unsigned to check an unsigned report)")
    for i, sig in enumerate(result.signatures):
        if not sig.intact:
            result.problems.append(f"signature {sig.field}: the signed bytes were altered")
        elif not sig.valid:
            result.problems.append(f"signature {sig.field}: does not verify")
        if sig.changed_after:
            result.problems.append(f"signature {sig.field}: the document was changed after signing")
        if i == len(result.signatures) - 1 and not sig.covers_whole_file:
            result.problems.append(f"signature {sig.field}: content was added after the last signature")
        if sig.certificate_problem:
            result.problems.append(f"signature {sig.field}: signer certificate {sig.certificate_problem}")
        if trust and not sig.trusted:
            result.problems.append(f"signature {sig.field}: signer certificate not trusted")
    if log is not None:
        found = find_by_file_digest(log, result.sha256)
        if found is None:
            result.problems.append(
                f"file digest {result.sha256[:16]}... matches no rendering or sign-off in {log.location}"
            )
        else:
            result.log_entry, result.log_action = found[0].seq, found[0].action
    return result
