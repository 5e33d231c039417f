"""A signed cache of the inventory's fold, keyed by log position, so a large log is not re-read.

It holds two things. The index maps each model subject to the seqs of its evaluations, sign-offs,
lifecycle changes and registrations: everything the fold needs that comes from entry headers
(walking and re-hashing 200,000 headers costs seconds). The summaries hold, per subject, the
version record the fold derived and the seqs of the entries it read to derive it. A read then
walks only the entries appended since and folds again only the subjects they touch; every other
subject's record comes from its summary, after the entries it was derived from are fetched and
proved again (hash, payload digest, signature above the trusted checkpoint), so an entry edited in
the database after the cache was written is still caught, without parsing a single payload.

The cache sits beside the SQLite database (`<db>.inventory-cache.json`; for PostgreSQL in the
user's cache folder, `~/.cache/govkit/inventory-<hash of the log id>.json`). It is one line of
JSON (log id, position, key id, signature), then the index and summaries as JSON; the signature,
by the log's key and domain-separated, covers the log id, the position and the SHA-256 of those
bytes, so whoever could forge it could forge log entries too. A cache that is missing, foreign,
unsigned, of an older version or no longer matching the log's entry at its position is ignored and
rebuilt. `govkit log verify` re-derives index and summaries from the log and reports a cache that
disagrees with it.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from govkit.audit.chain import entry_hash
from govkit.audit.interface import Entry, EntryFilter
from govkit.audit.log import AuditLog
from govkit.audit.verify import KeyRing, Problem, hex_bytes, verifies
from govkit.canonical import sha256_hex
from govkit.errors import GovkitError
from govkit.jsonio import parse_json

VERSION = 3
DOMAIN = b"govkit.inventory.cache.v3\x00"
MAX_BYTES = 512 * 1024 * 1024
KINDS = ("evaluations", "signoffs", "changes", "registrations")


@dataclass
class Index:
    """The header walk up to `size`: per subject, its first entry and the seqs of each kind of entry.

    `summaries[subject]` is what the fold derived for the subject at `size` (see `fold.Summary`);
    `touched` names the subjects added to since the index was loaded, whose summaries are stale.
    """

    size: int = 0
    head: str = ""
    subjects: dict[str, dict[str, Any]] = field(default_factory=dict)
    summaries: dict[str, dict[str, Any]] = field(default_factory=dict)
    touched: set[str] = field(default_factory=set)

    def add(self, entry: Entry, kind: str) -> None:
        subject = self.subjects.get(entry.subject)
        if subject is None:
            subject = self.subjects[entry.subject] = {
                "first": [entry.seq, entry.recorded_at],
                **{k: [] for k in KINDS},
            }
        elif entry.subject not in self.touched:  # copy on first write: an earlier copy may share the lists
            subject = self.subjects[entry.subject] = {k: list(v) for k, v in subject.items()}
        subject[kind].append(entry.seq)
        self.touched.add(entry.subject)

    def copy(self) -> Index:
        """A copy to extend (subjects are copied when first touched, summaries are replaced, never edited)."""
        return Index(self.size, self.head, dict(self.subjects), dict(self.summaries))

    def body(self) -> bytes:
        return json.dumps({"subjects": self.subjects, "summaries": self.summaries}, separators=(",", ":")).encode()


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
    if not path.is_file():
        return None
    try:
        meta, body = _read(path)
        size, head = int(meta["size"]), str(meta["head"])
        # signed by the key that signs the log now: a cache of a retired (perhaps leaked) key is not trusted
        current = meta["key_id"] in vouched and ring.windows.may_sign(str(meta["key_id"]), log.store.size() + 1) is None
        state = ring.keys.get(str(meta["key_id"])) if current else None
        signature = hex_bytes(meta["signature"], 64)
        if meta["version"] != VERSION or meta["log_id"] != log_id or state is None or signature is None:
            return None
        if not verifies(state.public, signature, _message(log_id, size, head, sha256_hex(body))):
            return None
        index = _index(meta, body)
    except (OSError, ValueError, KeyError, TypeError, AttributeError, GovkitError):
        return None  # unreadable or malformed: walk the log instead
    return index if still_heads(log, index) else None


def _read(path: Path) -> tuple[dict[str, Any], bytes]:
    """The cache file's first line (log id, position, key id, signature) parsed, and the bytes after it."""
    if path.stat().st_size > MAX_BYTES:
        raise GovkitError(f"larger than {MAX_BYTES:,} bytes", file=path)
    first, _, body = path.read_bytes().partition(b"\n")
    return dict(parse_json(first, limit=MAX_BYTES)), body


def _index(meta: dict[str, Any], body: bytes) -> Index:
    """The index and summaries the bytes after the first line hold, at the position the first line names."""
    data = parse_json(body, limit=MAX_BYTES)
    return Index(int(meta["size"]), str(meta["head"]), dict(data["subjects"]), dict(data["summaries"]))


def still_heads(log: AuditLog, index: Index) -> bool:
    """Whether the log's entry at the index's position is still the one indexed (its header re-hashed)."""
    if not index.size:
        return True
    at = log.store.read(index.size)
    return at is not None and at[0].entry_hash == index.head == entry_hash(at[0].header())


def save(log: AuditLog, index: Index, log_id: str) -> None:
    """Sign and write the index, atomically; skipped without the signing key or a writable folder."""
    path = cache_path(log, log_id)
    if not log.key_path.exists():
        return
    with contextlib.suppress(Exception):  # a cache is an optimisation: failing to write one is not an error
        key = log.signing_key()
        body = index.body()
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
    index.touched.clear()
    return index


def cache_problems(log: AuditLog) -> list[Problem]:
    """For `govkit log verify` (after the log verified): the inventory cache, if any, must be what the log gives."""
    from govkit.inventory.fold import summarise
    from govkit.inventory.reader import KIND_OF, VerifiedLog

    if log.store.size() == 0:
        return []
    ring = log.key_ring()
    path = cache_path(log, log.identity(ring))
    if not path.is_file():
        return []
    try:
        cached = _index(*_read(path))
    except (OSError, ValueError, KeyError, TypeError, AttributeError, GovkitError):
        return [Problem(None, f"inventory cache {path} is unreadable; delete it (it is rebuilt)")]
    size = cached.size
    entries = [e for e in log.store.find(EntryFilter()) if e.seq <= size]
    expected = index_from_headers(entries, KIND_OF)
    # the log has just verified: its signatures need no second check, only the derivation is re-done
    summarise(VerifiedLog(log, expected, ring, set(ring.keys), covered=size), list(expected.subjects))
    found = (cached.size, cached.head, cached.subjects, cached.summaries)
    if (expected.size, expected.head, expected.subjects, expected.summaries) != found:
        return [Problem(None, f"inventory cache {path} does not match the log at entry {size}; delete it")]
    return []
