"""AuditLog: the Python API. Seals entries (hash + signature) and hands them to a store."""

from __future__ import annotations

import base64
import contextlib
import getpass
import hashlib
import os
import socket
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from govkit.audit.chain import GENESIS, Checkpoint, MerkleAccumulator, entry_hash, note_key_id
from govkit.audit.events import KEY_ACTIONS, KEY_ADDED, KEY_ROTATED, LOG_REDACTED, key_subject, seq_subject
from govkit.audit.interface import AuditStore, Entry, EntryFilter, Sealed
from govkit.audit.keys import SigningKey, create_key, default_key_path, load_key, public_path
from govkit.audit.verify import (
    KeyRing,
    Problem,
    VerifyResult,
    check_checkpoint_signature,
    content_problem,
    origin_of,
    payload_json,
    signature_problem,
    verify_entries,
)
from govkit.canonical import canonical_bytes
from govkit.errors import EXIT_BLOCKING, GovkitError

__all__ = ["DEFAULT_DB", "AuditLog", "LogIntegrityError", "current_actor", "default_location", "open_store"]

DEFAULT_DB = "govkit.db"
Item = tuple[str, str, dict[str, Any]]  # action, subject, payload
RESUME_CANDIDATES = 16  # newest stored checkpoints tried as the starting point of the next one


class LogIntegrityError(GovkitError):
    """What was read from the log does not verify, so govkit refuses to act on it (exit 1: a failed check)."""

    exit_code = EXIT_BLOCKING


class LogMoved(GovkitError):
    """Another writer appended between a read of the log and a conditional append (`if_size`)."""


def default_location() -> str:
    return os.environ.get("GOVKIT_DB") or DEFAULT_DB


def current_actor(explicit: str | None = None) -> str:
    """Who is acting: --actor, GOVKIT_ACTOR, the CI system's user, or user@host."""
    if explicit:
        return explicit
    if os.environ.get("GOVKIT_ACTOR"):
        return os.environ["GOVKIT_ACTOR"]
    if os.environ.get("GITHUB_ACTOR"):
        return f"{os.environ['GITHUB_ACTOR']} (github-actions {os.environ.get('GITHUB_REPOSITORY', '')})".strip()
    if os.environ.get("GITLAB_USER_LOGIN"):
        return f"{os.environ['GITLAB_USER_LOGIN']} (gitlab-ci {os.environ.get('CI_PROJECT_PATH', '')})".strip()
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def open_store(location: str | Path, *, create: bool = True, read_only: bool = False) -> AuditStore:
    """The store at `location`; readers pass create=False so a missing or foreign database is left untouched.

    `read_only` also makes the connection refuse every write (a viewer such as `govkit serve`).
    """
    text = str(location)
    if text.startswith(("postgresql://", "postgres://")):
        from govkit.audit.postgres import PostgresStore

        return PostgresStore(text, create=create and not read_only, read_only=read_only)
    from govkit.audit.sqlite import SQLiteStore

    return SQLiteStore(Path(text), create=create and not read_only, read_only=read_only)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


class AuditLog:
    """Append, read, checkpoint, redact and verify one audit log."""

    def __init__(
        self,
        location: str | Path | None = None,
        *,
        key_path: Path | None = None,
        actor: str | None = None,
        store: AuditStore | None = None,
        create: bool = True,
    ) -> None:
        self.location = str(location or default_location())
        self.store = store or open_store(self.location, create=create)
        self.key_path = key_path or default_key_path()
        self.actor = current_actor(actor)
        self._key: SigningKey | None = None
        self._registered: set[str] = set()

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self.store.close()

    # -- keys -----------------------------------------------------------------------------
    def signing_key(self) -> SigningKey:
        """The log key; created (0600) on first use so the log is on by default.

        Its public half is kept beside it (`<key>.pub`, written now if an older key lacks it): that
        copy outside the database is what `log verify` anchors on.
        """
        if self._key is None:
            self._key = load_key(self.key_path) if self.key_path.exists() else create_key(self.key_path)
            pub = public_path(self.key_path)
            if not pub.exists():
                with contextlib.suppress(OSError):  # a read-only key folder: verify then says it is unanchored
                    pub.write_bytes(self._key.public_pem())
        return self._key

    def anchor_keys(self) -> list[tuple[Path, bytes]]:
        """Public keys kept outside the database to verify against: the `.pub` beside the signing key."""
        from govkit.audit.keys import public_raw
        from govkit.audit.verify_cli import read_public_key

        pub = public_path(self.key_path)
        return [(pub, public_raw(read_public_key(pub)))] if pub.is_file() else []

    def _may_sign(self, kid: str) -> str | None:
        """Why `kid` may not append to this log, or None. Retirement is re-read each time: others may rotate."""
        if kid not in self._registered:
            self._registered.update(e.key_id for e in self.store.find(EntryFilter(action=KEY_ADDED)))
            for entry in self.store.find(EntryFilter(action=KEY_ROTATED)):
                new = payload_json(self.store.payload(entry.seq)).get("new_key_id")
                if isinstance(new, str):
                    self._registered.add(new)
        if kid not in self._registered:
            return (
                f"signing key {kid} is not registered in this log; use the key that signs it, or `govkit keys rotate`"
            )
        if any(e.key_id == kid for e in self.store.find(EntryFilter(action=KEY_ROTATED))):
            return f"signing key {kid} was rotated out of this log; use the current key (GOVKIT_KEY)"
        return None

    def key_ring(self) -> KeyRing:
        """The log's keys from its key entries, each entry's hash, payload and signature checked on the way."""
        entries = sorted(
            [*self.store.find(EntryFilter(action=KEY_ADDED)), *self.store.find(EntryFilter(action=KEY_ROTATED))],
            key=lambda e: e.seq,
        )
        ring = KeyRing()
        for entry in entries:
            if entry.action == KEY_ADDED and entry.seq != 1:
                continue  # only the first entry introduces a key
            body = self.store.payload(entry.seq)
            why = ring.observe(entry, body) if entry.action == KEY_ADDED else None
            why = why or content_problem(entry, body) or signature_problem(entry, ring)
            if entry.action == KEY_ROTATED and not why:
                why = ring.observe(entry, body)
            if why:
                raise LogIntegrityError(
                    f"audit log entry {entry.seq} ({entry.action}) does not verify: {why}; "
                    f"run `govkit log verify --db {self.location}`"
                )
        return ring

    def identity(self, ring: KeyRing) -> str:
        """The log id checkpoints name: the one bound in the first entry, else (older logs) the database's."""
        found = ring.log_id or self.store.log_id()
        if not found:
            raise LogIntegrityError(f"the audit log in {self.location} has no log id")
        return found

    # -- writing --------------------------------------------------------------------------
    @staticmethod
    def _encode(items: Sequence[Item]) -> list[tuple[str, str, bytes]]:
        """Canonicalise payloads before taking the write lock: it is the slow part of an append."""
        return [(action, subject, canonical_bytes(payload)) for action, subject, payload in items]

    def _seal(self, encoded: Sequence[tuple[str, str, bytes]], key: SigningKey, seq: int, prev: str) -> list[Sealed]:
        sealed = []
        for action, subject, body in encoded:
            header: dict[str, Any] = {
                "seq": seq,
                "entry_id": uuid.uuid4().hex,
                "recorded_at": _now(),
                "actor": self.actor,
                "action": action,
                "subject": subject,
                "payload_digest": hashlib.sha256(body).hexdigest(),
                "prev_hash": prev,
                "key_id": key.key_id,
            }
            digest = entry_hash(header)
            entry = Entry(**header, entry_hash=digest, signature=key.sign(bytes.fromhex(digest)).hex())
            sealed.append(Sealed(entry, body))
            seq, prev = seq + 1, digest
        return sealed

    def append_many(
        self, items: Sequence[Item], *, key: SigningKey | None = None, if_size: int | None = None
    ) -> list[Entry]:
        """Append several entries in one transaction (all or nothing).

        With `if_size`, only if the log still has that many entries when the write lock is taken
        (else `LogMoved`, nothing written): a decision checked against the log at that size is
        recorded only while it still holds, the compare-and-swap of a lifecycle change.
        """
        key = key or self.signing_key()
        encoded = self._encode(items)

        def seal(seq: int, prev: str) -> list[Sealed]:
            if if_size is not None and seq - 1 != if_size:
                raise LogMoved(f"the audit log grew from {if_size} to {seq - 1} entries while this was checked")
            bootstrap: list[Item] = []
            if seq == 1:  # the opening entry binds the log's first key and its identity
                bootstrap = [
                    (
                        KEY_ADDED,
                        key_subject(key.key_id),
                        {
                            "algorithm": "Ed25519",
                            "key_id": key.key_id,
                            "public_key": key.public_raw.hex(),
                            "log_id": self.store.log_id(),
                        },
                    )
                ]
            elif why := self._may_sign(key.key_id):
                raise GovkitError(why, file=key.path)
            return self._seal([*self._encode(bootstrap), *encoded], key, seq, prev)

        entries = self.store.append(seal)
        self._registered.add(key.key_id)
        return entries[-len(items) :]  # without the key.added entry that opens a new log

    def append(self, action: str, subject: str, payload: dict[str, Any], *, if_size: int | None = None) -> Entry:
        return self.append_many([(action, subject, payload)], if_size=if_size)[-1]

    def rotate_key(self, new_key: SigningKey) -> Entry:
        """Record a new signing key, signed by the current one; later entries use the new key."""
        old = self.signing_key()
        entry = self.append_many(
            [
                (
                    KEY_ROTATED,
                    key_subject(new_key.key_id),
                    {
                        "algorithm": "Ed25519",
                        "old_key_id": old.key_id,
                        "new_key_id": new_key.key_id,
                        "new_public_key": new_key.public_raw.hex(),
                    },
                )
            ],
            key=old,
        )[-1]
        self._key = new_key
        self._registered.add(new_key.key_id)
        self.checkpoint()  # signed by the new key over the rotation, so pinning the new key anchors the log
        return entry

    def redact(self, seq: int, reason: str) -> Entry:
        """Drop a payload (e.g. an erasure request) while keeping the chain verifiable."""
        if not reason.strip():
            raise GovkitError("a redaction needs a reason", field="--reason")
        target = next((e for e, _ in self.store.scan(seq)), None)
        if target is not None and target.seq == seq and target.action in KEY_ACTIONS:
            raise GovkitError(
                f"entry {seq} is a {target.action} entry: the log's keys cannot be redacted (verification needs them)",
                field="SEQ",
            )
        body = self.store.payload(seq)
        if body is None:
            raise GovkitError(f"entry {seq} has no payload to redact (missing or already redacted)")
        key = self.signing_key()
        item: Item = (
            LOG_REDACTED,
            seq_subject(seq),
            {"seq": seq, "reason": reason, "payload_digest": hashlib.sha256(body).hexdigest()},
        )
        encoded = self._encode([item])
        return self.store.redact(lambda s, p: self._seal(encoded, key, s, p), seq)

    def checkpoint(self) -> Checkpoint:
        """Sign (size, Merkle root, head) now and keep it; copies belong outside the database.

        Resumes from the newest stored checkpoint whose frontier folds to its signed root, and
        checks each entry it adds (link, hash, payload, signature) before signing: the key never
        vouches for an entry it has not verified, and the cost is the new entries, not the log.
        """
        key = self.signing_key()
        ring = self.key_ring()
        identity = self.identity(ring)
        acc, head = self._resume(ring, identity)
        expected = acc.size + 1
        for entry, body in self.store.scan(expected):
            why = None
            if entry.seq != expected or entry.prev_hash != head:
                why = "does not link to the previous entry"
            why = why or content_problem(entry, body) or signature_problem(entry, ring)
            if why:
                raise LogIntegrityError(
                    f"not signing a checkpoint: entry {entry.seq}: {why}; run `govkit log verify --db {self.location}`"
                )
            acc.append(bytes.fromhex(entry.entry_hash))
            head, expected = entry.entry_hash, expected + 1
        state, why = ring.checkpoint_signer(key.key_id, acc.size)
        if state is None:
            raise GovkitError(f"cannot sign a checkpoint of this log: {why}", file=key.path)
        origin = origin_of(identity)
        unsigned = Checkpoint(
            origin=origin, size=acc.size, root=acc.root().hex(), head=head, timestamp=_now(), key_id=key.key_id
        )
        signature = note_key_id(origin, key.public_raw) + key.sign(unsigned.body())
        signed = Checkpoint(**{**unsigned.__dict__, "signature": base64.b64encode(signature).decode()})
        self.store.add_checkpoint(signed, acc.frontier())
        return signed

    def _resume(self, ring: KeyRing, identity: str) -> tuple[MerkleAccumulator, str]:
        """Accumulator and head at the newest trustworthy stored checkpoint (or the empty log)."""
        for note, frontier in self.store.latest_checkpoints(RESUME_CANDIDATES):
            try:
                cp = Checkpoint.parse(note)
                acc = MerkleAccumulator.resume(cp.size, frontier or "")
            except (ValueError, TypeError):
                continue  # a garbage row, or a checkpoint from before frontiers were kept
            if not frontier or check_checkpoint_signature(cp, ring, identity) or acc.root().hex() != cp.root:
                continue
            at = next((e for e, _ in self.store.scan(cp.size)), None) if cp.size else None
            if cp.size and (at is None or at.seq != cp.size or at.entry_hash != cp.head):
                raise LogIntegrityError(
                    f"the audit log no longer matches its checkpoint at size {cp.size} "
                    f"(truncated or rewritten); run `govkit log verify --db {self.location}`"
                )
            return acc, cp.head
        return MerkleAccumulator(), GENESIS

    def stored_checkpoints(self) -> tuple[list[Checkpoint], list[Problem]]:
        """The stored checkpoints that parse, and a problem for each row that does not."""
        good, bad = [], []
        for i, note in enumerate(self.store.checkpoint_notes(), 1):
            try:
                good.append(Checkpoint.parse(note))
            except (ValueError, TypeError, AttributeError) as exc:
                bad.append(Problem(None, f"stored checkpoint #{i}: not a govkit checkpoint note ({exc})"))
        return good, bad

    # -- reading --------------------------------------------------------------------------
    def entries(
        self,
        *,
        model: str | None = None,
        action: str | None = None,
        since: str | None = None,
        subject: str | None = None,
        limit: int | None = None,
    ) -> list[Entry]:
        return self.store.find(EntryFilter(model=model, action=action, since=since, subject=subject), limit)

    def payload(self, seq: int) -> dict[str, Any] | None:
        """A payload as stored, unverified: for display. Use `read_verified` before acting on one."""
        body = self.store.payload(seq)
        return payload_json(body) if body is not None else None

    def read_verified(self, entry: Entry) -> dict[str, Any]:
        """The payload of `entry`, once it proves to be this log's; LogIntegrityError naming what failed.

        Checks the entry's hash, payload digest and signature (by a key the log's verified key
        entries allow at its seq, vouched for by the pinned `.pub` when there is one), then that
        its hash links into the chain: forward to the nearest checkpoint at or above it signed by
        such a key, or (for entries newer than every checkpoint, which their own signature then
        covers) back from the newest checkpoint below it or the log's start. Costs the distance
        to that checkpoint, not the log's size.
        """

        def fail(why: str) -> LogIntegrityError:
            return LogIntegrityError(
                f"audit log entry {entry.seq} ({entry.action}) does not verify: {why}; "
                f"run `govkit log verify --db {self.location}`"
            )

        ring = self.key_ring()
        body = self.store.payload(entry.seq)
        if body is None:
            raise fail("its payload is missing or redacted")
        if why := content_problem(entry, body) or signature_problem(entry, ring):
            raise fail(why)
        trusted = [raw for _, raw in self.anchor_keys()]
        vouched = ring.anchored_keys(trusted) if trusted else set(ring.keys)
        if not vouched:
            raise fail(f"the log is not signed by the trusted key in {public_path(self.key_path)}")
        identity = self.identity(ring)
        good = [
            cp
            for cp in self.stored_checkpoints()[0]
            if cp.key_id in vouched and not check_checkpoint_signature(cp, ring, identity)
        ]
        above = [cp for cp in good if cp.size >= entry.seq]
        if above:
            cp = min(above, key=lambda c: c.size)
            if self._walk(entry.seq, entry.prev_hash, cp.size) != cp.head:
                raise fail(f"its chain does not lead to the checkpoint at size {cp.size}")
        elif entry.key_id in vouched:
            below = max((cp for cp in good if cp.size < entry.seq), key=lambda c: c.size, default=None)
            start, prev = (below.size + 1, below.head) if below else (1, GENESIS)
            if self._walk(start, prev, entry.seq) != entry.entry_hash:
                raise fail("it is not linked into the log's chain")
        else:
            raise fail("its key is not vouched for by the trusted key and no trusted checkpoint covers it")
        return payload_json(body)

    def _walk(self, start: int, prev: str, end: int) -> str | None:
        """Follow the chain from entry `start` (whose prev_hash must be `prev`) to `end`; its hash, or None."""
        expected = start
        for entry, _ in self.store.scan(start):
            if entry.seq != expected or entry.prev_hash != prev or entry_hash(entry.header()) != entry.entry_hash:
                return None
            prev = entry.entry_hash
            if entry.seq == end:
                return prev
            expected += 1
        return None

    def verify(
        self,
        *,
        known_checkpoint: Checkpoint | None = None,
        trusted_keys: Sequence[bytes] | None = None,
        full: bool = False,
        rows: Iterable[tuple[Entry, bytes | None]] | None = None,
    ) -> VerifyResult:
        """Verify the whole log; `trusted_keys` None means the keys from `anchor_keys()` (maybe none).

        `rows` are the log's rows as the caller already read them (`store.scan()`), so that what it
        goes on to use is exactly what was verified (`govkit export`)."""
        stored, bad = self.stored_checkpoints()
        if trusted_keys is None:
            trusted_keys = [raw for _, raw in self.anchor_keys()]
        checkpoints = stored + ([known_checkpoint] if known_checkpoint else [])
        result = verify_entries(
            self.store.scan() if rows is None else rows,
            checkpoints=checkpoints,
            trusted_keys=trusted_keys,
            log_id=self.store.log_id() or "",
            full=full,
        )
        result.problems.extend(bad)
        return result
