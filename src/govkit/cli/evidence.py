"""`govkit export` and `govkit verify-bundle`: evidence bundles an auditor verifies offline."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import click

from govkit.cli.base import (
    DB_OPTION,
    output_option,
    parse_date,
    progress,
    trusted_key_option,
)


@click.command(
    epilog="""\b
Examples:
  govkit export --model credit-scorer --output evidence/credit-scorer.zip
  govkit export --team lending --since 2026-01-01 --until 2026-06-30 --output lending-h1.zip --include reports/"""
)
@click.option("--model", help="Only this model's entries.")
@click.option("--team", help="Only evaluations run as this team, and what refers to them.")
@click.option("--since", callback=parse_date, help="From this date (inclusive).")
@click.option("--until", callback=parse_date, help="Up to this date (inclusive).")
@output_option("The bundle (.zip) to write.", required=True, dest="out")
@click.option(
    "--include",
    type=click.Path(path_type=Path),
    multiple=True,
    help="Folders searched (by SHA-256) for reports and sign-offs; default: reports/.",
)
@DB_OPTION
def export(
    model: str | None,
    team: str | None,
    since: date | None,
    until: date | None,
    out: Path,
    include: tuple[Path, ...],
    db: str,
) -> None:
    """Export an evidence bundle (BagIt zip) that an auditor verifies offline without govkit."""
    from govkit.audit.log import AuditLog
    from govkit.evidence.export import Scope, export_bundle

    scope = Scope(
        model=model, team=team, since=since.isoformat() if since else None, until=until.isoformat() if until else None
    )
    with progress("the evidence bundle"), AuditLog(db) as log:
        result = export_bundle(log, scope, out, list(include) or [Path("reports")])
    click.echo(f"{result.path}  sha256 {result.sha256}  ({result.entries} log entries, {result.files} files)")
    for item in result.missing:
        click.echo(f"note: {item['what']} (sha256 {item['sha256'][:16]}...) not found; listed as missing", err=True)


@click.command(
    "verify-bundle",
    epilog="""\b
Examples:
  govkit verify-bundle evidence/credit-scorer.zip
  govkit verify-bundle bundle.zip --trusted-key published-log-key.pem""",
)
@click.argument("bundle", type=click.Path(path_type=Path))
@trusted_key_option(multiple=False)
def verify_bundle(bundle: Path, trusted_key: Path | None) -> None:
    """Verify an evidence bundle with govkit's own verifier, never code from the bundle; exit 1 on any failure."""
    from govkit.evidence import verify as bundle_verify

    args = [str(bundle)] + (["--trusted-key", str(trusted_key)] if trusted_key else [])
    sys.exit(bundle_verify.main(args))
