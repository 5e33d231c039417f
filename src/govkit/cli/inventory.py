"""`govkit inventory ...` and `govkit lifecycle ...`: the model inventory and lifecycle states."""

from __future__ import annotations

import re
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from govkit.cli.base import POLICY_SET_OPTION, color
from govkit.errors import EXIT_BLOCKING, GovkitError

AS_OF = click.option(
    "--as-of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Judge what is due on this date instead of today (e.g. the date of an audit).",
)
DB = click.option("--db", envvar="GOVKIT_DB", default="govkit.db", show_default=True, help="Audit log database.")
POLICY = click.option(
    "--policy",
    "policy_path",
    type=click.Path(path_type=Path),
    envvar="GOVKIT_POLICY",
    help="Policy folder with the lifecycle rules and webhooks (default: GOVKIT_POLICY, else ./policies if present).",
)
POLICY_SET = POLICY_SET_OPTION
TRUSTED_KEY = click.option(
    "--trusted-key",
    "trusted_keys",
    type=click.Path(path_type=Path),
    multiple=True,
    help="Verify the log against this public key (PEM) instead of the .pub beside the signing key.",
)
OUTPUT = click.option("--output", "-o", type=click.Path(path_type=Path), help="Write here instead of stdout.")
FORMAT = click.option(
    "--format", "fmt", type=click.Choice(["table", "json", "csv", "markdown"]), default="table", show_default=True
)
WITHIN = re.compile(r"^\s*(\d{1,5})\s*([dw]?)\s*$")


def _parse_within(_: Any, __: Any, value: str) -> timedelta:
    match = WITHIN.match(value)
    if not match:
        raise click.BadParameter("expected days like 30d, or weeks like 4w")
    return timedelta(days=int(match[1]) * (7 if match[2] == "w" else 1))


def _emit(text: str, output: Path | None) -> None:
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise GovkitError(f"cannot write: {exc.strerror}", file=output) from None


def _inventory(
    db: str, policy_path: Path | None, policy_set: str | None, trusted_keys: tuple[Path, ...], as_of: date | None
) -> Any:
    from govkit.audit.keys import public_raw
    from govkit.audit.log import AuditLog
    from govkit.audit.verify_cli import read_public_key
    from govkit.inventory.config import policy_folder, rules_source
    from govkit.inventory.interface import build_inventory

    rules = rules_source(policy_folder(policy_path), policy_set)
    keys = [public_raw(read_public_key(p)) for p in trusted_keys] or None
    with AuditLog(db, create=False) as log:
        return build_inventory(log, rules=rules, trusted_keys=keys, today=as_of)


@click.group(
    "inventory",
    invoke_without_command=True,
    epilog="""\b
Examples:
  govkit inventory
  govkit inventory --team lending --state deployed --format csv -o inventory.csv
  govkit inventory due --within 30d""",
)
@click.option("--team", help="Only this team's models.")
@click.option("--state", help="Only versions in this lifecycle state.")
@FORMAT
@OUTPUT
@POLICY
@POLICY_SET
@TRUSTED_KEY
@AS_OF
@DB
@click.pass_context
def inventory_group(
    ctx: click.Context,
    team: str | None,
    state: str | None,
    fmt: str,
    output: Path | None,
    policy_path: Path | None,
    policy_set: str | None,
    trusted_keys: tuple[Path, ...],
    as_of: datetime | None,
    db: str,
) -> None:
    """Every model and version in the audit log: owner, risk tier, state, evaluation, sign-off, what is due."""
    if ctx.invoked_subcommand is not None:
        return
    from govkit.inventory.render import render_inventory
    from govkit.inventory.states import STATES

    if state is not None and state not in STATES:
        raise GovkitError(f"unknown state {state!r} (states: {', '.join(STATES)})", field="--state")
    today = as_of.date() if as_of else None
    inventory = _inventory(db, policy_path, policy_set, trusted_keys, today).filtered(team=team, state=state)
    _emit(render_inventory(inventory, fmt, color=output is None and color(sys.stdout)), output)


@inventory_group.command(
    "due",
    epilog="""\b
Examples:
  govkit inventory due --within 30d
  govkit inventory due --team lending --format json --notify""",
)
@click.option(
    "--within", default="30d", show_default=True, callback=_parse_within, help="Horizon, in days (30d) or weeks (4w)."
)
@click.option("--team", help="Only this team's models.")
@click.option("--notify", is_flag=True, help="Send review.overdue and monitoring.failed to the teams' webhooks.")
@FORMAT
@OUTPUT
@POLICY
@POLICY_SET
@TRUSTED_KEY
@AS_OF
@DB
def due_command(
    within: timedelta,
    team: str | None,
    notify: bool,
    fmt: str,
    output: Path | None,
    policy_path: Path | None,
    policy_set: str | None,
    trusted_keys: tuple[Path, ...],
    as_of: datetime | None,
    db: str,
) -> None:
    """Reviews due or overdue, waivers expiring, monitoring failing; exit 1 when something is overdue."""
    from govkit.inventory.interface import due
    from govkit.inventory.render import render_due

    today = as_of.date() if as_of else None
    inventory = _inventory(db, policy_path, policy_set, trusted_keys, today).filtered(team=team)
    items = due(inventory, within)
    _emit(render_due(items, fmt, color=output is None and color(sys.stdout)), output)
    if notify:
        _notify_due(db, policy_path, policy_set, items)
    if any(i.overdue for i in items):
        sys.exit(EXIT_BLOCKING)


def _notify_due(db: str, policy_path: Path | None, policy_set: str | None, items: list[Any]) -> None:
    from govkit.audit.log import AuditLog
    from govkit.inventory.config import policy_folder, rules_source
    from govkit.inventory.notify import Notification, notify

    rules = rules_source(policy_folder(policy_path), policy_set)
    events = {"review": "review.overdue", "monitoring": "monitoring.failed"}
    with AuditLog(db, create=False) as log:
        for item in items:
            if item.kind not in events or (item.kind == "review" and not item.overdue):
                continue
            note = Notification(
                event=events[item.kind],  # type: ignore[arg-type]  # one of the two literal events
                team=item.team,
                model=item.model,
                version=item.version,
                summary=f"{item.model} {item.version}: {item.detail}",
                details=item.to_dict(),
            )
            notify(log, rules(item.team).webhooks, note, warn=lambda m: click.echo(m, err=True))


@inventory_group.command(
    "register",
    epilog="""\b
Example:
  govkit inventory register credit-scorer 2.0.0 --team lending --owner "Ann Lee" --risk-tier high""",
)
@click.argument("model")
@click.argument("version")
@click.option("--team", required=True, help="The team that owns the model.")
@click.option("--owner", required=True, help="The accountable owner.")
@click.option("--risk-tier", required=True, type=click.Choice(["low", "medium", "high"]))
@click.option("--actor", help="Who registers (default: GOVKIT_ACTOR, the CI user, or user@host).")
@DB
def register_command(
    model: str, version: str, team: str, owner: str, risk_tier: str, actor: str | None, db: str
) -> None:
    """Record a version's team, owner and risk tier (they override what its evaluations' manifests say)."""
    from govkit.audit.log import AuditLog
    from govkit.formats.common import printable
    from govkit.inventory.lifecycle import register

    with AuditLog(db, actor=actor) as log:
        entry = register(log, model=model, version=version, team=team, owner=owner, risk_tier=risk_tier)  # type: ignore[arg-type]
    click.echo(f"registered {printable(model)} {printable(version)} (audit log entry {entry.seq})")


@click.group("lifecycle")
def lifecycle_group() -> None:
    """Lifecycle states of model versions: registered, in-review, approved, deployed, suspended, retired."""


@lifecycle_group.command(
    "set",
    epilog="""\b
Examples:
  govkit lifecycle set credit-scorer 1.4.0 in-review --reason "quarterly release"
  govkit lifecycle set credit-scorer 1.4.0 deployed --reason "CHG-1234" --policy policies/""",
)
@click.argument("model")
@click.argument("version")
@click.argument("state")
@click.option("--reason", required=True, help="Why (a change ticket, a decision); recorded in the audit log.")
@click.option("--actor", help="Who changes the state (default: GOVKIT_ACTOR, the CI user, or user@host).")
@POLICY
@POLICY_SET
@DB
def set_command(
    model: str,
    version: str,
    state: str,
    reason: str,
    actor: str | None,
    policy_path: Path | None,
    policy_set: str | None,
    db: str,
) -> None:
    """Move a version to STATE; the policy's guardrails refuse (exit 1, naming the condition) what they do not allow."""
    from govkit.audit.log import AuditLog
    from govkit.formats.common import printable
    from govkit.inventory.config import policy_folder, rules_source
    from govkit.inventory.lifecycle import set_state
    from govkit.inventory.notify import Notification, notify

    folder = policy_folder(policy_path)
    rules = rules_source(folder, policy_set)
    with AuditLog(db, actor=actor, create=False) as log:
        change = set_state(log, model=model, version=version, state=state, reason=reason, rules=rules)
        click.echo(
            f"{printable(model)} {printable(version)}: {change.previous} -> {change.state} "
            f"(audit log entry {change.entry.seq}; checked: {', '.join(change.checked) or 'nothing'})"
        )
        if folder is None:
            click.echo("note: no policy folder, so the default lifecycle rules applied", err=True)
        note = Notification(
            event="state.changed",
            team=change.model.team,
            model=model,
            version=version,
            summary=f"{model} {version}: {change.previous} -> {change.state} by {log.actor}: {reason}",
            details={"from": change.previous, "to": change.state, "seq": change.entry.seq, "reason": reason},
        )
        notify(log, rules(change.model.team).webhooks, note, warn=lambda m: click.echo(m, err=True))
