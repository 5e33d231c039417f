"""The Evaluation: the immutable unit of truth. Reports, sign-offs and exports cite its digest."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from govkit.canonical import digest, jsonable_mapping
from govkit.vocab import STATUSES, Status

__all__ = ["AREA_TITLES", "SCHEMA_VERSION", "STATUSES", "Evaluation", "Finding", "Status", "WaiverUse"]

SCHEMA_VERSION = "1.0"
AREA_TITLES = {
    "license": "Licence",
    "privacy": "Privacy",
    "explainability": "Explainability",
    "fairness": "Cohort fairness",
    "drift": "Drift (monitoring)",
    "monitoring": "Post-market monitoring",
}


@dataclass(frozen=True)
class Finding:
    rule_id: str
    title: str
    check: str
    severity: str
    status: Status
    message: str
    subject: str
    measured: Any = None
    threshold: Any = None
    guideline: str | None = None
    waiver_id: str | None = None
    blocking: bool = False
    fingerprint: str = ""
    location: Mapping[str, Any] | None = None  # {"file", "line", "key"}: where a CI tool should point
    controls: tuple[str, ...] = ()  # regulatory controls (framework:id) the rule evidences

    @property
    def area(self) -> str:
        return self.check.split(".", 1)[0]

    def to_dict(self) -> dict[str, Any]:
        out = {**asdict(self), "area": self.area}
        if not self.controls:  # absent when none: evaluations recorded before controls existed keep their digest
            del out["controls"]
        return jsonable_mapping(out)


@dataclass(frozen=True)
class WaiverUse:
    """What became of one waiver in this evaluation."""

    id: str
    rule: str
    status: Literal["used", "unused", "expired", "self-approved", "not-waivable", "too-long"]
    detail: str
    expires: str
    expiring_soon: bool = False
    reason: str = ""
    ticket: str = ""
    approved_by: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return jsonable_mapping(asdict(self))


@dataclass(frozen=True)
class Evaluation:
    govkit_version: str
    created_at: str
    as_of: str
    model: Mapping[str, Any]
    team: str
    policy: Mapping[str, Any]
    inputs: Mapping[str, Any]
    options: Mapping[str, Any]
    fail_on: str
    findings: tuple[Finding, ...]
    measurements: Mapping[str, Any]
    waivers: tuple[WaiverUse, ...] = ()
    notices: tuple[str, ...] = field(default_factory=tuple)

    @property
    def verdict(self) -> Literal["pass", "fail"]:
        return "fail" if any(f.blocking for f in self.findings) else "pass"

    @property
    def counts(self) -> dict[str, int]:
        c = Counter(f.status for f in self.findings)
        return {s: c.get(s, 0) for s in STATUSES}

    def to_dict(self) -> dict[str, Any]:
        """The recorded form; its RFC 8785 digest is the evaluation's identity."""
        return jsonable_mapping(
            {
                "schema_version": SCHEMA_VERSION,
                "govkit_version": self.govkit_version,
                "created_at": self.created_at,
                "as_of": self.as_of,
                "model": self.model,
                "team": self.team,
                "policy": self.policy,
                "inputs": self.inputs,
                "options": self.options,
                "fail_on": self.fail_on,
                "verdict": self.verdict,
                "counts": self.counts,
                "findings": [f.to_dict() for f in self.findings],
                "measurements": self.measurements,
                "waivers": [w.to_dict() for w in self.waivers],
                "notices": list(self.notices),
            }
        )

    @property
    def digest(self) -> str:
        return digest(self.to_dict())
