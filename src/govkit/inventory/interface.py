"""The inventory's read API: frozen records built from the verified audit log, and what is due.

Everything here is derived from the log (`build_inventory` reads it through the verified bulk
reader in `reader.py`), so a view over it (CLI table, `govkit serve`) shows only what the log
proves. Dates are ISO strings as recorded; `next_review_due` and `DueItem.due` are `date`s.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Literal

from govkit.inventory.states import State

if TYPE_CHECKING:
    from govkit.audit.log import AuditLog
    from govkit.inventory.config import LifecycleRules

__all__ = [
    "DueItem",
    "EvaluationSummary",
    "Inventory",
    "LogPosition",
    "ModelRecord",
    "MonitoringStatus",
    "OpenFinding",
    "SignoffSummary",
    "State",
    "StateChange",
    "VersionRecord",
    "WaiverInUse",
    "build_inventory",
    "due",
]


@dataclass(frozen=True)
class LogPosition:
    """How much of the log the inventory reflects: its size and head hash (a cache key, a page's ETag)."""

    size: int
    head: str


@dataclass(frozen=True)
class EvaluationSummary:
    digest: str
    verdict: str  # "pass" | "fail"
    recorded_at: str  # when the log recorded it
    created_at: str  # when govkit evaluated
    seq: int
    team: str
    policy_name: str
    policy_version: str
    policy_digest: str
    purpose: str  # "gate" or "monitor"
    counts: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class SignoffSummary:
    decision: str  # approve | approve-with-conditions | reject
    signer: str
    email: str
    role: str
    at: str
    seq: int
    evaluation_digest: str


@dataclass(frozen=True)
class StateChange:
    state: State
    previous: State | None
    actor: str
    reason: str
    at: str
    seq: int


@dataclass(frozen=True)
class OpenFinding:
    rule_id: str
    title: str
    severity: str
    status: str  # fail | error | warn
    blocking: bool


@dataclass(frozen=True)
class WaiverInUse:
    id: str
    rule: str
    expires: str  # ISO date
    evaluation_digest: str


@dataclass(frozen=True)
class MonitoringStatus:
    status: Literal["pass", "fail", "none"]  # "none": no monitoring evaluation recorded
    at: str | None = None
    evaluation_digest: str | None = None
    failing: tuple[str, ...] = ()  # rule ids


@dataclass(frozen=True)
class VersionRecord:
    version: str
    state: State
    state_since: str
    history: tuple[StateChange, ...]
    evaluations: int
    latest_evaluation: EvaluationSummary | None
    latest_signoff: SignoffSummary | None
    open_findings: tuple[OpenFinding, ...]
    waivers: tuple[WaiverInUse, ...]
    monitoring: MonitoringStatus
    last_review: str | None  # ISO time of the latest review decision (sign-off or decided state)
    next_review_due: date | None  # None when the state needs no periodic review
    # the JSON data `from_dict` read it from (the inventory cache), which `to_dict` gives back as it was
    _data: Mapping[str, Any] | None = field(default=None, init=False, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data, written out field by field: `dataclasses.asdict` deep-copies and took 5 s for 10,000."""
        if self._data is not None:
            return dict(self._data)
        ev, so = self.latest_evaluation, self.latest_signoff
        return {
            "version": self.version,
            "state": self.state,
            "state_since": self.state_since,
            "history": [dict(vars(c)) for c in self.history],
            "evaluations": self.evaluations,
            "latest_evaluation": {**vars(ev), "counts": dict(ev.counts)} if ev else None,
            "latest_signoff": dict(vars(so)) if so else None,
            "open_findings": [dict(vars(f)) for f in self.open_findings],
            "waivers": [dict(vars(w)) for w in self.waivers],
            "monitoring": {**vars(self.monitoring), "failing": list(self.monitoring.failing)},
            "last_review": self.last_review,
            "next_review_due": self.next_review_due.isoformat() if self.next_review_due else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> VersionRecord:
        """The inverse of `to_dict` (the inventory cache keeps versions in that form)."""
        ev, so, mon = data["latest_evaluation"], data["latest_signoff"], data["monitoring"]
        due = data["next_review_due"]
        record = cls(
            version=data["version"],
            state=data["state"],
            state_since=data["state_since"],
            history=tuple(StateChange(**c) for c in data["history"]),
            evaluations=data["evaluations"],
            latest_evaluation=EvaluationSummary(**ev) if ev is not None else None,
            latest_signoff=SignoffSummary(**so) if so is not None else None,
            open_findings=tuple(OpenFinding(**f) for f in data["open_findings"]),
            waivers=tuple(WaiverInUse(**w) for w in data["waivers"]),
            monitoring=MonitoringStatus(**{**mon, "failing": tuple(mon["failing"])}),
            last_review=data["last_review"],
            next_review_due=date.fromisoformat(due) if due else None,
        )
        object.__setattr__(record, "_data", data)  # frozen: set once, here
        return record


@dataclass(frozen=True)
class ModelRecord:
    name: str
    team: str
    owner: str
    risk_tier: str  # low | medium | high, or "" when never declared
    versions: tuple[VersionRecord, ...]  # oldest first (by first appearance in the log)

    @property
    def latest(self) -> VersionRecord:
        return self.versions[-1]

    def version(self, version: str) -> VersionRecord | None:
        return next((v for v in self.versions if v.version == version), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "team": self.team,
            "owner": self.owner,
            "risk_tier": self.risk_tier,
            "versions": [v.to_dict() for v in self.versions],
        }


@dataclass(frozen=True)
class Inventory:
    models: tuple[ModelRecord, ...]  # sorted by name
    log_position: LogPosition
    today: date
    location: str

    def model(self, name: str) -> ModelRecord | None:
        return next((m for m in self.models if m.name == name), None)

    def filtered(self, *, team: str | None = None, state: str | None = None) -> Inventory:
        """Only `team`'s models, and only versions in `state`; models left without versions drop out."""
        models = []
        for m in self.models:
            if team is not None and m.team != team:
                continue
            versions = tuple(v for v in m.versions if state is None or v.state == state)
            if versions:
                models.append(replace(m, versions=versions))
        return replace(self, models=tuple(models))

    def to_dict(self) -> dict[str, Any]:
        return {
            "log": {"location": self.location, "size": self.log_position.size, "head": self.log_position.head},
            "today": self.today.isoformat(),
            "models": [m.to_dict() for m in self.models],
        }


DueKind = Literal["review", "waiver", "monitoring"]


@dataclass(frozen=True)
class DueItem:
    kind: DueKind
    model: str
    version: str
    team: str
    due: date | None  # None for a failing monitoring status (it is due now)
    overdue: bool
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {**vars(self), "due": self.due.isoformat() if self.due else None}


def build_inventory(
    log: AuditLog,
    *,
    today: date | None = None,
    rules: Callable[[str], LifecycleRules] | None = None,
    trusted_keys: Sequence[bytes] | None = None,
) -> Inventory:
    """Every model and version in `log`, read verified (LogIntegrityError if the log does not verify).

    `rules(team)` gives a team's lifecycle rules (review cadence; `config.lifecycle_rules`); without
    it the defaults apply (high 6, medium 12, low 24 months). `trusted_keys` (raw Ed25519 public
    keys) replace the `.pub` beside the signing key as the anchor.
    """
    from govkit.inventory.fold import fold

    return fold(log, today=today, rules=rules, trusted_keys=trusted_keys)


def due(inventory: Inventory, within: timedelta, today: date | None = None) -> list[DueItem]:
    """Reviews due or overdue, waivers expiring within `within`, and failing monitoring, most urgent first."""
    from govkit.inventory.fold import due_items

    return due_items(inventory, within, today or inventory.today)
