"""The log as the viewer sees it: one read-only connection, and what was derived from it, cached by position.

Building the inventory of a 200,000-entry log reads and verifies the whole chain (about a second);
a page must answer in well under that. Everything derived here is therefore kept until the log's
position (its size and head hash) moves, and the position is two indexed reads per request. After
an append, the next request walks only the new entries and folds again only the versions they
touch: the folded index of the previous position is kept in memory (a viewer cannot sign, so it
never writes the inventory's cache file). A rewritten log changes the head and fails verification.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from govkit.audit.chain import GENESIS
from govkit.audit.interface import Entry, EntryFilter
from govkit.audit.log import AuditLog, open_store
from govkit.errors import GovkitError

if TYPE_CHECKING:
    from govkit.audit.keys import SigningKey
    from govkit.audit.verify import VerifyResult
    from govkit.inventory.cache import Index
    from govkit.inventory.config import LifecycleRules
    from govkit.inventory.interface import Inventory
    from govkit.inventory.reader import VerifiedLog

T = TypeVar("T")


class ViewerLog(AuditLog):
    """An AuditLog over a read-only connection, anchored on a public key file when one is given.

    A viewer needs no signing key: `--trusted-key` names the published public key directly.
    """

    def __init__(self, location: str, *, key_path: Path | None, trusted_key: Path | None) -> None:
        super().__init__(location, key_path=key_path, store=open_store(location, create=False, read_only=True))
        self.trusted_key = trusted_key

    def signing_key(self) -> SigningKey:
        """Never: a viewer signs nothing (so it also never writes the inventory's signed cache file)."""
        raise GovkitError("govkit serve is read-only and never signs")

    def anchor_keys(self) -> list[tuple[Path, bytes]]:
        if self.trusted_key is None:
            return super().anchor_keys()
        from govkit.audit.keys import public_raw
        from govkit.audit.verify_cli import read_public_key

        return [(self.trusted_key, public_raw(read_public_key(self.trusted_key)))]


@dataclass(frozen=True)
class Position:
    size: int
    head: str


@dataclass
class Snapshot:
    """What the pages need at one log position; filled lazily, each part at most once."""

    position: Position
    today: date
    parts: dict[str, Any] = field(default_factory=dict)


class LogSource:
    """Serialises access to the one connection (sqlite3 and psycopg connections are not for concurrent use)."""

    def __init__(
        self,
        log: AuditLog,
        rules: Callable[[str], LifecycleRules] | None = None,
        today: Callable[[], date] = lambda: datetime.now(UTC).date(),  # as the inventory counts days
    ) -> None:
        self.log = log
        self.rules = rules  # a team's lifecycle rules (review cadence) from the policy, else the defaults
        self._today = today
        self._lock = threading.RLock()
        self._snapshot: Snapshot | None = None
        self._folded: Index | None = None  # the index (with every summary) of the newest inventory built

    def close(self) -> None:
        self.log.close()

    def position(self) -> Position:
        with self._lock:
            size = self.log.store.size()
            found = self.log.store.read(size) if size else None  # by primary key: no range scan to plan
            return Position(size, found[0].entry_hash if found else GENESIS)

    def snapshot(self) -> Snapshot:
        with self._lock:
            position, today = self.position(), self._today()
            if self._snapshot is None or (self._snapshot.position, self._snapshot.today) != (position, today):
                self._snapshot = Snapshot(position, today)
            return self._snapshot

    def cached(self, snap: Snapshot, name: str, build: Callable[[], T]) -> T:
        with self._lock:
            if name not in snap.parts:
                snap.parts[name] = build()
            return snap.parts[name]  # type: ignore[no-any-return]

    def run(self, work: Callable[[AuditLog], T]) -> T:
        """Any other read of the log, under the same lock."""
        with self._lock:
            return work(self.log)

    # -- derived, per position ------------------------------------------------------------
    def inventory(self, snap: Snapshot) -> Inventory:
        """The inventory folded from the same verified read the other pages use (one chain walk per position)."""
        from govkit.inventory.fold import fold_verified

        def build() -> Inventory:
            verified = self.verified(snap)
            inventory = fold_verified(verified, today=snap.today, rules=self.rules)
            self._folded = verified.index
            return inventory

        return self.cached(snap, "inventory", build)

    def verified(self, snap: Snapshot) -> VerifiedLog:
        """The chain walked and checked once per position (from the last folded index on); `entry(seq)`
        proves each entry it returns."""
        from govkit.inventory.reader import read_log

        return self.cached(snap, "verified", lambda: read_log(self.log, since=self._folded))

    def model_entries(self, snap: Snapshot, name: str) -> list[Entry]:
        """Every entry about model `name` (subjects `name@version`) up to the snapshot, in log order."""

        def read() -> list[Entry]:
            found = self.log.store.find(EntryFilter(model=name))
            return [e for e in found if e.seq <= snap.position.size and e.subject.partition("@")[0] == name]

        return self.cached(snap, f"model:{name}", read)

    def verification(self, snap: Snapshot) -> VerifyResult:
        """`govkit log verify` of the whole log (its default: signatures above the newest trusted checkpoint)."""
        return self.cached(snap, "verify", self.log.verify)
