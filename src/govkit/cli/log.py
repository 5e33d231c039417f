"""`govkit log show|verify|checkpoint|redact|copy`: read and prove the audit log."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import click

from govkit.cli.base import (
    DB_OPTION,
    KEY_OPTION,
    parse_date,
    trusted_key_option,
)
from govkit.errors import EXIT_BLOCKING


@click.group("log")
def log_group() -> None:
    """Read, verify, checkpoint and redact the audit log."""


@log_group.command(
    "show",
    epilog="""\b
Examples:
  govkit log show --model credit-scorer --action evaluation.recorded
  govkit log show --since 2026-11-01 --format json""",
)
@DB_OPTION
@click.option("--model", help="Only entries about this model.")
@click.option("--action", help="Only this action, e.g. evaluation.recorded.")
@click.option("--since", callback=parse_date, help="Only entries recorded on or after this date.")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many entries.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def log_show(db: str, model: str | None, action: str | None, since: date | None, limit: int | None, fmt: str) -> None:
    """List log entries, oldest first."""
    import json

    from govkit.audit.log import AuditLog

    with AuditLog(db, create=False) as log:
        found = log.entries(model=model, action=action, since=since.isoformat() if since else None, limit=limit)
    if fmt == "json":
        click.echo(json.dumps([e.to_dict() for e in found], indent=2))
        return
    from govkit.formats.common import printable

    for e in found:
        click.echo(
            f"{e.seq:>6}  {e.recorded_at}  {printable(e.action):<22} {printable(e.subject):<32} "
            f"{printable(e.actor)}  {e.entry_hash[:16]}"
        )
    click.echo(f"{len(found)} entries", err=True)


@log_group.command(
    "verify",
    epilog="""\b
Examples:
  govkit log verify
  govkit log verify --require-anchor --trusted-key log-key.pub --known-checkpoint saved-checkpoint.txt""",
)
@DB_OPTION
@KEY_OPTION
@click.option(
    "--known-checkpoint",
    type=click.Path(path_type=Path),
    help="A checkpoint saved earlier; catches truncation and rollback.",
)
@trusted_key_option(multiple=True)
@click.option(
    "--require-anchor",
    is_flag=True,
    help="Exit 1 when no key from outside the database anchors the log (for CI and auditors).",
)
@click.option("--full", is_flag=True, help="Check every entry's signature, also those a verified checkpoint covers.")
def log_verify(
    db: str,
    key_path: Path | None,
    known_checkpoint: Path | None,
    trusted_keys: tuple[Path, ...],
    require_anchor: bool,
    full: bool,
) -> None:
    """Check seq density, links, hashes, signatures, payloads and checkpoints; exit 1 on any failure."""
    from govkit.audit.keys import public_raw
    from govkit.audit.log import AuditLog
    from govkit.audit.verify_cli import read_checkpoint, read_public_key

    known = read_checkpoint(known_checkpoint) if known_checkpoint else None
    anchors = [(p, public_raw(read_public_key(p))) for p in trusted_keys]
    with AuditLog(db, key_path=key_path, create=False) as log:
        anchors = anchors or log.anchor_keys()
        result = log.verify(known_checkpoint=known, trusted_keys=[raw for _, raw in anchors], full=full)
        if result.ok:  # the inventory's cached index must match the log (moot when the log itself fails)
            from govkit.inventory.cache import cache_problems

            result.problems.extend(cache_problems(log))
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    if not result.ok:
        click.echo(f"FAILED: {result.first}", err=True)
        for problem in result.problems[1:10]:
            click.echo(f"  also: {problem}", err=True)
        sys.exit(EXIT_BLOCKING)
    summary = (
        f"{result.size} entries, {result.checkpoints} checkpoint(s) verified; head {result.head[:16]}; "
        f"{result.signatures_checked} signature(s) checked one by one"
        + ("" if full else f", {result.covered} entries covered by a verified checkpoint")
    )
    if result.anchored:
        click.echo(f"ok: {summary}; anchored on {', '.join(str(p) for p, _ in anchors)}")
        return
    click.echo(
        f"ok (UNANCHORED: verified against keys found only in the database itself; pass --trusted-key "
        f"or keep the key's .pub): {summary}"
    )
    if require_anchor:
        click.echo("FAILED: --require-anchor: nothing outside the database anchors this log's keys", err=True)
        sys.exit(EXIT_BLOCKING)


@log_group.command("checkpoint", epilog="Example:\n\n  govkit log checkpoint --output checkpoints/$(date +%F).txt")
@DB_OPTION
@click.option("--output", "-o", type=click.Path(path_type=Path), help="Also write the signed note here.")
def log_checkpoint(db: str, output: Path | None) -> None:
    """Sign the log's current size and Merkle root; keep the note somewhere the log can't reach."""
    from govkit.audit.log import AuditLog

    with AuditLog(db, create=False) as log:
        note = log.checkpoint().note()
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(note, encoding="utf-8")
    click.echo(note, nl=False)


@log_group.command("redact", epilog="Example:\n\n  govkit log redact 42 --reason 'GDPR erasure request #881'")
@DB_OPTION
@click.argument("seq", type=click.IntRange(min=1))
@click.option("--reason", required=True, help="Why the payload is removed (recorded in the log).")
def log_redact(db: str, seq: int, reason: str) -> None:
    """Remove one entry's payload; the chain still verifies and the redaction is itself logged."""
    from govkit.audit.log import AuditLog

    with AuditLog(db, create=False) as log:
        entry = log.redact(seq, reason)
    click.echo(f"redacted payload of entry {seq}; recorded as entry {entry.seq}")


@log_group.command(
    "copy",
    epilog="""\b
Example:
  govkit log copy --from govkit.db --to postgresql://govkit@db.internal/audit""",
)
@click.option("--from", "source", required=True, help="The log to copy (path or URL).")
@click.option("--to", "target", required=True, help="An empty log to fill (path or postgresql:// URL).")
def log_copy(source: str, target: str) -> None:
    """Copy a whole log to another store, byte for byte, then verify both."""
    from govkit.audit.copy import copy_log

    copied, head = copy_log(source, target)
    click.echo(f"copied {copied} entries; both logs verify with head {head[:16]}")
