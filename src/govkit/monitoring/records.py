"""What monitoring writes to the audit log: `profile.created`, so a profile's digest is on record."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from govkit.audit.interface import Entry
from govkit.audit.log import AuditLog
from govkit.audit.records import model_subject

PROFILE_CREATED = "profile.created"


def record_profile(log: AuditLog, profile: dict[str, Any], path: Path, sha256: str) -> Entry:
    return log.append(
        PROFILE_CREATED,
        model_subject(profile["model"]),
        {
            "sha256": sha256,
            "path": path.name,
            "format": profile["format"],
            "version": profile["version"],
            "govkit_version": profile["govkit_version"],
            "source": profile["source"],
            "rows": profile["rows"],
        },
    )


def recorded_profiles(log: AuditLog) -> frozenset[str]:
    """The digest of every profile the log says govkit created (redacted entries do not count)."""
    found = set()
    for entry in log.entries(action=PROFILE_CREATED):
        payload = log.payload(entry.seq)
        if payload is not None and isinstance(payload.get("sha256"), str):
            found.add(payload["sha256"])
    return frozenset(found)
