"""Change a version's lifecycle state, or register a model, as signed audit entries.

A change is checked against the transition table (`states.py`: an unknown state or transition is
an input error, exit 2) and then against the team's guardrails from the policy (`config.py`): a
refused change raises `TransitionRefused` (exit 1) naming the condition that failed, and nothing
is logged. The checks read the same verified inventory the CLI shows.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from govkit.audit.events import model_name_problem
from govkit.audit.interface import Entry
from govkit.audit.log import AuditLog, LogMoved
from govkit.audit.records import LIFECYCLE_CHANGED, MODEL_REGISTERED, model_subject
from govkit.errors import EXIT_BLOCKING, GovkitError
from govkit.identity import same_identity
from govkit.inventory.config import LifecycleRules
from govkit.inventory.fold import fold
from govkit.inventory.interface import ModelRecord, VersionRecord
from govkit.inventory.states import APPROVED, DECISION_FOR, STATES, TRANSITIONS, State
from govkit.manifest import RiskTier

ATTEMPTS = 5  # re-checks when other writers keep appending between the read and the write


class TransitionRefused(GovkitError):
    """A guardrail of the policy refuses the change (exit 1: a blocking finding, not bad input)."""

    exit_code = EXIT_BLOCKING


@dataclass(frozen=True)
class Change:
    entry: Entry
    model: ModelRecord
    previous: State
    state: State
    checked: tuple[str, ...]  # the guardrails that passed


def _requester(version: VersionRecord) -> str | None:
    """Who asked for the current review: the actor of the newest move to in-review."""
    return next((c.actor for c in reversed(version.history) if c.state == "in-review"), None)


def _review_started(version: VersionRecord) -> str:
    return next((c.at for c in reversed(version.history) if c.state == "in-review"), "")


def guardrails(
    model: ModelRecord, version: VersionRecord, state: State, rules: LifecycleRules, *, actor: str, today: date
) -> list[str]:
    """The conditions checked for this change, in order; TransitionRefused at the first that fails."""
    checked: list[str] = []
    label = f"{model.name} {version.version}"

    def refuse(condition: str, why: str) -> TransitionRefused:
        return TransitionRefused(f"refused: {condition}: {why}")

    signoff = version.latest_signoff
    if state in DECISION_FOR and rules.require_signoff:
        wanted = DECISION_FOR[state]
        if signoff is None or signoff.decision != wanted or signoff.at < _review_started(version):
            found = f"the latest is {signoff.decision!r} at {signoff.at}" if signoff else "there is none"
            raise refuse("signoff", f"{state} needs a {wanted!r} sign-off of {label} since its review began; {found}")
        checked.append("signoff")
    if state == "deployed":
        if rules.require_signoff:
            if signoff is None or signoff.decision not in ("approve", "approve-with-conditions"):
                found = f"the latest is {signoff.decision!r}" if signoff else "there is none"
                raise refuse("approve sign-off", f"deploying needs an approve sign-off of {label}; {found}")
            checked.append("approve sign-off")
        if rules.require_passing_evaluation:
            checked += _evaluation_checks(model, version, rules, today, refuse)
    if rules.four_eyes and (state in APPROVED or state == "deployed"):
        requester = _requester(version)
        if requester is not None:
            if same_identity(actor, requester):
                raise refuse("four-eyes", f"{actor} asked for this review and may not also move it to {state}")
            if signoff is not None and (
                same_identity(signoff.email, requester) or same_identity(signoff.signer, requester)
            ):
                raise refuse("four-eyes", f"the sign-off is by {signoff.signer}, who asked for this review")
        checked.append("four-eyes")
    return checked


def _evaluation_checks(
    model: ModelRecord,
    version: VersionRecord,
    rules: LifecycleRules,
    today: date,
    refuse: Callable[[str, str], TransitionRefused],
) -> list[str]:
    evaluation = version.latest_evaluation
    if evaluation is None or evaluation.team != model.team:
        raise refuse("passing evaluation", f"no evaluation of this version under team {model.team}'s policy")
    if evaluation.verdict != "pass":
        raise refuse("passing evaluation", f"the latest evaluation {evaluation.digest[:16]} fails")
    if rules.policy_digest is not None and evaluation.policy_digest != rules.policy_digest:
        raise refuse(
            "current policy",
            f"the latest evaluation was made under policy digest {evaluation.policy_digest[:16]}, "
            f"team {model.team}'s policy is now {rules.policy_digest[:16]}; evaluate again",
        )
    checked = ["passing evaluation", "current policy"] if rules.policy_digest else ["passing evaluation"]
    if rules.max_evaluation_age_days is not None:
        age = (today - date.fromisoformat(evaluation.recorded_at[:10])).days
        if age > rules.max_evaluation_age_days:
            raise refuse(
                "evaluation age",
                f"the latest evaluation is {age} days old; the policy allows {rules.max_evaluation_age_days}",
            )
        checked.append("evaluation age")
    return checked


def set_state(
    log: AuditLog,
    *,
    model: str,
    version: str,
    state: str,
    reason: str,
    rules: Callable[[str], LifecycleRules],
    today: date | None = None,
) -> Change:
    """Check and record `model` `version` -> `state` by `log.actor`.

    The change is appended only if the log has not grown since the checks read it; if it has (two
    pipelines promoting at once, a sign-off landing meanwhile), the checks run again on the new log,
    so the second of two racing changes is judged from the state the first one left.
    """
    today = today or datetime.now(UTC).date()
    if state not in STATES:
        raise GovkitError(f"unknown state {state!r} (states: {', '.join(STATES)})", field="STATE")
    if not reason.strip():
        raise GovkitError("a state change needs a reason", field="--reason")
    target: State = state  # narrowed by the STATES check above
    for _ in range(ATTEMPTS):
        with contextlib.suppress(LogMoved):
            return _checked_change(log, model, version, target, reason, rules, today)
    raise GovkitError(f"the audit log kept changing while {model} {version} was checked; try again")


def _checked_change(
    log: AuditLog,
    model: str,
    version: str,
    target: State,
    reason: str,
    rules: Callable[[str], LifecycleRules],
    today: date,
) -> Change:
    inventory = fold(log, today=today, rules=rules)
    record = inventory.model(model)
    found = record.version(version) if record else None
    if record is None or found is None or found.latest_evaluation is None:
        raise GovkitError(f"{model} {version} was never evaluated in {log.location}; run `govkit check` first")
    if target not in TRANSITIONS[found.state]:
        allowed = ", ".join(sorted(TRANSITIONS[found.state])) or "none"
        raise GovkitError(f"no transition {found.state} -> {target} (from {found.state}: {allowed})", field="STATE")
    team_rules = rules(record.team)
    checked = guardrails(record, found, target, team_rules, actor=log.actor, today=today)
    entry = log.append(
        LIFECYCLE_CHANGED,
        model_subject({"name": model, "version": version}),
        {
            "model": model,
            "version": version,
            "from": found.state,
            "to": target,
            "reason": reason,
            "team": record.team,
            "checked": checked,
            "evaluation_digest": found.latest_evaluation.digest,
            "signoff_seq": found.latest_signoff.seq if found.latest_signoff else None,
            "policy_digest": team_rules.policy_digest,
        },
        if_size=inventory.log_position.size,
    )
    return Change(entry, record, found.state, target, tuple(checked))


def register(log: AuditLog, *, model: str, version: str, team: str, owner: str, risk_tier: RiskTier) -> Entry:
    """Record who owns a version and its risk tier, for a model not (yet) evaluated or to correct them."""
    for name, value in (("MODEL", model), ("VERSION", version), ("--team", team), ("--owner", owner)):
        if not value.strip() or len(value) > 200:
            raise GovkitError("must be 1 to 200 characters, not blank", field=name)
    if problem := model_name_problem(model):
        raise GovkitError(problem, field="MODEL")
    return log.append(
        MODEL_REGISTERED,
        model_subject({"name": model, "version": version}),
        {"model": model, "version": version, "team": team, "owner": owner, "risk_tier": risk_tier},
    )
