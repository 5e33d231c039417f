"""Waivers: time-boxed, approved exceptions to a rule for one model.

Whether a waiver applies is decided in exactly one function, `decide`, used by the engine and
by everything that reports on waivers, so the CLI, reports and the audit log can never disagree.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Literal

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version
from pydantic import Field, field_validator

from govkit.canonical import sha256_hex
from govkit.errors import PolicyError
from govkit.identity import identity_key
from govkit.validation import StrictModel, require_unique_ids, validate_document
from govkit.yamlio import load_yaml

EXPIRING_SOON_DAYS = 14
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class WaiverTarget(StrictModel):
    model: str = Field(default="*", description="model name or glob")
    version: str | None = Field(default=None, description="PEP 440 specifier (>=2,<3) or glob (2.*)")
    subject: str = Field(default="*", description="glob on the finding's subject, e.g. a cohort")

    @field_validator("version")
    @classmethod
    def _valid_version_pattern(cls, value: str | None) -> str | None:
        if value and value[0] in "<>=!~":
            try:
                SpecifierSet(value)
            except InvalidSpecifier:
                raise ValueError(f"invalid version specifier {value!r}") from None
        return value


class Waiver(StrictModel):
    id: str = Field(min_length=1)
    rule: str = Field(min_length=1)
    target: WaiverTarget = WaiverTarget()
    reason: str = Field(min_length=1)
    ticket: str = Field(min_length=1)
    requested_by: str = Field(min_length=1)
    approved_by: tuple[str, ...] = Field(min_length=1)
    created: date | None = None
    expires: date

    @field_validator("approved_by", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return (value,) if isinstance(value, str) else value

    @field_validator("created", "expires", mode="before")
    @classmethod
    def _plain_date(cls, value: object) -> object:
        """A day, nothing finer: a time or timezone would be silently dropped, moving the expiry."""
        if isinstance(value, datetime) or (isinstance(value, str) and not _DATE.fullmatch(value)):
            raise ValueError(f"give a plain date (YYYY-MM-DD), without time or timezone: {value!s}")
        return value

    @field_validator("requested_by", "approved_by")
    @classmethod
    def _real_identity(cls, value: str | tuple[str, ...]) -> str | tuple[str, ...]:
        for identity in (value,) if isinstance(value, str) else value:
            if not identity_key(identity):
                raise ValueError(f"{identity!r} names no one")
        return value


class WaiverFile(StrictModel):
    apiVersion: Literal["govkit/v1"]
    kind: Literal["Waivers"]
    waivers: tuple[Waiver, ...] = ()


@dataclass(frozen=True)
class WaiverSet:
    path: Path | None
    sha256: str | None
    waivers: tuple[Waiver, ...]

    @classmethod
    def empty(cls) -> WaiverSet:
        return cls(path=None, sha256=None, waivers=())


def load_waivers(path: Path) -> WaiverSet:
    doc = load_yaml(path, error=PolicyError)
    if not isinstance(doc.data, dict):
        raise PolicyError("expected a mapping with kind: Waivers", file=path)
    spec = validate_document(WaiverFile, doc.data, doc=doc, error=PolicyError)
    require_unique_ids(doc, [w.id for w in spec.waivers], "waivers", "waiver id", PolicyError)
    return WaiverSet(path=path, sha256=sha256_hex(doc.raw), waivers=spec.waivers)


Decision = Literal["applies", "other-rule", "other-target", "expired", "self-approved", "not-waivable", "too-long"]


@dataclass(frozen=True)
class WaiverDecision:
    decision: Decision
    detail: str

    @property
    def applies(self) -> bool:
        return self.decision == "applies"


def _version_matches(pattern: str | None, version: str) -> bool:
    if not pattern:
        return True
    if pattern[0] in "<>=!~":
        try:
            return SpecifierSet(pattern).contains(Version(version), prereleases=True)
        except InvalidVersion:
            return False
    return fnmatch.fnmatchcase(version, pattern)


def decide(
    waiver: Waiver,
    *,
    rule_id: str,
    waivable: bool,
    locked: bool = False,
    model: str,
    version: str,
    subject: str,
    as_of: date,
    max_days: int | None = None,
    today: date | None = None,
) -> WaiverDecision:
    """Does `waiver` cover this finding on `as_of`? The single source of truth."""
    if waiver.rule != rule_id:
        return WaiverDecision("other-rule", f"waives {waiver.rule}")
    target = waiver.target
    if not fnmatch.fnmatchcase(model, target.model):
        return WaiverDecision("other-target", f"model {model!r} does not match {target.model!r}")
    if not _version_matches(target.version, version):
        return WaiverDecision("other-target", f"version {version} does not match {target.version!r}")
    if not fnmatch.fnmatchcase(subject, target.subject):
        return WaiverDecision("other-target", f"subject {subject!r} does not match {target.subject!r}")
    if locked:
        return WaiverDecision("not-waivable", f"rule {rule_id} is locked, and locked rules are never waived")
    if not waivable:
        return WaiverDecision("not-waivable", f"rule {rule_id} is not waivable")
    if identity_key(waiver.requested_by) in {identity_key(a) for a in waiver.approved_by}:
        return WaiverDecision("self-approved", f"approved by its requester {waiver.requested_by}")
    if waiver.expires < as_of:
        return WaiverDecision("expired", f"expired on {waiver.expires.isoformat()}")
    if max_days is not None:
        # counted from the earliest of created, as_of and today: neither a future `created` nor a
        # future --as-of can make a long waiver look short
        start = min(d for d in (waiver.created, as_of, today) if d is not None)
        days = (waiver.expires - start).days
        if days > max_days:
            return WaiverDecision(
                "too-long",
                f"runs {days} days from {start.isoformat()} to "
                f"{waiver.expires.isoformat()}; the policy allows at most {max_days}",
            )
    return WaiverDecision("applies", f"valid until {waiver.expires.isoformat()}")
