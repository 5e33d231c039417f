"""Read a whole log verified, at a cost that suits a 200,000-entry inventory.

`AuditLog.read_verified` proves one entry at a time (key ring, checkpoints and a chain walk per
call): right for a report, far too slow for every entry of a large log. This reader does the same
proof once for the whole log: it walks every header (hash and link to the previous entry), checks
that the walk reaches the head of each trusted checkpoint (signed by a key the pinned `.pub`
vouches for), and verifies a payload only when one is read: its digest always, its signature only
when no trusted checkpoint covers it (the checkpoint's signature over the chain already vouches for
everything below it, the same rule `govkit log verify` applies without --full).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from govkit.audit.chain import GENESIS, entry_hash
from govkit.audit.interface import Entry, EntryFilter
from govkit.audit.keys import public_path
from govkit.audit.log import AuditLog, LogIntegrityError
from govkit.audit.verify import KeyRing, check_checkpoint_signature, payload_json, signature_problem
from govkit.inventory.interface import LogPosition


@dataclass
class VerifiedLog:
    """Every entry of a log whose chain verified; `payload` verifies each payload it returns."""

    log: AuditLog
    entries: list[Entry]
    position: LogPosition
    ring: KeyRing
    vouched: set[str]
    covered: int  # entries up to this seq are covered by a trusted checkpoint
    _payloads: dict[int, dict[str, Any] | None] = field(default_factory=dict)

    def fail(self, entry: Entry | None, why: str) -> LogIntegrityError:
        where = f"audit log entry {entry.seq} ({entry.action})" if entry else "the audit log"
        return LogIntegrityError(f"{where} does not verify: {why}; run `govkit log verify --db {self.log.location}`")

    def payload(self, entry: Entry) -> dict[str, Any] | None:
        """The entry's payload once it verifies; None when it was redacted (a logged redaction)."""
        if entry.seq in self._payloads:
            return self._payloads[entry.seq]
        body = self.log.store.payload(entry.seq)
        if body is None:
            self._payloads[entry.seq] = None
            return None
        if hashlib.sha256(body).hexdigest() != entry.payload_digest:
            raise self.fail(entry, "payload does not match its digest (payload edited)")
        if entry.seq > self.covered:
            if why := signature_problem(entry, self.ring):
                raise self.fail(entry, why)
            if entry.key_id not in self.vouched:
                raise self.fail(entry, "its key is not vouched for by the trusted key")
        payload = payload_json(body)
        self._payloads[entry.seq] = payload
        return payload


def read_log(log: AuditLog, *, trusted_keys: Sequence[bytes] | None = None) -> VerifiedLog:
    """Walk and check the whole chain of `log`; LogIntegrityError naming the first thing that fails.

    `trusted_keys` (raw Ed25519 public keys, e.g. from --trusted-key) replace the `.pub` beside the
    signing key as the anchor.
    """
    ring = log.key_ring()
    trusted = list(trusted_keys) if trusted_keys is not None else [raw for _, raw in log.anchor_keys()]
    vouched = ring.anchored_keys(trusted) if trusted else set(ring.keys)
    entries = log.store.find(EntryFilter())
    if not entries:
        return VerifiedLog(log, [], LogPosition(0, GENESIS), ring, vouched, 0)
    if not vouched:
        where = f"the trusted key in {public_path(log.key_path)}" if trusted_keys is None else "a trusted key given"
        raise LogIntegrityError(f"the audit log in {log.location} is not signed by {where}")
    identity = log.identity(ring)
    heads = {
        cp.size: cp.head
        for cp in log.stored_checkpoints()[0]
        if cp.key_id in vouched and not check_checkpoint_signature(cp, ring, identity)
    }
    verified = VerifiedLog(log, entries, LogPosition(len(entries), entries[-1].entry_hash), ring, vouched, 0)
    prev = GENESIS
    for expected, entry in enumerate(entries, 1):
        if entry.seq != expected:
            raise verified.fail(entry, f"missing or out of order (expected seq {expected})")
        if entry.prev_hash != prev:
            raise verified.fail(entry, "prev_hash does not link to the previous entry")
        if entry_hash(entry.header()) != entry.entry_hash:
            raise verified.fail(entry, "entry hash does not match its header (header edited)")
        if expected in heads and heads[expected] != entry.entry_hash:
            raise verified.fail(entry, f"history differs from the checkpoint at size {expected}")
        prev = entry.entry_hash
    beyond = [size for size in heads if size > len(entries)]
    if beyond:
        raise verified.fail(None, f"it has {len(entries)} entries but a checkpoint covers {max(beyond)}")
    verified.covered = max(heads, default=0)
    return verified
