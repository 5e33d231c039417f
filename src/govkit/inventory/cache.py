"""A signed cache of the inventory's header walk, keyed by log position, so a large log is not re-walked.

The index maps each model subject to the seqs of its evaluations, sign-offs, lifecycle changes and
registrations: everything the fold needs that comes from entry headers. Walking and re-hashing
200,000 headers costs seconds; with the index, `build_inventory` walks only the entries appended
since (and still re-hashes every entry whose header or payload it uses).

The cache sits beside the SQLite database (`<db>.inventory-cache.json`; for PostgreSQL in the
user's cache folder, `~/.cache/govkit/inventory-<hash of the log id>.json`). It is one line of
JSON (log id, position, key id, signature), then the index as JSON; the signature, by the log's
key and domain-separated, covers the log id, the position and the SHA-256 of the index bytes, so
whoever could forge it could forge log entries too. A cache that is missing, foreign, unsigned or
no longer matching the log's entry at its position is ignored and rebuilt. `govkit log verify`
rebuilds the index from the log and reports a cache that disagrees with it.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from govkit.audit.interface import Entry, EntryFilter
from govkit.audit.log import AuditLog
from govkit.audit.verify import KeyRing, Problem, hex_bytes, verifies
from govkit.canonical import sha256_hex

VERSION = 1
DOMAIN = b"govkit.inventory.cache.v1\x00"
MAX_BYTES = 512 * 1024 * 1024
KINDS = ("evaluations", "signoffs", "changes", "registrations")


@dataclass
class Index:
    """The header walk up to `size`: per subject, its first entry and the seqs of each kind of entry."""

    size: int = 0
    head: str = ""
    subjects: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add(self, entry: Entry, kind: str) -> None:
        subject = self.subjects.get(entry.subject)
        if subject is None:
            subject = self.subjects[entry.subject] = {
                "first": [entry.seq, entry.recorded_at],
                **{k: [] for k in KINDS},
            }
        subject[kind].append(entry.seq)


def cache_path(log: AuditLog, log_id: str) -> Path:
    """Beside a SQLite database; for PostgreSQL, in the user's cache folder under the log's id."""
    if not log.location.startswith(("postgresql://", "postgres://")):
        return Path(log.location + ".inventory-cache.json")
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "govkit" / f"inventory-{sha256_hex(log_id.encode())[:24]}.json"


def _message(log_id: str, size: int, head: str, body_sha256: str) -> bytes:
    return DOMAIN + "\n".join([log_id, str(size), head, body_sha256]).encode("utf-8")


def load(log: AuditLog, ring: KeyRing, vouched: set[str], log_id: str) -> Index | None:
    """The cached index if it is this log's, signed by a vouched key, and its head is still the log's."""
    path = cache_path(log, log_id)
    try:
        if not path.is_file() or path.stat().st_size > MAX_BYTES:
            return None
        first, _, body = path.read_bytes().partition(b"\n")
        meta = json.loads(first)
        size, head = int(meta["size"]), str(meta["head"])
        state = ring.keys.get(str(meta["key_id"])) if meta["key_id"] in vouched else None
        signature = hex_bytes(meta["signature"], 64)
        if meta["version"] != VERSION or meta["log_id"] != log_id or state is None or signature is None:
            return None
        if not verifies(state.public, signature, _message(log_id, size, head, sha256_hex(body))):
            return None
        index = Index(size, head, dict(json.loads(body)))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None  # unreadable or malformed: walk the log instead
    at = log.store.read(index.size) if index.size else None
    if index.size and (at is None or at[0].entry_hash != index.head):
        return None
    return index


def save(log: AuditLog, index: Index, log_id: str) -> None:
    """Sign and write the index, atomically; skipped without the signing key or a writable folder."""
    path = cache_path(log, log_id)
    if not log.key_path.exists():
        return
    with contextlib.suppress(Exception):  # a cache is an optimisation: failing to write one is not an error
        key = log.signing_key()
        body = json.dumps(index.subjects, separators=(",", ":")).encode("utf-8")
        signature = key.sign(_message(log_id, index.size, index.head, sha256_hex(body)))
        meta = {
            "version": VERSION,
            "log_id": log_id,
            "size": index.size,
            "head": index.head,
            "key_id": key.key_id,
            "signature": signature.hex(),
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(json.dumps(meta).encode("utf-8") + b"\n" + body)
        Path(tmp).replace(path)


def index_from_headers(entries: list[Entry], kinds: dict[str, str]) -> Index:
    index = Index()
    for entry in entries:
        if entry.action in kinds:
            index.add(entry, kinds[entry.action])
    if entries:
        index.size, index.head = entries[-1].seq, entries[-1].entry_hash
    return index


def cache_problems(log: AuditLog) -> list[Problem]:
    """For `govkit log verify`: the inventory cache, if there is one, must match the log it indexes."""
    from govkit.inventory.reader import KIND_OF

    if log.store.size() == 0:
        return []
    path = cache_path(log, log.identity(log.key_ring()))
    if not path.is_file():
        return []
    try:
        first, _, body = path.read_bytes().partition(b"\n") if path.stat().st_size <= MAX_BYTES else (b"", b"", b"")
        meta = json.loads(first)
        size, head, subjects = int(meta["size"]), str(meta["head"]), json.loads(body)
    except (OSError, ValueError, KeyError, TypeError):
        return [Problem(None, f"inventory cache {path} is unreadable; delete it (it is rebuilt)")]
    entries = [e for e in log.store.find(EntryFilter()) if e.seq <= size]
    expected = index_from_headers(entries, KIND_OF)
    if expected.size != size or expected.head != head or expected.subjects != subjects:
        return [Problem(None, f"inventory cache {path} does not match the log at entry {size}; delete it")]
    return []
