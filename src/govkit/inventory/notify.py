"""Webhook notifications: generic JSON, Slack- and Teams-compatible bodies, timeout and retries.

A notification always follows the audit entry it reports (the entry is committed first), so a
webhook that is down never blocks or loses an audit entry. A delivery that still fails after its
retries is printed as a warning and recorded as a `notification.failed` audit entry naming the
event, the webhook's scheme and host (never its path or query: webhook URLs carry secret tokens)
and the error, so a missed alert is on record and can be followed up.
"""

from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from govkit.audit.log import AuditLog
from govkit.audit.records import NOTIFICATION_FAILED, SIGNOFF_RECORDED, model_subject
from govkit.errors import GovkitError
from govkit.formats.common import printable
from govkit.inventory.sections import Event, Webhook

BACKOFF_SECONDS = 0.5  # first retry waits this long, then doubling
MAX_BACKOFF_SECONDS = 8.0
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
Warn = Callable[[str], None]


@dataclass(frozen=True)
class Notification:
    event: Event
    team: str
    model: str
    version: str
    summary: str  # one line, plain text
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Delivery:
    ok: bool
    attempts: int
    error: str = ""


def _slack_text(text: str) -> str:
    """Slack mrkdwn: &, < and > are control characters (`<!channel>` pings everyone), so escape them."""
    return printable(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def body(note: Notification, fmt: str) -> dict[str, Any]:
    """The request body for a webhook of format json, slack or teams."""
    from govkit.formats.markdown import _md

    if fmt == "slack":
        return {"text": _slack_text(f"govkit {note.event}: {note.summary}")}
    if fmt == "teams":  # a Teams Workflows webhook takes a message with an Adaptive Card attachment
        facts = [{"title": k, "value": _md(v)} for k, v in (("team", note.team), ("model", note.model))]
        facts.append({"title": "version", "value": _md(note.version)})
        card = {
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "type": "AdaptiveCard",
            "version": "1.4",
            "body": [
                {"type": "TextBlock", "text": _md(f"govkit {note.event}"), "weight": "Bolder", "wrap": True},
                {"type": "TextBlock", "text": _md(note.summary), "wrap": True},
                {"type": "FactSet", "facts": facts},
            ],
        }
        return {
            "type": "message",
            "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "content": card}],
        }
    return {
        "event": note.event,
        "team": note.team,
        "model": note.model,
        "version": note.version,
        "summary": note.summary,
        "details": dict(note.details),
        "sent_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "source": "govkit",
    }


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A webhook answers; it does not send the payload on to somewhere else."""

    def redirect_request(self, *_: Any, **__: Any) -> None:
        return None


def site(url: str) -> str:
    """scheme://host[:port] only: what may be logged or printed about a webhook URL."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}"


def deliver(hook: Webhook, note: Notification, *, sleep: Callable[[float], None] = time.sleep) -> Delivery:
    """POST the body; retry timeouts, connection errors and 408/425/429/5xx with doubling backoff."""
    if urlsplit(hook.url).scheme not in ("http", "https"):  # the schema allows only these; never file: or ftp:
        return Delivery(False, 0, "not an http or https URL")
    data = json.dumps(body(note, hook.format)).encode("utf-8")
    opener = urllib.request.build_opener(_NoRedirect)
    error = ""
    for attempt in range(1, hook.retries + 2):
        if attempt > 1:
            sleep(min(BACKOFF_SECONDS * 2 ** (attempt - 2), MAX_BACKOFF_SECONDS))
        request = urllib.request.Request(  # noqa: S310  (scheme checked above)
            hook.url, data=data, method="POST", headers={"Content-Type": "application/json", "User-Agent": "govkit"}
        )
        try:
            with opener.open(request, timeout=hook.timeout_seconds) as response:
                response.read(65536)
            return Delivery(True, attempt)
        except urllib.error.HTTPError as exc:
            error = f"HTTP {exc.code}"
            if exc.code not in RETRY_STATUSES:
                return Delivery(False, attempt, error)
        except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as exc:  # incl. timeouts
            reason = getattr(exc, "reason", exc)
            error = f"{type(reason).__name__}: {printable(reason)[:200]}"
    return Delivery(False, hook.retries + 1, error)


def notify(
    log: AuditLog | None,
    hooks: Sequence[Webhook],
    note: Notification,
    *,
    warn: Warn,
    sleep: Callable[[float], None] = time.sleep,
) -> list[Delivery]:
    """Send `note` to every hook that wants its event; failures are warned about and logged, never raised."""
    results = []
    for hook in hooks:
        if hook.events and note.event not in hook.events:
            continue
        result = deliver(hook, note, sleep=sleep)
        results.append(result)
        if result.ok:
            continue
        where = site(hook.url)
        warn(f"warning: notification {note.event} to {where} failed after {result.attempts} attempt(s): {result.error}")
        if log is not None:
            try:
                log.append(
                    NOTIFICATION_FAILED,
                    model_subject({"name": note.model, "version": note.version}),
                    {"event": note.event, "webhook": where, "attempts": result.attempts, "error": result.error},
                )
            except Exception as exc:  # the failure is already reported above; never turn it into a crash
                warn(f"warning: could not record the failed notification in the audit log: {printable(exc)[:200]}")
    return results


def policy_hooks(policy: Path | None, team: str, policy_set: str | None = None) -> tuple[Webhook, ...]:
    """The team's webhooks from the policy folder (see `config.policy_folder`); none without one."""
    from govkit.inventory.config import lifecycle_rules, policy_folder

    folder = policy_folder(policy)
    return lifecycle_rules(folder, team=team, policy_set=policy_set).webhooks if folder else ()


def notify_evaluation(
    log: AuditLog, policy: Path, policy_set: str | None, evaluation: Any, *, warn: Warn
) -> list[Delivery]:
    """After an evaluation is recorded: `evaluation.failed`, or `monitoring.failed` for a failing monitoring run."""
    if evaluation.verdict != "fail":
        return []
    hooks = policy_hooks(policy, evaluation.team, policy_set)
    if not hooks:
        return []
    monitor = evaluation.options.get("purpose") == "monitor"
    blocking = [f.rule_id for f in evaluation.findings if f.blocking]
    note = Notification(
        event="monitoring.failed" if monitor else "evaluation.failed",
        team=evaluation.team,
        model=str(evaluation.model["name"]),
        version=str(evaluation.model["version"]),
        summary=f"{evaluation.model['name']} {evaluation.model['version']} fails "
        f"{'monitoring' if monitor else 'its check'} for team {evaluation.team} ({', '.join(blocking)})",
        details={"evaluation_digest": evaluation.digest, "blocking_rules": blocking},
    )
    return notify(log, hooks, note, warn=warn)


def notify_signoff(log: AuditLog, seq: int, *, warn: Warn) -> list[Delivery]:
    """After a sign-off is recorded: `signoff.recorded` to the evaluated team's webhooks."""
    from govkit.audit.records import find_evaluation

    record = next((e for e, _ in log.store.scan(seq)), None)
    if record is None or record.seq != seq or record.action != SIGNOFF_RECORDED:
        return []
    payload = log.read_verified(record)
    _, found = find_evaluation(log, digest=str(payload["evaluation_digest"]))
    evaluation = found["evaluation"]
    try:
        hooks = policy_hooks(None, str(evaluation["team"]))
    except GovkitError as exc:  # the sign-off is recorded: a broken webhook config must not fail it now
        warn(f"warning: no signoff.recorded notification: {exc}")
        return []
    if not hooks:
        return []
    model = evaluation["model"]
    note = Notification(
        event="signoff.recorded",
        team=str(evaluation["team"]),
        model=str(model["name"]),
        version=str(model["version"]),
        summary=f"{payload['signer']} ({payload['role']}) signed off {model['name']} {model['version']}: "
        f"{payload['decision']}",
        details={"evaluation_digest": payload["evaluation_digest"], "decision": payload["decision"], "seq": seq},
    )
    return notify(log, hooks, note, warn=warn)
