"""Verify a log: seq density, links, entry hashes, payload digests, signatures, checkpoints, anchor.

Pure over (entry, payload) pairs, so any store verifies identically. Signatures are checked on
a thread pool: `cryptography` releases the GIL, so this scales with cores. A checkpoint whose
signature and Merkle root check already authenticates every entry below it, so by default only
the entries above the newest such checkpoint (and every key entry) have their signatures
checked one by one; `full=True` checks them all.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from govkit.audit.chain import (
    GENESIS,
    KEY_ADDED,
    KEY_ROTATED,
    Checkpoint,
    KeyWindows,
    MerkleAccumulator,
    entry_hash,
    note_key_id,
)
from govkit.audit.events import KEY_ACTIONS, LOG_REDACTED, REDACTED_SUBJECT
from govkit.audit.interface import Entry
from govkit.audit.keys import key_id, load_public, verifies
from govkit.errors import GovkitError
from govkit.jsonio import parse_json

ORIGIN_PREFIX = "govkit.local/log/"


def origin_of(log_id: str) -> str:
    return ORIGIN_PREFIX + log_id


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
    anchored: bool = False  # a key from outside the database vouched for the log's keys
    notes: list[str] = field(default_factory=list)  # true but worth saying (e.g. an unbound old log)
    signatures_checked: int = 0
    covered: int = 0  # entries authenticated by the newest verified checkpoint

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first(self) -> Problem | None:
        with_seq = [p for p in self.problems if p.seq is not None]
        return min(with_seq, key=lambda p: p.seq or 0) if with_seq else (self.problems[0] if self.problems else None)


def hex_bytes(text: object, size: int | None = None) -> bytes | None:
    """Lower/upper hex of the given byte length, or None: rows are read as untrusted text."""
    if not isinstance(text, str):
        return None
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        return None
    return raw if size is None or len(raw) == size else None


def payload_json(body: bytes | None) -> dict[str, Any]:
    """A payload as a dict; {} for a missing or unreadable one (rows are untrusted)."""
    if body is None:
        return {}
    try:  # the row is in memory already: its syntax and nesting are what can be wrong
        value = parse_json(body, limit=len(body))
    except GovkitError:
        return {}
    return value if isinstance(value, dict) else {}


def _public(raw: bytes | None) -> Ed25519PublicKey | None:
    if raw is None or len(raw) != 32:
        return None
    try:
        return load_public(raw)
    except ValueError:
        return None


@dataclass
class KeyState:
    public: Ed25519PublicKey
    raw: bytes


class KeyRing:
    """The log's keys as its own key entries introduce and retire them (the rule: `chain.KeyWindows`)."""

    def __init__(self) -> None:
        self.keys: dict[str, KeyState] = {}
        self.windows = KeyWindows()
        self.first: str | None = None
        self.log_id: str | None = None  # the identity bound in the first key.added entry (None: an older log)

    def observe(self, entry: Entry, body: bytes | None) -> str | None:
        """Learn from a key entry; a problem message when it cannot be read. Its signature is checked elsewhere."""
        payload = payload_json(body)
        if entry.action == KEY_ADDED and entry.seq == 1:
            raw = hex_bytes(payload.get("public_key"), 32)
            public = _public(raw)
            if raw is None or public is None or key_id(raw) != entry.key_id:
                return "key.added without a readable public key matching its key id"
            self.keys[entry.key_id] = KeyState(public, raw)
            self.windows.first_key(entry.key_id)
            self.first = entry.key_id
            log_id = payload.get("log_id")
            self.log_id = log_id if isinstance(log_id, str) else None
        elif entry.action == KEY_ROTATED:
            raw = hex_bytes(payload.get("new_public_key"), 32)
            public = _public(raw)
            if raw is None or public is None or payload.get("new_key_id", key_id(raw)) != key_id(raw):
                return "key rotation without a readable new key"
            retired = payload.get("old_key_id")
            why = self.windows.rotate(
                entry.seq, entry.key_id, key_id(raw), retired if isinstance(retired, str) else None
            )
            if why:
                return why
            self.keys.setdefault(key_id(raw), KeyState(public, raw))
        return None

    def signer(self, kid: str, seq: int) -> tuple[KeyState | None, str | None]:
        """The key that may sign entry `seq`, or why none may."""
        why = self.windows.may_sign(kid, seq)
        return (None, why) if why else (self.keys[kid], None)

    def checkpoint_signer(self, kid: str, size: int) -> tuple[KeyState | None, str | None]:
        """The key that may sign a checkpoint of `size` entries, or why none may."""
        why = self.windows.may_sign_checkpoint(kid, size)
        return (None, f"checkpoint of {size} entries {why}") if why else (self.keys[kid], None)

    def first_checkpoint(self, kid: str) -> int:
        """The smallest checkpoint `kid` may sign: the size of the log just before it signs its first entry."""
        return self.windows.windows[kid].first - 1

    def anchored_keys(self, trusted: Sequence[bytes]) -> set[str]:
        """The keys a trusted public key vouches for: itself (if this log has it) and its successors."""
        found: set[str] = set()
        for raw in trusted:
            kid = key_id(raw)
            if kid in self.keys and self.keys[kid].raw == raw:
                found |= self.windows.successors(kid)
        return found


def content_problem(entry: Entry, body: bytes | None) -> str | None:
    """What is wrong with an entry's own bytes (hash, header, payload digest), or None."""
    if hex_bytes(entry.entry_hash, 32) is None:
        return "entry hash is not 64 hex digits"
    if entry_hash(entry.header()) != entry.entry_hash:
        return "entry hash does not match its header (header edited)"
    if body is not None and hashlib.sha256(body).hexdigest() != entry.payload_digest:
        return "payload does not match its digest (payload edited)"
    return None


def signature_problem(entry: Entry, ring: KeyRing) -> str | None:
    """Why the entry is not signed by a key the ring allows at its seq, or None (checks one signature)."""
    state, why = ring.signer(entry.key_id, entry.seq)
    if state is None:
        return why
    leaf = hex_bytes(entry.entry_hash, 32) or b""
    return None if verifies(state.public, hex_bytes(entry.signature, 64) or b"", leaf) else "signature does not verify"


def note_signed(cp: Checkpoint, state: KeyState) -> bool:
    """One of the note's signature lines in the log's name is by this key (others are skipped, per C2SP)."""
    prefix = note_key_id(cp.origin, state.raw)
    return any(sig[:4] == prefix and verifies(state.public, sig[4:], cp.body()) for sig in cp.log_signatures())


Signable = tuple[int, bool, KeyState, str, bytes]  # seq, is a key entry, key, signature hex, signed leaf


@dataclass
class _Walk:
    """One pass over the entries: links, hashes, payloads, redactions, keys and the Merkle tree."""

    sizes: set[int]  # checkpoint sizes whose roots to keep
    problems: list[Problem]
    ring: KeyRing = field(default_factory=KeyRing)
    acc: MerkleAccumulator = field(default_factory=MerkleAccumulator)
    roots: dict[int, tuple[bytes, str]] = field(default_factory=dict)
    to_verify: list[Signable] = field(default_factory=list)  # signature hex decoded only if checked
    redacted: set[int] = field(default_factory=set)
    missing_payload: list[int] = field(default_factory=list)
    prev: str = GENESIS
    expected: int = 1

    def step(self, entry: Entry, body: bytes | None) -> None:
        seq = entry.seq
        if seq != self.expected:
            self.problems.append(Problem(self.expected, f"missing or out of order (found seq {seq} next)"))
        if entry.prev_hash != self.prev:
            self.problems.append(Problem(seq, "prev_hash does not link to the previous entry"))
        if message := content_problem(entry, body):
            self.problems.append(Problem(seq, message))
        leaf = hex_bytes(entry.entry_hash, 32) or hashlib.sha256(str(entry.entry_hash).encode()).digest()
        if body is None:
            self.missing_payload.append(seq)
        if entry.action == LOG_REDACTED:
            self._redaction(entry)
        self._signer(entry, body, leaf)
        self.acc.append(leaf)
        if self.acc.size in self.sizes:
            self.roots[self.acc.size] = (self.acc.root(), entry.entry_hash)
        self.prev, self.expected = entry.entry_hash, seq + 1

    def _redaction(self, entry: Entry) -> None:
        match = REDACTED_SUBJECT.fullmatch(entry.subject)
        if match:
            self.redacted.add(int(match[1]))
        else:
            self.problems.append(Problem(entry.seq, f"redaction of a malformed subject {entry.subject[:40]!r}"))

    def _signer(self, entry: Entry, body: bytes | None, leaf: bytes) -> None:
        """The key allowed to sign this entry (its signature is checked later, maybe); key entries teach the ring."""
        seq = entry.seq
        if entry.action == KEY_ADDED and seq == 1 and (message := self.ring.observe(entry, body)):
            self.problems.append(Problem(seq, message))
        signer, why = self.ring.signer(entry.key_id, seq)
        if signer is None:
            self.problems.append(Problem(seq, str(why)))
            return
        self.to_verify.append((seq, entry.action in KEY_ACTIONS, signer, entry.signature, leaf))
        if entry.action == KEY_ROTATED and (message := self.ring.observe(entry, body)):
            self.problems.append(Problem(seq, message))


def _identity(ring: KeyRing, log_id: str | None, result: VerifyResult) -> str | None:
    """The log's identity: bound in its first entry, else (an older log) the database's."""
    if ring.log_id is None:
        result.notes.append(
            "this log's identity is not bound in its first entry (created before govkit bound "
            "it); the database's log id is taken as is"
        )
    elif log_id is not None and log_id != ring.log_id:
        result.problems.append(
            Problem(
                1,
                f"the database names the log {log_id!r} but its first entry binds "
                f"{ring.log_id!r} (log identity edited)",
            )
        )
    return ring.log_id or log_id


def _anchor(ring: KeyRing, trusted_keys: Sequence[bytes], good: list[Checkpoint], result: VerifyResult) -> None:
    """Anchored when a trusted key is the first key, or vouches for a key that checkpointed the history."""
    if not trusted_keys:
        return
    anchored = ring.anchored_keys(trusted_keys)
    first_ok = ring.first in anchored
    covering = bool(anchored) and any(
        cp.key_id in anchored and cp.size >= min(ring.first_checkpoint(k) for k in anchored) for cp in good
    )
    if first_ok or covering:
        result.anchored = True
        return
    result.problems.append(
        Problem(
            1,
            f"signed by unknown key {ring.first}: none of the trusted keys "
            f"({', '.join(key_id(r) for r in trusted_keys)}) is this log's first key or "
            "signed a checkpoint over its history",
        )
    )


def verify_entries(
    rows: Iterable[tuple[Entry, bytes | None]],
    *,
    checkpoints: Sequence[Checkpoint] = (),
    trusted_keys: Sequence[bytes] = (),
    log_id: str | None = None,
    full: bool = False,
    workers: int | None = None,
) -> VerifyResult:
    """Check everything that can be checked from the log itself, plus the given checkpoints and trusted keys."""
    result = VerifyResult()
    walk = _Walk(sizes={c.size for c in checkpoints if c.size > 0}, problems=result.problems)
    for entry, body in rows:
        walk.step(entry, body)
    ring = walk.ring
    result.size = walk.acc.size
    result.head = walk.prev
    result.keys = {kid: state.raw for kid, state in ring.keys.items()}
    for seq in walk.missing_payload:
        if seq not in walk.redacted:
            result.problems.append(Problem(seq, "payload missing without a logged redaction"))
    identity = _identity(ring, log_id, result)

    good: list[Checkpoint] = []
    for cp in checkpoints:
        found = _check_checkpoint(cp, ring, walk.roots, walk.acc.size, identity)
        result.problems.extend(found)
        if not found:
            good.append(cp)
    result.checkpoints = len(checkpoints)
    _anchor(ring, trusted_keys, good, result)

    result.covered = max((cp.size for cp in good), default=0)
    chosen = walk.to_verify if full else [t for t in walk.to_verify if t[1] or t[0] > result.covered]
    result.signatures_checked = len(chosen)
    result.problems.extend(_bad_signatures(chosen, workers))
    return result


def _bad_signatures(items: list[Signable], workers: int | None) -> list[Problem]:
    if not items:
        return []
    workers = workers or min(8, os.cpu_count() or 1)
    chunk = max(1, len(items) // (workers * 4) + 1)

    def run(part: list[Signable]) -> list[Problem]:
        return [
            Problem(seq, "signature does not verify")
            for seq, _, state, sig, msg in part
            if not verifies(state.public, hex_bytes(sig, 64) or b"", msg)
        ]

    parts = [items[i : i + chunk] for i in range(0, len(items), chunk)]
    if workers == 1 or len(parts) == 1:
        return [p for part in parts for p in run(part)]
    with ThreadPoolExecutor(workers) as pool:
        return [p for found in pool.map(run, parts) for p in found]


def check_checkpoint_signature(cp: Checkpoint, ring: KeyRing, identity: str | None) -> str | None:
    """Why this checkpoint is not a statement by this log's key at its size, or None."""
    if identity is not None and cp.origin != origin_of(identity):
        return f"origin {cp.origin[:80]!r} is not this log ({origin_of(identity)})"
    state, why = ring.checkpoint_signer(cp.key_id, cp.size)
    if state is None:
        return str(why)
    if not note_signed(cp, state):
        return "signature does not verify"
    return None


def _check_checkpoint(
    cp: Checkpoint, ring: KeyRing, roots: dict[int, tuple[bytes, str]], size: int, identity: str | None
) -> list[Problem]:
    label = f"checkpoint at size {cp.size} ({cp.timestamp[:40]})"
    why = check_checkpoint_signature(cp, ring, identity)
    if why:
        return [Problem(None, f"{label}: {why}")]
    if cp.size > size:
        return [Problem(None, f"{label}: log has only {size} entries (truncated or rolled back)")]
    if cp.size == 0:
        return []
    root, head = roots[cp.size]
    if root.hex() != cp.root or head != cp.head:
        return [Problem(cp.size, f"{label}: history differs from the checkpoint (rewritten or forked)")]
    return []
