"""`govkit report`, `govkit signoff`, `govkit verify-pdf`: the compliance report and its signatures."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from govkit.cli.base import (
    DB_OPTION,
    output_option,
    progress,
    quiet_pdf_libraries,
)
from govkit.errors import EXIT_BLOCKING, EXIT_OK

if TYPE_CHECKING:
    from govkit.report.signoff import Decision


@click.command(
    epilog="""\b
Examples:
  govkit report --latest credit-scorer
  govkit report 3f2908cd0d6f --output reports/credit-scorer.pdf --paper letter
  govkit report --latest credit-scorer --template examples/bank-template
  govkit report --latest credit-scorer --format html -o preview.html"""
)
@click.argument("digest", required=False)
@click.option("--latest", "model", help="The latest gate evaluation (`govkit check`) of this model.")
@click.option("--monitoring", is_flag=True, help="With --latest: the latest monitoring run instead.")
@output_option("Output file (default: reports/MODEL-VERSION-DIGEST.pdf).", dest="out")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["pdf", "html"]),
    default="pdf",
    show_default=True,
    help="pdf: PDF/A-3b, logged; html: the same report as one self-contained page (not logged).",
)
@click.option("--html", is_flag=True, hidden=True, help="Same as --format html.")
@click.option(
    "--template",
    type=click.Path(path_type=Path, file_okay=False),
    help="An organisation's report template folder (its report.html.j2 extends govkit's; see templates/).",
)
@click.option("--paper", type=click.Choice(["a4", "letter"]), default="a4", show_default=True)
@DB_OPTION
def report(
    digest: str | None,
    model: str | None,
    monitoring: bool,
    out: Path | None,
    fmt: str,
    html: bool,
    template: Path | None,
    paper: str,
    db: str,
) -> None:
    """Render a recorded evaluation as a PDF/A-3b compliance report and log its SHA-256."""
    from govkit.audit.log import AuditLog
    from govkit.report.workflow import render_report

    if (digest is None) == (model is None):
        raise click.UsageError("give an EVALUATION_DIGEST or --latest MODEL")
    with progress("the report"), AuditLog(db) as log:
        path, sha = render_report(
            log,
            digest=digest,
            model=model,
            out=out,
            paper=paper,
            html=html or fmt == "html",
            template=template,
            purpose="monitor" if monitoring else "gate",
        )
    click.echo(f"{path}  sha256 {sha}")


@click.command(
    epilog="""\b
Examples:
  govkit signoff reports/credit-scorer.pdf --signer "Carol Officer <carol@example.org>" \\
    --role "Compliance Officer" --decision approve --key carol.key.pem --cert carol.cert.pem
  govkit signoff reports/credit-scorer-signed1.pdf --signer "Dan Risk <dan@example.org>" \\
    --role "Model Risk" --decision approve-with-conditions --conditions "re-test in Q1" \\
    --key dan.key.pem --cert dan.cert.pem"""
)
@click.argument("pdf", type=click.Path(path_type=Path))
@click.option("--signer", required=True, help='"Full Name <email>"')
@click.option("--role", required=True)
@click.option("--decision", type=click.Choice(["approve", "reject", "approve-with-conditions"]), required=True)
@click.option("--conditions", default="", help="Required with approve-with-conditions.")
@click.option("--key", type=click.Path(path_type=Path), required=True, help="Signer's private key (PEM).")
@click.option("--cert", type=click.Path(path_type=Path), required=True, help="Signer's certificate (PEM).")
@output_option("Signed file (default: NAME-signedN.pdf).", dest="out")
@DB_OPTION
def signoff(
    pdf: Path,
    signer: str,
    role: str,
    decision: Decision,
    conditions: str,
    key: Path,
    cert: Path,
    out: Path | None,
    db: str,
) -> None:
    """Record an officer's decision and seal the report with a PAdES signature (a second officer countersigns)."""
    from govkit.audit.log import AuditLog
    from govkit.report.workflow import SignoffRequest, sign_off

    request = SignoffRequest(signer=signer, role=role, decision=decision, conditions=conditions, key=key, cert=cert)
    quiet_pdf_libraries()
    from govkit.inventory.notify import notify_signoff

    with progress("the signed report"), AuditLog(db) as log:
        path, sha, seq = sign_off(log, pdf, request, out)
        notify_signoff(log, seq, warn=lambda m: click.echo(m, err=True))
    click.echo(f"{path}  sha256 {sha}  (audit log entry {seq})")


@click.command(
    "verify-pdf",
    epilog="""\b
Examples:
  govkit verify-pdf reports/credit-scorer-signed2.pdf
  govkit verify-pdf signed.pdf --trust carol.cert.pem --trust dan.cert.pem --no-log
  govkit verify-pdf reports/credit-scorer.pdf --allow-unsigned""",
)
@click.argument("pdf", type=click.Path(path_type=Path))
@click.option("--trust", type=click.Path(path_type=Path), multiple=True, help="Trusted signer or CA certificate.")
@click.option("--no-log", is_flag=True, help="Do not check the file digest against the audit log.")
@click.option(
    "--allow-unsigned",
    is_flag=True,
    help="A PDF without signatures is not a failure (a rendered report before sign-off); not with --trust.",
)
@DB_OPTION
def verify_pdf_command(pdf: Path, trust: tuple[Path, ...], no_log: bool, allow_unsigned: bool, db: str) -> None:
    """Validate a report's signatures and check its digest against the audit log; exit 1 on any problem."""
    from govkit.audit.log import AuditLog
    from govkit.report.workflow import verify_pdf

    quiet_pdf_libraries()
    if no_log:
        result = verify_pdf(pdf, log=None, trust=list(trust), allow_unsigned=allow_unsigned)
    else:
        with AuditLog(db, create=False) as log:
            result = verify_pdf(pdf, log=log, trust=list(trust), allow_unsigned=allow_unsigned)
    click.echo(f"{pdf}  sha256 {result.sha256}")
    for sig in result.signatures:
        state = (
            "valid"
            if sig.ok
            else f"INVALID (certificate {sig.certificate_problem})"
            if sig.certificate_problem
            else "INVALID"
        )
        trusted = "trusted" if sig.trusted else "not checked against a trust root" if not trust else "UNTRUSTED"
        click.echo(f"  {sig.field}: {state}, {trusted}; signed by {sig.signer} at {sig.signing_time}; {sig.reason}")
    if not result.signatures:
        click.echo("  signatures unreadable" if result.unreadable else "  no signatures")
    if result.log_entry is not None:
        click.echo(f"  matches audit log entry {result.log_entry} ({result.log_action})")
    for problem in result.problems:
        click.echo(f"FAILED: {problem}", err=True)
    sys.exit(EXIT_OK if result.ok else EXIT_BLOCKING)
