"""Find the last approved evaluation of a model in the audit log: the baseline of a re-approval.

"Approved" means at least one sign-off of that evaluation was recorded and every recorded
decision on it approves (with or without conditions): one reject is enough to make it no
baseline. Every entry acted on is read through `AuditLog.read_verified`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from govkit.audit.log import AuditLog
from govkit.audit.records import EVALUATION_RECORDED, SIGNOFF_RECORDED, find_evaluation

APPROVING = ("approve", "approve-with-conditions")


@dataclass(frozen=True)
class Signoff:
    signer: str
    role: str
    decision: str
    time: str  # recorded_at of the sign-off entry
    seq: int


@dataclass(frozen=True)
class Approved:
    digest: str
    evaluation: Mapping[str, Any]
    seq: int  # log entry of the evaluation
    signoffs: tuple[Signoff, ...]


def _evaluation_seq(log: AuditLog, digest: str, model: str) -> int | None:
    for entry in log.entries(action=EVALUATION_RECORDED, model=model):
        payload = log.payload(entry.seq)
        if payload is not None and payload.get("evaluation_digest") == digest:
            return entry.seq
    return None


def signoffs_by_evaluation(log: AuditLog, model: str) -> dict[str, list[Signoff]]:
    """Every verified sign-off of `model`'s evaluations, keyed by evaluation digest, oldest first."""
    out: dict[str, list[Signoff]] = {}
    for entry in log.entries(action=SIGNOFF_RECORDED, model=model):
        if log.payload(entry.seq) is None:
            continue  # redacted
        payload = log.read_verified(entry)
        out.setdefault(payload["evaluation_digest"], []).append(
            Signoff(
                signer=str(payload["signer"]),
                role=str(payload["role"]),
                decision=str(payload["decision"]),
                time=entry.recorded_at,
                seq=entry.seq,
            )
        )
    return out


def last_approved(log: AuditLog, evaluation: Mapping[str, Any], digest: str) -> Approved | None:
    """The newest approved evaluation of the same model and team recorded before `digest`, if any."""
    model = str(evaluation["model"]["name"])
    current = _evaluation_seq(log, digest, model)
    candidates = []
    for ev_digest, signoffs in signoffs_by_evaluation(log, model).items():
        if ev_digest == digest or not all(s.decision in APPROVING for s in signoffs):
            continue
        seq = _evaluation_seq(log, ev_digest, model)
        if seq is not None and (current is None or seq < current):
            candidates.append((seq, ev_digest, signoffs))
    for seq, ev_digest, signoffs in sorted(candidates, reverse=True):
        _, payload = find_evaluation(log, digest=ev_digest)
        recorded = payload["evaluation"]
        if recorded["model"]["name"] == model and recorded["team"] == evaluation["team"]:
            return Approved(digest=ev_digest, evaluation=recorded, seq=seq, signoffs=tuple(signoffs))
    return None
