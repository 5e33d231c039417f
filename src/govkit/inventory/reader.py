"""Read a whole log verified, at a cost that suits a 200,000-entry inventory.

`AuditLog.read_verified` proves one entry at a time (key ring, checkpoints and a chain walk per
call): right for a report, far too slow for every entry of a large log. This reader does the same
proof once for the whole log: it walks every header (hash and link to the previous entry) and
checks that the walk reaches the head of each trusted checkpoint (signed by a key the pinned
`.pub` vouches for). What the walk yields is an index of the entries the inventory uses (`cache.py`
keeps it, signed, so the next read walks only the entries appended since). Each entry the fold then
uses is fetched again and proved on its own: its hash re-computed, its payload's digest checked,
and its signature too when no trusted checkpoint covers it (the checkpoint's signature over the
chain vouches for everything below it, the rule `govkit log verify` applies without --full).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from govkit.audit.chain import GENESIS, entry_hash
from govkit.audit.interface import Entry, EntryFilter
from govkit.audit.keys import public_path
from govkit.audit.log import AuditLog, LogIntegrityError
from govkit.audit.records import EVALUATION_RECORDED, LIFECYCLE_CHANGED, MODEL_REGISTERED, SIGNOFF_RECORDED
from govkit.audit.verify import KeyRing, check_checkpoint_signature, payload_json, signature_problem
from govkit.inventory.cache import Index, load, still_heads
from govkit.inventory.interface import LogPosition

KIND_OF = {
    EVALUATION_RECORDED: "evaluations",
    SIGNOFF_RECORDED: "signoffs",
    LIFECYCLE_CHANGED: "changes",
    MODEL_REGISTERED: "registrations",
}


@dataclass
class VerifiedLog:
    """The index of a log whose chain verified; `entry` and `payload` prove each entry they return."""

    log: AuditLog
    index: Index
    ring: KeyRing
    vouched: set[str]
    covered: int  # entries up to this seq are covered by a trusted checkpoint
    log_id: str = ""
    walked_from: int = 0  # the index size the walk started from (0: the whole log was walked)
    refolded: bool = False  # set by the fold when it derived any summary anew (the cache is then saved)
    reads: list[list[Any]] | None = None  # when a list, `entry` adds [seq, entry hash] of what it returns
    _fetched: dict[int, tuple[Entry, bytes | None]] = field(default_factory=dict)

    @property
    def position(self) -> LogPosition:
        return LogPosition(self.index.size, self.index.head or GENESIS)

    def fail(self, entry: Entry | None, why: str) -> LogIntegrityError:
        where = f"audit log entry {entry.seq} ({entry.action})" if entry else "the audit log"
        return LogIntegrityError(f"{where} does not verify: {why}; run `govkit log verify --db {self.log.location}`")

    def entry(self, seq: int) -> tuple[Entry, dict[str, Any] | None]:
        """Entry `seq` and its payload (None when redacted), both proved; LogIntegrityError if not."""
        entry, body = self.prove(seq)
        if self.reads is not None:
            self.reads.append([seq, entry.entry_hash])
        return entry, None if body is None else payload_json(body)

    def prove(self, seq: int, expected_hash: str | None = None) -> tuple[Entry, bytes | None]:
        """Entry `seq` and its payload bytes, proved; LogIntegrityError if not.

        Its header must hash to its entry hash and its payload to its digest. What vouches for that
        hash: a trusted checkpoint over it, but only if this read walked the links from it up to the
        checkpoint (`walked_from`); for an entry below the walk, the hash the signed cache recorded
        for it (`expected_hash`), else its own signature. Without that, whoever can write the
        database could rewrite an entry, recompute its hashes, and be believed.
        """
        found = self._fetched.pop(seq, None) or self.log.store.read(seq)
        if found is None:
            raise self.fail(None, f"entry {seq} is missing")
        entry, body = found
        if entry.seq != seq:
            raise self.fail(entry, f"stored as entry {seq}")
        if entry_hash(entry.header()) != entry.entry_hash:
            raise self.fail(entry, "entry hash does not match its header (header edited)")
        if expected_hash is not None and entry.entry_hash != expected_hash:
            raise self.fail(entry, "it is not the entry the inventory cache was built from (entry replaced)")
        walked = entry.seq > self.walked_from
        if entry.seq > self.covered or (not walked and expected_hash is None):
            if why := signature_problem(entry, self.ring):
                raise self.fail(entry, why)
            if entry.key_id not in self.vouched:
                raise self.fail(entry, "its key is not vouched for by the trusted key")
        if body is not None and hashlib.sha256(body).hexdigest() != entry.payload_digest:
            raise self.fail(entry, "payload does not match its digest (payload edited)")
        return entry, body

    def entries(self, seqs: Iterable[int]) -> Iterable[tuple[Entry, dict[str, Any] | None]]:
        return (self.entry(seq) for seq in seqs)

    def prefetch(self, seqs: Sequence[int]) -> None:
        """Fetch these entries in bulk (a round trip per entry is what makes PostgreSQL slow); `entry` proves them."""
        self._fetched = self.log.store.read_many(seqs)


def _walk(entries: Iterable[Entry], index: Index, heads: dict[int, str], fail: Any) -> None:
    """Check the link and hash of each entry after `index.size` and add it to the index."""
    prev, expected = index.head or GENESIS, index.size + 1
    for entry in entries:
        if entry.seq != expected:
            raise fail(entry, f"missing or out of order (expected seq {expected})")
        if entry.prev_hash != prev:
            raise fail(entry, "prev_hash does not link to the previous entry")
        if entry_hash(entry.header()) != entry.entry_hash:
            raise fail(entry, "entry hash does not match its header (header edited)")
        if expected in heads and heads[expected] != entry.entry_hash:
            raise fail(entry, f"history differs from the checkpoint at size {expected}")
        if entry.action in KIND_OF:
            index.add(entry, KIND_OF[entry.action])
        prev, expected = entry.entry_hash, expected + 1
    index.size, index.head = expected - 1, prev if expected > 1 else ""


def read_log(log: AuditLog, *, trusted_keys: Sequence[bytes] | None = None, since: Index | None = None) -> VerifiedLog:
    """Walk and check the chain of `log` (from the cached index on); LogIntegrityError naming what fails.

    `trusted_keys` (raw Ed25519 public keys, e.g. from --trusted-key) replace the `.pub` beside the
    signing key as the anchor. `since` is an index this process verified earlier (a server keeps
    it between requests): the walk starts from a copy of it instead of the cache file.
    """
    if log.store.size() == 0:
        return VerifiedLog(log, Index(), KeyRing(), set(), 0)
    ring = log.key_ring()
    trusted = list(trusted_keys) if trusted_keys is not None else [raw for _, raw in log.anchor_keys()]
    vouched = ring.anchored_keys(trusted) if trusted else set(ring.keys)
    if not vouched:
        where = f"the trusted key in {public_path(log.key_path)}" if trusted_keys is None else "a trusted key given"
        raise LogIntegrityError(f"the audit log in {log.location} is not signed by {where}")
    identity = log.identity(ring)
    heads = {
        cp.size: cp.head
        for cp in log.stored_checkpoints()[0]
        if cp.key_id in vouched and not check_checkpoint_signature(cp, ring, identity)
    }
    verified = VerifiedLog(log, Index(), ring, vouched, max(heads, default=0), identity)

    def fail(entry: Entry | None, why: str) -> LogIntegrityError:
        return verified.fail(entry, why)

    start = since.copy() if since is not None and still_heads(log, since) else load(log, ring, vouched, identity)
    if start is None:
        _walk(log.store.find(EntryFilter()), verified.index, heads, fail)
    else:
        verified.index, verified.walked_from = start, start.size
        _walk((e for e, _ in log.store.scan(start.size + 1)), start, heads, fail)
    if any(size > verified.index.size for size in heads):
        size = max(heads)
        raise fail(None, f"it has {verified.index.size} entries but a checkpoint covers {size}")
    return verified
