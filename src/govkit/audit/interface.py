"""The audit storage seam. A store keeps entries, payloads and checkpoints and serialises appends;
hashing, signing and verification live above it, so every store verifies identically."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from govkit.audit.chain import HEADER_FIELDS, Checkpoint

# the columns an SQL store keeps per entry, in `Entry` field order: the signed header, its hash, the signature
ENTRY_COLUMNS = (*HEADER_FIELDS, "entry_hash", "signature")


@dataclass(frozen=True)
class Entry:
    seq: int
    entry_id: str
    recorded_at: str
    actor: str
    action: str
    subject: str
    payload_digest: str
    prev_hash: str
    key_id: str
    entry_hash: str
    signature: str  # hex Ed25519 signature over bytes.fromhex(entry_hash)

    def header(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in HEADER_FIELDS}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Sealed:
    """An entry ready to store, with its payload body (canonical JSON bytes)."""

    entry: Entry
    payload: bytes


# Called inside the store's write lock with (next seq, previous entry hash).
Sealer = Callable[[int, str], Sequence[Sealed]]


@dataclass(frozen=True)
class EntryFilter:
    model: str | None = None
    action: str | None = None
    since: str | None = None  # ISO date or datetime, compared with recorded_at
    subject: str | None = None


def filter_terms(
    flt: EntryFilter, *, mark: str, model_prefix: str, prefix_values: Sequence[str]
) -> tuple[list[str], list[Any]]:
    """WHERE terms and parameters for `flt`, shared by the SQL stores.

    Only fixed column names and the store's placeholder `mark` go into the SQL; every value
    from the user is a bound parameter. `model_prefix` is the store's "subject starts with
    `model@`" expression and `prefix_values` its parameters. It must match exactly, case
    included: SQLite's LIKE ignores ASCII case, so `m` would find model `M`'s entries.
    """
    terms: list[str] = []
    params: list[Any] = []
    if flt.model:
        terms.append(f"(subject = {mark} OR {model_prefix})")
        params += [flt.model, *prefix_values]
    for column, value in (("action", flt.action), ("subject", flt.subject)):
        if value:
            terms.append(f"{column} = {mark}")
            params.append(value)
    if flt.since:
        terms.append(f"recorded_at >= {mark}")
        params.append(flt.since)
    return terms, params


class AuditStore(ABC):
    """Append-only storage. Implementations: sqlite.py (default)."""

    @abstractmethod
    def log_id(self) -> str | None:
        """A random id fixed when the log was created (None if the row is gone); names the log in checkpoints.

        New logs also bind it into their first entry, which is what verify trusts.
        """

    @abstractmethod
    def append(self, seal: Sealer) -> list[Entry]:
        """In one serialised transaction: read the head, call `seal`, store what it returns."""

    @abstractmethod
    def redact(self, seal: Sealer, seq: int) -> Entry:
        """Append the redaction entry `seal` makes and drop the payload of `seq`, atomically."""

    @abstractmethod
    def size(self) -> int: ...

    @abstractmethod
    def scan(self, start: int = 1) -> Iterator[tuple[Entry, bytes | None]]:
        """Every entry from `start` in seq order, with its payload (None once redacted)."""

    @abstractmethod
    def find(self, flt: EntryFilter, limit: int | None = None) -> list[Entry]: ...

    def read(self, seq: int) -> tuple[Entry, bytes | None] | None:
        """Entry `seq` with its payload (None once redacted), or None; stores override the generic scan."""
        found = next(iter(self.scan(seq)), None)
        return found if found is not None and found[0].seq == seq else None

    def read_many(self, seqs: Sequence[int]) -> dict[int, tuple[Entry, bytes | None]]:
        """`read` for many entries at once (stores override it with one query per batch); absent ones left out."""
        found = {seq: self.read(seq) for seq in seqs}
        return {seq: row for seq, row in found.items() if row is not None}

    @abstractmethod
    def payload(self, seq: int) -> bytes | None: ...

    @abstractmethod
    def add_checkpoint(self, checkpoint: Checkpoint, frontier: str | None = None) -> None:
        """Keep a signed checkpoint, with the Merkle frontier at its size so the next one resumes from it."""

    @abstractmethod
    def checkpoint_notes(self) -> list[str]:
        """Every stored checkpoint note as stored, oldest first (parsing is the caller's: rows are untrusted)."""

    @abstractmethod
    def latest_checkpoints(self, limit: int) -> list[tuple[str, str | None]]:
        """(note, frontier) of the newest `limit` stored checkpoints, newest first."""

    @abstractmethod
    def copy_in(self, log_id: str, rows: Iterable[tuple[Entry, bytes | None]], checkpoints: list[Checkpoint]) -> int:
        """Fill an empty store with another log's entries exactly as they are (same hashes, signatures, id)."""

    @abstractmethod
    def close(self) -> None: ...


class SerialStore(AuditStore):
    """A store that appends under one write lock: take it, read the head, seal, write."""

    @abstractmethod
    def _take_append_lock(self) -> None:
        """Inside the open transaction: make every other writer wait until it ends."""

    @abstractmethod
    def _head(self) -> tuple[int, str]: ...

    @abstractmethod
    def _write(self, entry: Entry, body: bytes | None) -> None: ...

    def _insert(self, seal: Sealer) -> list[Entry]:
        self._take_append_lock()
        seq, prev = self._head()
        sealed = seal(seq + 1, prev)
        for item in sealed:
            self._write(item.entry, item.payload)
        return [s.entry for s in sealed]
