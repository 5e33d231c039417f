"""Fold the verified log into the inventory: one pass over headers, payloads read only where needed.

Per version (log subject `name@version`) the fold reads its registrations, lifecycle changes and
newest sign-off, and its evaluations newest first until it meets the newest gate evaluation under
the model's own team; a monitoring run newer than that gives the monitoring status. Older
evaluations are counted from their headers, never parsed, so the cost grows with the number of
versions, not with the number of evaluations.
"""

from __future__ import annotations

import calendar
import functools
import itertools
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import astuple, dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from govkit.audit.interface import Entry
from govkit.audit.log import AuditLog
from govkit.inventory.cache import save
from govkit.inventory.config import LifecycleRules
from govkit.inventory.interface import (
    DueItem,
    EvaluationSummary,
    Inventory,
    ModelRecord,
    MonitoringStatus,
    OpenFinding,
    SignoffSummary,
    StateChange,
    VersionRecord,
    WaiverInUse,
)
from govkit.inventory.reader import VerifiedLog, read_log
from govkit.inventory.states import APPROVED, INITIAL, REVIEWED, STATES, State

Subject = dict[str, Any]  # an index entry (cache.Index): first entry, and the seqs of each kind
OPEN_STATUSES = ("fail", "error", "warn")
MONITORING_AREAS = ("monitoring", "drift")
PREFETCH = 1000  # subjects whose entries are fetched in one query


@dataclass(frozen=True)
class _Identity:
    name: str
    version: str
    team: str
    owner: str
    risk_tier: str

    @classmethod
    def of(cls, data: dict[str, Any], name_key: str) -> _Identity:
        """From a registration (name under "model") or an evaluation's model (under "name")."""
        fields = (data.get("team", ""), data.get("owner", ""), data.get("risk_tier", ""))
        return cls(str(data[name_key]), str(data["version"]), *map(str, fields))


def add_months(day: date, months: int) -> date:
    """`day` plus calendar months, clamped to the month's last day (31 Aug + 6 months = 28/29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _day(stamp: str) -> date:
    return date.fromisoformat(stamp[:10])


def evaluation_summary(entry: Entry, payload: dict[str, Any]) -> EvaluationSummary:
    evaluation = payload["evaluation"]
    policy = evaluation.get("policy", {})
    return EvaluationSummary(
        digest=str(payload["evaluation_digest"]),
        verdict=str(evaluation.get("verdict", "")),
        recorded_at=entry.recorded_at,
        created_at=str(evaluation.get("created_at", "")),
        seq=entry.seq,
        team=str(evaluation.get("team", "")),
        policy_name=str(policy.get("name", "")),
        policy_version=str(policy.get("version", "")),
        policy_digest=str(policy.get("digest", "")),
        purpose=str(evaluation.get("options", {}).get("purpose", "gate")),
        counts={str(k): int(v) for k, v in evaluation.get("counts", {}).items()},
    )


def signoff_summary(entry: Entry, payload: dict[str, Any]) -> SignoffSummary:
    return SignoffSummary(
        decision=str(payload.get("decision", "")),
        signer=str(payload.get("signer", "")),
        email=str(payload.get("email", "")),
        role=str(payload.get("role", "")),
        at=entry.recorded_at,
        seq=entry.seq,
        evaluation_digest=str(payload.get("evaluation_digest", "")),
    )


def _monitoring(entry: Entry, payload: dict[str, Any]) -> MonitoringStatus:
    findings = payload["evaluation"].get("findings", [])
    failing = tuple(
        sorted(
            {
                str(f.get("rule_id"))
                for f in findings
                if str(f.get("check", "")).split(".", 1)[0] in MONITORING_AREAS and f.get("status") in ("fail", "error")
            }
        )
    )
    return MonitoringStatus(
        status="fail" if failing else "pass",
        at=entry.recorded_at,
        evaluation_digest=str(payload["evaluation_digest"]),
        failing=failing,
    )


class _Folder:
    """Derives one version's record from its entries; what it derives depends on the log alone."""

    def __init__(self, vlog: VerifiedLog) -> None:
        self.vlog = vlog

    def identity(self, subject: Subject, newest_evaluation: dict[str, Any] | None) -> _Identity | None:
        """Name, version, team, owner and tier: the newest registration, else the newest evaluation's model."""
        for _, reg in self.vlog.entries(reversed(subject["registrations"])):
            if reg is not None:
                return _Identity.of(reg, "model")
        if newest_evaluation is not None:
            return _Identity.of(newest_evaluation["evaluation"]["model"], "name")
        for _, change in self.vlog.entries(subject["changes"]):  # only lifecycle entries left: name it from them
            if change is not None:
                return _Identity(str(change["model"]), str(change["version"]), "", "", "")
        return None

    def version(self, subject: Subject) -> tuple[_Identity, VersionRecord] | None:
        readable = ((e, p) for e, p in self.vlog.entries(reversed(subject["evaluations"])) if p is not None)
        newest = next(readable, None)
        who = self.identity(subject, newest[1] if newest else None)
        if who is None:
            return None
        gate: tuple[Entry, dict[str, Any]] | None = None
        fallback: tuple[Entry, dict[str, Any]] | None = None
        monitor: MonitoringStatus | None = None
        for entry, payload in itertools.chain([newest] if newest else [], readable):
            evaluation = payload["evaluation"]
            if evaluation.get("options", {}).get("purpose", "gate") == "monitor":
                monitor = monitor or _monitoring(entry, payload)
                continue
            fallback = fallback or (entry, payload)
            if evaluation.get("team") == who.team:
                gate = (entry, payload)
                break
        gate = gate or fallback
        latest = evaluation_summary(*gate) if gate else None
        findings = gate[1]["evaluation"].get("findings", []) if gate else []
        open_findings = tuple(
            OpenFinding(
                rule_id=str(f.get("rule_id")),
                title=str(f.get("title", "")),
                severity=str(f.get("severity", "")),
                status=str(f.get("status")),
                blocking=bool(f.get("blocking")),
            )
            for f in findings
            if f.get("status") in OPEN_STATUSES
        )
        waivers = tuple(
            WaiverInUse(
                id=str(w.get("id")),
                rule=str(w.get("rule")),
                expires=str(w.get("expires", "")),
                evaluation_digest=latest.digest if latest else "",
            )
            for w in (gate[1]["evaluation"].get("waivers", []) if gate else [])
            if w.get("status") == "used"
        )
        signoff = next(
            (signoff_summary(e, p) for e, p in self.vlog.entries(reversed(subject["signoffs"])) if p is not None), None
        )
        history = self.history(subject)
        state: State = history[-1].state if history else INITIAL
        reviews = [c.at for c in history if c.state in APPROVED or c.state == "rejected"]
        reviews += [signoff.at] if signoff else []
        return who, VersionRecord(
            version=who.version,
            state=state,
            state_since=history[-1].at if history else str(subject["first"][1]),
            history=history,
            evaluations=len(subject["evaluations"]),
            latest_evaluation=latest,
            latest_signoff=signoff,
            open_findings=open_findings,
            waivers=waivers,
            monitoring=monitor or MonitoringStatus("none"),
            last_review=max(reviews, default=None),
            next_review_due=None,  # depends on the team's rules, not on the log: `_Folder.due_date`
        )

    def history(self, subject: Subject) -> tuple[StateChange, ...]:
        changes = []
        for entry, payload in self.vlog.entries(subject["changes"]):
            if payload is None or payload.get("to") not in STATES:
                continue
            previous = payload.get("from")
            changes.append(
                StateChange(
                    state=payload["to"],
                    previous=previous if previous in STATES else None,
                    actor=entry.actor,
                    reason=str(payload.get("reason", "")),
                    at=entry.recorded_at,
                    seq=entry.seq,
                )
            )
        return tuple(changes)


def _likely_reads(subject: Subject) -> list[int]:
    """The entries `_Folder.version` reads for a subject in the usual case (older evaluations only when needed)."""
    return [
        *subject["evaluations"][-1:],
        *subject["signoffs"][-1:],
        *subject["changes"],
        *subject["registrations"],
    ]


def summarise(vlog: VerifiedLog, keys: Sequence[str]) -> None:
    """Fold the subjects `keys` afresh into `vlog.index.summaries`: a Summary each, in bounded batches.

    A Summary is JSON data: `identity` (name, version, team, owner, risk tier; None when the
    subject's entries name no model), `record` (`VersionRecord.to_dict()`, without a review date)
    and `read` ([seq, entry hash] of each entry the fold read: a later read proves those entries
    again, and that they are still the same entries, before reusing the summary).
    """
    folder, index = _Folder(vlog), vlog.index
    for start in range(0, len(keys), PREFETCH):  # in bounded batches: payloads can be large
        batch = keys[start : start + PREFETCH]
        vlog.prefetch([seq for key in batch for seq in _likely_reads(index.subjects[key])])
        for key in batch:
            vlog.reads = []
            found = folder.version(index.subjects[key])
            index.summaries[key] = {
                "identity": list(astuple(found[0])) if found else None,
                "record": found[1].to_dict() if found else None,
                "read": vlog.reads,
            }
    vlog.reads = None


def _reuse(vlog: VerifiedLog, keys: Sequence[str]) -> list[str]:
    """Prove again the entries each cached summary was derived from (fetched in bulk, payloads not parsed).

    Returns the subjects that read an entry redacted since: their summaries hold what was erased.
    """
    summaries, redacted = vlog.index.summaries, []
    for start in range(0, len(keys), PREFETCH):
        batch = keys[start : start + PREFETCH]
        vlog.prefetch([seq for key in batch for seq, _ in summaries[key]["read"]])
        for key in batch:
            if any(vlog.prove(seq, expected)[1] is None for seq, expected in summaries[key]["read"]):
                redacted.append(key)
    return redacted


def _due_date(record: dict[str, Any], who: _Identity, rules: Callable[[str], LifecycleRules]) -> str | None:
    """The next periodic review (of a record as `to_dict` writes it): the team's cadence for the risk
    tier, from the last review decision."""
    if record["state"] not in REVIEWED or not record["last_review"]:
        return None
    return add_months(_day(record["last_review"]), rules(who.team).review_months_for(who.risk_tier)).isoformat()


def fold_verified(
    vlog: VerifiedLog, *, today: date | None = None, rules: Callable[[str], LifecycleRules] | None = None
) -> Inventory:
    """The inventory at `vlog`'s position: subjects touched since the index's summaries are folded again."""
    today = today or datetime.now(UTC).date()
    team_rules = functools.cache(rules or (lambda _team: LifecycleRules.defaults()))
    index = vlog.index
    stale = {k for k in index.subjects if k in index.touched or k not in index.summaries}
    stale.update(_reuse(vlog, [k for k in index.subjects if k not in stale]))
    summarise(vlog, [k for k in index.subjects if k in stale])
    vlog.refolded, index.touched = bool(stale), set()
    by_model: dict[str, list[tuple[_Identity, VersionRecord]]] = defaultdict(list)
    for key in index.subjects:
        summary = index.summaries[key]
        if summary["identity"] is None:
            continue
        who, record = _Identity(*summary["identity"]), summary["record"]
        due = _due_date(record, who, team_rules)
        by_model[who.name].append((who, VersionRecord.from_dict({**record, "next_review_due": due})))
    models = []
    for name in sorted(by_model):
        versions = by_model[name]
        newest = versions[-1][0]  # subjects are in order of first appearance
        models.append(
            ModelRecord(
                name=name,
                team=newest.team,
                owner=newest.owner,
                risk_tier=newest.risk_tier,
                versions=tuple(v for _, v in versions),
            )
        )
    return Inventory(models=tuple(models), log_position=vlog.position, today=today, location=vlog.log.location)


def fold(
    log: AuditLog,
    *,
    today: date | None = None,
    rules: Callable[[str], LifecycleRules] | None = None,
    trusted_keys: Sequence[bytes] | None = None,
) -> Inventory:
    """Read, fold and keep the signed cache up to date (when anything was walked or folded anew)."""
    vlog = read_log(log, trusted_keys=trusted_keys)
    inventory = fold_verified(vlog, today=today, rules=rules)
    if vlog.refolded or vlog.index.size != vlog.walked_from:
        save(log, vlog.index, vlog.log_id)
    return inventory


def _version_due(model: ModelRecord, v: VersionRecord, today: date, horizon: date) -> list[DueItem]:
    items = []
    if v.next_review_due is not None and v.next_review_due <= horizon:
        late = v.next_review_due < today
        what = "overdue since" if late else "due on"
        detail = f"periodic review {what} {v.next_review_due}"
        items.append(DueItem("review", model.name, v.version, model.team, v.next_review_due, late, detail))
    for w in v.waivers:
        try:
            expires = date.fromisoformat(w.expires[:10])
        except ValueError:
            continue
        if expires <= horizon:
            late = expires < today
            detail = f"waiver {w.id} ({w.rule}) {'expired on' if late else 'expires on'} {expires}"
            items.append(DueItem("waiver", model.name, v.version, model.team, expires, late, detail))
    if v.monitoring.status == "fail":  # urgent (counts as overdue) once the version is deployed
        detail = f"monitoring fails ({', '.join(v.monitoring.failing)}) at {v.monitoring.at}"
        items.append(DueItem("monitoring", model.name, v.version, model.team, None, v.state == "deployed", detail))
    return items


def due_items(inventory: Inventory, within: timedelta, today: date) -> list[DueItem]:
    """See `interface.due`; retired and rejected versions owe nothing."""
    horizon = today + within if within < date.max - today else date.max  # 99999 weeks from 9999-12-31
    items = [
        item
        for model in inventory.models
        for v in model.versions
        if v.state not in ("retired", "rejected")
        for item in _version_due(model, v, today, horizon)
    ]
    return sorted(items, key=lambda i: (not i.overdue, i.due or today, i.model, i.version, i.kind))
