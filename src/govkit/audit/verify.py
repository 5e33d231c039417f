"""Verify a log: seq density, links, entry hashes, payload digests, signatures, checkpoints.

Pure over (entry, payload) pairs, so any store verifies identically. Signatures are checked on
a thread pool: `cryptography` releases the GIL, so this scales with cores.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from govkit.audit.chain import GENESIS, Checkpoint, MerkleAccumulator, entry_hash, note_key_id
from govkit.audit.interface import Entry
from govkit.audit.keys import key_id, load_public, verifies

KEY_ACTIONS = ("key.added", "key.rotated")
REDACTION = "log.redacted"


@dataclass(frozen=True)
class Problem:
    seq: int | None
    message: str

    def __str__(self) -> str:
        return f"entry {self.seq}: {self.message}" if self.seq is not None else self.message


@dataclass
class VerifyResult:
    size: int = 0
    checkpoints: int = 0
    problems: list[Problem] = field(default_factory=list)
    head: str = GENESIS
    keys: dict[str, bytes] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first(self) -> Problem | None:
        with_seq = [p for p in self.problems if p.seq is not None]
        return min(with_seq, key=lambda p: p.seq or 0) if with_seq else (self.problems[0] if self.problems else None)


def _key_from_payload(body: bytes | None, field_name: str) -> bytes | None:
    if body is None:
        return None
    try:
        return bytes.fromhex(json.loads(body)[field_name])
    except (ValueError, KeyError, TypeError):
        return None


def verify_entries(
    rows: Iterable[tuple[Entry, bytes | None]],
    *,
    checkpoints: Sequence[Checkpoint] = (),
    trusted_keys: Sequence[bytes] = (),
    workers: int | None = None,
) -> VerifyResult:
    """Check everything that can be checked from the log itself, plus the given checkpoints."""
    result = VerifyResult()
    keys: dict[str, Ed25519PublicKey] = {}
    raw_keys: dict[str, bytes] = {}
    for raw in trusted_keys:
        keys[key_id(raw)] = load_public(raw)
        raw_keys[key_id(raw)] = raw
    pinned = bool(trusted_keys)
    sizes = sorted({c.size for c in checkpoints if c.size > 0})
    roots: dict[int, tuple[bytes, str]] = {}
    acc = MerkleAccumulator()
    to_verify: list[tuple[int, Ed25519PublicKey, bytes, bytes]] = []
    redacted: set[int] = set()
    missing_payload: list[int] = []
    prev, expected = GENESIS, 1
    problems = result.problems

    for entry, body in rows:
        seq = entry.seq
        if seq != expected:
            problems.append(Problem(expected, f"missing or out of order (found seq {seq} next)"))
            expected = seq
        if entry.prev_hash != prev:
            problems.append(Problem(seq, "prev_hash does not link to the previous entry"))
        if entry_hash(entry.header()) != entry.entry_hash:
            problems.append(Problem(seq, "entry hash does not match its header (header edited)"))
        if body is None:
            missing_payload.append(seq)
        elif hashlib.sha256(body).hexdigest() != entry.payload_digest:
            problems.append(Problem(seq, "payload does not match its digest (payload edited)"))
        if entry.action == REDACTION and entry.subject.startswith("seq:"):
            redacted.add(int(entry.subject[4:]))

        signer = keys.get(entry.key_id)
        if entry.action == "key.added" and seq == 1 and not pinned:
            new = _key_from_payload(body, "public_key")
            if new is not None and key_id(new) == entry.key_id:
                signer = keys[entry.key_id] = load_public(new)
                raw_keys[entry.key_id] = new
        if signer is None:
            problems.append(Problem(seq, f"signed by unknown key {entry.key_id}"))
        else:
            try:
                sig = bytes.fromhex(entry.signature)
            except ValueError:
                sig = b""
            to_verify.append((seq, signer, sig, bytes.fromhex(entry.entry_hash)))
        if entry.action == "key.rotated" and signer is not None:
            new = _key_from_payload(body, "new_public_key")
            if new is None:
                problems.append(Problem(seq, "key rotation without a readable new key"))
            else:
                keys[key_id(new)] = load_public(new)
                raw_keys[key_id(new)] = new

        acc.append(bytes.fromhex(entry.entry_hash))
        if acc.size in sizes:
            roots[acc.size] = (acc.root(), entry.entry_hash)
        prev, expected = entry.entry_hash, seq + 1

    result.size = acc.size
    result.head = prev
    result.keys = raw_keys
    for seq in missing_payload:
        if seq not in redacted:
            problems.append(Problem(seq, "payload missing without a logged redaction"))
    problems.extend(_bad_signatures(to_verify, workers))
    for cp in checkpoints:
        problems.extend(_check_checkpoint(cp, keys, roots, acc.size))
    result.checkpoints = len(checkpoints)
    return result


def _bad_signatures(items: list[tuple[int, Ed25519PublicKey, bytes, bytes]], workers: int | None) -> list[Problem]:
    if not items:
        return []
    workers = workers or min(8, os.cpu_count() or 1)
    chunk = max(1, len(items) // (workers * 4) + 1)

    def run(part: list[tuple[int, Ed25519PublicKey, bytes, bytes]]) -> list[Problem]:
        return [Problem(seq, "signature does not verify") for seq, pub, sig, msg in part
                if not verifies(pub, sig, msg)]

    parts = [items[i:i + chunk] for i in range(0, len(items), chunk)]
    if workers == 1 or len(parts) == 1:
        return [p for part in parts for p in run(part)]
    with ThreadPoolExecutor(workers) as pool:
        return [p for found in pool.map(run, parts) for p in found]


def _check_checkpoint(cp: Checkpoint, keys: dict[str, Ed25519PublicKey], roots: dict[int, tuple[bytes, str]],
                      size: int) -> list[Problem]:
    label = f"checkpoint at size {cp.size} ({cp.timestamp})"
    signer = keys.get(cp.key_id)
    if signer is None:
        return [Problem(None, f"{label}: signed by unknown key {cp.key_id}")]
    raw = signer.public_bytes_raw()
    try:
        prefix_ok = base64.b64decode(cp.signature)[:4] == note_key_id(cp.origin, raw)
    except ValueError:
        prefix_ok = False
    if not prefix_ok or not verifies(signer, cp.raw_signature(), cp.body()):
        return [Problem(None, f"{label}: signature does not verify")]
    if cp.size > size:
        return [Problem(None, f"{label}: log has only {size} entries (truncated or rolled back)")]
    if cp.size == 0:
        return []
    root, head = roots[cp.size]
    if root.hex() != cp.root or head != cp.head:
        return [Problem(cp.size, f"{label}: history differs from the checkpoint (rewritten or forked)")]
    return []
