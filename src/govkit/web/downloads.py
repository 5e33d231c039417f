"""Downloads: only files the verified log recorded (by SHA-256), found in the folders `govkit serve` was given.

A URL names a digest, never a path. The digest must be the one a verified `report.rendered`,
`signoff.recorded` or `evidence.exported` entry recorded; the file is then looked for exactly as
`govkit export` looks for evidence: regular files (no symlinks) under the configured folders, by
content. The bytes sent are the bytes hashed, so a file swapped after the lookup is refused too.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from govkit.audit.interface import Entry
from govkit.audit.records import REPORT_RENDERED, SIGNOFF_RECORDED
from govkit.evidence.export import EVIDENCE_EXPORTED, MAX_SEARCHED_FILE, index_by_digest

SHA256 = re.compile(r"^[0-9a-f]{64}$")
# the log action that records a file -> (payload key of its digest, what it is)
RECORDED_FILES = {
    REPORT_RENDERED: ("sha256", "report"),
    SIGNOFF_RECORDED: ("signed_sha256", "signed report"),
    EVIDENCE_EXPORTED: ("sha256", "evidence bundle"),
}
MEDIA_TYPES = {".pdf": "application/pdf", ".zip": "application/zip"}


@dataclass(frozen=True)
class RecordedFile:
    sha256: str
    name: str  # the file name the log recorded (shown, and offered as the download name)
    kind: str
    subject: str
    seq: int
    recorded_at: str


def recorded_file(entry: Entry, payload: dict[str, Any]) -> RecordedFile | None:
    key, kind = RECORDED_FILES[entry.action]
    sha = payload.get(key)
    if not isinstance(sha, str) or not SHA256.match(sha):
        return None
    name = Path(str(payload.get("file") or f"{sha[:12]}.bin")).name
    return RecordedFile(sha, name, kind, entry.subject, entry.seq, entry.recorded_at)


def _candidate(folder: Path, name: str) -> Path | None:
    """`folder/name` when it is a regular file directly inside `folder` (the usual place: no hashing of others)."""
    path = folder / name
    if path.name != name or path.is_symlink() or not path.is_file():
        return None
    return path


def read_recorded(folders: tuple[Path, ...], wanted: RecordedFile) -> bytes | None:
    """The bytes of a file whose SHA-256 is `wanted.sha256`, from `folders`, or None."""
    for folder in folders:
        path = _candidate(folder, wanted.name)
        if path is not None and path.stat().st_size <= MAX_SEARCHED_FILE:
            data = path.read_bytes()
            if hashlib.sha256(data).hexdigest() == wanted.sha256:
                return data
    found = index_by_digest(folders, {wanted.sha256})
    if wanted.sha256 in found:
        data = found[wanted.sha256].read_bytes()
        if hashlib.sha256(data).hexdigest() == wanted.sha256:
            return data
    return None


def media_type(name: str) -> str:
    return MEDIA_TYPES.get(Path(name).suffix.lower(), "application/octet-stream")
