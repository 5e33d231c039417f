"""AuditLog: the Python API. Seals entries (hash + signature) and hands them to a store."""

from __future__ import annotations

import base64
import getpass
import hashlib
import json
import os
import socket
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from govkit.audit.chain import Checkpoint, MerkleAccumulator, entry_hash, note_key_id
from govkit.audit.interface import AuditStore, Entry, EntryFilter, Sealed
from govkit.audit.keys import SigningKey, create_key, default_key_path, load_key
from govkit.audit.verify import REDACTION, VerifyResult, verify_entries
from govkit.canonical import canonical_bytes
from govkit.errors import GovkitError

DEFAULT_DB = "govkit.db"
Item = tuple[str, str, dict[str, Any]]  # action, subject, payload


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


def open_store(location: str | Path) -> AuditStore:
    text = str(location)
    if text.startswith(("postgresql://", "postgres://")):
        from govkit.audit.postgres import PostgresStore

        return PostgresStore(text)
    from govkit.audit.sqlite import SQLiteStore

    return SQLiteStore(Path(text))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


class AuditLog:
    """Append, read, checkpoint, redact and verify one audit log."""

    def __init__(self, location: str | Path | None = None, *, key_path: Path | None = None,
                 actor: str | None = None, store: AuditStore | None = None) -> None:
        self.location = str(location or default_location())
        self.store = store or open_store(self.location)
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
        """The log key; created (0600) on first use so the log is on by default."""
        if self._key is None:
            self._key = load_key(self.key_path) if self.key_path.exists() else create_key(self.key_path)
        return self._key

    def _is_registered(self, kid: str) -> bool:
        if kid not in self._registered:
            for entry in self.store.find(EntryFilter(action="key.added")):
                self._registered.add(entry.key_id)
            for entry in self.store.find(EntryFilter(action="key.rotated")):
                body = self.store.payload(entry.seq)
                if body:
                    self._registered.add(json.loads(body)["new_key_id"])
        return kid in self._registered

    # -- writing --------------------------------------------------------------------------
    @staticmethod
    def _encode(items: Sequence[Item]) -> list[tuple[str, str, bytes]]:
        """Canonicalise payloads before taking the write lock: it is the slow part of an append."""
        return [(action, subject, canonical_bytes(payload)) for action, subject, payload in items]

    def _seal(self, encoded: Sequence[tuple[str, str, bytes]], key: SigningKey, seq: int, prev: str) -> list[Sealed]:
        sealed = []
        for action, subject, body in encoded:
            header = {
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

    def append_many(self, items: Sequence[Item], *, key: SigningKey | None = None) -> list[Entry]:
        """Append several entries in one transaction (all or nothing)."""
        key = key or self.signing_key()
        encoded = self._encode(items)

        def seal(seq: int, prev: str) -> list[Sealed]:
            bootstrap: list[Item] = []
            if seq == 1:
                bootstrap = [("key.added", f"key:{key.key_id}",
                              {"algorithm": "Ed25519", "key_id": key.key_id, "public_key": key.public_raw.hex()})]
            elif not self._is_registered(key.key_id):
                raise GovkitError(f"signing key {key.key_id} is not registered in this log; use the key that "
                                  "signs it, or `govkit keys rotate`", file=key.path)
            return self._seal([*self._encode(bootstrap), *encoded], key, seq, prev)

        entries = self.store.append(seal)
        self._registered.add(key.key_id)
        return entries[-len(items):]  # without the key.added entry that opens a new log

    def append(self, action: str, subject: str, payload: dict[str, Any]) -> Entry:
        return self.append_many([(action, subject, payload)])[-1]

    def rotate_key(self, new_key: SigningKey) -> Entry:
        """Record a new signing key, signed by the current one; later entries use the new key."""
        old = self.signing_key()
        entry = self.append_many([("key.rotated", f"key:{new_key.key_id}", {
            "algorithm": "Ed25519", "old_key_id": old.key_id,
            "new_key_id": new_key.key_id, "new_public_key": new_key.public_raw.hex()})], key=old)[-1]
        self._key = new_key
        self._registered.add(new_key.key_id)
        return entry

    def redact(self, seq: int, reason: str) -> Entry:
        """Drop a payload (e.g. an erasure request) while keeping the chain verifiable."""
        if not reason.strip():
            raise GovkitError("a redaction needs a reason", field="--reason")
        body = self.store.payload(seq)
        if body is None:
            raise GovkitError(f"entry {seq} has no payload to redact (missing or already redacted)")
        key = self.signing_key()
        item: Item = (REDACTION, f"seq:{seq}", {"seq": seq, "reason": reason,
                                                 "payload_digest": hashlib.sha256(body).hexdigest()})
        encoded = self._encode([item])
        return self.store.redact(lambda s, p: self._seal(encoded, key, s, p), seq)

    def checkpoint(self) -> Checkpoint:
        """Sign (size, Merkle root, head) now and keep it; copies belong outside the database."""
        key = self.signing_key()
        acc = MerkleAccumulator()
        head = "0" * 64
        for entry, _ in self.store.scan():
            acc.append(bytes.fromhex(entry.entry_hash))
            head = entry.entry_hash
        origin = f"govkit.local/log/{self.store.log_id()}"
        unsigned = Checkpoint(origin=origin, size=acc.size, root=acc.root().hex(), head=head,
                              timestamp=_now(), key_id=key.key_id)
        signature = note_key_id(origin, key.public_raw) + key.sign(unsigned.body())
        signed = Checkpoint(**{**unsigned.__dict__, "signature": base64.b64encode(signature).decode()})
        self.store.add_checkpoint(signed)
        return signed

    # -- reading --------------------------------------------------------------------------
    def entries(self, *, model: str | None = None, action: str | None = None, since: str | None = None,
                subject: str | None = None, limit: int | None = None) -> list[Entry]:
        return self.store.find(EntryFilter(model=model, action=action, since=since, subject=subject), limit)

    def payload(self, seq: int) -> dict[str, Any] | None:
        body = self.store.payload(seq)
        return json.loads(body) if body is not None else None

    def verify(self, *, known_checkpoint: Checkpoint | None = None,
               trusted_keys: Sequence[bytes] = ()) -> VerifyResult:
        checkpoints = self.store.checkpoints() + ([known_checkpoint] if known_checkpoint else [])
        return verify_entries(self.store.scan(), checkpoints=checkpoints, trusted_keys=trusted_keys)
